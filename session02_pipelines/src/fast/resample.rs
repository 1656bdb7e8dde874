//! Resampling in two passes: down the columns by hand, along the rows through
//! fast_image_resize.
//!
//! Each output row is a weighted sum of a few source rows (12 for Lanczos3 at half size),
//! the weights those of the kernel stretched over the scale, in 1/16384ths that add up to
//! exactly 1. This pass reads each source row straight from the image, in bands of output
//! rows over rayon. On x86-64 CPUs with AVX2 it keeps its sums in 16-bit lanes with 6
//! fractional bits, each product rounded (`pmulhrsw`), sixteen samples per instruction;
//! where the weights are symmetric, the two rows at the same distance are added first and
//! multiplied once, and each step prefetches rows that the next output rows will read (see
//! `median.rs`). The plain loop is the reference, in exact 32-bit sums; it does the last
//! samples of each row, shrinks that reach more rows than `SIMD_REACH`, and other CPUs.
//! The pass along the rows, on the rows this one made, is fast_image_resize's, with the
//! same kernel.

use std::ops::Range;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{Filter, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::{for_bands, whole_units};

/// A resampling kernel: its function of the distance in source pixels, and how far it
/// reaches.
#[derive(Debug, Clone, Copy)]
pub(super) struct Kernel {
    name: &'static str,
    weight: fn(f64) -> f64,
    support: f64,
}

impl Kernel {
    /// Lanczos with three lobes: `sinc(x) sinc(x / 3)`, with one sine instead of two
    /// (`sin 3t = 3 sin t - 4 sin³ t`).
    pub const LANCZOS3: Kernel = Kernel {
        name: "Lanczos3",
        weight: lanczos3,
        support: 3.0,
    };

    /// The triangle of bilinear interpolation.
    pub const TRIANGLE: Kernel = Kernel {
        name: "Triangle",
        weight: triangle,
        support: 1.0,
    };
}

fn lanczos3(x: f64) -> f64 {
    if x == 0.0 {
        return 1.0;
    }
    if x.abs() >= 3.0 {
        return 0.0;
    }
    let t = std::f64::consts::PI * x / 3.0;
    let s = t.sin();
    // sin(3t) / 3t * sin(t) / t
    s * (3.0 - 4.0 * s * s) * s / (3.0 * t * t)
}

fn triangle(x: f64) -> f64 {
    (1.0 - x.abs()).max(0.0)
}

/// `src` (`width` x `height` pixels of `channels` samples) resampled to `to`, or `None`
/// for a side of 0 pixels or sizes fast_image_resize refuses.
pub(super) fn resize(
    src: &[u8],
    (width, height): (usize, usize),
    channels: usize,
    to: (usize, usize),
    kernel: Kernel,
) -> Option<Vec<u8>> {
    if width == 0 || height == 0 || to.0 == 0 || to.1 == 0 {
        return None;
    }
    let columns = if to.1 == height {
        None
    } else {
        Some(down(src, width * channels, height, to.1, kernel))
    };
    let rows = columns.as_deref().unwrap_or(src);
    if to.0 == width {
        return Some(columns.unwrap_or_else(|| src.to_vec()));
    }
    along(rows, (width, to.1), channels, to.0, kernel)
}

/// The rows of `rows` (`width` pixels wide) resampled to `to_width` by fast_image_resize,
/// which does only this pass when the heights match.
fn along(
    rows: &[u8],
    (width, height): (usize, usize),
    channels: usize,
    to_width: usize,
    kernel: Kernel,
) -> Option<Vec<u8>> {
    let pixel_type = match channels {
        1 => PixelType::U8,
        2 => PixelType::U8x2,
        3 => PixelType::U8x3,
        _ => PixelType::U8x4,
    };
    let filter = Filter::new(kernel.name, kernel.weight, kernel.support).ok()?;
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Custom(filter)))
        .use_alpha(false);
    let (width, height, to_width) = (
        u32::try_from(width).ok()?,
        u32::try_from(height).ok()?,
        u32::try_from(to_width).ok()?,
    );
    let src = ImageRef::new(width, height, rows, pixel_type).ok()?;
    let mut dst = Image::new(to_width, height, pixel_type);
    Resizer::new().resize(&src, &mut dst, &options).ok()?;
    Some(dst.into_vec())
}

/// The source rows of each output row and their weights in 1/16384ths.
#[derive(Debug)]
struct Taps {
    /// The source rows of each output row.
    rows: Vec<Range<usize>>,
    /// `reach` weights per output row, of which the first `rows[y].len()` count.
    weights: Vec<i16>,
    /// The most source rows an output row uses.
    reach: usize,
}

impl Taps {
    /// The weights of resampling `from` rows to `to` (both at least 1), computed as
    /// fast_image_resize does: pixel centres aligned, the kernel stretched by the scale when
    /// shrinking, the weights that fall outside the image or are 0 at either end dropped,
    /// and the rest scaled to add up to 1.
    fn new(from: usize, to: usize, kernel: Kernel) -> Self {
        let scale = from as f64 / to as f64;
        let stretch = scale.max(1.0);
        let radius = kernel.support * stretch;
        let reach = radius.ceil() as usize * 2 + 1;
        let mut rows = Vec::with_capacity(to);
        let mut weights = vec![0i16; to * reach];
        for (y, units) in weights.chunks_exact_mut(reach).enumerate() {
            let centre = (y as f64 + 0.5) * scale;
            let start = ((centre - radius).floor().max(0.0) as usize).min(from - 1);
            let end = ((centre + radius).ceil() as usize).clamp(start + 1, from.min(start + reach));
            let mut ideal: Vec<f64> = (start..end)
                .map(|x| (kernel.weight)((x as f64 + 0.5 - centre) / stretch))
                .collect();
            // Rows of weight 0 at either end are left out: nothing to add.
            let (mut start, mut end) = (start, end);
            while ideal.len() > 1 && ideal[0] == 0.0 {
                ideal.remove(0);
                start += 1;
            }
            while ideal.len() > 1 && ideal[ideal.len() - 1] == 0.0 {
                ideal.pop();
                end -= 1;
            }
            let total: f64 = ideal.iter().sum();
            let total = if total == 0.0 { 1.0 } else { total };
            ideal.iter_mut().for_each(|w| *w *= 16_384.0 / total);
            for (unit, w) in units.iter_mut().zip(whole_units(&ideal, 16_384)) {
                // Below 2 each: a kernel cut by the edge is scaled up to add up to 1.
                *unit = w.clamp(i16::MIN.into(), i16::MAX.into()) as i16;
            }
            rows.push(start..end);
        }
        Taps {
            rows,
            weights,
            reach,
        }
    }
}

/// `to` rows, each the weighted sum of its source rows of `row_len` samples.
// ANCHOR: down
fn down(src: &[u8], row_len: usize, height: usize, to: usize, kernel: Kernel) -> Vec<u8> {
    let taps = Taps::new(height, to, kernel);
    let mut out = vec![0; row_len * to];
    for_bands(&mut out, row_len, |rows, band| {
        let (mut sources, mut sums) = (Vec::with_capacity(taps.reach), Vec::new());
        for (y, dst) in rows.zip(band.chunks_exact_mut(row_len)) {
            let used = taps.rows[y].clone();
            let weights = &taps.weights[y * taps.reach..][..used.len()];
            sources.clear();
            // Source rows `used.end + 1` and `+ 2` (`used.end` is one past the last row
            // summed), which the next output rows read, prefetched as the SIMD loop goes.
            // When halving, each output row reads 2 new source rows, and the output row
            // before already asked for `used.end`.
            let next = |k: usize| {
                let r = (used.end + k).min(height - 1);
                &src[r * row_len..(r + 1) * row_len]
            };
            let ahead = [next(1), next(2)];
            sources.extend(used.map(|r| &src[r * row_len..(r + 1) * row_len]));
            let done = avx2::down(&sources, weights, ahead, dst);
            down_row(&sources, weights, dst, done, &mut sums);
        }
    });
    out
}
// ANCHOR_END: down

/// `dst[from..]` = the weighted sum of `sources`: exact 32-bit sums in `sums`, one source
/// row at a time (a loop LLVM turns into SIMD code), rounded once.
fn down_row(sources: &[&[u8]], weights: &[i16], dst: &mut [u8], from: usize, sums: &mut Vec<i32>) {
    sums.clear();
    sums.resize(dst.len() - from.min(dst.len()), 8_192);
    for (row, &w) in sources.iter().zip(weights) {
        for (sum, &v) in sums.iter_mut().zip(&row[from..]) {
            *sum += i32::from(v) * i32::from(w);
        }
    }
    for (out, &sum) in dst[from..].iter_mut().zip(sums.iter()) {
        *out = (sum >> 14).clamp(0, 255) as u8;
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod avx2 {
    /// No x86 SIMD here: the scalar loop does every sample.
    pub(super) fn down(_: &[&[u8]], _: &[i16], _: [&[u8]; 2], _: &mut [u8]) -> usize {
        0
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::_MM_HINT_T0;

    use pulp::x86::V3;
    use pulp::{Simd, WithSimd};

    use crate::fast::lanes::{LANES, STEP, round_to_bytes, strip, strip_mut, widen};

    /// The most source rows an output row may add up on the SIMD path (Lanczos3 shrinking 8
    /// times): each product is rounded, so a flat image may drift by up to `n / 128` of a
    /// level, below a half here.
    const SIMD_REACH: usize = 50;

    /// [`super::down_row`] for the first samples, a multiple of `STEP`, with AVX2 if this
    /// CPU has it; returns how many it did. Each step prefetches the same samples of the
    /// `ahead` rows, which later rows will read.
    pub(super) fn down(
        sources: &[&[u8]],
        weights: &[i16],
        ahead: [&[u8]; 2],
        dst: &mut [u8],
    ) -> usize {
        let Some(simd) = V3::try_new().filter(|_| sources.len() <= SIMD_REACH) else {
            return 0;
        };
        // A symmetric kernel, with weights small enough to double (below 1 each).
        let n = weights.len();
        let mirrored =
            (0..n / 2).all(|k| weights[k] == weights[n - 1 - k] && weights[k].abs() < 16_384);
        Simd::vectorize(
            simd,
            Down {
                simd,
                mirrored,
                sources,
                weights,
                ahead,
                dst,
            },
        )
    }

    /// [`super::down_row`]'s loop as a `pulp` operation, compiled with AVX2 enabled.
    struct Down<'a> {
        simd: V3,
        /// Whether each source row's mirror across the centre has its weight.
        mirrored: bool,
        sources: &'a [&'a [u8]],
        weights: &'a [i16],
        ahead: [&'a [u8]; 2],
        dst: &'a mut [u8],
    }

    impl WithSimd for Down<'_> {
        type Output = usize;

        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) -> usize {
            let (simd, avx, avx2) = (self.simd, self.simd.avx, self.simd.avx2);
            let n = self.dst.len() / STEP * STEP;
            // Rows whose mirror has the same weight, added first and multiplied once.
            let paired = if self.mirrored {
                self.sources.len() / 2
            } else {
                0
            };
            let (up, rest) = self.sources.split_at(paired);
            let (single, down) = rest.split_at(rest.len() - paired);
            for i in (0..n).step_by(STEP) {
                // A hint, not a read: those rows arrive while this one is summed.
                for row in self.ahead {
                    simd.sse
                        ._mm_prefetch::<_MM_HINT_T0>(row[i..].as_ptr().cast());
                }
                let mut acc = [avx._mm256_setzero_si256(); LANES];
                for (k, &w) in self.weights[..paired].iter().enumerate() {
                    let (a, b) = (strip(up[k], i), strip(down[paired - 1 - k], i));
                    // Twice the weight on samples with one fractional bit less.
                    let w = avx._mm256_set1_epi16(2 * w);
                    for (j, acc) in acc.iter_mut().enumerate() {
                        let pair = avx2._mm256_add_epi16(widen(simd, a, j), widen(simd, b, j));
                        let v = avx2._mm256_slli_epi16::<6>(pair);
                        *acc = avx2._mm256_adds_epi16(*acc, avx2._mm256_mulhrs_epi16(v, w));
                    }
                }
                for (row, &w) in single.iter().zip(&self.weights[paired..]) {
                    let row = strip(row, i);
                    let w = avx._mm256_set1_epi16(w);
                    for (j, acc) in acc.iter_mut().enumerate() {
                        let v = avx2._mm256_slli_epi16::<7>(widen(simd, row, j));
                        *acc = avx2._mm256_adds_epi16(*acc, avx2._mm256_mulhrs_epi16(v, w));
                    }
                }
                round_to_bytes::<6>(simd, acc, strip_mut(self.dst, i));
            }
            n
        }
    }
}
