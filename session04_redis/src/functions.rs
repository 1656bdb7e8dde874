//! The queue's Redis functions: a Lua library (`queue.lua`) loaded into Redis once, then
//! called by name with `FCALL`.
//!
//! Each queue step (enqueue, reserve, ack, nack ...) touches a stream, a task's hash, a
//! state index and a counter. Done as separate commands, two workers could interleave
//! between them and see a task half-moved; a function runs all of them as one atomic step,
//! in one round trip. A Redis that restarted without persistence has forgotten the library:
//! [`run`] loads it again and retries, so workers survive that too.

use redis::aio::ConnectionManager;
use redis::{Cmd, FromRedisValue, RedisResult};

/// The library's source.
pub const LIBRARY: &str = include_str!("queue.lua");

/// Loads (or replaces) the library in Redis.
pub async fn load(conn: &mut ConnectionManager) -> RedisResult<()> {
    redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg("REPLACE")
        .arg(LIBRARY)
        .query_async::<String>(conn)
        .await
        .map(drop)
}

/// `FCALL name 0`: a call of one of the library's functions, arguments to follow.
pub fn fcall(name: &str) -> Cmd {
    let mut cmd = redis::cmd("FCALL");
    cmd.arg(name).arg(0);
    cmd
}

/// Runs `cmd`; when Redis does not know the function (it restarted empty), loads the
/// library and runs it again.
pub async fn run<T: FromRedisValue>(conn: &ConnectionManager, cmd: &Cmd) -> RedisResult<T> {
    let mut conn = conn.clone();
    match cmd.query_async(&mut conn).await {
        Err(error) if error.to_string().contains("Function not found") => {
            load(&mut conn).await?;
            cmd.query_async(&mut conn).await
        }
        result => result,
    }
}
