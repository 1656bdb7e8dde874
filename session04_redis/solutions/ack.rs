//! Exercise 4.2: acknowledging a task, the reference solution.

use redis::{RedisResult, Script};

use super::{AckOutcome, Lease, ListQueue};

impl ListQueue {
    /// Finishes the task of `lease` with `result`, once, and only for the current lease.
    pub async fn ack(&self, lease: &Lease, result: &str) -> RedisResult<AckOutcome> {
        // KEYS: the task, Q:leases, Q:stats. ARGV: id, token, result.
        let script = Script::new(
            r"
            local state, token = unpack(redis.call('HMGET', KEYS[1], 'state', 'token'))
            if state == 'done' then return 'done' end
            if state ~= 'leased' or token ~= ARGV[2] then return 'lost' end
            redis.call('HSET', KEYS[1], 'state', 'done', 'result', ARGV[3])
            redis.call('HDEL', KEYS[1], 'token')
            redis.call('ZREM', KEYS[2], ARGV[1])
            redis.call('HINCRBY', KEYS[3], 'done', 1)
            return 'acked'
            ",
        );
        let reply: String = script
            .key(self.task_key(&lease.id))
            .key(self.leases_key())
            .key(self.stats_key())
            .arg(&lease.id)
            .arg(&lease.token)
            .arg(result)
            .invoke_async(&mut self.connection())
            .await?;
        Ok(match reply.as_str() {
            "acked" => AckOutcome::Acked,
            "done" => AckOutcome::AlreadyDone,
            _ => AckOutcome::LeaseLost,
        })
    }
}
