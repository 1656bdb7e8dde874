//! Resampling (`resample.rs`); rotations, flips and crops as block copies.

use image::imageops::FilterType;
use rayon::prelude::*;
use session01_image_basics::filters::{Crop, Flip, Resize, Rotate};
use session01_image_basics::pixels::{Buffer, Pixel8};
use session01_image_basics::{FilterError, PixelFilter};

use super::resample::{self, Kernel};
use super::transpose::{self, BLOCK, Turn};
use super::{FastFilter, Layout, Tolerance, buffer, fill_bands, with_channels};

impl FastFilter for Resize {
    /// The same Lanczos and bilinear kernels as `image`'s, with fixed-point weights and
    /// pixel centres placed slightly differently at the borders: a few levels on sharp
    /// edges, a fraction of a level on average.
    const TOLERANCE: Tolerance = Tolerance { max: 32, mean: 1.0 };

    // ANCHOR: resize_fast
    fn run_fast<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        if image.width() == 0 || image.height() == 0 {
            return Ok(image.clone());
        }
        let (width, height) = self.checked_target(image.width(), image.height())?;
        let kernel = match self.filter_type() {
            // Nearest by pixel centres is another picture than `image`'s by pixel
            // corners, not a rounding difference; and it is cheap either way.
            FilterType::Nearest => return self.run(image),
            FilterType::Triangle => Kernel::TRIANGLE,
            _ => Kernel::LANCZOS3,
        };
        let (from, to) = (
            (image.width() as usize, image.height() as usize),
            (width as usize, height as usize),
        );
        let channels = usize::from(P::CHANNEL_COUNT);
        // Alpha is resampled like any channel, as `image` does; no premultiplication.
        match resample::resize(image.as_raw(), from, channels, to, kernel) {
            Some(samples) => Ok(buffer(to.0, to.1, samples)),
            None => self.run(image),
        }
    }
    // ANCHOR_END: resize_fast
}

impl FastFilter for Flip {
    /// Pixels move, none change.
    const TOLERANCE: Tolerance = Tolerance::EXACT;

    fn run_fast<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        Ok(turn(image, self.is_horizontal(), !self.is_horizontal()))
    }
}

impl FastFilter for Rotate {
    /// Pixels move, none change.
    const TOLERANCE: Tolerance = Tolerance::EXACT;

    fn run_fast<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        Ok(match self.angle() {
            180 => turn(image, true, true),
            angle => quarter(image, angle == 90),
        })
    }
}

impl FastFilter for Crop {
    /// Pixels are copied, none change.
    const TOLERANCE: Tolerance = Tolerance::EXACT;

    fn run_fast<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        self.check_inside(image.width(), image.height())?;
        let (x, y, width, height) = self.rect();
        let layout = Layout::of(image);
        let (src, c) = (image.as_raw(), layout.channels);
        let row_len = width as usize * c;
        // One thread copies rows at memory speed; appending them writes each byte once.
        let mut out = Vec::with_capacity(row_len * height as usize);
        for row in y as usize..(y + height) as usize {
            let start = (row * layout.width + x as usize) * c;
            out.extend_from_slice(&src[start..start + row_len]);
        }
        Ok(buffer(width as usize, height as usize, out))
    }
}

/// Mirrors left-right when `mirror`, top-bottom when `upside_down`; both is a half turn.
fn turn<P: Pixel8>(image: &Buffer<P>, mirror: bool, upside_down: bool) -> Buffer<P> {
    let layout = Layout::of(image);
    let (src, row_len, height) = (image.as_raw(), layout.row_len(), layout.height);
    fill_bands(
        image,
        #[inline(always)]
        |rows, band| {
            for (y, dst) in rows.zip(band.chunks_exact_mut(row_len)) {
                let from = if upside_down { height - 1 - y } else { y };
                let source = &src[from * row_len..(from + 1) * row_len];
                if mirror {
                    with_channels!(layout.channels, CN => super::mirror::mirror::<CN>(source, dst));
                } else {
                    dst.copy_from_slice(source);
                }
            }
        },
    )
}

/// Output rows a quarter turn writes together, pixel by pixel: their pixels come from one
/// short run of each source row, so every cache line read is used whole.
const QUARTER_BLOCK: usize = 64;

/// A quarter turn, clockwise when `clockwise`: source column `x` becomes output row `x`
/// (row `width - 1 - x` anticlockwise). 8x8 blocks of RGB(A) pixels turn in registers
/// (`fast::transpose`); [`pixel_by_pixel`] is the reference, and does what they leave.
fn quarter<P: Pixel8>(image: &Buffer<P>, clockwise: bool) -> Buffer<P> {
    let layout = Layout::of(image);
    let (width, height, c) = (layout.width, layout.height, layout.channels);
    let src = image.as_raw();
    let turn = Turn {
        src,
        width,
        height,
        clockwise,
    };
    // The output is `height` wide and `width` tall.
    let out_row = height * c;
    let mut out = vec![0; src.len()];
    if src.is_empty() {
        return buffer(height, width, out);
    }
    // 8x8 blocks read eight source rows at a time, which the CPU prefetches best in long
    // runs: one band per thread. Pixel by pixel, short bands.
    let band_rows = if transpose::available(c) {
        width
            .div_ceil(rayon::current_num_threads())
            .next_multiple_of(BLOCK)
    } else {
        QUARTER_BLOCK
    };
    out.par_chunks_mut(out_row * band_rows)
        .enumerate()
        .for_each(|(block, band)| {
            let first = block * band_rows;
            let mut out_rows: Vec<&mut [u8]> = band.chunks_exact_mut(out_row).collect();
            let in_blocks = out_rows.len() / BLOCK * BLOCK;
            with_channels!(c, CN => {
                let done = transpose::blocks::<CN>(turn, first, &mut out_rows[..in_blocks]);
                let blocks_high = if done { height / BLOCK * BLOCK } else { 0 };
                pixel_by_pixel::<CN>(turn, first, &mut out_rows, (blocks_high, in_blocks));
            });
        });
    buffer(height, width, out)
}

/// Output rows `first..` (`out_rows`) of a quarter turn, pixel by pixel, except the first
/// `done.1` rows' pixels from the first `done.0` source rows.
// ANCHOR: quarter_turn
fn pixel_by_pixel<const CN: usize>(
    turn: Turn<'_>,
    first: usize,
    out_rows: &mut [&mut [u8]],
    done: (usize, usize),
) {
    let Turn {
        src,
        width,
        height,
        clockwise,
    } = turn;
    for (y, source) in src.chunks_exact(width * CN).enumerate() {
        // Clockwise, source row y lands in output column height - 1 - y.
        let at = if clockwise { height - 1 - y } else { y } * CN;
        let skip = if y < done.0 { done.1 } else { 0 };
        for (r, out) in out_rows.iter_mut().enumerate().skip(skip) {
            let x = if clockwise {
                first + r
            } else {
                width - 1 - (first + r)
            };
            // CN is a constant: a few moves, not a call to memcpy.
            out[at..at + CN].copy_from_slice(&source[x * CN..x * CN + CN]);
        }
    }
}
// ANCHOR_END: quarter_turn
