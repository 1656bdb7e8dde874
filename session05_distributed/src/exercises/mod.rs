//! The session's graded exercises: four pieces of a crowd of workers, each written against
//! a real Redis.
//!
//! Each exercise has its own file and starts as a `todo!`, specified by its doc comment;
//! replace the `todo!`s with your code and run `cargo xtask grade 5` (it starts a
//! `redis-server` of its own for each test). Every function is `async` and takes a
//! connection; the keys it uses are laid out below, so the tests can look at Redis and
//! check what your code left there.
//!
//! | exercise | file | item | what it is for |
//! |---|---|---|---|
//! | 5.1 | `beat.rs` | [`beat_until_stopped`] | a worker's heartbeat: a key that expires unless rewritten, deleted on a clean exit |
//! | 5.2 | `fencing.rs` | [`acquire_lock`], [`release_lock`] | a lock that expires, with fencing tokens, released only by its holder |
//! | 5.3 | `orphans.rs` | [`recover_orphans`] | the tasks of dead workers back to the queue, none lost or twice |
//! | 5.4 | `fan_in.rs` | [`report_tile`] | a tiled job assembled exactly once, whatever order and how often its tiles report |
//!
//! # The keys
//!
//! A work queue in namespace `ns` (every test uses its own) is kept in lists and keys:
//!
//! | key | type | what it holds |
//! |---|---|---|
//! | [`ready_key`]`(ns)` = `NS:ready` | list | tasks waiting: producers `LPUSH`, workers take from the right end |
//! | [`processing_key`]`(ns, w)` = `NS:processing:W` | list | the tasks worker `w` holds: it takes one with `LMOVE NS:ready NS:processing:W RIGHT LEFT` |
//! | [`workers_key`]`(ns)` = `NS:workers` | set | the id of every worker that may have a processing list |
//! | [`worker_key`]`(ns, w)` = `NS:worker:W` | string | worker `w`'s heartbeat: it exists while `w` is alive |
//! | [`fencing_key`]`(lock)` = `LOCK:fencing` | string | the last fencing token handed out for the lock at key `lock` |
//! | [`tiles_key`]`(ns, job)` = `NS:job:JOB:tiles` | set | the indices of the tiles of `job` reported done |

use std::time::Duration;

/// The list of tasks waiting in namespace `ns`.
pub fn ready_key(ns: &str) -> String {
    format!("{ns}:ready")
}

/// The list of tasks worker `worker` holds.
pub fn processing_key(ns: &str, worker: &str) -> String {
    format!("{ns}:processing:{worker}")
}

/// The set of workers that may have a processing list.
pub fn workers_key(ns: &str) -> String {
    format!("{ns}:workers")
}

/// Worker `worker`'s heartbeat key.
pub fn worker_key(ns: &str, worker: &str) -> String {
    format!("{ns}:worker:{worker}")
}

/// The counter of fencing tokens of the lock at key `lock`.
pub fn fencing_key(lock: &str) -> String {
    format!("{lock}:fencing")
}

/// The set of tiles of `job` reported done.
pub fn tiles_key(ns: &str, job: &str) -> String {
    format!("{ns}:job:{job}:tiles")
}

/// A worker's heartbeat, for [`beat_until_stopped`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// The key to write: [`worker_key`] of the worker.
    pub key: String,
    /// What to write there: the worker's record (its host, what it runs, as text).
    pub record: String,
    /// Time between two writes.
    pub every: Duration,
    /// How long each write keeps the key alive: several times `every`, so one late beat
    /// does not make a worker look dead.
    pub ttl: Duration,
}

/// What one report of a finished tile means for its job, from [`report_tile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileReport {
    /// A tile not reported before, and the job still waits for others.
    Waiting {
        /// How many distinct tiles are done, this one included.
        done: u64,
        /// How many tiles the job has.
        of: u64,
    },
    /// This report completed the set: this caller, and no other, assembles the job.
    Assemble,
    /// The tile was reported before and the job is not complete: nothing changes.
    Duplicate,
    /// Every tile was done before this report: someone else assembles the job.
    AlreadyAssembled,
}

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/beat.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/beat.rs")]
mod beat;
pub use beat::beat_until_stopped;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/fencing.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/fencing.rs")]
mod fencing;
pub use fencing::{acquire_lock, release_lock};

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/orphans.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/orphans.rs")]
mod orphans;
pub use orphans::recover_orphans;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/fan_in.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/fan_in.rs")]
mod fan_in;
pub use fan_in::report_tile;
