//! Exercise 4.4: renewing a lease while the work runs, the reference solution.

use std::time::Duration;

use redis::{RedisResult, Script};

use super::{HoldError, Lease, ListQueue};

impl ListQueue {
    /// Pushes the deadline of `lease`, while it is the current one, to `lease_ms` from now.
    pub async fn renew(&self, lease: &Lease) -> RedisResult<Option<u64>> {
        // KEYS: the task, Q:leases. ARGV: id, token, lease_ms.
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

    /// Runs `work`, renewing `lease` every `every`; stops when the lease is lost.
    pub async fn hold<T>(
        &self,
        lease: &Lease,
        every: Duration,
        work: impl Future<Output = T>,
    ) -> Result<T, HoldError> {
        if every.is_zero() {
            return Err(HoldError::ZeroInterval);
        }
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tokio::pin!(work);
        loop {
            tokio::select! {
                output = &mut work => return Ok(output),
                _ = ticks.tick() => {
                    if self.renew(lease).await?.is_none() {
                        return Err(HoldError::LeaseLost(lease.id.clone()));
                    }
                }
            }
        }
    }
}
