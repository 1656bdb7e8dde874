//! Exercise 5.2: a lock with fencing tokens.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{RedisResult, Script};

use super::fencing_key;

/// Takes the lock and the next token in one step: the counter moves only on success.
const ACQUIRE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'PX', ARGV[1])
return token
";

/// Deletes the lock only while it holds the caller's token.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
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
    Script::new(RELEASE)
        .key(lock)
        .arg(token)
        .invoke_async(conn)
        .await
}
