//! The Gaussian and the wider medians through libblur, the unsharp mask on top of that
//! blur, and a box blur of our own (the 3x3 median is in `median.rs`).
//!
//! libblur picks AVX2, SSE4.1 or NEON code at run time and keeps 8-bit samples in
//! fixed-point lanes; its 5x5 median is a sorting network. It handles 1, 3 and 4
//! channels; a gray + alpha image, a tiny one, and anything libblur refuses take session
//! 01's readable path. (Its box blur is not used: its output changed with the number of
//! threads, so this file has its own, with sums that slide.)

use std::num::NonZeroUsize;

use libblur::{
    BlurImage, BlurImageMut, ConvolutionMode, EdgeMode, FastBlurChannels, GaussianBlurParams,
    ThreadingPolicy,
};
use rayon::prelude::*;
use session01_image_basics::convolve::gaussian_radius;
use session01_image_basics::filters::{BoxBlur, GaussianBlur, Median, UnsharpMask};
use session01_image_basics::pixels::{Buffer, Pixel8};
use session01_image_basics::{FilterError, PixelFilter};

use super::{FastFilter, Layout, Tolerance, buffer, fill_bands};

/// One libblur call: the source, a destination of the same shape, and its threading.
type LibblurCall<'a> = dyn Fn(
        &BlurImage<'_, u8>,
        &mut BlurImageMut<'_, u8>,
        ThreadingPolicy,
    ) -> Result<(), libblur::BlurError>
    + Sync
    + 'a;

/// How a libblur call uses the threads of the current rayon pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Threading {
    /// libblur's own split (its fastest for the wider medians).
    Libblur,
    /// Our bands with halos, spread over the pool's threads.
    Bands,
}

/// Sides below which an image goes to the readable kernel: libblur's kernels assume rows
/// and columns longer than the window (a few pixels cost nothing either way).
const MIN_SIDE: usize = 16;

/// Runs `call`, whose window is `window` pixels wide, on `image` through libblur; `None`
/// when libblur cannot take the layout or the size, or refuses the call, so the caller
/// falls back to the readable kernel.
fn with_libblur<P: Pixel8>(
    image: &Buffer<P>,
    window: u32,
    threading: Threading,
    call: &LibblurCall<'_>,
) -> Option<Buffer<P>> {
    let layout = Layout::of(image);
    let min_side = MIN_SIDE.max(window as usize);
    if layout.width < min_side || layout.height < min_side {
        return None;
    }
    let channels = match layout.channels {
        1 => FastBlurChannels::Plane,
        3 => FastBlurChannels::Channels3,
        4 => FastBlurChannels::Channels4,
        _ => return None,
    };
    let width = image.width();
    let threads = rayon::current_num_threads();
    let policy = match NonZeroUsize::new(threads) {
        Some(n) if n.get() > 1 && threading == Threading::Libblur => ThreadingPolicy::Fixed(n),
        _ => ThreadingPolicy::Single,
    };
    let run = |rows: &[u8], out: &mut [u8]| -> Option<()> {
        let height = (rows.len() / layout.row_len()) as u32;
        let src = BlurImage::borrow(rows, width, height, channels);
        let mut dst = BlurImageMut::borrow(out, width, height, channels);
        call(&src, &mut dst, policy).ok()
    };
    let mut out = vec![0; image.as_raw().len()];
    if threads == 1 || threading == Threading::Libblur {
        run(image.as_raw(), &mut out)?;
    } else {
        in_bands(
            image.as_raw(),
            &mut out,
            layout,
            (window / 2) as usize,
            threads,
            &run,
        )?;
    }
    Some(buffer(layout.width, layout.height, out))
}

/// Splits the image into bands of rows, at least two for each of `threads`, and runs
/// `run` on each band with `halo` extra rows above and below, keeping only the band's own
/// rows.
///
/// The halo makes every kept row read exactly the input rows it reads in the whole image
/// (the same idea as session 05's tiles), so the result does not depend on the split.
// ANCHOR: halo_bands
fn in_bands(
    src: &[u8],
    out: &mut [u8],
    layout: Layout,
    halo: usize,
    threads: usize,
    run: &(impl Fn(&[u8], &mut [u8]) -> Option<()> + Sync),
) -> Option<()> {
    let (row_len, height) = (layout.row_len(), layout.height);
    // About 32 halos tall (the halos, blurred twice, add a sixteenth), then evened out
    // into a multiple of `threads` bands, so that no thread is left with a short last one.
    let tall = (32 * halo).max(64).min(height / (2 * threads)).max(1);
    let bands = height.div_ceil(tall).next_multiple_of(threads);
    let band_rows = height.div_ceil(bands).max(1);
    out.par_chunks_mut(band_rows * row_len)
        .enumerate()
        // One scratch buffer per run of bands that rayon hands a thread.
        .map_init(Vec::new, |scratch, (index, band)| {
            let first = index * band_rows;
            let last = first + band.len() / row_len;
            let (from, to) = (first.saturating_sub(halo), (last + halo).min(height));
            scratch.resize((to - from) * row_len, 0);
            run(&src[from * row_len..to * row_len], scratch)?;
            let skip = (first - from) * row_len;
            band.copy_from_slice(&scratch[skip..skip + band.len()]);
            Some(())
        })
        .collect()
}
// ANCHOR_END: halo_bands

/// libblur's fixed-point Gaussian with session 01's kernel size and edge rule.
fn gaussian<P: Pixel8>(image: &Buffer<P>, sigma: f32) -> Option<Buffer<P>> {
    let size = 2 * gaussian_radius(sigma) + 1;
    let params = GaussianBlurParams {
        x_kernel: size,
        x_sigma: f64::from(sigma),
        y_kernel: size,
        y_sigma: f64::from(sigma),
    };
    with_libblur(image, size, Threading::Bands, &|src, dst, policy| {
        libblur::gaussian_blur(
            src,
            dst,
            params,
            EdgeMode::Clamp.as_2d(),
            policy,
            ConvolutionMode::FixedPoint,
        )
    })
}

impl FastFilter for GaussianBlur {
    /// Fixed-point weights against f32 ones: a sample may differ by 2, rarely, and the
    /// mean difference is a small fraction of a level.
    const TOLERANCE: Tolerance = Tolerance { max: 2, mean: 0.75 };

    fn run_fast<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        gaussian(image, self.sigma()).map_or_else(|| self.run(image), Ok)
    }
}

impl FastFilter for BoxBlur {
    /// Exact integer sums rounded once, where the reference rounds an f32 sum: at most 1
    /// off, where the mean sits at half a level.
    const TOLERANCE: Tolerance = Tolerance { max: 1, mean: 0.05 };

    // ANCHOR: box_fast
    fn run_fast<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        let layout = Layout::of(image);
        let (radius, row_len) = (self.radius() as usize, layout.row_len());
        let src = image.as_raw();
        let mean = Mean::of_area(((2 * radius + 1) * (2 * radius + 1)) as u32);
        let mut out = vec![0; src.len()];
        // Each band starts its window afresh (2 radius + 1 rows), so bands are long enough
        // for that start to cost little.
        let band_rows = (4 * radius).max(32);
        out.par_chunks_mut(row_len * band_rows)
            .enumerate()
            .for_each(|(band_index, band)| {
                super::simd(
                    #[inline(always)]
                    || box_band(src, band, band_index * band_rows, layout, radius, mean),
                );
            });
        Ok(buffer(layout.width, layout.height, out))
    }
    // ANCHOR_END: box_fast
}

/// One band of a box blur: a window of rows slides down the band, then each output row
/// sums its window's columns horizontally.
// ANCHOR: box_band
#[inline(always)]
fn box_band(src: &[u8], band: &mut [u8], first: usize, layout: Layout, radius: usize, mean: Mean) {
    let (height, c, row_len) = (layout.height, layout.channels, layout.row_len());
    let row = |y: isize| {
        let y = y.clamp(0, height as isize - 1) as usize;
        &src[y * row_len..(y + 1) * row_len]
    };
    // ANCHOR: slide
    // Column sums over rows y - radius ..= y + radius (at most 201 x 255: fits u16).
    let mut columns = vec![0u16; row_len];
    let (first, radius_i) = (first as isize, radius as isize);
    for y in first - radius_i..=first + radius_i {
        for (sum, &v) in columns.iter_mut().zip(row(y)) {
            *sum += u16::from(v);
        }
    }
    for (y, dst) in (first..).zip(band.chunks_exact_mut(row_len)) {
        box_row(&columns, dst, c, radius, mean);
        // Slide the window down: add the row entering, subtract the row leaving.
        let (entering, leaving) = (row(y + radius_i + 1), row(y - radius_i));
        for ((sum, &add), &sub) in columns.iter_mut().zip(entering).zip(leaving) {
            *sum = *sum + u16::from(add) - u16::from(sub);
        }
    }
    // ANCHOR_END: slide
}
// ANCHOR_END: box_band

/// Samples per strip of [`box_row`]: their sums stay in the fastest cache while every
/// tap is added.
const STRIP: usize = 256;

/// `dst[i]` = the mean of `columns`' samples of the same channel from `radius` pixels left
/// of `i` to `radius` right, the edge pixels repeated beyond the edges.
#[inline(always)]
fn box_row(columns: &[u16], dst: &mut [u8], c: usize, radius: usize, mean: Mean) {
    let width = columns.len() / c;
    let area = ((2 * radius + 1) * (2 * radius + 1)) as u32;
    let edges: Vec<usize> = if width > 2 * radius {
        // The interior, strip by strip: one shifted slice per tap, added whole.
        let n = (width - 2 * radius) * c;
        let inner = &mut dst[radius * c..radius * c + n];
        match mean {
            Mean::Narrow(mean) => interior::<u16>(columns, inner, c, radius, |sum| mean.of(sum)),
            // sum / area, about rounded, as a multiplication by 2^32 / area: integer lanes.
            Mean::Wide { reciprocal } => interior::<u32>(columns, inner, c, radius, |sum| {
                ((u64::from(sum) * reciprocal + (1 << 31)) >> 32) as u8
            }),
        }
        (0..radius).chain(width - radius..width).collect()
    } else {
        (0..width).collect()
    };
    for x in edges {
        for channel in 0..c {
            let sum: u32 = (0..=2 * radius)
                .map(|k| {
                    let sx = (x + k).saturating_sub(radius).min(width - 1);
                    u32::from(columns[sx * c + channel])
                })
                .sum();
            // Rounded to nearest: a few pixels, so a plain division.
            dst[x * c + channel] = ((2 * sum + area) / (2 * area)) as u8;
        }
    }
}

/// The interior of a row: `inner[i]` = `mean` of the `2 radius + 1` column sums of its
/// channel centred on it, added in lanes of `S`.
#[inline(always)]
fn interior<S>(columns: &[u16], inner: &mut [u8], c: usize, radius: usize, mean: impl Fn(S) -> u8)
where
    S: Copy + Default + From<u16> + std::ops::AddAssign,
{
    let n = inner.len();
    let mut sums = [S::default(); STRIP];
    for start in (0..n).step_by(STRIP) {
        let len = STRIP.min(n - start);
        let sums = &mut sums[..len];
        sums.fill(S::default());
        for k in 0..=2 * radius {
            let from = start + k * c;
            for (sum, &v) in sums.iter_mut().zip(&columns[from..from + len]) {
                *sum += S::from(v);
            }
        }
        for (out, &sum) in inner[start..start + len].iter_mut().zip(sums.iter()) {
            *out = mean(sum);
        }
    }
}

/// How a row's interior divides its sums by the window's area.
#[derive(Debug, Clone, Copy)]
enum Mean {
    /// 16-bit sums and a multiply-high.
    Narrow(Mean16),
    /// 32-bit sums times `2^32 / area`.
    Wide { reciprocal: u64 },
}

impl Mean {
    fn of_area(area: u32) -> Self {
        Mean16::new(area).map_or(
            Mean::Wide {
                reciprocal: (1u64 << 32) / u64::from(area),
            },
            Mean::Narrow,
        )
    }
}

/// The mean of `area` samples from their 16-bit sum, rounded to nearest, as one 16-bit
/// multiply-high and a shift: twice the lanes of 32-bit arithmetic.
///
/// `(sum + area / 2) / area` is `(2 sum + area) / (2 area)`, and a division by a constant
/// is a multiplication by its reciprocal scaled up, rounded up. The pair is searched for
/// and checked for every sum that can occur, once per run. Above radius 5, `2 sum + area`
/// no longer fits 16 bits, and the row takes 32-bit lanes.
#[derive(Debug, Clone, Copy)]
struct Mean16 {
    area: u16,
    multiplier: u16,
    shift: u32,
}

impl Mean16 {
    fn new(area: u32) -> Option<Self> {
        let divisor = 2 * area;
        // 2 sum + area must fit 16 bits for the largest sum.
        if 2 * 255 * area + area > u32::from(u16::MAX) {
            return None;
        }
        let (max_sum, area) = (255 * area as u16, area as u16);
        (0..16).find_map(|shift| {
            let scaled = (1u32 << (16 + shift)).div_ceil(divisor);
            let mean = Mean16 {
                area,
                multiplier: u16::try_from(scaled).ok()?,
                shift,
            };
            (0..=max_sum)
                .all(|sum| u32::from(mean.of(sum)) == (2 * u32::from(sum) + divisor / 2) / divisor)
                .then_some(mean)
        })
    }

    /// `sum / area`, rounded to nearest.
    #[inline(always)]
    fn of(self, sum: u16) -> u8 {
        let t = 2 * sum + self.area;
        (((u32::from(t) * u32::from(self.multiplier)) >> 16) as u16 >> self.shift) as u8
    }
}

impl FastFilter for Median {
    /// A median is a sample of the window, not a computed value: the same.
    const TOLERANCE: Tolerance = Tolerance::EXACT;

    fn run_fast<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        let radius = self.radius();
        if radius == 1 {
            return Ok(super::median::median3x3(image));
        }
        let Some(mut out) = with_libblur(
            image,
            2 * radius + 1,
            Threading::Libblur,
            &|src, dst, policy| libblur::median_blur(src, dst, radius, policy),
        ) else {
            return self.run(image);
        };
        redo_borders(self, image, &mut out)?;
        Ok(out)
    }
}

/// libblur's wider medians treat the pixels near each edge differently from session 01
/// (and its 5x5 one gets the third column from the right wrong in RGB), so the `2 radius`
/// pixels along each edge are computed again the readable way.
///
/// A strip `3 radius` deep along an edge, cut from the full image, gives its outer
/// `2 radius` rows or columns exactly as the whole image would: every window they read
/// lies inside the strip or beyond the same image edge.
fn redo_borders<P: Pixel8>(
    median: &Median,
    image: &Buffer<P>,
    out: &mut Buffer<P>,
) -> Result<(), FilterError> {
    use image::imageops::crop_imm;
    let (width, height) = image.dimensions();
    let margin = 2 * median.radius();
    let depth = 3 * median.radius();
    let strips = [
        (0, 0, width, depth.min(height)),
        (0, height.saturating_sub(depth), width, depth.min(height)),
        (0, 0, depth.min(width), height),
        (width.saturating_sub(depth), 0, depth.min(width), height),
    ];
    let near_edge = |at: u32, side: u32| at < margin || at + margin >= side;
    for (x, y, w, h) in strips {
        let strip = median.run(&crop_imm(image, x, y, w, h).to_image())?;
        for (sx, sy, pixel) in strip.enumerate_pixels() {
            let (ix, iy) = (x + sx, y + sy);
            let keep = if w == width {
                near_edge(iy, height)
            } else {
                near_edge(ix, width)
            };
            if keep {
                out.put_pixel(ix, iy, *pixel);
            }
        }
    }
    Ok(())
}

impl FastFilter for UnsharpMask {
    /// The blur's difference of up to 2, amplified by `amount`, and a pixel whose detail
    /// sits at the threshold may be sharpened in one and not the other; such pixels are few.
    const TOLERANCE: Tolerance = Tolerance { max: 12, mean: 1.0 };

    // ANCHOR: unsharp_fast
    fn run_fast<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        let (sigma, amount, threshold) = self.settings();
        let Some(blurred) = gaussian(image, sigma) else {
            return self.run(image);
        };
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
