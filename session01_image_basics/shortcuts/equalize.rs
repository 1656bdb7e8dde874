//! Shortcut for exercise 1.4: imageproc's `equalize_histogram` on each colour channel on its
//! own. Each channel gets its own table (so gray pixels turn coloured and hues drift), and
//! imageproc's table is `cdf(v) * 255 / n` truncated, without the spec's `cdf_min`:
//! `ex01_4_equalize_maps_small_images_exactly`, `ex01_4_equalize_keeps_gray_pixels_gray` and
//! `ex01_4_equalize_uses_one_mapping_for_all_channels` fail.

use image::{GrayImage, Luma};
use imageproc::contrast::equalize_histogram;

use crate::pixels::{Buffer, Pixel8, colour_channels};

/// Exercise 1.4: histogram equalisation, channel by channel with imageproc.
pub fn equalize<P: Pixel8>(image: &Buffer<P>) -> Buffer<P> {
    let (width, height) = image.dimensions();
    let mut out = image.clone();
    for channel in 0..colour_channels::<P>() {
        let plane = GrayImage::from_fn(width, height, |x, y| {
            Luma([image.get_pixel(x, y).channels()[channel]])
        });
        let equalized = equalize_histogram(&plane);
        for (x, y, pixel) in out.enumerate_pixels_mut() {
            pixel.channels_mut()[channel] = equalized.get_pixel(x, y)[0];
        }
    }
    out
}
