//! Helpers shared by the integration tests.
#![allow(dead_code)]

use image::DynamicImage;
use session01_image_basics::{build, load, samples};

/// A bundled photograph, decoded.
pub fn photo(name: &str) -> DynamicImage {
    load(samples::path(name)).unwrap_or_else(|e| panic!("sample {name}: {e}"))
}

/// Builds a filter and applies it, failing the test on any error.
pub fn apply(name: &str, params: &[&str], image: &DynamicImage) -> DynamicImage {
    build(name, params)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .apply(image)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Mean and variance of all samples.
pub fn mean_and_variance(image: &DynamicImage) -> (f64, f64) {
    let samples = image.as_bytes();
    let n = samples.len() as f64;
    let mean = samples.iter().map(|&s| f64::from(s)).sum::<f64>() / n;
    let variance = samples
        .iter()
        .map(|&s| (f64::from(s) - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, variance)
}

/// Sum of absolute differences between horizontally adjacent samples: how much detail.
pub fn detail(image: &DynamicImage) -> u64 {
    let rgb = image.to_rgb8();
    let row = rgb.width() as usize * 3;
    rgb.chunks_exact(row)
        .flat_map(|r| r.windows(4).map(|w| u64::from(w[0].abs_diff(w[3]))))
        .sum()
}
