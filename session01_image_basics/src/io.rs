//! Loading and saving images safely.
//!
//! A decoder trusts the header of the file it reads: a 40 KB PNG can announce
//! 100 000 x 100 000 pixels and ask for 30 GB. Everything here goes through [`Limits`], checks
//! the announced size against them *before* decoding, and turns every decoder failure into a
//! [`DecodeError`] that says what is wrong (empty, truncated, not an image, too large).
//!
//! Decoded images are normalised to 8 bits per channel, keeping the layout (gray, gray with
//! alpha, RGB, RGBA), because that is what every filter of the course works on.

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Write};
use std::path::Path;

use image::error::{ImageError, LimitErrorKind};
use image::{ColorType, DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use crate::error::{DecodeError, LoadError, SaveError};

/// How much an input may ask of the machine.
// ANCHOR: limits
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most pixels (width x height) an image may have.
    pub max_pixels: u64,
    /// Most bytes the decoder may allocate at once.
    pub max_alloc: u64,
    /// Most bytes an encoded file may have.
    pub max_file_bytes: u64,
}

impl Default for Limits {
    /// 50 megapixels, 512 MiB of decoder memory, 256 MiB of file.
    fn default() -> Self {
        Self {
            max_pixels: 50_000_000,
            max_alloc: 512 * 1024 * 1024,
            max_file_bytes: 256 * 1024 * 1024,
        }
    }
}
// ANCHOR_END: limits

impl Limits {
    /// The default limits with another pixel ceiling, given in megapixels.
    pub fn with_megapixels(megapixels: f64) -> Self {
        Self {
            max_pixels: (megapixels * 1e6) as u64,
            ..Self::default()
        }
    }
}

/// What a file's header says, read without decoding its pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// Detected from the content, not the extension.
    pub format: ImageFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Channels and bit depth as stored in the file.
    pub color: ColorType,
    /// Size of the file in bytes.
    pub file_bytes: u64,
}

/// Loads an image file with the default [`Limits`].
pub fn load(path: impl AsRef<Path>) -> Result<DynamicImage, LoadError> {
    load_with(path, &Limits::default())
}

/// Loads an image file, refusing anything over `limits`.
pub fn load_with(path: impl AsRef<Path>, limits: &Limits) -> Result<DynamicImage, LoadError> {
    let path = path.as_ref();
    let bytes = read_bounded(path, limits.max_file_bytes)?;
    decode(&bytes, limits).map_err(|cause| LoadError::Decode {
        path: path.to_owned(),
        cause,
    })
}

/// Decodes encoded bytes (JPEG, PNG or WebP, detected from the content).
// ANCHOR: decode
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<DynamicImage, DecodeError> {
    let format = detect(bytes)?;
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(DecodeError::TooManyBytes {
            size: bytes.len() as u64,
            limit: limits.max_file_bytes,
        });
    }
    // Read the header first: a decompression bomb is refused before any pixel is allocated.
    let (width, height) = reader(bytes, format, limits)
        .into_dimensions()
        .map_err(|e| explain(e, format, limits))?;
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(DecodeError::TooManyPixels {
            width,
            height,
            limit: limits.max_pixels,
        });
    }
    let image = decode_pixels(bytes, format, (width, height), limits)?;
    Ok(to_8bit(image))
}
// ANCHOR_END: decode

/// The pixels of a file whose header, of size `checked`, passed the limits: JPEG through
/// libjpeg's code when it reads the file, the rest (and any JPEG it refuses) through
/// `image`'s decoders.
// ANCHOR: decode_pixels
fn decode_pixels(
    bytes: &[u8],
    format: ImageFormat,
    checked: (u32, u32),
    limits: &Limits,
) -> Result<DynamicImage, DecodeError> {
    if format == ImageFormat::Jpeg {
        check_jpeg_scans(bytes)?;
        if let Some(image) = crate::jpeg::decode(bytes, checked, limits.max_alloc) {
            return Ok(image);
        }
    }
    reader(bytes, format, limits)
        .decode()
        .map_err(|e| explain(e, format, limits))
}
// ANCHOR_END: decode_pixels

/// Reads format, size and colour type from the header only.
pub fn info(path: impl AsRef<Path>) -> Result<ImageInfo, LoadError> {
    let path = path.as_ref();
    let io_error = |cause| LoadError::Io {
        path: path.to_owned(),
        cause,
    };
    let file_bytes = std::fs::metadata(path).map_err(io_error)?.len();
    let mut head = Vec::with_capacity(64);
    File::open(path)
        .and_then(|f| f.take(64).read_to_end(&mut head))
        .map_err(io_error)?;
    let decode_error = |cause| LoadError::Decode {
        path: path.to_owned(),
        cause,
    };
    let format = detect(&head).map_err(decode_error)?;
    let file = BufReader::new(File::open(path).map_err(io_error)?);
    let decoder = ImageReader::with_format(file, format)
        .into_decoder()
        .map_err(|e| decode_error(explain(e, format, &Limits::default())))?;
    let (width, height) = decoder.dimensions();
    Ok(ImageInfo {
        format,
        width,
        height,
        color: decoder.color_type(),
        file_bytes,
    })
}

/// Reads format, size and colour type from the header of encoded bytes, without decoding a
/// pixel: what an upload says it is, before anything is allocated for it.
pub fn inspect(bytes: &[u8]) -> Result<ImageInfo, DecodeError> {
    let format = detect(bytes)?;
    let decoder = reader(bytes, format, &Limits::default())
        .into_decoder()
        .map_err(|e| explain(e, format, &Limits::default()))?;
    let (width, height) = decoder.dimensions();
    Ok(ImageInfo {
        format,
        width,
        height,
        color: decoder.color_type(),
        file_bytes: bytes.len() as u64,
    })
}

/// Saves an image; the format follows the extension (`.png`, `.jpg`/`.jpeg`, `.webp`).
///
/// The file is written under a temporary name and renamed into place, so a crash never
/// leaves a half-written image behind under the final name.
pub fn save(image: &DynamicImage, path: impl AsRef<Path>) -> Result<(), SaveError> {
    let path = path.as_ref();
    let format = format_for_path(path)?;
    let bytes = encode(image, format)?;
    let io_error = |cause| SaveError::Io {
        path: path.to_owned(),
        cause,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(io_error)?;
    file.write_all(&bytes).map_err(io_error)?;
    file.persist(path).map_err(|e| io_error(e.error))?;
    Ok(())
}

/// The output format an extension asks for.
pub fn format_for_path(path: &Path) -> Result<ImageFormat, SaveError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match extension.as_str() {
        "png" => Ok(ImageFormat::Png),
        "jpg" | "jpeg" => Ok(ImageFormat::Jpeg),
        "webp" => Ok(ImageFormat::WebP),
        // Raw pixels behind a one-line header: no compression to pay for, which is what
        // moving tiles between processes wants (session 05).
        "ppm" | "pgm" => Ok(ImageFormat::Pnm),
        _ => Err(SaveError::UnknownExtension {
            path: path.to_owned(),
            extension,
        }),
    }
}

/// Encodes an image: PNG and WebP losslessly, JPEG at quality 90, PPM and PGM raw.
///
/// JPEG has no alpha channel, so an image with alpha loses it there. JPEG goes through
/// mozjpeg, a libjpeg-turbo fork, set to write what libjpeg-turbo writes (see `jpeg.rs`).
pub fn encode(image: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, SaveError> {
    use image::codecs::{png::PngEncoder, webp::WebPEncoder};
    let failed = |detail: String| SaveError::Encode {
        format: format_name(format),
        detail,
    };
    let mut out = Vec::new();
    match format {
        ImageFormat::Jpeg => out = crate::jpeg::encode(image).map_err(failed)?,
        ImageFormat::Png => image
            .write_with_encoder(PngEncoder::new(&mut out))
            .map_err(|e| failed(e.to_string()))?,
        ImageFormat::WebP => image
            .write_with_encoder(WebPEncoder::new_lossless(&mut out))
            .map_err(|e| failed(e.to_string()))?,
        ImageFormat::Pnm => encode_pnm(image, &mut out).map_err(failed)?,
        other => {
            return Err(SaveError::Encode {
                format: format_name(other),
                detail: "only PNG, JPEG, WebP, PPM and PGM are written".to_owned(),
            });
        }
    }
    Ok(out)
}

/// Binary PPM for colour, PGM for gray: the pixels as they are, after a short header.
/// Neither holds alpha, so an image with alpha is refused rather than silently changed.
fn encode_pnm(image: &DynamicImage, out: &mut Vec<u8>) -> Result<(), String> {
    use image::codecs::pnm::{PnmEncoder, PnmSubtype, SampleEncoding};
    let subtype = match image {
        DynamicImage::ImageRgb8(_) => PnmSubtype::Pixmap(SampleEncoding::Binary),
        DynamicImage::ImageLuma8(_) => PnmSubtype::Graymap(SampleEncoding::Binary),
        _ => {
            return Err(format!(
                "PPM and PGM hold 8-bit RGB or gray, not {:?}; use PNG",
                image.color()
            ));
        }
    };
    image
        .write_with_encoder(PnmEncoder::new(out).with_subtype(subtype))
        .map_err(|e| e.to_string())
}

fn read_bounded(path: &Path, max_bytes: u64) -> Result<Vec<u8>, LoadError> {
    let io_error = |cause| LoadError::Io {
        path: path.to_owned(),
        cause,
    };
    let file = File::open(path).map_err(io_error)?;
    let size = file.metadata().map_err(io_error)?.len();
    if size > max_bytes {
        return Err(LoadError::Decode {
            path: path.to_owned(),
            cause: DecodeError::TooManyBytes {
                size,
                limit: max_bytes,
            },
        });
    }
    // `take` guards against a file that grows while we read it.
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    Ok(bytes)
}

/// Recognises the format from the first bytes, never from a file name.
fn detect(bytes: &[u8]) -> Result<ImageFormat, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    match image::guess_format(bytes) {
        Ok(
            format @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Pnm),
        ) => Ok(format),
        _ => Err(DecodeError::UnknownFormat {
            start: describe_start(bytes),
        }),
    }
}

fn reader<'a>(
    bytes: &'a [u8],
    format: ImageFormat,
    limits: &Limits,
) -> ImageReader<Cursor<&'a [u8]>> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(decoder_limits);
    reader
}

/// Turns a decoder's error into one that names the problem.
fn explain(error: ImageError, format: ImageFormat, limits: &Limits) -> DecodeError {
    let format = format_name(format);
    match error {
        ImageError::Limits(e) if matches!(e.kind(), LimitErrorKind::InsufficientMemory) => {
            DecodeError::TooMuchMemory {
                limit: limits.max_alloc,
            }
        }
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            DecodeError::Truncated {
                format,
                detail: e.to_string(),
            }
        }
        ImageError::Unsupported(e) => DecodeError::Unsupported {
            format,
            detail: e.to_string(),
        },
        other => {
            let detail = other.to_string().trim().replace('\n', " ");
            let lower = detail.to_ascii_lowercase();
            // Decoders report a premature end in their own words.
            if [
                "eof",
                "end of file",
                "unexpected end",
                "truncated",
                "not enough bytes",
                "no more bytes",
            ]
            .iter()
            .any(|needle| lower.contains(needle))
            {
                DecodeError::Truncated { format, detail }
            } else {
                DecodeError::Corrupt { format, detail }
            }
        }
    }
}

/// The most scans a JPEG may have. Each scan of a progressive JPEG is a pass over the whole
/// image, so a small file with thousands of them would keep a decoder busy for minutes;
/// encoders write far fewer (libjpeg's progressive mode writes 10).
const MAX_JPEG_SCANS: usize = 256;

/// Refuses JPEG data that stops before its end-of-image marker (`FF D9`), which decoders
/// fill with gray instead of failing, or that has more than [`MAX_JPEG_SCANS`] scans.
///
/// Segments before the first scan are skipped by their length fields: an EXIF thumbnail is
/// a whole JPEG of its own, with its own markers, inside one of them. In scan data `FF` is
/// always followed by `00` or a restart marker, so a marker there is a real one.
fn check_jpeg_scans(bytes: &[u8]) -> Result<(), DecodeError> {
    let cut = || DecodeError::Truncated {
        format: "JPEG",
        detail: "the data ends before the end-of-image marker".to_owned(),
    };
    let mut at = 2; // after the start-of-image marker FF D8
    while at + 4 <= bytes.len() {
        if bytes[at] != 0xFF {
            return Err(cut());
        }
        let marker = bytes[at + 1];
        if marker == 0xFF {
            at += 1; // fill byte
            continue;
        }
        let length = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        if marker == 0xDA {
            let data = &bytes[(at + 2 + length).min(bytes.len())..];
            // `memmem` finds a pair of bytes with SIMD, many bytes a step, where a loop over
            // the data's windows reads it byte by byte.
            let end = memchr::memmem::find(data, &[0xFF, 0xD9]).ok_or_else(cut)?;
            let scans = 1 + memchr::memmem::find_iter(&data[..end], &[0xFF, 0xDA]).count();
            if scans > MAX_JPEG_SCANS {
                return Err(DecodeError::Unsupported {
                    format: "JPEG",
                    detail: format!(
                        "{scans} scans, over the {MAX_JPEG_SCANS} this decoder accepts: \
                         each one is a pass over the whole image"
                    ),
                });
            }
            return Ok(());
        }
        at += 2 + length;
    }
    Err(cut())
}

/// Converts 16-bit and float images to 8 bits per channel, keeping alpha and gray.
fn to_8bit(image: DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => image,
        DynamicImage::ImageLuma16(_) => DynamicImage::ImageLuma8(image.to_luma8()),
        DynamicImage::ImageLumaA16(_) => DynamicImage::ImageLumaA8(image.to_luma_alpha8()),
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    }
}

/// A short human name for a format.
pub fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Png => "PNG",
        ImageFormat::WebP => "WebP",
        ImageFormat::Pnm => "PNM",
        _ => "image",
    }
}

/// The first bytes of unrecognised data, readable when they are text.
fn describe_start(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(12)];
    if head.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("{:?}", String::from_utf8_lossy(head))
    } else {
        let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
        format!("bytes {}", hex.join(" "))
    }
}
