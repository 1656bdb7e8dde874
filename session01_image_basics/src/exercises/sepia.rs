//! Exercise 1.1: sepia. Replace the `todo!` with your code; grade with
//! `cargo xtask grade 1 --exercise ex01_1`.
// The stub stops at `todo!` without using its argument, on purpose: the workspace builds and
// every test outside the exercises passes before you start.
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
