//! The Gaussian blur by hand, in 16-bit fixed point.
//!
//! The kernel is separable (session 01's `convolve`), so each output row is made in two
//! steps, both in 16-bit lanes, sixteen samples per AVX2 instruction:
//!
//! 1. **Down the columns:** the row's `2 r + 1` source rows, weighted, summed into one row
//!    of 16-bit values with 7 fractional bits.
//! 2. **Along the row:** that row's `2 r + 1` neighbours of each sample, weighted, rounded
//!    to bytes and written straight into the output.
//!
//! The kernel is symmetric, so the two samples at distance `k` are added first (averaged,
//! on the SIMD path along the row) and multiplied once. The weights are 15-bit fractions;
//! on the SIMD path each product is rounded to 16 bits (`pmulhrsw`) and the sums saturate
//! rather than wrap. Every output row reads its source rows straight from the image: bands
//! of rows share nothing, and no row is blurred twice.
//!
//! On x86-64 CPUs with AVX2 the two steps are written with `pulp`'s intrinsics, for radii
//! up to 24 (sigma 8); the first prefetches the row that enters the window two rows on
//! (see `median.rs`). The plain loops are the reference: exact 32-bit sums, rounded once
//! per step. They do the last samples of each row, wider kernels, and other CPUs.

use std::ops::Range;

use session01_image_basics::FilterError;
use session01_image_basics::convolve::gaussian_kernel;
use session01_image_basics::filters::{GaussianBlur, UnsharpMask};
use session01_image_basics::pixels::{Buffer, Pixel8};

use super::neighbourhood::row;
use super::{FastFilter, Layout, Tolerance, fill_bands, whole_units};

/// Radii up to which the 16-bit SIMD path runs: each of its `2 r + 2` products is rounded,
/// so a flat image may drift by up to `(r + 1) / 128` of a level, below a half here.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const SIMD_RADIUS: usize = 24;

/// The kernel in fixed point: each weight in 1/32768ths, the two samples at distance `k`
/// together (`2 w`), so that the whole kernel adds up to 32768 (but see `new`).
#[derive(Debug, Clone)]
struct Weights {
    /// The centre weight.
    centre: i16,
    /// Both weights at distance 1, 2, …: below a half each, so below 32768 together.
    pairs: Vec<i16>,
}

impl Weights {
    fn new(sigma: f32) -> Self {
        let kernel = gaussian_kernel(sigma);
        let radius = kernel.len() / 2;
        let ideal: Vec<f64> = (0..=radius)
            .map(|k| f64::from(kernel[radius + k]) * if k == 0 { 32_768.0 } else { 65_536.0 })
            .collect();
        let units = whole_units(&ideal, 32_768);
        // Below sigma 0.21 the outer weights round to nothing and the centre would be 32768,
        // one more than 16 bits hold: such a kernel adds up to 1 - 1/32768.
        let unit = |w: i32| w.clamp(0, i32::from(i16::MAX)) as i16;
        Weights {
            centre: unit(units[0]),
            pairs: units[1..].iter().map(|&w| unit(w)).collect(),
        }
    }
}

/// The Gaussian of `image`, every channel (alpha included) like session 01's.
pub(super) fn gaussian<P: Pixel8>(image: &Buffer<P>, sigma: f32) -> Buffer<P> {
    let layout = Layout::of(image);
    let weights = Weights::new(sigma);
    let src = image.as_raw();
    fill_bands(
        image,
        #[inline(always)]
        |rows, band| blur_band(src, layout, &weights, rows, band),
    )
}

impl FastFilter for GaussianBlur {
    /// 15-bit weights and sums with 7 fractional bits against f32: 1 off where the exact
    /// value sits on a rounding boundary, which few samples do.
    const TOLERANCE: Tolerance = Tolerance { max: 1, mean: 0.05 };

    fn run_fast<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        Ok(gaussian(image, self.sigma()))
    }
}

impl FastFilter for UnsharpMask {
    /// The blur's difference of 1, amplified by `amount`, and a pixel whose detail sits at
    /// the threshold may be sharpened in one and not the other; such pixels are few.
    const TOLERANCE: Tolerance = Tolerance {
        max: 12,
        mean: 0.05,
    };

    // ANCHOR: unsharp_fast
    fn run_fast<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        let (sigma, amount, threshold) = self.settings();
        let blurred = gaussian(image, sigma);
        let layout = Layout::of(image);
        let (src, soft) = (image.as_raw(), blurred.as_raw());
        let row_len = layout.row_len();
        // amount in 1/4096ths: integer lanes, and at most 1/8192 off per level of detail.
        let gain = (amount * 4096.0).round() as i32;
        let threshold = i32::from(threshold);
        Ok(fill_bands(
            image,
            #[inline(always)]
            |rows, band| {
                let span = rows.start * row_len..rows.end * row_len;
                let (src, soft) = (&src[span.clone()], &soft[span]);
                let soft = &soft[..src.len()];
                for (i, out) in band[..src.len()].iter_mut().enumerate() {
                    let v = i32::from(src[i]);
                    let detail = v - i32::from(soft[i]);
                    let sharpened = (v + ((gain * detail + 2048) >> 12)).clamp(0, 255);
                    // Branch-free: both values are computed, the threshold picks one.
                    let flat = detail.abs() < threshold;
                    *out = (if flat { v } else { sharpened }) as u8;
                }
                if layout.alpha {
                    super::restore_alpha(band, src, layout.channels);
                }
            },
        ))
    }
    // ANCHOR_END: unsharp_fast
}

/// The output rows `rows`, into `band`.
// ANCHOR: blur_band
#[inline(always)]
fn blur_band(src: &[u8], layout: Layout, weights: &Weights, rows: Range<usize>, band: &mut [u8]) {
    let (row_len, height, c) = (layout.row_len(), layout.height, layout.channels);
    let radius = weights.pairs.len();
    let source = |y: usize, dy: isize| row(src, row_len, height, y, dy);
    // One row of column sums, with `radius` pixels of margin on each side.
    let margin = radius * c;
    let mut columns = vec![0i16; row_len + 2 * margin];
    let mut taps = Vec::with_capacity(radius);
    for (y, dst) in rows.zip(band.chunks_exact_mut(row_len)) {
        taps.clear();
        taps.extend((1..=radius as isize).map(|k| (source(y, -k), source(y, k))));
        // 1. Down the columns: SIMD for what it can do, the plain loop for the rest.
        let sums = &mut columns[margin..margin + row_len];
        // The row that enters the window two rows on, prefetched as the SIMD loop goes.
        let ahead = source(y, radius as isize + 2);
        let done = avx2::down(source(y, 0), &taps, weights, ahead, sums);
        down(source(y, 0), &taps, weights, sums, done);
        repeat_edges(&mut columns, margin, c);
        // 2. Along the row, straight into the output.
        let done = avx2::along(&columns, c, weights, dst);
        along(&columns, c, weights, dst, done);
    }
}
// ANCHOR_END: blur_band

/// Fills the margins of a row of column sums with its first and last pixel, repeated.
fn repeat_edges(columns: &mut [i16], margin: usize, c: usize) {
    let last = columns.len() - margin - c;
    for x in (0..margin).step_by(c) {
        columns.copy_within(margin..margin + c, x);
        columns.copy_within(last..last + c, last + c + x);
    }
}

/// Two source rows at the same distance above and below.
type Pair<'a> = (&'a [u8], &'a [u8]);

/// `sums[from..]` = the weighted sum of the `centre` row and the rows of `taps`, with 7
/// fractional bits: exact 32-bit sums, rounded once.
fn down(centre: &[u8], taps: &[Pair<'_>], weights: &Weights, sums: &mut [i16], from: usize) {
    let centre_weight = 2 * weights.centre as u32;
    for (i, sum) in sums.iter_mut().enumerate().skip(from) {
        // Each sample times its weight in 1/65536ths.
        let mut exact = u32::from(centre[i]) * centre_weight;
        for (&(up, down), &w) in taps.iter().zip(&weights.pairs) {
            exact += (u32::from(up[i]) + u32::from(down[i])) * w as u32;
        }
        *sum = ((exact + 256) >> 9) as i16;
    }
}

/// `dst[from..]` = the weighted sum along the row of `columns` (margins included), rounded
/// to bytes: exact 32-bit sums, rounded once.
fn along(columns: &[i16], c: usize, weights: &Weights, dst: &mut [u8], from: usize) {
    let margin = weights.pairs.len() * c;
    let centre_weight = 2 * weights.centre as u32;
    for (i, out) in dst.iter_mut().enumerate().skip(from) {
        let at = margin + i;
        // Sums below 2^15 times weights in 1/65536ths: below 2^31.
        let mut exact = columns[at] as u32 * centre_weight;
        for (k, &w) in (1..).zip(&weights.pairs) {
            let (a, b) = (columns[at - k * c] as u32, columns[at + k * c] as u32);
            exact += (a + b) * w as u32;
        }
        *out = ((exact + (1 << 22)) >> 23).min(255) as u8;
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod avx2 {
    use super::{Pair, Weights};

    /// No x86 SIMD here: the scalar loop does every sample.
    pub(super) fn down(_: &[u8], _: &[Pair<'_>], _: &Weights, _: &[u8], _: &mut [i16]) -> usize {
        0
    }

    /// No x86 SIMD here: the scalar loop does every sample.
    pub(super) fn along(_: &[i16], _: usize, _: &Weights, _: &mut [u8]) -> usize {
        0
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::{__m256i, _MM_HINT_T0};

    use pulp::bytemuck::cast;
    use pulp::x86::V3;
    use pulp::{Simd, WithSimd};

    use super::{Pair, SIMD_RADIUS, Weights};
    use crate::fast::lanes::{LANES, STEP, round_to_bytes, strip, strip_mut, widen};

    /// [`super::down`] for the first samples, a multiple of `STEP`, with AVX2 if this CPU
    /// has it and the radius is at most `SIMD_RADIUS`; returns how many it did. Each step
    /// prefetches the same samples of `ahead`, a row that later rows will read.
    pub(super) fn down(
        centre: &[u8],
        taps: &[Pair<'_>],
        weights: &Weights,
        ahead: &[u8],
        sums: &mut [i16],
    ) -> usize {
        let Some(simd) = V3::try_new().filter(|_| weights.pairs.len() <= SIMD_RADIUS) else {
            return 0;
        };
        Simd::vectorize(
            simd,
            Down {
                simd,
                centre,
                taps,
                weights,
                ahead,
                sums,
            },
        )
    }

    /// [`super::along`] for the first samples, a multiple of `STEP`, with AVX2 if this CPU
    /// has it and the radius is at most `SIMD_RADIUS`; returns how many it did.
    pub(super) fn along(columns: &[i16], c: usize, weights: &Weights, dst: &mut [u8]) -> usize {
        let Some(simd) = V3::try_new().filter(|_| weights.pairs.len() <= SIMD_RADIUS) else {
            return 0;
        };
        Simd::vectorize(
            simd,
            Along {
                simd,
                columns,
                c,
                weights,
                dst,
            },
        )
    }

    /// [`super::down`]'s loop as a `pulp` operation, compiled with AVX2 enabled.
    struct Down<'a> {
        simd: V3,
        centre: &'a [u8],
        taps: &'a [Pair<'a>],
        weights: &'a Weights,
        ahead: &'a [u8],
        sums: &'a mut [i16],
    }

    impl WithSimd for Down<'_> {
        type Output = usize;

        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) -> usize {
            let (simd, avx, avx2) = (self.simd, self.simd.avx, self.simd.avx2);
            let n = self.sums.len() / STEP * STEP;
            let centre_weight = avx._mm256_set1_epi16(self.weights.centre);
            for i in (0..n).step_by(STEP) {
                // A hint, not a read: that row arrives while this one is summed.
                simd.sse
                    ._mm_prefetch::<_MM_HINT_T0>(self.ahead[i..].as_ptr().cast());
                let centre = strip(self.centre, i);
                let mut acc = [avx._mm256_setzero_si256(); LANES];
                for (j, acc) in acc.iter_mut().enumerate() {
                    let v = avx2._mm256_slli_epi16::<7>(widen(simd, centre, j));
                    *acc = avx2._mm256_mulhrs_epi16(v, centre_weight);
                }
                for (&(up, down), &w) in self.taps.iter().zip(&self.weights.pairs) {
                    let (up, down) = (strip(up, i), strip(down, i));
                    let w = avx._mm256_set1_epi16(w);
                    for (j, acc) in acc.iter_mut().enumerate() {
                        let pair = avx2._mm256_add_epi16(widen(simd, up, j), widen(simd, down, j));
                        let term = avx2._mm256_mulhrs_epi16(avx2._mm256_slli_epi16::<6>(pair), w);
                        *acc = avx2._mm256_adds_epi16(*acc, term);
                    }
                }
                let out = strip_mut(self.sums, i);
                for (j, acc) in acc.into_iter().enumerate() {
                    let words: &mut [i16; 16] =
                        (&mut out[16 * j..16 * (j + 1)]).try_into().unwrap();
                    *words = cast(acc);
                }
            }
            n
        }
    }

    /// Vector `j` of a strip of 16-bit values.
    #[inline(always)]
    fn words(strip: &[i16; STEP], j: usize) -> __m256i {
        let words: [i16; 16] = strip[16 * j..16 * (j + 1)].try_into().unwrap();
        cast(words)
    }

    /// [`super::along`]'s loop as a `pulp` operation, compiled with AVX2 enabled.
    struct Along<'a> {
        simd: V3,
        columns: &'a [i16],
        c: usize,
        weights: &'a Weights,
        dst: &'a mut [u8],
    }

    impl WithSimd for Along<'_> {
        type Output = usize;

        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) -> usize {
            let (avx, avx2) = (self.simd.avx, self.simd.avx2);
            let (c, columns) = (self.c, self.columns);
            let margin = self.weights.pairs.len() * c;
            let n = self.dst.len() / STEP * STEP;
            let centre_weight = avx._mm256_set1_epi16(self.weights.centre);
            for i in (0..n).step_by(STEP) {
                let at = margin + i;
                let centre = strip(columns, at);
                let mut acc = [avx._mm256_setzero_si256(); LANES];
                for (j, acc) in acc.iter_mut().enumerate() {
                    *acc = avx2._mm256_mulhrs_epi16(words(centre, j), centre_weight);
                }
                for (k, &w) in (1..).zip(&self.weights.pairs) {
                    let (left, right) = (strip(columns, at - k * c), strip(columns, at + k * c));
                    let w = avx._mm256_set1_epi16(w);
                    for (j, acc) in acc.iter_mut().enumerate() {
                        let mean = avx2._mm256_avg_epu16(words(left, j), words(right, j));
                        *acc = avx2._mm256_adds_epi16(*acc, avx2._mm256_mulhrs_epi16(mean, w));
                    }
                }
                round_to_bytes::<7>(self.simd, acc, strip_mut(self.dst, i));
            }
            n
        }
    }
}
