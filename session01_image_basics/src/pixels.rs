//! Writing a filter once for every pixel layout.
//!
//! A decoded image is one of four 8-bit layouts: gray, gray + alpha, RGB, RGBA
//! (`image::DynamicImage`'s `Luma8`, `LumaA8`, `Rgb8`, `Rgba8`). A filter implements
//! [`PixelFilter::run`] once, generically over the pixel type, and [`map_image`] picks the
//! right instance. Inside, a pixel is a slice of samples whose last one is alpha when the layout
//! has it; filters change the colour samples and, unless blurring, leave alpha alone.

use image::{DynamicImage, ImageBuffer, Pixel};

use crate::error::FilterError;
use crate::filter::PixelFilter;

/// Any of the 8-bit pixel layouts (`Luma<u8>`, `LumaA<u8>`, `Rgb<u8>`, `Rgba<u8>`).
pub trait Pixel8: Pixel<Subpixel = u8> + 'static {}

impl<P: Pixel<Subpixel = u8> + 'static> Pixel8 for P {}

/// An 8-bit image buffer of any pixel layout.
pub type Buffer<P> = ImageBuffer<P, Vec<u8>>;

/// Applies `op` to whichever layout `image` has, returning the same layout.
///
/// Images of more than 8 bits per channel are converted first (loading already does this).
// ANCHOR: map_image
pub fn map_image(image: &DynamicImage, op: &impl PixelFilter) -> Result<DynamicImage, FilterError> {
    Ok(match image {
        DynamicImage::ImageLuma8(buffer) => DynamicImage::ImageLuma8(op.run(buffer)?),
        DynamicImage::ImageLumaA8(buffer) => DynamicImage::ImageLumaA8(op.run(buffer)?),
        DynamicImage::ImageRgb8(buffer) => DynamicImage::ImageRgb8(op.run(buffer)?),
        DynamicImage::ImageRgba8(buffer) => DynamicImage::ImageRgba8(op.run(buffer)?),
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(op.run(&other.to_rgba8())?),
        other => DynamicImage::ImageRgb8(op.run(&other.to_rgb8())?),
    })
}
// ANCHOR_END: map_image

/// How many samples of a pixel are colour (all but alpha).
pub fn colour_channels<P: Pixel>() -> usize {
    usize::from(P::CHANNEL_COUNT) - usize::from(P::HAS_ALPHA)
}

// ANCHOR: for_each_colour
/// Calls `f` on the colour samples of every pixel, in place; alpha is untouched.
pub fn for_each_colour<P: Pixel8>(image: &mut Buffer<P>, mut f: impl FnMut(&mut [u8])) {
    let channels = usize::from(P::CHANNEL_COUNT);
    let colour = colour_channels::<P>();
    for pixel in image.chunks_exact_mut(channels) {
        f(&mut pixel[..colour]);
    }
}
// ANCHOR_END: for_each_colour

/// Perceived brightness of a pixel's colour samples (ITU-R BT.601 weights, as Pillow's
/// `convert("L")`), rounded to the nearest integer.
// ANCHOR: luma
pub fn luma(colour: &[u8]) -> u8 {
    match colour {
        [r, g, b, ..] => {
            let weighted = 299 * u32::from(*r) + 587 * u32::from(*g) + 114 * u32::from(*b);
            ((weighted + 500) / 1000) as u8
        }
        [gray, ..] => *gray,
        [] => 0,
    }
}
// ANCHOR_END: luma

/// Rounds and clamps a computed sample into `0..=255`.
pub fn to_u8(value: f32) -> u8 {
    value.round().clamp(0.0, 255.0) as u8
}
