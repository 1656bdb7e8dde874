//! Reference solutions to session 02's exercises (the `solutions` feature swaps them in).

use image::RgbImage;
use session01_image_basics::PointOp;

use super::Band;

/// Exercise 2.1: consecutive tables composed, everything else kept in place.
pub fn fuse(ops: &[PointOp]) -> Vec<PointOp> {
    let mut fused: Vec<PointOp> = Vec::with_capacity(ops.len());
    for op in ops {
        match (fused.last_mut(), op) {
            (Some(PointOp::Table(first)), PointOp::Table(second)) => {
                for value in first.iter_mut() {
                    *value = second[usize::from(*value)];
                }
            }
            _ => fused.push(op.clone()),
        }
    }
    fused
}

/// Exercise 2.2: one running sum per channel, updated once per pixel.
pub fn window_sums(row: &[u8], channels: usize, radius: usize) -> Vec<u32> {
    let width = row.len() / channels.max(1);
    let mut out = vec![0; row.len()];
    if width == 0 {
        return out;
    }
    let at =
        |x: isize, c: usize| u32::from(row[x.clamp(0, width as isize - 1) as usize * channels + c]);
    let r = radius as isize;
    for c in 0..channels {
        let mut sum: u32 = (-r..=r).map(|x| at(x, c)).sum();
        for x in 0..width {
            out[x * channels + c] = sum;
            let x = x as isize;
            sum = sum + at(x + r + 1, c) - at(x - r, c);
        }
    }
    out
}

/// Exercise 2.3: even shares, the remainder to the first bands, halos cut at the edges.
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

/// Exercise 2.4: tile by tile; within a tile, pixel by pixel.
pub fn rotate_tiled(image: &RgbImage, tile: u32) -> RgbImage {
    let (width, height) = image.dimensions();
    let tile = tile.max(1);
    let mut out = RgbImage::new(height, width);
    for ty in (0..height).step_by(tile as usize) {
        for tx in (0..width).step_by(tile as usize) {
            for y in ty..(ty + tile).min(height) {
                for x in tx..(tx + tile).min(width) {
                    out.put_pixel(height - 1 - y, x, *image.get_pixel(x, y));
                }
            }
        }
    }
    out
}
