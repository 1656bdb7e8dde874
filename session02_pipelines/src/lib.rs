//! # Session 02: pipelines and batches
//!
//! Session 01 applied one filter to one image. Real work chains filters and runs them over
//! many images, and this session builds the three pieces for that, on top of session 01's
//! catalog:
//!
//! | file | teaches |
//! |---|---|
//! | [`pipeline`] | [`Pipeline`]: filters in order, itself a `Filter`; point operations fused into one pass |
//! | [`spec`] | the filter-spec language (text and JSON) and errors that point at the token |
//! | [`registry`] | every filter with its parameters, types, defaults and ranges, as text or JSON |
//! | [`fast`] | every filter again, fast: rows, integers, rayon bands, SIMD crates |
//! | [`batch`] | one pipeline over many images: sequential, threads, rayon or processes |
//! | [`memory`] | the peak memory of a batch, its worker processes included |
//! | [`cli`] | the command line: the commands' flags, and the batch flags checked before work starts |
//! | [`commands`] | the `apply`, `batch` and `process-worker` commands |
//! | [`demo`] | what runs without arguments: every batch strategy compared (also `compare`) |
//! | [`bench`](mod@bench) | the kernel benchmark on a 3840x2160 frame, JSON for the peer comparison |
//! | [`exercises`] | the graded exercises: a parallel map, sliding sums, halo bands, stages on threads |
//!
//! ```
//! use session01_image_basics::{Filter, samples};
//! use session02_pipelines::PipelineSpec;
//!
//! let pipeline = PipelineSpec::parse_and_build("grayscale|contrast:factor=1.5|blur:sigma=2")?;
//! assert_eq!(pipeline.passes(), 2); // grayscale and contrast run as one pass
//! let photo = session01_image_basics::load(samples::path("chelsea.png"))?;
//! let out = pipeline.apply(&photo)?;
//! assert_eq!(out.width(), photo.width());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod batch;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod demo;
pub mod exercises;
pub mod fast;
pub mod memory;
pub mod pipeline;
pub mod registry;
pub mod spec;

pub use batch::{BatchOptions, ItemResult, Strategy, Summary};
pub use pipeline::{Kernels, Pipeline};
pub use spec::{FilterSpec, PipelineSpec, SpecError};

/// Chapter 2 of the book, whose Rust examples run as this crate's doctests.
#[cfg(doctest)]
#[doc = include_str!("../../book/src/session02.md")]
pub struct BookChapter;
