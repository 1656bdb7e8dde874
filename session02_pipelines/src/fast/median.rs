//! The 3x3 median by hand, the most used median, as min and max on rows of samples.
//!
//! Each column of the window is sorted into its lowest, middle and highest sample. The
//! median of the nine is then the median of three values: the highest of the three
//! lowest, the median of the three middles and the lowest of the three highest. Every
//! step is a `min` or a `max` on shifted slices of rows, which LLVM turns into SIMD code,
//! 32 samples at a time with AVX2 (16 with SSE4.1 or NEON). Each column is sorted again
//! for each of the three windows that hold it: sorting each row's columns once into
//! buffers did less arithmetic, and measured slower.

use session01_image_basics::pixels::{Buffer, Pixel8};

use super::neighbourhood::row;
use super::{Layout, fill_bands};

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
                window_row(window, dst, c);
            }
        },
    )
}

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

/// One output row of `c` samples per pixel from its source rows above, at and below.
#[inline(always)]
fn window_row(rows: [&[u8]; 3], dst: &mut [u8], c: usize) {
    let len = dst.len();
    // The interior: each tap a shifted slice, one SIMD-friendly loop.
    if len > 2 * c {
        let n = len - 2 * c;
        let [[u0, u1, u2], [a0, a1, a2], [d0, d1, d2]] =
            rows.map(|s| [&s[..n], &s[c..c + n], &s[2 * c..2 * c + n]]);
        for (i, out) in dst[c..c + n].iter_mut().enumerate() {
            let columns = [
                sort(u0[i], a0[i], d0[i]),
                sort(u1[i], a1[i], d1[i]),
                sort(u2[i], a2[i], d2[i]),
            ];
            *out = median9(columns);
        }
    }
    // The first and last pixel repeat themselves beyond the edge.
    let width = len / c;
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
