//! Shortcut for exercise 2.2: every window added up afresh, `2 radius + 1` terms per
//! sample. Right sums, but the work grows with the radius:
//! `ex02_2_the_work_does_not_grow_with_the_radius` counts the additions and catches it.

use std::ops::{Add, Sub};

/// Exercise 2.2, the obvious way.
pub fn window_sums<T>(row: &[T], channels: usize, radius: usize) -> Vec<T>
where
    T: Copy + Add<Output = T> + Sub<Output = T>,
{
    let width = (row.len() / channels.max(1)) as isize;
    let r = radius as isize;
    let at = |x: isize, c: usize| row[x.clamp(0, width - 1) as usize * channels + c];
    (0..row.len())
        .map(|i| {
            let (x, c) = ((i / channels) as isize, i % channels);
            (x - r + 1..=x + r).fold(at(x - r, c), |sum, sx| sum + at(sx, c))
        })
        .collect()
}
