//! Reference solution to exercise 1.1 (sepia); the specification is in
//! `src/exercises/sepia.rs`.

use crate::pixels::{Buffer, Pixel8, for_each_colour, to_u8};

/// Exercise 1.1: sepia.
pub fn sepia<P: Pixel8>(image: &Buffer<P>) -> Buffer<P> {
    const MATRIX: [[f32; 3]; 3] = [
        [0.393, 0.769, 0.189],
        [0.349, 0.686, 0.168],
        [0.272, 0.534, 0.131],
    ];
    let mut out = image.clone();
    for_each_colour(&mut out, |colour| {
        if let [r, g, b] = colour {
            let input = [f32::from(*r), f32::from(*g), f32::from(*b)];
            [*r, *g, *b] = MATRIX.map(|row| to_u8(row.iter().zip(input).map(|(w, v)| w * v).sum()));
        }
    });
    out
}
