//! Shortcut for exercise 5.2: the reference lock, released with a plain `DEL` whoever
//! holds it. `ex05_2_a_late_release_leaves_the_next_holder_alone` catches it: the first
//! holder's late release deletes the lock of the one that took it after it expired.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, RedisResult, Script};

use super::fencing_key;

/// Takes the lock and the next token in one step: the counter moves only on success.
const ACQUIRE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'PX', ARGV[1])
return token
";

/// Exercise 5.2: takes the lock at key `lock` for `ttl`, unless someone holds it.
pub async fn acquire_lock(
    conn: &mut ConnectionManager,
    lock: &str,
    ttl: Duration,
) -> RedisResult<Option<u64>> {
    let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
    Script::new(ACQUIRE)
        .key(lock)
        .key(fencing_key(lock))
        .arg(ttl_ms)
        .invoke_async(conn)
        .await
}

/// Exercise 5.2, continued: releases the lock at key `lock` taken with `token`.
pub async fn release_lock(
    conn: &mut ConnectionManager,
    lock: &str,
    token: u64,
) -> RedisResult<bool> {
    let _ = token;
    let deleted: usize = conn.del(lock).await?;
    Ok(deleted == 1)
}
