//! Exercise 2.3: bands with halos.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use super::Band;

// ANCHOR: halo_bands
/// Exercise 2.3: bands with halos.
///
/// Splits rows `0..height` into `bands` bands for as many threads, for a filter that reads
/// `halo` rows around each row it writes:
///
/// - the `write` ranges are consecutive, non-empty, and together cover `0..height` in order;
/// - their lengths differ by at most one (the first ones are the longer);
/// - there are `bands` of them, or `height` when there are fewer rows than bands;
/// - each `read` is its `write` extended by `halo` rows on both sides, cut at `0` and
///   `height`.
///
/// `height == 0` or `bands == 0` gives no bands.
pub fn halo_bands(height: usize, bands: usize, halo: usize) -> Vec<Band> {
    todo!("exercise 2.3: halo_bands")
}
// ANCHOR_END: halo_bands
