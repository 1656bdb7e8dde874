//! Shortcut for exercise 1.1: the crate's grayscale filter, then each channel scaled by its
//! row of the sepia matrix summed (a tint of the luma). Exact on gray pixels, but a colour
//! pixel loses its own mix of red, green and blue: `ex01_1_sepia_mixes_the_primaries_by_the_matrix`
//! and `ex01_1_sepia_follows_the_matrix_on_a_photo` fail.

use crate::filters::PointOp;
use crate::pixels::{Buffer, Pixel8, for_each_colour, to_u8};

/// Exercise 1.1: sepia, as a tinted gray.
pub fn sepia<P: Pixel8>(image: &Buffer<P>) -> Buffer<P> {
    // Each output channel of the matrix applied to a gray pixel (y, y, y).
    const TINT: [f32; 3] = [1.351, 1.203, 0.937];
    let mut out = PointOp::Grayscale.run(image);
    for_each_colour(&mut out, |colour| {
        if let [r, g, b] = colour {
            let y = f32::from(*r);
            [*r, *g, *b] = TINT.map(|t| to_u8(t * y));
        }
    });
    out
}
