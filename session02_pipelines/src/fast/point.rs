//! Point operations: tables as arithmetic where they are lines, luma sixteen pixels at a time.

use rayon::prelude::*;
use session01_image_basics::filters::{Brightness, Contrast, Grayscale, Invert, Threshold};
use session01_image_basics::pixels::{Buffer, Pixel8};
use session01_image_basics::{FilterError, PixelFilter, PointOp};

use super::curve::{Curve, with_curve};
use super::luma::{self, LumaOp};
use super::{FastFilter, Layout, Tolerance, buffer, fill_bands, with_channels};

/// Applies `ops` in order to the colour samples of `samples`, rows of pixels of `channels`
/// samples whose last is alpha when `alpha` is set.
pub fn apply_in_place(ops: &[PointOp], samples: &mut [u8], channels: usize, alpha: bool) {
    for step in steps(ops) {
        step.apply(samples, channels, alpha);
    }
}

/// A point operation ready to run: a table as its [`Curve`], luma as SIMD.
#[derive(Debug, Clone, Copy)]
enum Step<'t> {
    Curve(Curve<'t>),
    Luma(LumaOp),
}

/// The steps of `ops`, each table's curve found once.
fn steps(ops: &[PointOp]) -> Vec<Step<'_>> {
    ops.iter()
        .map(|op| match op {
            PointOp::Table(table) => Step::Curve(Curve::of(table)),
            PointOp::Grayscale => Step::Luma(LumaOp::Gray),
            PointOp::Threshold(level) => Step::Luma(LumaOp::Threshold(*level)),
        })
        .collect()
}

impl Step<'_> {
    /// Writes the step of each pixel of `src` into `dst`, rows of the same layout.
    fn map(self, src: &[u8], dst: &mut [u8], channels: usize, alpha: bool) {
        match self {
            Step::Curve(curve) => with_curve!(curve, f => {
                map_colour(src, dst, channels, alpha, f);
            }),
            Step::Luma(op) => with_channels!(channels, CN => {
                if CN >= 3 {
                    luma::map::<CN>(src, dst, op);
                } else if let LumaOp::Threshold(level) = op {
                    // The luma of a gray pixel is its gray level.
                    map_colour(src, dst, channels, alpha, |v| if v >= level { 255 } else { 0 });
                } else {
                    // Grayscale leaves a gray pixel as it is.
                    dst.copy_from_slice(src);
                }
            }),
        }
    }

    /// The step in place, a few cache lines at a time.
    fn apply(self, samples: &mut [u8], channels: usize, alpha: bool) {
        let mut copy = [0; 64 * 12];
        // Whole pixels of any layout: 768 is a multiple of 1, 2, 3 and 4.
        for chunk in samples.chunks_mut(copy.len()) {
            let copy = &mut copy[..chunk.len()];
            copy.copy_from_slice(chunk);
            self.map(copy, chunk, channels, alpha);
        }
    }
}

/// `f` of every colour sample of `src` into `dst`, alpha copied; without alpha, on the flat
/// slices, so it vectorises.
#[inline(always)]
fn map_colour(src: &[u8], dst: &mut [u8], channels: usize, alpha: bool, f: impl Fn(u8) -> u8) {
    if alpha {
        for (pixel, out) in src
            .chunks_exact(channels)
            .zip(dst.chunks_exact_mut(channels))
        {
            for (o, &v) in out.iter_mut().zip(pixel) {
                *o = f(v);
            }
            out[channels - 1] = pixel[channels - 1];
        }
    } else {
        for (o, &v) in dst.iter_mut().zip(src) {
            *o = f(v);
        }
    }
}

/// Runs `ops` on `image` into a new image.
// ANCHOR: run_ops
pub(crate) fn run_ops<P: Pixel8>(ops: &[PointOp], image: &Buffer<P>) -> Buffer<P> {
    let layout = Layout::of(image);
    let (src, channels, alpha) = (image.as_raw(), layout.channels, layout.alpha);
    let steps = steps(ops);
    if let [Step::Curve(curve)] = steps[..] {
        let samples = with_curve!(curve, f => map_samples(src, layout, f));
        return buffer(layout.width, layout.height, samples);
    }
    let row_len = layout.row_len();
    fill_bands(
        image,
        #[inline(always)]
        |rows, band| {
            let src = &src[rows.start * row_len..rows.end * row_len];
            match steps.split_first() {
                Some((first, rest)) => {
                    first.map(src, band, channels, alpha);
                    for step in rest {
                        step.apply(band, channels, alpha);
                    }
                }
                None => band.copy_from_slice(src),
            }
        },
    )
}
// ANCHOR_END: run_ops

/// `f` of every colour sample of `src`, alpha kept, into a new vector.
///
/// The vector is never filled with zeros first: one read and one write per sample. On one
/// thread and without alpha `collect` writes it; otherwise rayon's `collect_into_vec`
/// writes each block of results straight into it.
// ANCHOR: map_samples
fn map_samples(src: &[u8], layout: Layout, f: impl Fn(u8) -> u8 + Sync + Send) -> Vec<u8> {
    if !layout.alpha && rayon::current_num_threads() == 1 {
        // One thread: a plain `collect`, with no blocks to move.
        return src.iter().map(|&v| f(v)).collect();
    }
    with_channels!(layout.channels, CN => {
        // Whole pixels per block, and enough of them that the loop over one is SIMD code;
        // larger blocks cost more in moves than they save.
        const BLOCK: usize = 32 * CN;
        let (blocks, rest) = src.as_chunks::<BLOCK>();
        // Room for the rest too, so appending it does not move the whole vector.
        let mut out: Vec<[u8; BLOCK]> = Vec::with_capacity(blocks.len() + 1);
        blocks
            .par_iter()
            .with_min_len(MIN_BLOCKS)
            .map(|block| {
                let mut mapped = [0; BLOCK];
                map_colour(block, &mut mapped, CN, layout.alpha, &f);
                mapped
            })
            .collect_into_vec(&mut out);
        let mut out = out.into_flattened();
        let done = out.len();
        out.extend_from_slice(rest);
        map_colour(rest, &mut out[done..], CN, layout.alpha, &f);
        out
    })
}
// ANCHOR_END: map_samples

/// Blocks per rayon task of [`map_samples`]: enough work to outweigh scheduling.
const MIN_BLOCKS: usize = 2048;

/// Point filters run their own [`PointOp`] through [`run_ops`].
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
