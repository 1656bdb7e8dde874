//! Exercise 2.3: even shares, the remainder to the first bands, halos cut at the edges.

use super::Band;

/// Exercise 2.3: `bands` bands of `height / bands` rows, the first `height % bands` one
/// longer.
pub fn halo_bands(height: usize, bands: usize, halo: usize) -> Vec<Band> {
    let count = bands.min(height);
    if count == 0 {
        return Vec::new();
    }
    let (share, extra) = (height / count, height % count);
    let mut start = 0;
    (0..count)
        .map(|index| {
            let len = share + usize::from(index < extra);
            let write = start..start + len;
            start += len;
            Band {
                read: write.start.saturating_sub(halo)..(write.end + halo).min(height),
                write,
            }
        })
        .collect()
}
