//! The session's graded exercises: four pieces a production worker system needs.
//!
//! Each is in `src/exercises/student.rs` and starts as a `todo!`, specified by its doc
//! comment; replace the `todo!`s with your code and run `cargo xtask grade 3`.
//!
//! | exercise | item | what it is for |
//! |---|---|---|
//! | 3.1 | [`PriorityQueue`] | urgent tasks first, and first come first served among equals |
//! | 3.2 | [`backoff`] | waiting longer after each failure, without every worker retrying at once |
//! | 3.3 | [`percentile`] | the p95 a dashboard shows, by its definition |
//! | 3.4 | [`missing_capabilities`] | why a task waits: the filters no worker offers |
//!
//! The reference solutions live in `solutions/exercises.rs`; the `solutions` cargo feature
//! swaps them in, which is how `cargo xtask verify` proves that the graded tests pass on a
//! correct answer and fail on the stubs.

#[cfg(not(feature = "solutions"))]
mod student;

#[cfg(feature = "solutions")]
#[path = "../../solutions/exercises.rs"]
mod student;

pub use student::{PriorityQueue, backoff, missing_capabilities, percentile};
