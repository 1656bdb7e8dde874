//! Exercise 4.2's shortcut: one `MULTI` transaction that marks the task done and counts it,
//! with no script, so no token check and no "already done". Caught by
//! `ex04_2_a_stale_lease_is_refused` and `ex04_2_a_second_ack_counts_once`.

use redis::RedisResult;

use super::{AckOutcome, Lease, ListQueue};

impl ListQueue {
    /// Marks the task of `lease` done with `result`, whoever holds it.
    pub async fn ack(&self, lease: &Lease, result: &str) -> RedisResult<AckOutcome> {
        redis::pipe()
            .atomic()
            .hset_multiple(
                self.task_key(&lease.id),
                &[("state", "done"), ("result", result)],
            )
            .zrem(self.leases_key(), &lease.id)
            .hincr(self.stats_key(), "done", 1)
            .exec_async(&mut self.connection())
            .await?;
        Ok(AckOutcome::Acked)
    }
}
