//! The session's graded exercises: four pieces of a fast pipeline for you to write.
//!
//! Each is a function in `src/exercises/student.rs` that starts as a `todo!`, specified by
//! its doc comment; replace the `todo!` with your code and run `cargo xtask grade 2`.
//!
//! | exercise | function | what it is for |
//! |---|---|---|
//! | 2.1 | [`fuse`] | a pipeline's fusion: consecutive lookup tables composed into one |
//! | 2.2 | [`window_sums`] | a box blur whose cost does not grow with its radius |
//! | 2.3 | [`halo_bands`] | splitting an image over threads without seams |
//! | 2.4 | [`rotate_tiled`] | a quarter turn that reads and writes memory in cache-sized tiles |
//!
//! The reference solutions live in `solutions/exercises.rs`; the `solutions` cargo feature
//! swaps them in, which is how `cargo xtask verify` proves that the graded tests pass on a
//! correct answer and fail on the stubs.

use std::ops::Range;

#[cfg(not(feature = "solutions"))]
mod student;

#[cfg(feature = "solutions")]
#[path = "../../solutions/exercises.rs"]
mod student;

pub use student::{fuse, halo_bands, rotate_tiled, window_sums};

/// One band of rows for one thread: the rows it reads and the rows it writes (exercise 2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Band {
    /// Rows read: the written rows and up to `halo` more on each side, within the image.
    pub read: Range<usize>,
    /// Rows written.
    pub write: Range<usize>,
}
