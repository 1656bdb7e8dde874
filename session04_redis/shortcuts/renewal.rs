//! Exercise 4.4's shortcut: renews the lease once, when the work starts, then just waits
//! for the work, so a task longer than a lease is taken from its worker while it runs.
//! Caught by `ex04_4_hold_renews_while_the_work_runs`, `ex04_4_hold_reports_a_lost_lease`
//! and `ex04_4_hold_returns_when_the_work_ends`.

use std::time::Duration;

use redis::{RedisResult, Script};

use super::{HoldError, Lease, ListQueue};

impl ListQueue {
    /// Pushes the deadline of `lease`, while it is the current one, to `lease_ms` from now.
    pub async fn renew(&self, lease: &Lease) -> RedisResult<Option<u64>> {
        let script = Script::new(
            r"
            local state, token = unpack(redis.call('HMGET', KEYS[1], 'state', 'token'))
            if state ~= 'leased' or token ~= ARGV[2] then return false end
            local time = redis.call('TIME')
            local deadline = time[1] * 1000 + math.floor(time[2] / 1000) + tonumber(ARGV[3])
            redis.call('ZADD', KEYS[2], deadline, ARGV[1])
            return deadline
            ",
        );
        script
            .key(self.task_key(&lease.id))
            .key(self.leases_key())
            .arg(&lease.id)
            .arg(&lease.token)
            .arg(self.lease_ms)
            .invoke_async(&mut self.connection())
            .await
    }

    /// Renews `lease` once, then runs `work` to its end.
    pub async fn hold<T>(
        &self,
        lease: &Lease,
        every: Duration,
        work: impl Future<Output = T>,
    ) -> Result<T, HoldError> {
        if every.is_zero() {
            return Err(HoldError::ZeroInterval);
        }
        if self.renew(lease).await?.is_none() {
            return Err(HoldError::LeaseLost(lease.id.clone()));
        }
        Ok(work.await)
    }
}
