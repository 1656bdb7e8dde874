//! Reference solution to exercise 1.3 (pixelate); the specification is in
//! `src/exercises/pixelate.rs`.

use crate::pixels::{Buffer, Pixel8};

/// Exercise 1.3: pixelate.
pub fn pixelate<P: Pixel8>(image: &Buffer<P>, block: u32) -> Buffer<P> {
    let (width, height) = image.dimensions();
    let mut out = image.clone();
    if block == 0 {
        return out;
    }
    for top in (0..height).step_by(block as usize) {
        for left in (0..width).step_by(block as usize) {
            let (right, bottom) = ((left + block).min(width), (top + block).min(height));
            let mut sums = vec![0u64; usize::from(P::CHANNEL_COUNT)];
            for y in top..bottom {
                for x in left..right {
                    for (sum, &sample) in sums.iter_mut().zip(image.get_pixel(x, y).channels()) {
                        *sum += u64::from(sample);
                    }
                }
            }
            let count = u64::from((right - left) * (bottom - top));
            let mean: Vec<u8> = sums
                .iter()
                .map(|sum| ((sum + count / 2) / count) as u8)
                .collect();
            for y in top..bottom {
                for x in left..right {
                    out.get_pixel_mut(x, y)
                        .channels_mut()
                        .copy_from_slice(&mean);
                }
            }
        }
    }
    out
}
