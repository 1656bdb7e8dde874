//! Exercise 2.2: sliding window sums.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use std::ops::{Add, Sub};

// ANCHOR: window_sums
/// Exercise 2.2: sliding window sums, the row pass of a box blur.
///
/// `row` holds pixels of `channels` interleaved samples. Returns, for every sample, the
/// sum of the samples of the same channel from `radius` pixels to its left to `radius`
/// pixels to its right; beyond either end of the row the edge pixel repeats (so every
/// window has `2 radius + 1` terms). The output has `row.len()` entries.
///
/// `T` is any number type that can be added and subtracted (the tests use `u32`, and a
/// type that counts the additions and subtractions). The count must not grow with the
/// radius for each sample: add up each channel's first window once, then slide it, adding
/// the sample that enters and subtracting the one that leaves. In all, at most
/// `4 row.len() + channels (2 radius + 1)` operations. An empty row gives an empty output;
/// `channels` is at least 1 and divides `row.len()`.
pub fn window_sums<T>(row: &[T], channels: usize, radius: usize) -> Vec<T>
where
    T: Copy + Add<Output = T> + Sub<Output = T>,
{
    todo!("exercise 2.2: window_sums")
}
// ANCHOR_END: window_sums
