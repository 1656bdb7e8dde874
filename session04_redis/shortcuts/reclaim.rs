//! Exercise 4.3's shortcut: finds the expired leases by the worker's clock, then moves each
//! task with commands of its own, so an acknowledgement or another sweep can come in
//! between. Caught by `ex04_3_is_one_script_call`.

use std::time::{SystemTime, UNIX_EPOCH};

use redis::{AsyncCommands, RedisResult};

use super::{ListQueue, Reclaimed};

impl ListQueue {
    /// Requeues or buries every task whose lease ran out by this machine's clock.
    pub async fn reclaim(&self) -> RedisResult<Reclaimed> {
        let mut conn = self.connection();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis());
        let expired: Vec<String> = conn
            .zrangebyscore(self.leases_key(), "-inf", now.to_string())
            .await?;
        let mut reclaimed = Reclaimed::default();
        for id in expired {
            let task = self.task_key(&id);
            let attempts: u32 = conn.hincr(&task, "attempts", 1).await?;
            let _: () = conn.zrem(self.leases_key(), &id).await?;
            let _: () = conn.hdel(&task, "token").await?;
            if attempts < self.max_attempts {
                let _: () = conn.hset(&task, "state", "ready").await?;
                let _: () = conn.lpush(self.ready_key(), &id).await?;
                reclaimed.requeued.push(id);
            } else {
                let _: () = conn.hset(&task, "state", "dead").await?;
                let _: () = conn.rpush(self.dead_key(), &id).await?;
                reclaimed.dead.push(id);
            }
        }
        Ok(reclaimed)
    }
}
