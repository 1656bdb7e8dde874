//! Point operations over whole rows: one lookup, subtraction or comparison per sample.

use session01_image_basics::filters::{Brightness, Contrast, Grayscale, Invert, Threshold};
use session01_image_basics::pixels::{Buffer, Pixel8};
use session01_image_basics::{FilterError, PixelFilter, PointOp};

use super::{FastFilter, Layout, Tolerance, fill_bands, luma, luma_x1000, with_channels};

/// Applies `ops` in order to the colour samples of `samples`, rows of pixels of `channels`
/// samples whose last is alpha when `alpha` is set.
///
/// The pipeline calls this for its fused point stages, on bands of rows while they are in
/// cache.
// ANCHOR: apply_ops
pub fn apply_in_place(ops: &[PointOp], samples: &mut [u8], channels: usize, alpha: bool) {
    for op in ops {
        match op {
            PointOp::Table(table) if is_negative(table) => {
                each_colour(samples, channels, alpha, |v| 255 - v);
            }
            PointOp::Table(table) => each_colour(samples, channels, alpha, |v| table[v as usize]),
            PointOp::Grayscale => with_channels!(channels, CN => grayscale::<CN>(samples)),
            PointOp::Threshold(level) => {
                with_channels!(channels, CN => threshold::<CN>(samples, *level));
            }
        }
    }
}
// ANCHOR_END: apply_ops

/// Whether a table is `v -> 255 - v`, which SIMD computes faster than it looks up.
fn is_negative(table: &[u8; 256]) -> bool {
    table
        .iter()
        .enumerate()
        .all(|(v, &t)| usize::from(t) == 255 - v)
}

/// `f` on every colour sample; without alpha, on the flat slice, so it vectorises.
fn each_colour(samples: &mut [u8], channels: usize, alpha: bool, f: impl Fn(u8) -> u8) {
    if alpha {
        for pixel in samples.chunks_exact_mut(channels) {
            for sample in &mut pixel[..channels - 1] {
                *sample = f(*sample);
            }
        }
    } else {
        for sample in samples {
            *sample = f(*sample);
        }
    }
}

/// Gray levels in place; a gray image (1 or 2 channels) already is.
fn grayscale<const CN: usize>(samples: &mut [u8]) {
    if CN < 3 {
        return;
    }
    for pixel in samples.chunks_exact_mut(CN) {
        let y = luma(pixel);
        (pixel[0], pixel[1], pixel[2]) = (y, y, y);
    }
}

/// Black and white in place: `luma >= level` is `luma_x1000 >= 1000 level`, no division.
fn threshold<const CN: usize>(samples: &mut [u8], level: u8) {
    let bar = 1000 * u32::from(level);
    let colour = if CN < 3 { 1 } else { 3 };
    for pixel in samples.chunks_exact_mut(CN) {
        let x = if CN < 3 {
            1000 * u32::from(pixel[0]) + 500
        } else {
            luma_x1000(pixel)
        };
        pixel[..colour].fill(if x >= bar { 255 } else { 0 });
    }
}

/// Runs `ops` over a copy of `image`, band by band.
pub(crate) fn run_ops<P: Pixel8>(ops: &[PointOp], image: &Buffer<P>) -> Buffer<P> {
    let layout = Layout::of(image);
    let src = image.as_raw();
    let row_len = layout.row_len();
    fill_bands(
        image,
        #[inline(always)]
        |rows, band| {
            band.copy_from_slice(&src[rows.start * row_len..rows.end * row_len]);
            apply_in_place(ops, band, layout.channels, layout.alpha);
        },
    )
}

/// Point filters run their own [`PointOp`] through [`apply_in_place`].
macro_rules! fast_point {
    ($($filter:ty),*) => {$(
        impl FastFilter for $filter {
            /// Integer luma and exact tables: the same samples.
            const TOLERANCE: Tolerance = Tolerance::EXACT;

            fn run_fast<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
                match self.point_op() {
                    Some(op) => Ok(run_ops(&[op], image)),
                    None => self.run(image),
                }
            }
        }
    )*};
}

fast_point!(Grayscale, Brightness, Contrast, Invert, Threshold);
