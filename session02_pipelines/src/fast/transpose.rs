//! Blocks of 8x8 RGB or RGBA pixels turned a quarter, in registers.
//!
//! A quarter turn moves every pixel to another row, and pixel by pixel that is two small
//! moves per pixel. On x86-64 CPUs with AVX2, eight source rows of eight pixels are loaded
//! into eight vectors instead, one pixel per 32-bit lane (an RGB pixel is spread into four
//! bytes with a shuffle), and the 8x8 grid of lanes is transposed with unpacks, as a matrix
//! is: each vector then holds one source column, which is one output row. Turning clockwise
//! also reverses each row's lanes. RGB rows are packed back into three bytes per pixel
//! before they are stored. Everything else goes through `geometry.rs`'s pixel-by-pixel loop,
//! which is the reference.

/// A quarter turn of a whole image whose rows are `width` pixels of `CN` samples.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Turn<'a> {
    pub src: &'a [u8],
    pub width: usize,
    pub height: usize,
    pub clockwise: bool,
}

/// Side of a block, in pixels.
pub(crate) const BLOCK: usize = 8;

/// Whether [`blocks`] turns pixels of `channels` samples on this CPU.
pub(crate) fn available(channels: usize) -> bool {
    (channels == 3 || channels == 4) && avx2::available()
}

/// Fills output rows `first..` (`out_rows`, a multiple of 8 of them) from the source rows
/// in whole blocks of 8 (`height / 8 * 8`) with AVX2, for RGB and RGBA; `false` if this
/// CPU or layout has no such path and nothing was done.
pub(crate) fn blocks<const CN: usize>(
    turn: Turn<'_>,
    first: usize,
    out_rows: &mut [&mut [u8]],
) -> bool {
    (CN == 3 || CN == 4) && avx2::blocks::<CN>(turn, first, out_rows)
}

#[cfg(not(target_arch = "x86_64"))]
mod avx2 {
    /// No x86 SIMD here.
    pub(super) fn available() -> bool {
        false
    }

    /// No x86 SIMD here: the caller runs the scalar path.
    pub(super) fn blocks<const CN: usize>(
        _: super::Turn<'_>,
        _: usize,
        _: &mut [&mut [u8]],
    ) -> bool {
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::__m256i;

    use pulp::bytemuck::cast;
    use pulp::x86::V3;
    use pulp::{Simd, WithSimd};

    use super::{BLOCK, Turn};

    /// Whether this CPU has AVX2.
    pub(super) fn available() -> bool {
        V3::try_new().is_some()
    }

    pub(super) fn blocks<const CN: usize>(
        turn: Turn<'_>,
        first: usize,
        out_rows: &mut [&mut [u8]],
    ) -> bool {
        let Some(simd) = V3::try_new() else {
            return false;
        };
        Simd::vectorize(
            simd,
            Blocks::<CN> {
                simd,
                turn,
                first,
                out_rows,
            },
        );
        true
    }

    struct Blocks<'s, 'o, 'r, const CN: usize> {
        simd: V3,
        turn: Turn<'s>,
        first: usize,
        out_rows: &'r mut [&'o mut [u8]],
    }

    impl<const CN: usize> WithSimd for Blocks<'_, '_, '_, CN> {
        type Output = ();

        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) {
            let Blocks {
                simd,
                turn,
                first,
                out_rows,
            } = self;
            let row_len = turn.width * CN;
            for y0 in (0..turn.height / BLOCK * BLOCK).step_by(BLOCK) {
                // Output column of the block's first pixel.
                let at = if turn.clockwise {
                    turn.height - BLOCK - y0
                } else {
                    y0
                } * CN;
                for (group, outs) in out_rows.chunks_exact_mut(BLOCK).enumerate() {
                    let r0 = first + group * BLOCK;
                    // Source column of the block's first pixel.
                    let x0 = if turn.clockwise {
                        r0
                    } else {
                        turn.width - BLOCK - r0
                    };
                    let mut lanes = [simd.avx._mm256_setzero_si256(); BLOCK];
                    for (i, lane) in lanes.iter_mut().enumerate() {
                        let start = (y0 + i) * row_len + x0 * CN;
                        *lane = load::<CN>(simd, turn.src, start);
                    }
                    let columns = transpose(simd, lanes);
                    for (j, column) in columns.into_iter().enumerate() {
                        // Clockwise, source column x0 + j is output row r0 + j, its pixels
                        // bottom to top; anticlockwise, row r0 + 7 - j, top to bottom.
                        let (row, column) = if turn.clockwise {
                            (j, reverse(simd, column))
                        } else {
                            (BLOCK - 1 - j, column)
                        };
                        store::<CN>(simd, column, &mut outs[row][at..at + BLOCK * CN]);
                    }
                }
            }
        }
    }

    /// Eight pixels from `src[start..]`, one per 32-bit lane.
    #[inline(always)]
    fn load<const CN: usize>(simd: V3, src: &[u8], start: usize) -> __m256i {
        // 32 bytes where the slice has them (RGB uses 24), else a copy of the 24.
        let bytes: [u8; 32] = match src.get(start..start + 32) {
            Some(bytes) => bytes.try_into().unwrap(),
            None => {
                let mut bytes = [0; 32];
                bytes[..BLOCK * CN].copy_from_slice(&src[start..start + BLOCK * CN]);
                bytes
            }
        };
        let v: __m256i = cast(bytes);
        if CN == 4 {
            return v;
        }
        // Pixels 4-7 (bytes 12-23) into the upper half, then each pixel into four bytes.
        let avx2 = simd.avx2;
        let halves = avx2._mm256_permutevar8x32_epi32(v, cast([0u32, 1, 2, 3, 3, 4, 5, 6]));
        avx2._mm256_shuffle_epi8(halves, cast(SPREAD))
    }

    /// Eight pixels of `column` into `out` (8 CN bytes).
    #[inline(always)]
    fn store<const CN: usize>(simd: V3, column: __m256i, out: &mut [u8]) {
        let avx2 = simd.avx2;
        let packed = if CN == 4 {
            column
        } else {
            // Three bytes of each pixel, twelve per half, then the halves side by side.
            let halves = avx2._mm256_shuffle_epi8(column, cast(PACK));
            avx2._mm256_permutevar8x32_epi32(halves, cast([0u32, 1, 2, 4, 5, 6, 7, 7]))
        };
        let bytes: [u8; 32] = cast(packed);
        out.copy_from_slice(&bytes[..BLOCK * CN]);
    }

    /// `pshufb` indices, per 16-byte half, from `r g b` pixels to `r g b 0` lanes.
    const SPREAD: [i8; 32] = {
        let mut mask = [-1; 32];
        let mut byte = 0;
        while byte < 32 {
            if byte % 4 < 3 {
                mask[byte] = ((byte % 16) / 4 * 3 + byte % 4) as i8;
            }
            byte += 1;
        }
        mask
    };

    /// `pshufb` indices, per 16-byte half, from `r g b 0` lanes to `r g b` pixels.
    const PACK: [i8; 32] = {
        let mut mask = [-1; 32];
        let mut byte = 0;
        while byte < 32 {
            if byte % 16 < 12 {
                mask[byte] = ((byte % 16) / 3 * 4 + byte % 16 % 3) as i8;
            }
            byte += 1;
        }
        mask
    };

    /// The lanes of `v` in reverse order.
    #[inline(always)]
    fn reverse(simd: V3, v: __m256i) -> __m256i {
        simd.avx2
            ._mm256_permutevar8x32_epi32(v, cast([7u32, 6, 5, 4, 3, 2, 1, 0]))
    }

    /// Row `i` of the result holds lane `i` of every row of `rows`.
    // ANCHOR: transpose
    #[inline(always)]
    fn transpose(simd: V3, rows: [__m256i; 8]) -> [__m256i; 8] {
        let avx2 = simd.avx2;
        // Rows 2k and 2k + 1 interleaved by 32-bit lanes, within each 128-bit half…
        let mut pairs = rows;
        for k in (0..8).step_by(2) {
            pairs[k] = avx2._mm256_unpacklo_epi32(rows[k], rows[k + 1]);
            pairs[k + 1] = avx2._mm256_unpackhi_epi32(rows[k], rows[k + 1]);
        }
        // …then pairs by 64-bit lanes: each half holds one column of four rows…
        let mut quads = pairs;
        for k in [0, 1, 4, 5] {
            let at = if k < 4 { 2 * k } else { 2 * k - 4 };
            quads[at] = avx2._mm256_unpacklo_epi64(pairs[k], pairs[k + 2]);
            quads[at + 1] = avx2._mm256_unpackhi_epi64(pairs[k], pairs[k + 2]);
        }
        // …and the halves of rows 0-3 and 4-7 joined: columns 0-3 low, 4-7 high.
        let mut columns = quads;
        for j in 0..4 {
            columns[j] = avx2._mm256_permute2x128_si256::<0x20>(quads[j], quads[j + 4]);
            columns[j + 4] = avx2._mm256_permute2x128_si256::<0x31>(quads[j], quads[j + 4]);
        }
        columns
    }
    // ANCHOR_END: transpose
}
