//! # Session 01: images as pixel buffers
//!
//! A decoded image is a grid of pixels, and each pixel a few 8-bit samples: one for gray,
//! three for RGB, a fourth for alpha. Every filter in this crate is a loop over those
//! samples. The session builds the vocabulary the rest of the course speaks:
//!
//! | file | teaches |
//! |---|---|
//! | `examples/first_pixels.rs` | the first program: load, loop over the pixels by hand, save |
//! | [`io`] | decoding and encoding safely: [`Limits`], header checks before decoding, errors that name the problem |
//! | `jpeg.rs` | JPEG through libjpeg's C code (the mozjpeg crate), errors caught as values |
//! | [`pixels`] | the four 8-bit pixel layouts, and writing a filter once for all of them |
//! | [`filter`] | the [`Filter`] trait, [`FilterKind`] (point, neighbourhood, geometry), the catalog and [`build`] |
//! | [`params`] | parameters described once ([`ParamSpec`]) and checked everywhere |
//! | [`convolve`] | convolution: separable kernels, clamp-to-edge borders |
//! | `filters/point.rs` | grayscale, brightness, contrast, invert, threshold (lookup tables) |
//! | `filters/blur.rs` | Gaussian and box blur, sharpen, unsharp mask |
//! | `filters/edges.rs`, `filters/median.rs` | Sobel edges; the median filter |
//! | `filters/geometry.rs` | resize, rotate, flip, crop |
//! | [`samples`] | the bundled photographs and the large-image generator |
//! | [`exercises`] | the graded exercises: your code goes in `src/exercises/`, one file each (`sepia.rs`, `vignette.rs`, `pixelate.rs`, `equalize.rs`) |
//! | [`error`] | the error types |
//! | [`cli`] | the command line with clap's derive API; what every session's binary does alike: limits from flags, tables, report or error, exit code |
//! | [`commands`] | the commands: one filter on one file, `--list`, `info`, `generate`, `exercises` |
//! | [`demo`] | what runs without arguments: every filter on one photo, timed |
//!
//! These are the *readable* versions of the filters: plain loops, `f32` arithmetic. The
//! next session makes them fast and keeps these as the reference its tests compare to.
//!
//! ```
//! use session01_image_basics::{build, samples};
//!
//! let photo = session01_image_basics::load(samples::path("chelsea.png"))?;
//! let blurred = build("blur", &["sigma=2"])?.apply(&photo)?;
//! assert_eq!(blurred.width(), photo.width());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cli;
pub mod commands;
pub mod convolve;
pub mod demo;
pub mod error;
pub mod exercises;
pub mod filter;
pub mod filters;
pub mod io;
mod jpeg;
pub mod params;
pub mod pixels;
pub mod samples;

pub use error::{DecodeError, FilterError, LoadError, ParamError, SaveError};
pub use filter::{Filter, FilterInfo, FilterKind, PixelFilter, build, catalog, find};
pub use filters::PointOp;
pub use io::{ImageInfo, Limits, decode, encode, info, inspect, load, load_with, save};
pub use params::{ParamDefault, ParamKind, ParamSpec};

/// The book's chapter on this session: its Rust examples run as this crate's doctests, so
/// the book cannot show code that does not compile.
#[cfg(doctest)]
#[doc = include_str!("../../book/src/session01.md")]
pub struct BookChapter;

/// The book's chapter "Rust for Python programmers": its examples run as this crate's doctests.
#[cfg(doctest)]
#[doc = include_str!("../../book/src/rust-for-python.md")]
pub struct RustForPython;
