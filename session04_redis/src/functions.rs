//! Lua libraries: loaded into Redis once, then called by name with `FCALL`.
//!
//! Each queue step (enqueue, reserve, ack, nack ...) touches a stream, a task's hash, a
//! state index and a counter. Done as separate commands, two workers could interleave
//! between them and see a task half-moved; a function runs all of them as one atomic step,
//! in one round trip. The queue's functions are [`QUEUE`] (`queue.lua`); a later session
//! loads its own [`Library`] the same way. A Redis that restarted without persistence has
//! forgotten its libraries: [`Library::run`] loads the library again and retries, so
//! workers survive that too.

use redis::aio::ConnectionManager;
use redis::{Cmd, FromRedisValue, RedisError, RedisResult};

/// A Lua library of Redis functions, as its source declares it (`#!lua name=...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Library {
    source: &'static str,
}

/// The queue's library.
pub const QUEUE: Library = Library::new(include_str!("queue.lua"));

impl Library {
    /// The library whose source is `source`.
    pub const fn new(source: &'static str) -> Self {
        Self { source }
    }

    /// Loads (or replaces) the library in Redis.
    pub async fn load(&self, conn: &mut ConnectionManager) -> RedisResult<()> {
        redis::cmd("FUNCTION")
            .arg("LOAD")
            .arg("REPLACE")
            .arg(self.source)
            .query_async::<String>(conn)
            .await
            .map(drop)
    }

    /// `FCALL function numkeys keys...`: a call of one of the library's functions on the
    /// keys it touches, arguments to follow.
    pub fn call(&self, function: &str, keys: &[&str]) -> Cmd {
        let mut cmd = redis::cmd("FCALL");
        cmd.arg(function).arg(keys.len()).arg(keys);
        cmd
    }

    /// Runs `cmd`; when Redis does not know the function (it restarted empty), loads the
    /// library and runs it again.
    pub async fn run<T: FromRedisValue>(
        &self,
        conn: &ConnectionManager,
        cmd: &Cmd,
    ) -> RedisResult<T> {
        let mut conn = conn.clone();
        match cmd.query_async(&mut conn).await {
            Err(error) if is_missing_function(&error) => {
                self.load(&mut conn).await?;
                cmd.query_async(&mut conn).await
            }
            result => result,
        }
    }

    /// Runs a pipeline of calls, loading the library first when Redis forgot it.
    pub async fn run_pipeline<T: FromRedisValue>(
        &self,
        conn: &ConnectionManager,
        pipe: &redis::Pipeline,
    ) -> RedisResult<T> {
        let mut conn = conn.clone();
        match pipe.query_async(&mut conn).await {
            Err(error) if is_missing_function(&error) => {
                self.load(&mut conn).await?;
                pipe.query_async(&mut conn).await
            }
            result => result,
        }
    }
}

/// The code and detail of each server error in `error`: one for a command, one per failed
/// command for a pipeline.
fn server_errors(error: &RedisError) -> Vec<(String, String)> {
    error
        .clone()
        .into_server_errors()
        .map(|errors| {
            errors
                .iter()
                .map(|(_, e)| (e.code().to_owned(), e.details().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether Redis refused a call (or a call in a pipeline) because it does not know the
/// function: `ERR Function not found`, by the error's code and detail rather than its
/// printed text.
pub fn is_missing_function(error: &RedisError) -> bool {
    server_errors(error)
        .iter()
        .any(|(code, detail)| code == "ERR" && detail.starts_with("Function not found"))
}

/// Whether a stream read failed because its stream or consumer group is gone: Redis lost
/// it (a restart without persistence), or the queue removed an empty class's stream while
/// the read was blocked on it.
pub fn is_stream_gone(error: &RedisError) -> bool {
    matches!(error.code(), Some("NOGROUP" | "UNBLOCKED"))
}
