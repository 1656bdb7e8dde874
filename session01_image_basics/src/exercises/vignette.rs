//! Exercise 1.2: vignette. Replace the `todo!` with your code; grade with
//! `cargo xtask grade 1 --exercise ex01_2`.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds and
// every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use crate::pixels::{Buffer, Pixel8};

// ANCHOR: vignette
/// Exercise 1.2: vignette.
///
/// Multiply each colour sample by `1 - strength * (d / d_max)²`, where `d` is the pixel's
/// distance in pixels from the image centre `((width - 1) / 2, (height - 1) / 2)` and `d_max`
/// that of a corner pixel (take the factor as 1 when `d_max` is 0), then round. The falloff
/// is circular, whatever the image's shape: pixels at the same distance from the centre get
/// the same factor. The centre keeps its colour, the corners are scaled by `1 - strength`;
/// alpha is never touched.
pub fn vignette<P: Pixel8>(image: &Buffer<P>, strength: f32) -> Buffer<P> {
    todo!("exercise 1.2: vignette")
}
// ANCHOR_END: vignette
