//! What the service accepts, checked before anything is queued: the body's size, the
//! format by its first bytes (never by a file name or a `Content-Type` a client chose), and
//! the pixel count from the header, so a decompression bomb (a small file announcing a
//! huge image) is refused before one pixel is allocated.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use image::ImageFormat;
use serde::Serialize;
use session01_image_basics::io::format_name;
use session01_image_basics::{DecodeError, ImageInfo, Limits};

use crate::error::ApiError;

/// The formats an upload may have, recognised by their magic bytes.
pub const ALLOWED_FORMATS: [ImageFormat; 3] =
    [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::WebP];

/// How much one request may ask of the service.
// ANCHOR: upload_limits
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// The most bytes a request body may have (`--max-upload`).
    pub max_body_bytes: usize,
    /// The most pixels an image may have (`--max-megapixels`).
    pub max_pixels: u64,
}

impl Default for UploadLimits {
    /// 25 MB of body, 50 megapixels.
    fn default() -> Self {
        Self {
            max_body_bytes: 25 * 1_000_000,
            max_pixels: 50_000_000,
        }
    }
}
// ANCHOR_END: upload_limits

impl UploadLimits {
    /// The decoder limits the workers use for these uploads.
    pub fn decoding(&self) -> Limits {
        Limits {
            max_pixels: self.max_pixels,
            max_file_bytes: self.max_body_bytes as u64,
            ..Limits::default()
        }
    }
}

/// What an accepted upload is, read from its header.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inspected {
    /// `PNG`, `JPEG` or `WebP`.
    pub format: &'static str,
    /// The MIME type of that format.
    pub content_type: &'static str,
    /// The file extension results get in this format.
    pub extension: &'static str,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Megapixels, rounded to two decimals.
    pub megapixels: f64,
    /// The channels as stored (`Rgb8`, `Rgba8`, `L8` ...).
    pub color: String,
    /// The size of the upload.
    pub bytes: u64,
}

// ANCHOR: check
/// Checks an upload against `limits` from its header only: an allowed format, a header
/// that parses, a pixel count within the limit.
pub fn check(bytes: &[u8], limits: &UploadLimits) -> Result<Inspected, ApiError> {
    if bytes.len() > limits.max_body_bytes {
        return Err(ApiError::TooLarge(format!(
            "the image is {} bytes, over the limit of {} bytes",
            bytes.len(),
            limits.max_body_bytes
        )));
    }
    let info = session01_image_basics::inspect(bytes).map_err(refused)?;
    if !ALLOWED_FORMATS.contains(&info.format) {
        return Err(ApiError::UnsupportedFormat(format!(
            "{} images are not accepted here; send PNG, JPEG or WebP",
            format_name(info.format)
        )));
    }
    let pixels = u64::from(info.width) * u64::from(info.height);
    if pixels > limits.max_pixels {
        return Err(ApiError::TooLarge(
            DecodeError::TooManyPixels {
                width: info.width,
                height: info.height,
                limit: limits.max_pixels,
            }
            .to_string(),
        ));
    }
    Ok(describe(&info))
}
// ANCHOR_END: check

// ANCHOR: content_length
/// Middleware: a request whose `Content-Length` announces more than `limit` bytes is
/// refused at once, before its body is read (axum's body limit would read up to the limit
/// first, and a client sending 1 GB would wait for nothing).
pub async fn announced_length(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match announced {
        Some(length) if length > limit as u64 => ApiError::TooLarge(format!(
            "the request body is {length} bytes, over the limit of {limit} bytes"
        ))
        .into_response(),
        _ => next.run(request).await,
    }
}
// ANCHOR_END: content_length

/// A decoder's refusal as an HTTP error: an unknown format is 415, a size 413, the rest 422.
pub fn refused(error: DecodeError) -> ApiError {
    match error {
        DecodeError::UnknownFormat { .. } | DecodeError::Empty => {
            ApiError::UnsupportedFormat(error.to_string())
        }
        DecodeError::TooManyBytes { .. }
        | DecodeError::TooManyPixels { .. }
        | DecodeError::TooMuchMemory { .. } => ApiError::TooLarge(error.to_string()),
        _ => ApiError::Unprocessable(error.to_string()),
    }
}

fn describe(info: &ImageInfo) -> Inspected {
    let (content_type, extension) = media(info.format);
    let pixels = f64::from(info.width) * f64::from(info.height);
    Inspected {
        format: format_name(info.format),
        content_type,
        extension,
        width: info.width,
        height: info.height,
        megapixels: (pixels / 1e4).round() / 100.0,
        color: format!("{:?}", info.color),
        bytes: info.file_bytes,
    }
}

/// The MIME type and extension of an allowed format.
pub fn media(format: ImageFormat) -> (&'static str, &'static str) {
    match format {
        ImageFormat::Jpeg => ("image/jpeg", "jpg"),
        ImageFormat::WebP => ("image/webp", "webp"),
        _ => ("image/png", "png"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::DynamicImage::new_rgb8(width, height);
        session01_image_basics::encode(&image, ImageFormat::Png).unwrap()
    }

    #[test]
    fn a_small_png_is_described_from_its_header() {
        let checked = check(&png(30, 20), &UploadLimits::default()).unwrap();
        assert_eq!(
            (checked.format, checked.width, checked.height),
            ("PNG", 30, 20)
        );
        assert_eq!(
            (checked.content_type, checked.extension),
            ("image/png", "png")
        );
    }

    #[test]
    fn each_refusal_has_its_status() {
        let tight = UploadLimits {
            max_body_bytes: 1_000_000,
            max_pixels: 100,
        };
        let status = |bytes: &[u8]| check(bytes, &tight).unwrap_err().status().as_u16();
        assert_eq!(status(&png(11, 10)), 413, "over the pixel limit");
        assert_eq!(status(&vec![0; 1_000_001]), 413, "over the byte limit");
        assert_eq!(status(b"GIF89a........"), 415, "not an allowed format");
        assert_eq!(status(b""), 415, "empty");
        let pnm = b"P6\n2 2\n255\n............";
        assert_eq!(
            status(pnm),
            415,
            "a format the workers read but uploads may not use"
        );
        let mut cut = png(5, 5);
        cut.truncate(20);
        assert_eq!(status(&cut), 422, "a header cut short");
    }
}
