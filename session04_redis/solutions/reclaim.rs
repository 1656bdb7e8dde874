//! Exercise 4.3: taking back expired leases, the reference solution.

use redis::{RedisResult, Script};

use super::{ListQueue, Reclaimed};

impl ListQueue {
    /// Requeues or buries every task whose lease ran out by Redis's clock, atomically.
    pub async fn reclaim(&self) -> RedisResult<Reclaimed> {
        // KEYS: Q:leases, Q:ready, Q:dead. ARGV: the task prefix, max_attempts.
        let script = Script::new(
            r"
            local time = redis.call('TIME')
            local now = time[1] * 1000 + math.floor(time[2] / 1000)
            local requeued, dead = {}, {}
            for _, id in ipairs(redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE')) do
              local task = ARGV[1] .. id
              redis.call('ZREM', KEYS[1], id)
              redis.call('HDEL', task, 'token')
              if redis.call('HINCRBY', task, 'attempts', 1) < tonumber(ARGV[2]) then
                redis.call('HSET', task, 'state', 'ready')
                redis.call('LPUSH', KEYS[2], id)
                table.insert(requeued, id)
              else
                redis.call('HSET', task, 'state', 'dead')
                redis.call('RPUSH', KEYS[3], id)
                table.insert(dead, id)
              end
            end
            return {requeued, dead}
            ",
        );
        let (requeued, dead) = script
            .key(self.leases_key())
            .key(self.ready_key())
            .key(self.dead_key())
            .arg(self.task_prefix())
            .arg(self.max_attempts)
            .invoke_async(&mut self.connection())
            .await?;
        Ok(Reclaimed { requeued, dead })
    }
}
