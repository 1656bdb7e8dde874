//! Exercise 3.3: percentiles.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use std::time::Duration;

// ANCHOR: percentile
/// Exercise 3.3: the `q`-th percentile (`q` in `[0, 1]`) of `samples`, exactly.
///
/// By the nearest-rank definition: the smallest sample such that at least a share `q` of
/// all samples are less than or equal to it. That is the sample at rank `⌈q × n⌉` (ranks
/// from 1) in sorted order, and the smallest sample when `q` is 0. `samples` is in any
/// order, and must be left as it is. `None` when there are no samples or `q` is outside
/// `[0, 1]` (or not a number).
pub fn percentile(samples: &[Duration], q: f64) -> Option<Duration> {
    todo!("exercise 3.3: percentile")
}
// ANCHOR_END: percentile
