//! Reference solution to exercise 1.2 (vignette); the specification is in
//! `src/exercises/vignette.rs`.

use crate::pixels::{Buffer, Pixel8, colour_channels, to_u8};

/// Exercise 1.2: vignette.
pub fn vignette<P: Pixel8>(image: &Buffer<P>, strength: f32) -> Buffer<P> {
    let cx = (image.width() as f32 - 1.0) / 2.0;
    let cy = (image.height() as f32 - 1.0) / 2.0;
    let max_squared = cx * cx + cy * cy;
    let mut out = image.clone();
    if max_squared == 0.0 {
        return out;
    }
    for (x, y, pixel) in out.enumerate_pixels_mut() {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let factor = 1.0 - strength * (dx * dx + dy * dy) / max_squared;
        for sample in &mut pixel.channels_mut()[..colour_channels::<P>()] {
            *sample = to_u8(f32::from(*sample) * factor);
        }
    }
    out
}
