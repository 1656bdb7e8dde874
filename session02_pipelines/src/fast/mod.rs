//! Fast kernels: every filter of session 01 again, written for speed.
//!
//! Session 01's filters are the reference: short, readable, and slow. These produce the
//! same images, within a tolerance each kernel states (checked by `tests/fast.rs`), tens to
//! hundreds of times faster; `cargo xtask bench-peers` measures them against OpenCV, Pillow
//! and libvips. What makes them fast:
//!
//! - **Contiguous rows.** Inner loops run over equal-length `&[u8]` row slices with no index
//!   arithmetic per sample, so bounds checks vanish and LLVM turns the loop into SIMD code.
//! - **Integers.** Fixed-point weights (`a * 4096` instead of `a`) keep 8-bit samples in
//!   integer lanes, and a comparison replaces a division where it can (threshold).
//! - **One pass, one write.** Each output sample is written once; consecutive point
//!   operations run on a band of rows while it is in cache.
//! - **Rows in bands over rayon.** Most kernels split their output into bands of rows and
//!   lets rayon spread them over the threads of whatever pool it runs in; inside a
//!   one-thread pool it runs single-threaded, which is how the batch strategies and the
//!   benchmark control it.
//! - **Explicit SIMD where LLVM cannot.** Luma, mirrored rows, quarter turns in 8x8 blocks,
//!   the 16-bit fixed point of the Gaussian and of resampling down the columns, Sobel's
//!   square roots (Rust's `as` from a float to an integer saturates, which LLVM does one
//!   value at a time), and the 3x3 median (to prefetch, which LLVM does not do) are
//!   written with AVX2 intrinsics through `pulp`'s safe wrappers, beside plain loops that
//!   are the reference. The Gaussian, resampling and the median prefetch the rows they
//!   will read next, so that reading the image overlaps the arithmetic.
//! - **Crates that already do it best.** libblur (wider medians, with SIMD chosen at run
//!   time) and fast_image_resize (resampling along the rows).
//!
//! [`accelerate`] swaps a session 01 filter for its fast twin; the pipeline built from a
//! spec does that for every stage.

mod blur;
mod curve;
mod gaussian;
mod geometry;
#[cfg(target_arch = "x86_64")]
mod lanes;
mod luma;
mod median;
mod mirror;
mod neighbourhood;
mod point;
mod resample;
mod roots;
mod transpose;

use std::any::Any;
use std::ops::Range;

use rayon::prelude::*;
use session01_image_basics::filters::{
    BoxBlur, Brightness, Contrast, Crop, Edges, Flip, GaussianBlur, Grayscale, Invert, Median,
    Resize, Rotate, Sharpen, Threshold, UnsharpMask,
};
use session01_image_basics::pixels::{Buffer, Pixel8};
use session01_image_basics::{Filter, FilterError, FilterInfo, FilterKind, PixelFilter, PointOp};

pub use point::apply_in_place;
pub(crate) use point::run_ops;

/// How far a fast kernel's output may differ from session 01's, per sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// The largest difference of any sample.
    pub max: u8,
    /// The mean absolute difference over all samples.
    pub mean: f64,
}

impl Tolerance {
    /// Identical output.
    pub const EXACT: Tolerance = Tolerance { max: 0, mean: 0.0 };
}

/// A session 01 filter with a fast kernel.
// ANCHOR: fast_filter
// ANCHOR: fast_trait
pub trait FastFilter: PixelFilter + Clone {
    /// How far the fast output may differ from [`PixelFilter::run`], and why.
    const TOLERANCE: Tolerance;

    /// The same filter, fast: bands of rows over the current rayon pool.
    fn run_fast<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError>;
}
// ANCHOR_END: fast_trait

/// A session 01 filter that runs its fast kernel; everything else (name, parameters, kind,
/// spec) is the wrapped filter's.
#[derive(Debug, Clone, PartialEq)]
pub struct Fast<F>(pub F);

impl<F: FastFilter> PixelFilter for Fast<F> {
    const INFO: FilterInfo = F::INFO;

    fn params(&self) -> Vec<(&'static str, String)> {
        self.0.params()
    }

    fn kind(&self) -> FilterKind {
        self.0.kind()
    }

    fn point_op(&self) -> Option<PointOp> {
        self.0.point_op()
    }

    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        self.0.run_fast(image)
    }
}
// ANCHOR_END: fast_filter

/// Recognises one session 01 filter type and wraps it in [`Fast`].
type Swap = fn(&dyn Any) -> Option<Box<dyn Filter>>;

/// The filter with its fast kernel when it has one, else the filter itself.
// ANCHOR: accelerate
pub fn accelerate(filter: Box<dyn Filter>) -> Box<dyn Filter> {
    const SWAPS: &[Swap] = &[
        swap::<Grayscale>,
        swap::<Brightness>,
        swap::<Contrast>,
        swap::<Invert>,
        swap::<Threshold>,
        swap::<GaussianBlur>,
        swap::<BoxBlur>,
        swap::<Sharpen>,
        swap::<UnsharpMask>,
        swap::<Edges>,
        swap::<Median>,
        swap::<Resize>,
        swap::<Rotate>,
        swap::<Flip>,
        swap::<Crop>,
    ];
    let any: &dyn Any = &*filter;
    SWAPS.iter().find_map(|swap| swap(any)).unwrap_or(filter)
}

/// `Fast(filter)` if `any` is an `F`.
fn swap<F: FastFilter>(any: &dyn Any) -> Option<Box<dyn Filter>> {
    any.downcast_ref::<F>()
        .map(|filter| Box::new(Fast(filter.clone())) as Box<dyn Filter>)
}
// ANCHOR_END: accelerate

/// The tolerance of a filter's fast kernel, by the filter's name; `None` for a name with no
/// fast kernel.
pub fn tolerance(name: &str) -> Option<Tolerance> {
    let tolerance = match name {
        "grayscale" => Grayscale::TOLERANCE,
        "brightness" => Brightness::TOLERANCE,
        "contrast" => Contrast::TOLERANCE,
        "invert" => Invert::TOLERANCE,
        "threshold" => Threshold::TOLERANCE,
        "blur" => GaussianBlur::TOLERANCE,
        "box-blur" => BoxBlur::TOLERANCE,
        "sharpen" => Sharpen::TOLERANCE,
        "unsharp" => UnsharpMask::TOLERANCE,
        "edges" => Edges::TOLERANCE,
        "median" => Median::TOLERANCE,
        "resize" => Resize::TOLERANCE,
        "rotate" => Rotate::TOLERANCE,
        "flip" => Flip::TOLERANCE,
        "crop" => Crop::TOLERANCE,
        _ => return None,
    };
    Some(tolerance)
}

/// Rows per rayon task: enough work to outweigh scheduling, few enough that two or many
/// threads get even shares of a photo.
const BAND_ROWS: usize = 16;

/// The shape of an image's sample buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub alpha: bool,
}

impl Layout {
    pub fn of<P: Pixel8>(image: &Buffer<P>) -> Self {
        Layout {
            width: image.width() as usize,
            height: image.height() as usize,
            channels: usize::from(P::CHANNEL_COUNT),
            alpha: P::HAS_ALPHA,
        }
    }

    /// Samples per row.
    pub fn row_len(&self) -> usize {
        self.width * self.channels
    }
}

/// Calls `f(rows, band)` for bands of rows of `out`, in parallel on the current rayon pool.
// ANCHOR: bands
pub(crate) fn for_bands(
    out: &mut [u8],
    row_len: usize,
    f: impl Fn(Range<usize>, &mut [u8]) + Send + Sync,
) {
    if row_len == 0 {
        return;
    }
    out.par_chunks_mut(row_len * BAND_ROWS)
        .enumerate()
        .for_each(|(index, band)| {
            let first = index * BAND_ROWS;
            simd(
                #[inline(always)]
                || f(first..first + band.len() / row_len, band),
            );
        });
}
// ANCHOR_END: bands

/// `ideal` weights (fractions of `total`, adding up to it) as whole units: rounded down,
/// then the units still missing given to the largest remainders, so that the weights add
/// up to exactly `total` and a flat image stays flat.
pub(crate) fn whole_units(ideal: &[f64], total: i32) -> Vec<i32> {
    let mut units: Vec<i32> = ideal.iter().map(|w| w.floor() as i32).collect();
    let mut by_remainder: Vec<usize> = (0..ideal.len()).collect();
    by_remainder
        .sort_by(|&a, &b| (ideal[b] - ideal[b].floor()).total_cmp(&(ideal[a] - ideal[a].floor())));
    let missing = total - units.iter().sum::<i32>();
    for &k in by_remainder.iter().cycle().take(missing.max(0) as usize) {
        units[k] += 1;
    }
    units
}

/// A new image shaped like `image`, its bands of rows written by `fill` in parallel.
pub(crate) fn fill_bands<P: Pixel8>(
    image: &Buffer<P>,
    fill: impl Fn(Range<usize>, &mut [u8]) + Send + Sync,
) -> Buffer<P> {
    let layout = Layout::of(image);
    let mut out = vec![0; image.as_raw().len()];
    for_bands(&mut out, layout.row_len(), fill);
    buffer(layout.width, layout.height, out)
}

/// Runs `$body` with the const `$cn` bound to the channel count (1 to 4), so loops over
/// pixels see a constant stride and vectorise.
macro_rules! with_channels {
    ($channels:expr, $cn:ident => $body:expr) => {
        match $channels {
            1 => {
                const $cn: usize = 1;
                $body
            }
            2 => {
                const $cn: usize = 2;
                $body
            }
            3 => {
                const $cn: usize = 3;
                $body
            }
            _ => {
                const $cn: usize = 4;
                $body
            }
        }
    };
}
pub(crate) use with_channels;

/// Runs `work` compiled for the widest SIMD this CPU has (AVX2 or SSE4.1 on x86-64),
/// chosen once at run time; elsewhere, as it is.
///
/// Rust targets the oldest x86-64 CPUs by default, whose vectors hold 16 bytes. Everything
/// inlined into `work` is compiled again for 32-byte AVX2 vectors, so the kernels' loops
/// handle twice the samples per instruction on any recent CPU, and still run on old ones.
// ANCHOR: simd
#[multiversion::multiversion(targets("x86_64+avx2+fma", "x86_64+sse4.1"))]
pub(crate) fn simd<R>(work: impl FnOnce() -> R) -> R {
    work()
}
// ANCHOR_END: simd

/// `299 r + 587 g + 114 b + 500`: a thousand times BT.601 luma, before rounding down.
#[inline(always)]
pub(crate) fn luma_x1000(pixel: &[u8]) -> u32 {
    299 * u32::from(pixel[0]) + 587 * u32::from(pixel[1]) + 114 * u32::from(pixel[2]) + 500
}

/// Session 01's `luma` of an RGB(A) pixel, bit for bit, without a division:
/// `x / 1000 = (x / 8) / 125`, and `q / 125 = (q * 33555) >> 22` for every `q` below
/// 32 000 (checked for all of them), all within 32-bit lanes.
// ANCHOR: luma_fast
#[inline(always)]
pub(crate) fn luma(pixel: &[u8]) -> u8 {
    (((luma_x1000(pixel) >> 3) * 33_555) >> 22) as u8
}
// ANCHOR_END: luma_fast

/// Copies each pixel's alpha sample from `src` to `dst` (rows of the same layout).
pub(crate) fn restore_alpha(dst: &mut [u8], src: &[u8], channels: usize) {
    for (d, s) in dst
        .chunks_exact_mut(channels)
        .zip(src.chunks_exact(channels))
    {
        d[channels - 1] = s[channels - 1];
    }
}

/// A new image of `width` x `height` from a finished sample vector.
pub(crate) fn buffer<P: Pixel8>(width: usize, height: usize, samples: Vec<u8>) -> Buffer<P> {
    Buffer::from_raw(width as u32, height as u32, samples)
        .expect("a kernel fills exactly width x height pixels")
}
