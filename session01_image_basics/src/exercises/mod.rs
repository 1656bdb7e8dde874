//! The session's graded exercises: four filters for you to write.
//!
//! Everything around them is given here: each exercise is a [`PixelFilter`] whose parameters
//! are described and checked like the catalog's. Only the pixel work is yours, one file per
//! exercise: replace each `todo!` with your code and run `cargo xtask grade 1`.
//! `cargo run -p session01_image_basics -- exercises` shows what your filters make of the
//! demo photo.
//!
//! | exercise | file | filter | what it does |
//! |---|---|---|---|
//! | 1.1 | `src/exercises/sepia.rs` | [`Sepia`] | the warm brown tone of old photographs (a colour matrix) |
//! | 1.2 | `src/exercises/vignette.rs` | [`Vignette`] | darkens towards the corners (a point operation that depends on position) |
//! | 1.3 | `src/exercises/pixelate.rs` | [`Pixelate`] | replaces each block by its mean colour |
//! | 1.4 | `src/exercises/equalize.rs` | [`Equalize`] | spreads the levels over the full range (histogram equalisation) |

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::error::{FilterError, ParamError};
use crate::filter::{Filter, FilterInfo, FilterKind, PixelFilter};
use crate::io::{Limits, load_with, save};
use crate::params::{Args, ParamDefault, ParamKind, ParamSpec};
use crate::pixels::{Buffer, Pixel8};

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/sepia.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/sepia.rs")]
mod sepia;
pub use sepia::sepia;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/vignette.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/vignette.rs")]
mod vignette;
pub use vignette::vignette;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/pixelate.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/pixelate.rs")]
mod pixelate;
pub use pixelate::pixelate;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/equalize.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/equalize.rs")]
mod equalize;
pub use equalize::equalize;

/// Exercise 1.1: a sepia tone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sepia;

impl PixelFilter for Sepia {
    const INFO: FilterInfo = FilterInfo {
        name: "sepia",
        summary: "exercise 1.1: the warm brown tone of old photographs",
        params: &[],
        build: |_| Ok(Box::new(Sepia)),
    };

    fn params(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    fn kind(&self) -> FilterKind {
        FilterKind::Point
    }

    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        Ok(sepia(image))
    }
}

/// Exercise 1.2: darkening towards the corners.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vignette {
    strength: f32,
}

impl Vignette {
    const STRENGTH: ParamSpec = ParamSpec {
        name: "strength",
        kind: ParamKind::Float { min: 0.0, max: 1.0 },
        default: ParamDefault::Value("0.6"),
        help: "how much the corners darken: 0 not at all, 1 to black",
    };

    /// Checks `strength` against `0..=1`.
    pub fn new(strength: f64) -> Result<Self, ParamError> {
        let strength = Self::STRENGTH.check_float(Self::INFO.name, strength)? as f32;
        Ok(Self { strength })
    }
}

impl PixelFilter for Vignette {
    const INFO: FilterInfo = FilterInfo {
        name: "vignette",
        summary: "exercise 1.2: darkens towards the corners",
        params: &[Self::STRENGTH],
        build: |args: &Args| Ok(Box::new(Self::new(args.float("strength")?)?)),
    };

    fn params(&self) -> Vec<(&'static str, String)> {
        vec![("strength", self.strength.to_string())]
    }

    fn kind(&self) -> FilterKind {
        // Each pixel's factor depends on where it is in the whole image, so a tile cannot be
        // processed on its own: treated like a geometry operation.
        FilterKind::Geometry
    }

    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        Ok(vignette(image, self.strength))
    }
}

/// Exercise 1.3: blocks of one colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pixelate {
    block: u32,
}

impl Pixelate {
    const BLOCK: ParamSpec = ParamSpec {
        name: "block",
        kind: ParamKind::Int { min: 1, max: 1024 },
        default: ParamDefault::Value("16"),
        help: "side of each block in pixels",
    };

    /// Checks `block` against `1..=1024`.
    pub fn new(block: i64) -> Result<Self, ParamError> {
        let block = Self::BLOCK.check_int(Self::INFO.name, block)? as u32;
        Ok(Self { block })
    }
}

impl PixelFilter for Pixelate {
    const INFO: FilterInfo = FilterInfo {
        name: "pixelate",
        summary: "exercise 1.3: each block becomes its mean colour",
        params: &[Self::BLOCK],
        build: |args: &Args| Ok(Box::new(Self::new(args.int("block")?)?)),
    };

    fn params(&self) -> Vec<(&'static str, String)> {
        vec![("block", self.block.to_string())]
    }

    fn kind(&self) -> FilterKind {
        // The blocks are aligned to the image's top-left corner, not to a tile's.
        FilterKind::Geometry
    }

    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        Ok(pixelate(image, self.block))
    }
}

/// Exercise 1.4: histogram equalisation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Equalize;

impl PixelFilter for Equalize {
    const INFO: FilterInfo = FilterInfo {
        name: "equalize",
        summary: "exercise 1.4: spreads the levels over 0..=255, one mapping for all colours",
        params: &[],
        build: |_| Ok(Box::new(Equalize)),
    };

    fn params(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    fn kind(&self) -> FilterKind {
        // The mapping comes from the whole image's histogram.
        FilterKind::Geometry
    }

    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        Ok(equalize(image))
    }
}

/// The exercises with the parameters the `exercises` command shows them with.
pub const EXERCISES: &[(&str, FilterInfo, &[&str])] = &[
    ("1.1", Sepia::INFO, &[]),
    ("1.2", Vignette::INFO, &["strength=0.8"]),
    ("1.3", Pixelate::INFO, &["block=16"]),
    ("1.4", Equalize::INFO, &[]),
];

/// What became of one exercise when the `exercises` command ran it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It ran; its output is at this path.
    Done(PathBuf),
    /// It is still a `todo!` stub (the message it stops with).
    NotStarted(String),
    /// It panicked or failed (the message).
    Failed(String),
}

/// Runs every exercise on `input`, writing `exercise-N.M-name.png` files into `out_dir`.
///
/// An exercise that is still a stub, or panics, is reported instead of ending the run, so a
/// student sees every exercise's state at once.
pub fn run_all(
    input: &Path,
    out_dir: &Path,
    limits: &Limits,
) -> anyhow::Result<Vec<(&'static str, &'static str, Outcome)>> {
    let image = load_with(input, limits)?;
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create the output folder {}", out_dir.display()))?;
    let mut rows = Vec::with_capacity(EXERCISES.len());
    for (number, info, params) in EXERCISES {
        let pairs: Vec<(String, String)> = params
            .iter()
            .map(|p| crate::params::split_key_value(p))
            .collect::<Result<_, _>>()?;
        let filter: Box<dyn Filter> = info.build_from(&pairs)?;
        let outcome = match catch_quietly(|| filter.apply(&image)) {
            Ok(Ok(output)) => {
                let path = out_dir.join(format!("exercise-{number}-{}.png", info.name));
                save(&output, &path)?;
                Outcome::Done(path)
            }
            Ok(Err(error)) => Outcome::Failed(error.to_string()),
            Err(message) if message.starts_with("not yet implemented") => {
                Outcome::NotStarted(message)
            }
            Err(message) => Outcome::Failed(format!("panicked: {message}")),
        };
        rows.push((*number, info.name, outcome));
    }
    Ok(rows)
}

/// Runs `f`, turning a panic into its message without printing it.
fn catch_quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(previous);
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned())
    })
}
