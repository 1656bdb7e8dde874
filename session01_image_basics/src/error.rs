//! The errors of this crate. Each one names the problem in words a user can act on:
//! which file, which parameter, which limit, and what would have been accepted.

use std::path::PathBuf;

use thiserror::Error;

/// Why bytes could not be turned into an image.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// There were no bytes at all.
    #[error("the file is empty (0 bytes)")]
    Empty,
    /// The bytes start like no format this crate reads.
    #[error("not a JPEG, PNG or WebP image (the data starts with {start})")]
    UnknownFormat {
        /// The first bytes, shown as text when printable and as hex otherwise.
        start: String,
    },
    /// The encoded data is larger than the byte limit.
    #[error("{size} bytes is over the limit of {limit} bytes")]
    TooManyBytes {
        /// Size of the encoded data.
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// The header announces more pixels than the limit: refused before decoding.
    #[error(
        "{width}x{height} is {:.1} megapixels, over the limit of {:.1} megapixels",
        megapixels(*width, *height),
        *limit as f64 / 1e6
    )]
    TooManyPixels {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The pixel limit in force.
        limit: u64,
    },
    /// The decoder would need more memory than allowed.
    #[error("decoding needs more memory than the limit of {limit} bytes")]
    TooMuchMemory {
        /// The allocation limit in force.
        limit: u64,
    },
    /// The data ends before the image does.
    #[error("truncated {format} data: {detail}")]
    Truncated {
        /// The format the data claims to be.
        format: &'static str,
        /// What the decoder saw.
        detail: String,
    },
    /// The data is damaged or not valid for its format.
    #[error("corrupt {format} data: {detail}")]
    Corrupt {
        /// The format the data claims to be.
        format: &'static str,
        /// What the decoder saw.
        detail: String,
    },
    /// A valid file that uses a feature the decoder does not support.
    #[error("unsupported {format} feature: {detail}")]
    Unsupported {
        /// The format of the data.
        format: &'static str,
        /// What is unsupported.
        detail: String,
    },
}

/// Why an image file could not be read or decoded.
// ANCHOR: load_error
#[derive(Debug, Error)]
pub enum LoadError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        cause: std::io::Error,
    },
    /// The file was read, but its bytes are not an acceptable image.
    #[error("cannot load {}: {cause}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// Why decoding failed.
        cause: DecodeError,
    },
}
// ANCHOR_END: load_error

/// Why an image could not be encoded or written.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SaveError {
    /// The output path's extension names no format this crate writes.
    #[error(
        "cannot save {}: unknown extension {extension:?} (use .png, .jpg, .jpeg, .webp, .ppm or .pgm)",
        path.display()
    )]
    UnknownExtension {
        /// The output path.
        path: PathBuf,
        /// Its extension, empty when there is none.
        extension: String,
    },
    /// The encoder refused the image.
    #[error("cannot encode as {format}: {detail}")]
    Encode {
        /// The target format.
        format: &'static str,
        /// What the encoder said.
        detail: String,
    },
    /// The file could not be written.
    #[error("cannot write {}: {cause}", path.display())]
    Io {
        /// The output path.
        path: PathBuf,
        /// What the operating system said.
        cause: std::io::Error,
    },
}

/// A filter could not be built from its name and parameters.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum ParamError {
    /// No filter has this name.
    #[error("unknown filter {name:?}; valid filters: {}", valid.join(", "))]
    UnknownFilter {
        /// The name asked for.
        name: String,
        /// Every valid name.
        valid: Vec<&'static str>,
    },
    /// The filter has no parameter with this name.
    #[error(
        "{filter} has no parameter {name:?}; valid parameters: {}",
        list_or_none(valid)
    )]
    UnknownParam {
        /// The filter.
        filter: &'static str,
        /// The parameter asked for.
        name: String,
        /// The filter's parameters.
        valid: Vec<&'static str>,
    },
    /// A parameter was given twice.
    #[error("{filter}: parameter {name:?} is given more than once")]
    Duplicate {
        /// The filter.
        filter: &'static str,
        /// The parameter.
        name: String,
    },
    /// A required parameter is missing.
    #[error("{filter}: parameter {name:?} is required ({expected})")]
    Missing {
        /// The filter.
        filter: &'static str,
        /// The parameter.
        name: &'static str,
        /// What it accepts.
        expected: String,
    },
    /// A `KEY=VALUE` argument without the `=`.
    #[error("{text:?} is not KEY=VALUE")]
    Malformed {
        /// The argument as given.
        text: String,
    },
    /// A value that is not of the parameter's type or outside its range.
    #[error("{filter}: {name} must be {expected}, got {value}")]
    Invalid {
        /// The filter.
        filter: &'static str,
        /// The parameter.
        name: &'static str,
        /// The value as given.
        value: String,
        /// The type and range it accepts, e.g. "a number in 0.1..=100".
        expected: String,
    },
    /// Parameters that are valid alone but not together.
    #[error("{filter}: {reason}")]
    Conflict {
        /// The filter.
        filter: &'static str,
        /// What is wrong with the combination.
        reason: String,
    },
}

/// A valid filter that cannot run on this particular image.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum FilterError {
    /// The crop rectangle reaches outside the image.
    #[error(
        "crop: rectangle x={x} y={y} width={width} height={height} lies outside the \
         {image_width}x{image_height} image"
    )]
    CropOutside {
        /// Left edge.
        x: u32,
        /// Top edge.
        y: u32,
        /// Width of the rectangle.
        width: u32,
        /// Height of the rectangle.
        height: u32,
        /// Width of the image.
        image_width: u32,
        /// Height of the image.
        image_height: u32,
    },
    /// The output would be larger than the pixel limit.
    #[error(
        "{filter}: the output would be {width}x{height} ({:.1} megapixels), over the limit \
         of {:.1} megapixels",
        megapixels(*width, *height),
        *limit as f64 / 1e6
    )]
    TooLarge {
        /// The filter.
        filter: &'static str,
        /// Output width.
        width: u32,
        /// Output height.
        height: u32,
        /// The pixel limit.
        limit: u64,
    },
}

fn megapixels(width: u32, height: u32) -> f64 {
    f64::from(width) * f64::from(height) / 1e6
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}
