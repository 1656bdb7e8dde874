//! Reference solution to exercise 1.4 (histogram equalisation); the specification is in
//! `src/exercises/equalize.rs`.

use crate::filters::PointOp;
use crate::pixels::{Buffer, Pixel8, colour_channels};

/// Exercise 1.4: histogram equalisation, one mapping for all colour channels.
pub fn equalize<P: Pixel8>(image: &Buffer<P>) -> Buffer<P> {
    let mut histogram = [0u64; 256];
    for pixel in image.chunks_exact(usize::from(P::CHANNEL_COUNT)) {
        for &sample in &pixel[..colour_channels::<P>()] {
            histogram[usize::from(sample)] += 1;
        }
    }
    let n: u64 = histogram.iter().sum();
    let cdf_min = histogram
        .iter()
        .copied()
        .find(|&count| count > 0)
        .unwrap_or(0);
    if n == cdf_min {
        return image.clone();
    }
    let mut table = [0u8; 256];
    let mut cdf = 0;
    for (entry, count) in table.iter_mut().zip(histogram) {
        cdf += count;
        let scaled = cdf.saturating_sub(cdf_min) as f64 * 255.0 / (n - cdf_min) as f64;
        *entry = scaled.round() as u8;
    }
    // The crate's lookup-table point operation applies the table to every colour sample.
    PointOp::Table(Box::new(table)).run(image)
}
