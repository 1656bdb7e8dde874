//! The session's graded exercises: a stream-id warm-up, then a reliable queue on Redis
//! *lists*, the alternative to this chapter's streams, whose atomic steps you write in Lua.
//!
//! Replace the `todo!`s in the files below with your code and run `cargo xtask grade 4`.
//! Exercises 4.2 to 4.4 run against a real `redis-server` that each test starts on a free
//! port ([`RedisServer`](crate::RedisServer)), so `redis-server` must be installed (`cargo
//! xtask setup` does it); you never start one yourself.
//!
//! | exercise | file | item | what it is for |
//! |---|---|---|---|
//! | 4.1 | `stream_id.rs` | [`StreamId`] | reading, printing, ordering and stepping past the ids Redis gives stream entries |
//! | 4.2 | `ack.rs` | [`ListQueue::ack`] | finishing a task: only the lease holder may, and only once |
//! | 4.3 | `reclaim.rs` | [`ListQueue::reclaim`] | taking back the tasks of workers that died, by Redis's clock, in one step |
//! | 4.4 | `renewal.rs` | [`ListQueue::renew`], [`ListQueue::hold`] | keeping a lease alive while a long task runs |
//!
//! # The list queue
//!
//! [`ListQueue`] keeps a queue named `Q` in these keys (its methods in `list_queue.rs` build
//! them; read that file first, its `reserve` script is a model for yours):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `Q:ready` | list | ids of the tasks waiting to run: new ones pushed on the left (`LPUSH`), taken from the right (`RPOP`) |
//! | `Q:leases` | sorted set | ids of the leased tasks, each scored by its lease's deadline: Unix milliseconds by Redis's clock (`TIME`) |
//! | `Q:task:ID` | hash | task `ID`: `payload`; `state` (`ready`, `leased`, `done` or `dead`); `attempts`, how many of its leases ran out (absent means 0); `token`, its current lease's token; `result` once done |
//! | `Q:dead` | list | ids of the tasks given up on, oldest first (`RPUSH`) |
//! | `Q:stats` | hash | `done`: how many tasks have been completed, each counted once |
//! | `Q:tokens` | string | the counter that gives each lease a new token (`INCR`) |
//!
//! A task's life: [`enqueue`](ListQueue::enqueue) makes it `ready`;
//! [`reserve`](ListQueue::reserve) moves it from `Q:ready` to `Q:leases` in one script, makes
//! it `leased` and gives the worker a [`Lease`] with a new token. Then either the worker
//! acknowledges it (4.2), or its lease runs out and a sweep takes it back (4.3); a worker
//! with a long task renews its lease meanwhile (4.4).

use redis::aio::MultiplexedConnection;

mod list_queue;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/stream_id.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/stream_id.rs")]
mod stream_id;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/ack.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/ack.rs")]
mod ack;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/reclaim.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/reclaim.rs")]
mod reclaim;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/renewal.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/renewal.rs")]
mod renewal;

// ANCHOR: stream_id_type
/// Exercise 4.1: a stream entry's id, as Redis writes it: `<ms>-<seq>`.
///
/// `ms` is the Unix time in milliseconds when the entry was added, and `seq` tells apart
/// entries added in the same millisecond. Ids are ordered by `ms`, then by `seq` (the
/// derived order does this, because the fields are declared in that order); note that this
/// is not the order of the text: `"9-0"` comes before `"10-0"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId {
    /// Milliseconds since the Unix epoch.
    pub ms: u64,
    /// The sequence number within that millisecond.
    pub seq: u64,
}
// ANCHOR_END: stream_id_type

// ANCHOR: list_queue
/// A reliable queue on Redis lists, in the keys listed at the top of this file.
#[derive(Clone)]
pub struct ListQueue {
    /// A connection to share: clone it to get the `&mut` a command needs.
    conn: MultiplexedConnection,
    /// The queue's name `Q`, the first part of each of its keys.
    name: String,
    /// How long a lease lasts, in milliseconds, from when it is given or renewed.
    lease_ms: u64,
    /// How many leases a task may have run out before it is given up on.
    max_attempts: u32,
}

/// A task reserved by one worker until `deadline_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The task's id.
    pub id: String,
    /// This lease's token: the task's `token` field while this lease is the current one.
    pub token: String,
    /// When the lease runs out unless renewed: Unix milliseconds by Redis's clock.
    pub deadline_ms: u64,
}
// ANCHOR_END: list_queue

// ANCHOR: ack_outcome
/// What an acknowledgement did (exercise 4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    /// The task is done now, with this acknowledgement's result.
    Acked,
    /// The task was already done: nothing changed.
    AlreadyDone,
    /// The lease is not the task's current one (it ran out and was taken back, or the task
    /// was never reserved): nothing changed.
    LeaseLost,
}
// ANCHOR_END: ack_outcome

/// What one sweep of expired leases did (exercise 4.3): task ids, in the order of their
/// lease deadlines, earliest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reclaimed {
    /// The tasks sent back to `Q:ready`, to run again.
    pub requeued: Vec<String>,
    /// The tasks given up on, now in `Q:dead`.
    pub dead: Vec<String>,
}

/// Why [`ListQueue::hold`] stopped before its work was done (exercise 4.4).
#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    /// A renewal was refused: the lease is no longer the task's current one.
    #[error("lost the lease on task {0}: it is no longer ours")]
    LeaseLost(String),
    /// `every` was zero: a lease cannot be renewed without a pause between renewals.
    #[error("the renewal interval must be longer than zero")]
    ZeroInterval,
    /// Redis failed.
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
}
