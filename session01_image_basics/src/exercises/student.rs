//! Your answers to the session's exercises: replace each `todo!` with your code.
//!
//! Each function receives an image of any 8-bit layout `P` (gray, gray + alpha, RGB, RGBA)
//! and returns a new one of the same size and layout. `crate::pixels` has the helpers the
//! catalog's filters use (`for_each_colour`, `colour_channels`, `to_u8`). Grade with
//! `cargo xtask grade 1`.
// The stubs stop at `todo!` without using their arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use crate::pixels::{Buffer, Pixel8};

// ANCHOR: sepia
/// Exercise 1.1: sepia.
///
/// For each RGB pixel, with `r, g, b` the input samples:
///
/// ```text
/// r' = 0.393 r + 0.769 g + 0.189 b
/// g' = 0.349 r + 0.686 g + 0.168 b
/// b' = 0.272 r + 0.534 g + 0.131 b
/// ```
///
/// rounded to the nearest integer and clamped to 255. Gray images have no room for a tint and
/// come back unchanged; alpha is never touched.
pub fn sepia<P: Pixel8>(image: &Buffer<P>) -> Buffer<P> {
    todo!("exercise 1.1: sepia")
}
// ANCHOR_END: sepia

// ANCHOR: vignette
/// Exercise 1.2: vignette.
///
/// Multiply each colour sample by `1 - strength * (d / d_max)²`, where `d` is the pixel's
/// distance from the image centre `((width - 1) / 2, (height - 1) / 2)` and `d_max` that of a
/// corner pixel (take the factor as 1 when `d_max` is 0), then round. The centre keeps its
/// colour, the corners are scaled by `1 - strength`; alpha is never touched.
pub fn vignette<P: Pixel8>(image: &Buffer<P>, strength: f32) -> Buffer<P> {
    todo!("exercise 1.2: vignette")
}
// ANCHOR_END: vignette

// ANCHOR: pixelate
/// Exercise 1.3: pixelate.
///
/// Cut the image into `block` x `block` cells starting at the top-left corner (the cells on
/// the right and bottom edges may be narrower) and give every pixel of a cell the cell's
/// mean, sample by sample (alpha included), rounded to the nearest integer.
pub fn pixelate<P: Pixel8>(image: &Buffer<P>, block: u32) -> Buffer<P> {
    todo!("exercise 1.3: pixelate")
}
// ANCHOR_END: pixelate

// ANCHOR: equalize
/// Exercise 1.4: histogram equalisation, each colour channel on its own.
///
/// For a channel of `n` samples, let `cdf(v)` count the samples `<= v` and `cdf_min` be the
/// `cdf` of the smallest value present. Map each sample `v` to
/// `round((cdf(v) - cdf_min) * 255 / (n - cdf_min))`. A channel with a single value
/// (`n == cdf_min`) is left unchanged; alpha is never touched.
pub fn equalize<P: Pixel8>(image: &Buffer<P>) -> Buffer<P> {
    todo!("exercise 1.4: histogram equalisation")
}
// ANCHOR_END: equalize
