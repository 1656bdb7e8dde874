//! Exercise 1.3: pixelate. Replace the `todo!` with your code; grade with
//! `cargo xtask grade 1 --exercise ex01_3`.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds and
// every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use crate::pixels::{Buffer, Pixel8};

// ANCHOR: pixelate
/// Exercise 1.3: pixelate.
///
/// Cut the image into `block` x `block` cells starting at the top-left corner (the cells on
/// the right and bottom edges may be narrower) and give every pixel of a cell the cell's
/// mean, sample by sample (alpha included), rounded to the nearest integer (halves up).
///
/// `block` is meant to be at least 1 ([`Pixelate::new`](super::Pixelate::new) refuses 0);
/// called with `block == 0`, there are no cells, and the answer is an unchanged copy of
/// `image` (no panic).
pub fn pixelate<P: Pixel8>(image: &Buffer<P>, block: u32) -> Buffer<P> {
    todo!("exercise 1.3: pixelate")
}
// ANCHOR_END: pixelate
