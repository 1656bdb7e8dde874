//! JPEG through mozjpeg, Mozilla's fork of libjpeg-turbo (the codec Pillow, OpenCV and
//! libvips call), set to its fastest profile, which writes what libjpeg-turbo writes. The
//! mozjpeg crate builds the C library from source with the C compiler Rust links with, and
//! its SIMD code where `nasm` is installed (x86-64) or on ARM. Without `nasm` on x86-64 the
//! build still works, in slower plain C; after installing `nasm`, `cargo clean -p
//! mozjpeg-sys` makes the next build pick it up.
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
pub(crate) fn encode(image: &DynamicImage) -> Result<Vec<u8>, String> {
    let (width, height) = (image.width(), image.height());
    if width == 0 || height == 0 || width.max(height) > MAX_SIDE {
        return Err(format!(
            "{width}x{height} pixels: JPEG sides run from 1 to {MAX_SIDE}"
        ));
    }
    let (samples, colour) = match image {
        DynamicImage::ImageLuma8(gray) => (Cow::Borrowed(gray.as_raw()), ColorSpace::JCS_GRAYSCALE),
        DynamicImage::ImageRgb8(rgb) => (Cow::Borrowed(rgb.as_raw()), ColorSpace::JCS_RGB),
        DynamicImage::ImageLumaA8(_) => (
            Cow::Owned(image.to_luma8().into_raw()),
            ColorSpace::JCS_GRAYSCALE,
        ),
        _ => (Cow::Owned(image.to_rgb8().into_raw()), ColorSpace::JCS_RGB),
    };
    let encoded = catch_unwind(move || -> std::io::Result<Vec<u8>> {
        let mut encoder = Compress::new(colour);
        encoder.set_fastest_defaults();
        encoder.set_size(width as usize, height as usize);
        encoder.set_quality(90.0);
        let mut started = encoder.start_compress(Vec::new())?;
        started.write_scanlines(&samples)?;
        started.finish()
    });
    match encoded {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => Err(error.to_string()),
        Err(cause) => Err(cause
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| "the JPEG encoder failed".to_owned())),
    }
}

/// Decodes an 8-bit gray or colour JPEG of the size `checked`, which the caller read from
/// the header and held against its limits. `None` for what libjpeg refuses or does not
/// convert (CMYK, for one), for a frame of another size (a file crafted so that two parsers
/// read two headers) and for one whose pixels and coefficients, estimated at three bytes a
/// sample, exceed `max_alloc`: that is left to `image`'s decoder, which holds the pixels
/// alone to the limit, and to its explanations.
pub(crate) fn decode(bytes: &[u8], checked: (u32, u32), max_alloc: u64) -> Option<DynamicImage> {
    catch_unwind(|| {
        let decoder = Decompress::new_mem(bytes).ok()?;
        let (width, height) = (
            u32::try_from(decoder.width()).ok()?,
            u32::try_from(decoder.height()).ok()?,
        );
        let channels: u64 = match decoder.color_space() {
            ColorSpace::JCS_GRAYSCALE => 1,
            ColorSpace::JCS_YCbCr | ColorSpace::JCS_RGB => 3,
            _ => return None,
        };
        // The pixels, and as much again twice over for a progressive file's coefficients.
        let needed = u64::from(width) * u64::from(height) * channels * 3;
        if (width, height) != checked || needed > max_alloc {
            return None;
        }
        if channels == 1 {
            let mut started = decoder.grayscale().ok()?;
            let samples = started.read_scanlines::<u8>().ok()?;
            started.finish().ok()?;
            GrayImage::from_raw(width, height, samples).map(DynamicImage::ImageLuma8)
        } else {
            let mut started = decoder.rgb().ok()?;
            let samples = started.read_scanlines::<u8>().ok()?;
            started.finish().ok()?;
            RgbImage::from_raw(width, height, samples).map(DynamicImage::ImageRgb8)
        }
    })
    .ok()
    .flatten()
}
