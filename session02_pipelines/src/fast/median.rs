//! The 3x3 median by hand, the most used median, as min and max on rows of samples.
//!
//! Each column of the window is sorted into its lowest, middle and highest sample. The
//! median of the nine is then the median of three values: the highest of the three
//! lowest, the median of the three middles and the lowest of the three highest. Every
//! step is a `min` or a `max`. Each column is sorted again for each of the three windows
//! that hold it: sorting each row's columns once into buffers did less arithmetic, and
//! measured slower.
//!
//! On x86-64 CPUs with AVX2 the row's interior is written with explicit SIMD through
//! `pulp`, 64 samples per step, and each step asks for a cache line of a row further down
//! before it is needed (a prefetch). The arithmetic alone takes about as long as reading
//! the frame does; without the prefetch the two took turns, with it they overlap. Every
//! other CPU, and rows shorter than a step reads (72 samples), run the plain loop, which
//! is the reference; the tests compare the median with session 01's, bit for bit, on rows
//! of every length around that.

use session01_image_basics::pixels::{Buffer, Pixel8};

use super::neighbourhood::row;
use super::{Layout, fill_bands, with_channels};

/// The median of the 3x3 window around each sample of `image`, channel by channel, the
/// edge pixels repeated beyond the edges (as session 01's median).
pub(crate) fn median3x3<P: Pixel8>(image: &Buffer<P>) -> Buffer<P> {
    let layout = Layout::of(image);
    let (row_len, height, c) = (layout.row_len(), layout.height, layout.channels);
    let src = image.as_raw();
    fill_bands(
        image,
        #[inline(always)]
        |rows, band| {
            for (y, dst) in rows.zip(band.chunks_exact_mut(row_len)) {
                let window = [-1, 0, 1].map(|dy| row(src, row_len, height, y, dy));
                let ahead = row(src, row_len, height, y, AHEAD);
                let done = with_channels!(c, CN => simd_interior::<CN>(window, ahead, dst));
                interior(window, dst, c, done);
                edges(window, dst, c);
            }
        },
    )
}

/// How many rows below the output row the SIMD loop prefetches: far enough that the row
/// arrives before the window reaches it (2 to 6 measured alike).
const AHEAD: isize = 4;

/// The interior samples the SIMD loop wrote; none where there is no such loop.
#[cfg(not(target_arch = "x86_64"))]
fn simd_interior<const CN: usize>(_: [&[u8]; 3], _: &[u8], _: &mut [u8]) -> usize {
    0
}

#[cfg(target_arch = "x86_64")]
use avx2::interior as simd_interior;

// ANCHOR: median9
/// The median of three samples.
#[inline(always)]
fn median3(a: u8, b: u8, c: u8) -> u8 {
    a.min(b).max(a.max(b).min(c))
}

/// A column of three samples sorted: lowest, middle, highest.
#[inline(always)]
fn sort(a: u8, b: u8, c: u8) -> (u8, u8, u8) {
    (a.min(b).min(c), median3(a, b, c), a.max(b).max(c))
}

/// The median of a 3x3 window from its three sorted columns.
#[inline(always)]
fn median9([(l0, m0, h0), (l1, m1, h1), (l2, m2, h2)]: [(u8, u8, u8); 3]) -> u8 {
    let low = l0.max(l1).max(l2);
    let high = h0.min(h1).min(h2);
    median3(low, median3(m0, m1, m2), high)
}
// ANCHOR_END: median9

/// The interior of an output row of `c` samples per pixel (all but its first and last
/// pixel), starting at interior sample `from`, reading the source rows above, at and below.
#[inline(always)]
fn interior(rows: [&[u8]; 3], dst: &mut [u8], c: usize, from: usize) {
    let n = dst.len().saturating_sub(2 * c);
    if from >= n {
        return;
    }
    // Each tap a shifted slice, one loop over equal lengths.
    let [[u0, u1, u2], [a0, a1, a2], [d0, d1, d2]] = rows.map(|s| {
        [
            &s[from..n],
            &s[c + from..c + n],
            &s[2 * c + from..2 * c + n],
        ]
    });
    for (i, out) in dst[c + from..c + n].iter_mut().enumerate() {
        let columns = [
            sort(u0[i], a0[i], d0[i]),
            sort(u1[i], a1[i], d1[i]),
            sort(u2[i], a2[i], d2[i]),
        ];
        *out = median9(columns);
    }
}

/// The first and last pixel of an output row, which repeat themselves beyond the edge.
#[inline(always)]
fn edges(rows: [&[u8]; 3], dst: &mut [u8], c: usize) {
    let width = dst.len() / c;
    let [up, centre, down] = rows;
    for x in [0, width.saturating_sub(1)] {
        for (i, out) in dst.iter_mut().enumerate().skip(x * c).take(c) {
            // Beyond the edge, the edge pixel's own column.
            let left = if x == 0 { i } else { i - c };
            let right = if x + 1 >= width { i } else { i + c };
            let columns = [left, i, right].map(|j| sort(up[j], centre[j], down[j]));
            *out = median9(columns);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::{__m256i, _MM_HINT_T0};

    use pulp::bytemuck::cast;
    use pulp::x86::V3;
    use pulp::{Simd, WithSimd};

    /// Output samples per step: two vectors of 32.
    const STEP: usize = 64;
    /// Samples a step reads from each source row: its own, and up to 4 (one pixel of 4
    /// samples) on each side.
    const READ: usize = STEP + 8;

    /// Writes the interior of `dst` (see [`super::interior`]) with AVX2, prefetching
    /// `ahead` as it goes, and returns how many interior samples it wrote: all of them,
    /// or none on a CPU without AVX2 or in a row shorter than a step reads.
    pub(super) fn interior<const CN: usize>(
        rows: [&[u8]; 3],
        ahead: &[u8],
        dst: &mut [u8],
    ) -> usize {
        let Some(simd) = V3::try_new() else {
            return 0;
        };
        Simd::vectorize(
            simd,
            Steps::<CN> {
                simd,
                rows,
                ahead,
                dst,
            },
        )
    }

    /// The loop over the steps, as a `pulp` operation compiled with AVX2 enabled.
    struct Steps<'a, const CN: usize> {
        simd: V3,
        rows: [&'a [u8]; 3],
        ahead: &'a [u8],
        dst: &'a mut [u8],
    }

    impl<const CN: usize> WithSimd for Steps<'_, CN> {
        type Output = usize;

        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) -> usize {
            let Self {
                simd,
                rows,
                ahead,
                dst,
            } = self;
            let len = dst.len();
            if len < READ {
                return 0;
            }
            // Interior sample `i` (sample `CN + i` of the row) reads row samples `i`,
            // `i + CN` and `i + 2 * CN`. A block of `STEP` starts every `STEP` samples, the
            // last one ending where the interior ends.
            let interior = len - 2 * CN;
            let last = interior - STEP;
            // ANCHOR: median_prefetch
            // Blocks whose strips lie inside the row, read from the block's own start.
            let mut block = 0;
            while block < last && block + READ <= len {
                // A hint, not a read: the row below arrives while this step computes.
                simd.sse
                    ._mm_prefetch::<_MM_HINT_T0>(ahead[block..].as_ptr().cast());
                step::<CN>(simd, rows, dst, block, 0);
                block += STEP;
            }
            // ANCHOR_END: median_prefetch
            // The rest, the last ending where the interior ends, read from the strip that
            // ends with the row.
            for block in (block..last).step_by(STEP).chain([last]) {
                let at = len - READ;
                step::<CN>(simd, rows, dst, at, block - at);
            }
            interior
        }
    }

    /// The `STEP` medians that read `READ` samples of each row from `at`, written to
    /// `dst` from `at + CN + shift` (`shift` at most `READ - STEP - 2 * CN`, so that the last
    /// load ends inside the strip).
    #[inline(always)]
    fn step<const CN: usize>(simd: V3, rows: [&[u8]; 3], dst: &mut [u8], at: usize, shift: usize) {
        let strips = [strip(rows[0], at), strip(rows[1], at), strip(rows[2], at)];
        let out = &mut dst[at + CN + shift..at + CN + shift + STEP];
        for half in [0, 32] {
            // Functions, not closures: a closure is not compiled with AVX2.
            let x = shift + half;
            let columns = [
                column(simd, strips, x),
                column(simd, strips, x + CN),
                column(simd, strips, x + 2 * CN),
            ];
            let median: [u8; 32] = cast(median9(simd, columns));
            out[half..half + 32].copy_from_slice(&median);
        }
    }

    /// The `READ` samples of `row` from `at`: checked once, so the main loop's loads from
    /// it are not.
    #[inline(always)]
    fn strip(row: &[u8], at: usize) -> &[u8; READ] {
        row[at..at + READ].try_into().unwrap()
    }

    /// 32 samples of a strip from `x`.
    #[inline(always)]
    fn load(strip: &[u8; READ], x: usize) -> __m256i {
        let bytes: [u8; 32] = strip[x..x + 32].try_into().unwrap();
        cast(bytes)
    }

    /// The 32 columns of the three strips from `x`, sorted.
    #[inline(always)]
    fn column(simd: V3, [up, centre, down]: [&[u8; READ]; 3], x: usize) -> [__m256i; 3] {
        sort(simd, load(up, x), load(centre, x), load(down, x))
    }

    /// The median of three vectors, lane by lane.
    #[inline(always)]
    fn median3(simd: V3, a: __m256i, b: __m256i, c: __m256i) -> __m256i {
        let avx2 = simd.avx2;
        let low = avx2._mm256_min_epu8(a, b);
        let high = avx2._mm256_max_epu8(a, b);
        avx2._mm256_max_epu8(low, avx2._mm256_min_epu8(high, c))
    }

    /// Three vectors of a column sorted, lane by lane: lowest, middle, highest.
    #[inline(always)]
    fn sort(simd: V3, a: __m256i, b: __m256i, c: __m256i) -> [__m256i; 3] {
        let avx2 = simd.avx2;
        let low = avx2._mm256_min_epu8(a, b);
        let high = avx2._mm256_max_epu8(a, b);
        [
            avx2._mm256_min_epu8(low, c),
            avx2._mm256_max_epu8(low, avx2._mm256_min_epu8(high, c)),
            avx2._mm256_max_epu8(high, c),
        ]
    }

    /// The median of 3x3 windows from their three sorted columns, as `super::median9`.
    #[inline(always)]
    fn median9(simd: V3, [[l0, m0, h0], [l1, m1, h1], [l2, m2, h2]]: [[__m256i; 3]; 3]) -> __m256i {
        let avx2 = simd.avx2;
        let low = avx2._mm256_max_epu8(avx2._mm256_max_epu8(l0, l1), l2);
        let high = avx2._mm256_min_epu8(avx2._mm256_min_epu8(h0, h1), h2);
        median3(simd, low, median3(simd, m0, m1, m2), high)
    }
}
