//! Shortcut for exercise 2.3: bands of `height.div_ceil(bands)` rows, rounded up
//! instead of shared out evenly. The last band takes what is left, so band lengths can
//! differ by more than one and there can be fewer bands than asked for:
//! `ex02_3_a_worked_example` and `ex02_3_bands_cover_the_rows_evenly` catch it.

use super::Band;

/// Exercise 2.3, with bands rounded up.
pub fn halo_bands(height: usize, bands: usize, halo: usize) -> Vec<Band> {
    if bands == 0 {
        return Vec::new();
    }
    let rows = height.div_ceil(bands).max(1);
    (0..height)
        .step_by(rows)
        .map(|start| {
            let write = start..(start + rows).min(height);
            Band {
                read: start.saturating_sub(halo)..(write.end + halo).min(height),
                write,
            }
        })
        .collect()
}
