//! Exercise 2.2: one running sum per channel, updated once per pixel.

use std::ops::{Add, Sub};

/// Exercise 2.2: the first window added up, then slid one pixel at a time.
pub fn window_sums<T>(row: &[T], channels: usize, radius: usize) -> Vec<T>
where
    T: Copy + Add<Output = T> + Sub<Output = T>,
{
    let width = (row.len() / channels.max(1)) as isize;
    let mut out = row.to_vec();
    let at = |x: isize, c: usize| row[x.clamp(0, width - 1) as usize * channels + c];
    let r = radius as isize;
    for c in 0..channels.min(row.len()) {
        let mut sum = (1 - r..=r).fold(at(-r, c), |sum, x| sum + at(x, c));
        for x in 0..width {
            if x > 0 {
                sum = sum + at(x + r, c) - at(x - r - 1, c);
            }
            out[x as usize * channels + c] = sum;
        }
    }
    out
}
