//! Convolution, the engine of every blur and sharpen: each output sample is a weighted sum
//! of the input samples around it.
//!
//! These are the readable versions: plain loops over rows of samples, `f32` arithmetic,
//! one rounding at the end. Pixels outside the image repeat the nearest edge pixel
//! ("clamp to edge"), so an output pixel depends only on input pixels at most the kernel's
//! radius away, which is what [`FilterKind::Neighbourhood`](crate::FilterKind) promises.

use crate::pixels::{Buffer, Pixel8, colour_channels, to_u8};

/// The index of `i - radius` clamped into `0..len`: reading past an edge repeats it.
fn clamped(i: usize, offset: usize, radius: usize, len: usize) -> usize {
    (i + offset).saturating_sub(radius).min(len - 1)
}

/// Weights of a Gaussian of standard deviation `sigma`, reaching `ceil(3 sigma)` pixels
/// each way (99.7% of its mass), normalised to sum to 1.
// ANCHOR: gaussian_kernel
pub fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let radius = gaussian_radius(sigma) as i32;
    let weights: Vec<f32> = (-radius..=radius)
        .map(|x| (-((x * x) as f32) / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f32 = weights.iter().sum();
    weights.into_iter().map(|w| w / sum).collect()
}
// ANCHOR_END: gaussian_kernel

/// How far [`gaussian_kernel`] reaches for `sigma`.
pub fn gaussian_radius(sigma: f32) -> u32 {
    (3.0 * sigma).ceil().max(1.0) as u32
}

/// Convolves every channel, alpha included, with `kernel` along x and then along y.
///
/// A 2-D Gaussian or box kernel is the product of two 1-D kernels, so two passes of `n`
/// taps replace one pass of `n * n`. The first pass keeps `f32` sums so rounding happens
/// once.
// ANCHOR: separable
pub fn separable<P: Pixel8>(image: &Buffer<P>, kernel: &[f32]) -> Buffer<P> {
    let (width, height) = (image.width() as usize, image.height() as usize);
    if width == 0 || height == 0 {
        return image.clone();
    }
    let channels = usize::from(P::CHANNEL_COUNT);
    let radius = kernel.len() / 2;
    let row_len = width * channels;

    // Horizontal pass: each sample becomes the weighted sum of its row neighbours.
    let mut horizontal = vec![0.0f32; row_len * height];
    for (src, dst) in image
        .chunks_exact(row_len)
        .zip(horizontal.chunks_exact_mut(row_len))
    {
        for x in 0..width {
            for c in 0..channels {
                dst[x * channels + c] = kernel
                    .iter()
                    .enumerate()
                    .map(|(k, weight)| {
                        weight * f32::from(src[clamped(x, k, radius, width) * channels + c])
                    })
                    .sum();
            }
        }
    }

    // Vertical pass: whole rows at a time, added with their weights.
    let mut out = Buffer::<P>::new(image.width(), image.height());
    let mut sums = vec![0.0f32; row_len];
    for (y, dst) in out.chunks_exact_mut(row_len).enumerate() {
        sums.fill(0.0);
        for (k, weight) in kernel.iter().enumerate() {
            let row = clamped(y, k, radius, height) * row_len;
            for (sum, sample) in sums.iter_mut().zip(&horizontal[row..row + row_len]) {
                *sum += weight * sample;
            }
        }
        for (out, sum) in dst.iter_mut().zip(&sums) {
            *out = to_u8(*sum);
        }
    }
    out
}
// ANCHOR_END: separable

/// Convolves the colour channels with a 3x3 kernel; alpha is copied.
// ANCHOR: convolve3x3
pub fn convolve3x3<P: Pixel8>(image: &Buffer<P>, kernel: [[f32; 3]; 3]) -> Buffer<P> {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let channels = usize::from(P::CHANNEL_COUNT);
    let colour = colour_channels::<P>();
    let mut out = image.clone();
    let samples = image.as_raw();
    for y in 0..height {
        for x in 0..width {
            for c in 0..colour {
                let mut sum = 0.0;
                for (ky, row) in kernel.iter().enumerate() {
                    let sy = clamped(y, ky, 1, height);
                    for (kx, weight) in row.iter().enumerate() {
                        let sx = clamped(x, kx, 1, width);
                        sum += weight * f32::from(samples[(sy * width + sx) * channels + c]);
                    }
                }
                out.as_mut()[(y * width + x) * channels + c] = to_u8(sum);
            }
        }
    }
    out
}
// ANCHOR_END: convolve3x3
