//! Shortcut for exercise 1.2: the distance measured in normalised coordinates (`dx / cx`,
//! `dy / cy`), the usual shader idiom. The centre and the corners come out right, but the
//! falloff is an ellipse stretched to the image's shape instead of a circle:
//! `ex01_2_vignette_falls_off_in_circles` and `ex01_2_vignette_follows_the_formula_on_a_photo`
//! fail on any image that is not square.

use crate::pixels::{Buffer, Pixel8, colour_channels, to_u8};

/// Exercise 1.2: vignette, with the falloff stretched to the image's aspect ratio.
pub fn vignette<P: Pixel8>(image: &Buffer<P>, strength: f32) -> Buffer<P> {
    let cx = (image.width() as f32 - 1.0) / 2.0;
    let cy = (image.height() as f32 - 1.0) / 2.0;
    let normalise = |d: f32, half: f32| if half == 0.0 { 0.0 } else { d / half };
    let mut out = image.clone();
    for (x, y, pixel) in out.enumerate_pixels_mut() {
        let (u, v) = (normalise(x as f32 - cx, cx), normalise(y as f32 - cy, cy));
        let factor = 1.0 - strength * (u * u + v * v) / 2.0;
        for sample in &mut pixel.channels_mut()[..colour_channels::<P>()] {
            *sample = to_u8(f32::from(*sample) * factor);
        }
    }
    out
}
