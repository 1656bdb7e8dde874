//! The session's graded exercises: four decisions a crowd of workers and tiled jobs need.
//!
//! Each is in `src/exercises/student.rs` and starts as a `todo!`, specified by its doc
//! comment; replace the `todo!`s with your code and run `cargo xtask grade 5`. None of them
//! needs a Redis server: each is the pure decision behind a registry, routing, retry or
//! fan-in step, which is the part worth testing without one.
//!
//! | exercise | item | what it is for |
//! |---|---|---|
//! | 5.1 | [`roster`] | who is busy, idle, stale or gone, from the heartbeats the registry holds |
//! | 5.2 | [`unserved_classes`] | why tasks wait: the capability classes no live worker can run |
//! | 5.3 | [`retry_window`], [`total_wait`] | how long a failing task waits before each retry, and in all |
//! | 5.4 | [`FanIn`] | assembling a tiled job exactly once, whatever order its tiles report in |
//!
//! The reference solutions live in `solutions/exercises.rs`; the `solutions` cargo feature
//! swaps them in, which is how `cargo xtask verify` proves that the graded tests pass on a
//! correct answer and fail on the stubs.

#[cfg(not(feature = "solutions"))]
mod student;

#[cfg(feature = "solutions")]
#[path = "../../solutions/exercises.rs"]
mod student;

pub use student::{
    FanIn, FanInError, FanInStep, Heartbeat, State, Unserved, Window, WorkerRow, retry_window,
    roster, total_wait, unserved_classes,
};
