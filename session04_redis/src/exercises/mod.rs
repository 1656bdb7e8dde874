//! The session's graded exercises: four pieces a task queue on Redis Streams needs.
//!
//! Each is in `src/exercises/student.rs` and starts as a `todo!`, specified by its doc
//! comment; replace the `todo!`s with your code and run `cargo xtask grade 4`. None of them
//! needs a Redis server: each is the pure decision or conversion at the heart of a queue
//! operation, which is the part worth testing without one.
//!
//! | exercise | item | what it is for |
//! |---|---|---|
//! | 4.1 | [`StreamId`] | reading, printing, ordering and stepping past the ids Redis gives entries |
//! | 4.2 | [`plan_reclaim`] | which expired leases to take over, and which tasks to give up on |
//! | 4.3 | [`upgrade`] | reading tasks an older submitter left in the stream |
//! | 4.4 | [`dead_letter_report`] | what an operator sees first: why tasks died, most common first |
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
    DeadLetter, PendingEntry, ReasonCount, ReclaimPlan, StreamId, dead_letter_report, plan_reclaim,
    upgrade,
};
