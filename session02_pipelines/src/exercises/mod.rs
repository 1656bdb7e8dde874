//! The session's graded exercises: two pieces of a batch on threads and two pieces of a fast
//! filter for you to write.
//!
//! Each exercise is one file of `src/exercises/` whose functions start as `todo!`, specified
//! by their doc comments; replace each `todo!` with your code and run `cargo xtask grade 2`.
//!
//! | exercise | file | function | what it is for |
//! |---|---|---|---|
//! | 2.1 | `parallel_map.rs` | [`parallel_map`] | a batch over exactly `workers` threads, in order, surviving panics |
//! | 2.2 | `window_sums.rs` | [`window_sums`] | a box blur whose cost does not grow with its radius |
//! | 2.3 | `halo_bands.rs` | [`halo_bands`] | splitting an image over threads without seams |
//! | 2.4 | `stages.rs` | [`stages`] | load, filter and save on three threads at once |

use std::ops::Range;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/parallel_map.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/parallel_map.rs")]
mod parallel_map;
pub use parallel_map::parallel_map;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/window_sums.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/window_sums.rs")]
mod window_sums;
pub use window_sums::window_sums;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/halo_bands.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/halo_bands.rs")]
mod halo_bands;
pub use halo_bands::halo_bands;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/stages.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/stages.rs")]
mod stages;
pub use stages::stages;

/// One band of rows for one thread: the rows it reads and the rows it writes (exercise 2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Band {
    /// Rows read: the written rows and up to `halo` more on each side, within the image.
    pub read: Range<usize>,
    /// Rows written.
    pub write: Range<usize>,
}
