//! JPEG through libjpeg-turbo's code, the codec Pillow, OpenCV and libvips call, by way of
//! the mozjpeg crate: it builds the C library from source with the C compiler Rust links
//! with, and its SIMD code where `nasm` is installed (x86-64) or on ARM. Without `nasm` on
//! x86-64 the build still works, in plain C, several times slower; after installing `nasm`,
//! `cargo clean -p mozjpeg-sys` makes the next build pick it up.
//!
//! libjpeg reports a fatal error by unwinding out of its C code. Both functions here catch
//! that, so a bad file or a refused image is an error value, never a panic.

use std::borrow::Cow;
use std::panic::catch_unwind;

use image::{DynamicImage, GrayImage, RgbImage};
use mozjpeg::{ColorSpace, Compress, Decompress};

/// The largest side libjpeg writes.
const MAX_SIDE: u32 = 65_500;

/// Encodes at quality 90 with 4:2:0 chroma subsampling, libjpeg-turbo's defaults: mozjpeg's
/// fastest profile, without its slower search for smaller files. Alpha is dropped.
pub(crate) fn encode(image: &DynamicImage, out: &mut Vec<u8>) -> Result<(), String> {
    let (samples, colour) = match image {
        DynamicImage::ImageLuma8(gray) => (Cow::Borrowed(gray.as_raw()), ColorSpace::JCS_GRAYSCALE),
        DynamicImage::ImageRgb8(rgb) => (Cow::Borrowed(rgb.as_raw()), ColorSpace::JCS_RGB),
        DynamicImage::ImageLumaA8(_) => (
            Cow::Owned(image.to_luma8().into_raw()),
            ColorSpace::JCS_GRAYSCALE,
        ),
        _ => (Cow::Owned(image.to_rgb8().into_raw()), ColorSpace::JCS_RGB),
    };
    let (width, height) = (image.width(), image.height());
    if width == 0 || height == 0 || width.max(height) > MAX_SIDE {
        return Err(format!(
            "{width}x{height} pixels: JPEG sides run from 1 to {MAX_SIDE}"
        ));
    }
    let buffer = std::mem::take(out);
    let encoded = catch_unwind(move || -> std::io::Result<Vec<u8>> {
        let mut encoder = Compress::new(colour);
        encoder.set_fastest_defaults();
        encoder.set_size(width as usize, height as usize);
        encoder.set_quality(90.0);
        let mut started = encoder.start_compress(buffer)?;
        started.write_scanlines(&samples)?;
        started.finish()
    });
    match encoded {
        Ok(Ok(bytes)) => {
            *out = bytes;
            Ok(())
        }
        Ok(Err(error)) => Err(error.to_string()),
        Err(cause) => Err(cause
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| "the JPEG encoder failed".to_owned())),
    }
}

/// Decodes an 8-bit gray or colour JPEG whose header the caller has checked against its
/// limits; `None` for what libjpeg refuses or does not convert (CMYK, for one), which is
/// then left to `image`'s decoder and its explanations.
pub(crate) fn decode(bytes: &[u8]) -> Option<DynamicImage> {
    catch_unwind(|| {
        let decoder = Decompress::new_mem(bytes).ok()?;
        let width = u32::try_from(decoder.width()).ok()?;
        let height = u32::try_from(decoder.height()).ok()?;
        match decoder.color_space() {
            ColorSpace::JCS_GRAYSCALE => {
                let mut started = decoder.grayscale().ok()?;
                let samples = started.read_scanlines::<u8>().ok()?;
                started.finish().ok()?;
                GrayImage::from_raw(width, height, samples).map(DynamicImage::ImageLuma8)
            }
            ColorSpace::JCS_YCbCr | ColorSpace::JCS_RGB => {
                let mut started = decoder.rgb().ok()?;
                let samples = started.read_scanlines::<u8>().ok()?;
                started.finish().ok()?;
                RgbImage::from_raw(width, height, samples).map(DynamicImage::ImageRgb8)
            }
            _ => None,
        }
    })
    .ok()
    .flatten()
}
