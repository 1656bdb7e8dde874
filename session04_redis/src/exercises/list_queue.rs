//! The part of the list queue that is given: connecting, the key names, `enqueue` and
//! `reserve`. Your exercises add `ack`, `reclaim`, `renew` and `hold`.

use std::collections::BTreeMap;

use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, RedisResult, Script};

use super::{Lease, ListQueue};

// ANCHOR: reserve_script
/// Moves the oldest ready task to the leases, in one atomic step.
///
/// KEYS: `Q:ready`, `Q:leases`, `Q:tokens`. ARGV: the task keys' prefix `Q:task:`, the
/// lease in milliseconds. Returns `{id, token, deadline}`, or `false` (nil in Rust) when
/// no task is ready.
const RESERVE: &str = r"
local id = redis.call('RPOP', KEYS[1])
if not id then return false end
local time = redis.call('TIME')
local deadline = time[1] * 1000 + math.floor(time[2] / 1000) + tonumber(ARGV[2])
local token = tostring(redis.call('INCR', KEYS[3]))
redis.call('HSET', ARGV[1] .. id, 'state', 'leased', 'token', token)
redis.call('ZADD', KEYS[2], deadline, id)
return {id, token, deadline}
";
// ANCHOR_END: reserve_script

impl ListQueue {
    /// Connects to the Redis at `url`, for the queue called `name`.
    pub async fn connect(
        url: &str,
        name: &str,
        lease_ms: u64,
        max_attempts: u32,
    ) -> RedisResult<Self> {
        let conn = redis::Client::open(url)?
            .get_multiplexed_async_connection()
            .await?;
        Ok(Self {
            conn,
            name: name.to_owned(),
            lease_ms,
            max_attempts,
        })
    }

    /// How long a lease lasts, in milliseconds.
    pub fn lease_ms(&self) -> u64 {
        self.lease_ms
    }

    /// How many leases a task may have run out before it is given up on.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// A connection of the queue's own, for commands of yours.
    pub fn connection(&self) -> MultiplexedConnection {
        self.conn.clone()
    }

    /// `Q:ready`.
    pub fn ready_key(&self) -> String {
        format!("{}:ready", self.name)
    }

    /// `Q:leases`.
    pub fn leases_key(&self) -> String {
        format!("{}:leases", self.name)
    }

    /// `Q:task:`: a task's key is this followed by its id.
    pub fn task_prefix(&self) -> String {
        format!("{}:task:", self.name)
    }

    /// `Q:task:ID`.
    pub fn task_key(&self, id: &str) -> String {
        format!("{}{id}", self.task_prefix())
    }

    /// `Q:dead`.
    pub fn dead_key(&self) -> String {
        format!("{}:dead", self.name)
    }

    /// `Q:stats`.
    pub fn stats_key(&self) -> String {
        format!("{}:stats", self.name)
    }

    /// `Q:tokens`.
    pub fn tokens_key(&self) -> String {
        format!("{}:tokens", self.name)
    }

    /// Adds task `id` with `payload`, ready to run. (Two commands in one `MULTI`
    /// transaction: no script is needed when nothing must be read first.)
    pub async fn enqueue(&self, id: &str, payload: &str) -> RedisResult<()> {
        redis::pipe()
            .atomic()
            .hset_multiple(
                self.task_key(id),
                &[("payload", payload), ("state", "ready")],
            )
            .lpush(self.ready_key(), id)
            .exec_async(&mut self.connection())
            .await
    }

    /// Leases the oldest ready task for `lease_ms`, or `None` when no task is ready.
    pub async fn reserve(&self) -> RedisResult<Option<Lease>> {
        let reply: Option<(String, String, u64)> = Script::new(RESERVE)
            .key(self.ready_key())
            .key(self.leases_key())
            .key(self.tokens_key())
            .arg(self.task_prefix())
            .arg(self.lease_ms)
            .invoke_async(&mut self.connection())
            .await?;
        Ok(reply.map(|(id, token, deadline_ms)| Lease {
            id,
            token,
            deadline_ms,
        }))
    }

    /// The fields of task `id`'s hash (empty when there is no such task).
    pub async fn task(&self, id: &str) -> RedisResult<BTreeMap<String, String>> {
        self.connection().hgetall(self.task_key(id)).await
    }
}
