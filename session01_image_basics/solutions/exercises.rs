//! Reference solutions to session 01's exercises, switched in by the `solutions` feature.
//!
//! The specifications are in `src/exercises/student.rs`, next to the stubs.

use crate::pixels::{Buffer, Pixel8, colour_channels, for_each_colour, to_u8};

/// Exercise 1.1: sepia.
pub fn sepia<P: Pixel8>(image: &Buffer<P>) -> Buffer<P> {
    const MATRIX: [[f32; 3]; 3] = [
        [0.393, 0.769, 0.189],
        [0.349, 0.686, 0.168],
        [0.272, 0.534, 0.131],
    ];
    let mut out = image.clone();
    for_each_colour(&mut out, |colour| {
        if let [r, g, b] = colour {
            let input = [f32::from(*r), f32::from(*g), f32::from(*b)];
            let [r2, g2, b2] =
                MATRIX.map(|row| to_u8(row.iter().zip(input).map(|(w, v)| w * v).sum()));
            (*r, *g, *b) = (r2, g2, b2);
        }
    });
    out
}

/// Exercise 1.2: vignette.
pub fn vignette<P: Pixel8>(image: &Buffer<P>, strength: f32) -> Buffer<P> {
    let (cx, cy) = (
        (image.width() as f32 - 1.0) / 2.0,
        (image.height() as f32 - 1.0) / 2.0,
    );
    let max_squared = cx * cx + cy * cy;
    let colour = colour_channels::<P>();
    let mut out = image.clone();
    if max_squared == 0.0 {
        return out;
    }
    for (x, y, pixel) in out.enumerate_pixels_mut() {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let factor = 1.0 - strength * (dx * dx + dy * dy) / max_squared;
        for sample in &mut pixel.channels_mut()[..colour] {
            *sample = to_u8(f32::from(*sample) * factor);
        }
    }
    out
}

/// Exercise 1.3: pixelate.
pub fn pixelate<P: Pixel8>(image: &Buffer<P>, block: u32) -> Buffer<P> {
    let channels = usize::from(P::CHANNEL_COUNT);
    let mut out = image.clone();
    for top in (0..image.height()).step_by(block as usize) {
        for left in (0..image.width()).step_by(block as usize) {
            let (right, bottom) = (
                (left + block).min(image.width()),
                (top + block).min(image.height()),
            );
            let mut sums = vec![0u64; channels];
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

/// Exercise 1.4: histogram equalisation, each colour channel on its own.
pub fn equalize<P: Pixel8>(image: &Buffer<P>) -> Buffer<P> {
    let channels = usize::from(P::CHANNEL_COUNT);
    let mut out = image.clone();
    for channel in 0..colour_channels::<P>() {
        let mut histogram = [0u64; 256];
        for pixel in image.chunks_exact(channels) {
            histogram[usize::from(pixel[channel])] += 1;
        }
        let n: u64 = histogram.iter().sum();
        let cdf_min = histogram
            .iter()
            .copied()
            .find(|&count| count > 0)
            .unwrap_or(0);
        if n == cdf_min {
            continue;
        }
        let mut table = [0u8; 256];
        let mut cdf = 0;
        for (value, count) in histogram.iter().enumerate() {
            cdf += count;
            let scaled = (cdf.saturating_sub(cdf_min)) as f64 * 255.0 / (n - cdf_min) as f64;
            table[value] = scaled.round() as u8;
        }
        for pixel in out.chunks_exact_mut(channels) {
            pixel[channel] = table[usize::from(pixel[channel])];
        }
    }
    out
}
