//! Your answers to the session's exercises: replace each `todo!` with your code.
//!
//! Grade with `cargo xtask grade 2`, or one exercise with `--exercise ex02_3`.
// The stubs stop at `todo!` without using their arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use image::RgbImage;
use session01_image_basics::PointOp;

use super::Band;

// ANCHOR: fuse
/// Exercise 2.1: fusion.
///
/// Returns operations that do to any pixel exactly what `ops`, applied in order, do, with
/// every run of consecutive [`PointOp::Table`]s replaced by one table: the composition,
/// where `v` becomes `second[first[v]]`. Other operations (grayscale, threshold) stay as
/// they are, in their place. An empty input gives an empty output.
///
/// `[Table(a), Table(b), Grayscale, Table(c)]` becomes `[Table(b∘a), Grayscale, Table(c)]`.
pub fn fuse(ops: &[PointOp]) -> Vec<PointOp> {
    todo!("exercise 2.1: fuse")
}
// ANCHOR_END: fuse

// ANCHOR: window_sums
/// Exercise 2.2: sliding window sums.
///
/// `row` holds pixels of `channels` interleaved samples. Returns, for every sample, the
/// sum of the samples of the same channel from `radius` pixels to its left to `radius`
/// pixels to its right; beyond either end of the row the edge pixel repeats (so every
/// window has `2 radius + 1` terms). The output has `row.len()` entries.
///
/// The work must not grow with the radius: slide the window, adding the sample that enters
/// and subtracting the one that leaves, instead of adding `2 radius + 1` terms each time.
/// (The graded tests use radii of several thousand on long rows.) An empty row gives an
/// empty output; `channels` is at least 1 and divides `row.len()`.
pub fn window_sums(row: &[u8], channels: usize, radius: usize) -> Vec<u32> {
    todo!("exercise 2.2: window_sums")
}
// ANCHOR_END: window_sums

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

// ANCHOR: rotate_tiled
/// Exercise 2.4: a quarter turn in tiles.
///
/// Returns `image` turned 90 degrees clockwise (the output is `height` wide and `width`
/// tall; the top-left input pixel ends at the top right), exactly as
/// `image::imageops::rotate90` does, but working through `tile` x `tile` squares of the
/// input one at a time, so that the rows being read and the rows being written both stay
/// in the cache. Edge tiles are smaller when `tile` does not divide the sides. `tile` is
/// at least 1.
pub fn rotate_tiled(image: &RgbImage, tile: u32) -> RgbImage {
    todo!("exercise 2.4: rotate_tiled")
}
// ANCHOR_END: rotate_tiled
