//! A box blur of our own, with sums that slide, and the wider medians through libblur (the
//! 3x3 median is in `median.rs`, the Gaussian in `gaussian.rs`).
//!
//! libblur picks AVX2, SSE4.1 or NEON code at run time; its 5x5 median is a sorting
//! network. It handles 1, 3 and 4 channels; a gray + alpha image, a tiny one, and anything
//! libblur refuses take session 01's readable path. (Its box blur is not used: its output
//! changed with the number of threads.)

use std::num::NonZeroUsize;

use libblur::{BlurImage, BlurImageMut, FastBlurChannels, ThreadingPolicy};
use rayon::prelude::*;
use session01_image_basics::filters::{BoxBlur, Median};
use session01_image_basics::pixels::{Buffer, Pixel8};
use session01_image_basics::{FilterError, PixelFilter};

use super::{FastFilter, Layout, Tolerance, buffer};

/// One libblur call: the source, a destination of the same shape, and its threading.
type LibblurCall<'a> = dyn Fn(
        &BlurImage<'_, u8>,
        &mut BlurImageMut<'_, u8>,
        ThreadingPolicy,
    ) -> Result<(), libblur::BlurError>
    + Sync
    + 'a;

/// Sides below which an image goes to the readable kernel: libblur's kernels assume rows
/// and columns longer than the window (a few pixels cost nothing either way).
const MIN_SIDE: usize = 16;

/// Runs `call`, whose window is `window` pixels wide, on `image` through libblur, split
/// over the current rayon pool's threads by libblur itself; `None` when libblur cannot
/// take the layout or the size, or refuses the call, so the caller falls back to the
/// readable kernel.
fn with_libblur<P: Pixel8>(
    image: &Buffer<P>,
    window: u32,
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
    let policy = match NonZeroUsize::new(rayon::current_num_threads()) {
        Some(n) if n.get() > 1 => ThreadingPolicy::Fixed(n),
        _ => ThreadingPolicy::Single,
    };
    let (width, height) = image.dimensions();
    let src = BlurImage::borrow(image.as_raw(), width, height, channels);
    let mut out = vec![0; image.as_raw().len()];
    let mut dst = BlurImageMut::borrow(&mut out, width, height, channels);
    call(&src, &mut dst, policy).ok()?;
    Some(buffer(layout.width, layout.height, out))
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
        if src.is_empty() {
            return Ok(image.clone());
        }
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
        let Some(mut out) = with_libblur(image, 2 * radius + 1, &|src, dst, policy| {
            libblur::median_blur(src, dst, radius, policy)
        }) else {
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
