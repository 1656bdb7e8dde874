//! Sharpen and Sobel, written by hand on rows of samples.
//!
//! Both read a pixel's neighbours above, below, left and right. Instead of computing
//! `(x, y)` and clamping for every tap, the interior of each row is expressed as shifted
//! slices of equal length (`left = row[..n - 2c]`, `right = row[2c..]`), which LLVM turns
//! into SIMD code; only the first and last pixel of a row take the clamped scalar path.
//!
//! Sobel works a band of rows at a time: the luma of its rows and of one row above and
//! below (`fast::luma`), the gradients, their square roots (`fast::roots`), and the
//! magnitudes spread back into the pixels' colour samples (`fast::luma` again).

use session01_image_basics::FilterError;
use session01_image_basics::filters::{Edges, Sharpen};
use session01_image_basics::pixels::{Buffer, Pixel8};

use super::roots::roots;
use super::{FastFilter, Layout, Tolerance, fill_bands, restore_alpha, with_channels};

/// Row `y + dy` of `samples`, clamped into the image.
pub(super) fn row(samples: &[u8], row_len: usize, height: usize, y: usize, dy: isize) -> &[u8] {
    let y = y.saturating_add_signed(dy).min(height - 1);
    &samples[y * row_len..(y + 1) * row_len]
}

impl FastFilter for Sharpen {
    /// Weights in 1/4096ths against f32: at most 1 level off.
    const TOLERANCE: Tolerance = Tolerance { max: 1, mean: 0.1 };

    // ANCHOR: sharpen_fast
    fn run_fast<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        let layout = Layout::of(image);
        let (row_len, height, c) = (layout.row_len(), layout.height, layout.channels);
        let src = image.as_raw();
        // out = v + amount * (4 v - up - down - left - right), amount in 1/4096ths.
        let gain = (self.amount() * 4096.0).round() as i32;
        let sharpen = move |v: u8, up: u8, down: u8, left: u8, right: u8| -> u8 {
            let v = i32::from(v);
            let laplacian =
                4 * v - i32::from(up) - i32::from(down) - i32::from(left) - i32::from(right);
            (v + ((gain * laplacian + 2048) >> 12)).clamp(0, 255) as u8
        };
        Ok(fill_bands(
            image,
            #[inline(always)]
            |rows, band| {
                for (y, dst) in rows.zip(band.chunks_exact_mut(row_len)) {
                    let (up, mid, down) = (
                        row(src, row_len, height, y, -1),
                        row(src, row_len, height, y, 0),
                        row(src, row_len, height, y, 1),
                    );
                    // The interior: five slices of equal length, one SIMD-friendly loop.
                    if row_len > 2 * c {
                        let n = row_len - 2 * c;
                        let (left, right) = (&mid[..n], &mid[2 * c..]);
                        let (centre, up, down) = (&mid[c..c + n], &up[c..c + n], &down[c..c + n]);
                        for (i, out) in dst[c..c + n].iter_mut().enumerate() {
                            *out = sharpen(centre[i], up[i], down[i], left[i], right[i]);
                        }
                    }
                    // The first and last pixel repeat themselves beyond the edge.
                    for x in [0, layout.width - 1] {
                        for i in x * c..(x + 1) * c {
                            let left = if x == 0 { i } else { i - c };
                            let right = if x + 1 == layout.width { i } else { i + c };
                            dst[i] = sharpen(mid[i], up[i], down[i], mid[left], mid[right]);
                        }
                    }
                    if layout.alpha {
                        restore_alpha(dst, mid, c);
                    }
                }
            },
        ))
    }
    // ANCHOR_END: sharpen_fast
}

impl FastFilter for Edges {
    /// Integer gradients and an f32 square root: the reference's levels. A level changes
    /// only where `|g|` is a whole number, which both compute exactly, and elsewhere `|g|`
    /// lies further from a boundary than either's rounding error.
    const TOLERANCE: Tolerance = Tolerance::EXACT;

    // ANCHOR: sobel_fast
    fn run_fast<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        let layout = Layout::of(image);
        let (width, height, c) = (layout.width, layout.height, layout.channels);
        if width == 0 || height == 0 {
            return Ok(image.clone());
        }
        let (src, row_len) = (image.as_raw(), layout.row_len());
        Ok(fill_bands(
            image,
            #[inline(always)]
            |rows, band| {
                // 1. Luma, one byte per pixel, of the band's rows and the row above and
                // below it, while they are in cache.
                let (first, end) = (rows.start.saturating_sub(1), (rows.end + 1).min(height));
                let mut lumas = vec![0u8; (end - first) * width];
                let pixels = &src[first * row_len..end * row_len];
                with_channels!(c, CN => luma_plane::<CN>(pixels, &mut lumas));
                // 2. Per output row: column sums, then gradients, then magnitudes.
                let mut smooth = vec![0i16; width]; // up + 2 mid + down
                let mut delta = vec![0i16; width]; // down - up
                let mut scratch = vec![0i32; width];
                let mut magnitude = vec![0u8; width];
                for (y, dst) in rows.zip(band.chunks_exact_mut(row_len)) {
                    let [up, mid, down] =
                        [-1, 0, 1].map(|dy| row(&lumas, width, end - first, y - first, dy));
                    for x in 0..width {
                        let (u, m, d) = (i16::from(up[x]), i16::from(mid[x]), i16::from(down[x]));
                        smooth[x] = u + 2 * m + d;
                        delta[x] = d - u;
                    }
                    magnitudes(&smooth, &delta, &mut scratch, &mut magnitude);
                    let source = &src[y * row_len..(y + 1) * row_len];
                    with_channels!(c, CN => spread_row::<CN>(&magnitude, source, dst));
                }
            },
        ))
    }
    // ANCHOR_END: sobel_fast
}

/// The Sobel magnitude of each pixel of a row, from its row's `smooth` (up + 2 mid + down)
/// and `delta` (down - up) sums, using `scratch`, one `i32` per pixel: `gx² + gy²`, then
/// the magnitude.
#[inline(always)]
fn magnitudes(smooth: &[i16], delta: &[i16], scratch: &mut [i32], out: &mut [u8]) {
    let squared = |gx: i16, gy: i16| i32::from(gx) * i32::from(gx) + i32::from(gy) * i32::from(gy);
    let width = out.len();
    if width == 0 {
        return;
    }
    // The interior reads its neighbours through shifted slices: no index is clamped, so
    // the loop is SIMD code.
    if width >= 3 {
        let interior = scratch[1..width - 1].iter_mut();
        let sides = smooth.iter().zip(&smooth[2..]);
        let deltas = delta.iter().zip(&delta[1..]).zip(&delta[2..]);
        for (value, ((left, right), ((d_left, d_mid), d_right))) in interior.zip(sides.zip(deltas))
        {
            *value = squared(right - left, d_left + 2 * d_mid + d_right);
        }
    }
    // The first and last columns repeat the edge pixel beyond the edge.
    let at = |x: usize, dx: isize| x.saturating_add_signed(dx).min(width - 1);
    for x in [0, width - 1] {
        let gx = smooth[at(x, 1)] - smooth[at(x, -1)];
        let gy = delta[at(x, -1)] + 2 * delta[x] + delta[at(x, 1)];
        scratch[x] = squared(gx, gy);
    }
    roots(scratch);
    for (value, &root) in out.iter_mut().zip(scratch.iter()) {
        *value = root as u8;
    }
}

/// BT.601 luma of each pixel of whole rows, as session 01's `luma` computes it.
#[inline(always)]
fn luma_plane<const CN: usize>(pixels: &[u8], lumas: &mut [u8]) {
    if CN >= 3 {
        super::luma::plane::<CN>(pixels, lumas);
        return;
    }
    for (pixel, luma) in pixels.chunks_exact(CN).zip(lumas) {
        *luma = pixel[0];
    }
}

/// Writes one value per pixel into every colour sample; alpha comes from `source`.
#[inline(always)]
fn spread_row<const CN: usize>(values: &[u8], source: &[u8], dst: &mut [u8]) {
    if CN >= 3 {
        super::luma::spread::<CN>(values, source, dst);
        return;
    }
    for ((pixel, src), &value) in dst
        .chunks_exact_mut(CN)
        .zip(source.chunks_exact(CN))
        .zip(values)
    {
        pixel[0] = value;
        if CN == 2 {
            pixel[1] = src[1];
        }
    }
}
