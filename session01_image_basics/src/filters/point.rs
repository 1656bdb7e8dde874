//! Point operations: each output pixel depends only on the input pixel at the same place.
//!
//! Each describes what it does to one pixel as a [`PointOp`] and runs through it.
//! Channel-wise ones (brightness, contrast, invert) compute a 256-entry lookup table once
//! and then only index it: an 8-bit sample has 256 possible values, so no arithmetic is
//! left in the per-pixel loop.

use crate::error::{FilterError, ParamError};
use crate::filter::{FilterInfo, FilterKind, PixelFilter};
use crate::params::{Args, ParamDefault, ParamKind, ParamSpec};
use crate::pixels::{Buffer, Pixel8, for_each_colour, luma, to_u8};

/// What a point operation does to one pixel's colour samples; alpha is never touched.
///
/// The point filters describe themselves with this, and run through it. A pipeline
/// (session 02) uses the same description to run several of them in one pass over the
/// pixels, with consecutive tables composed into one.
// ANCHOR: point_op
// ANCHOR: point_op_enum
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PointOp {
    /// Each colour sample `v` becomes `table[v]` (brightness, contrast, invert). An 8-bit
    /// sample has 256 possible values, so the arithmetic is done once per value, not per pixel.
    Table(Box<[u8; 256]>),
    /// Every colour sample becomes the pixel's luma.
    Grayscale,
    /// Every colour sample becomes 255 where the luma is at least the level, 0 elsewhere.
    Threshold(u8),
}
// ANCHOR_END: point_op_enum

// ANCHOR: point_op_impl
impl PointOp {
    /// Applies the operation to one pixel's colour samples.
    pub fn apply(&self, colour: &mut [u8]) {
        match self {
            PointOp::Table(table) => {
                for sample in colour {
                    *sample = table[usize::from(*sample)];
                }
            }
            PointOp::Grayscale => {
                let y = luma(colour);
                colour.fill(y);
            }
            PointOp::Threshold(level) => {
                let white = luma(colour) >= *level;
                colour.fill(if white { 255 } else { 0 });
            }
        }
    }

    /// Applies the operation to every pixel of an image.
    pub fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Buffer<P> {
        let mut out = image.clone();
        for_each_colour(&mut out, |colour| self.apply(colour));
        out
    }
}

/// Builds a lookup table from a function of one sample.
fn table(f: impl Fn(f32) -> f32) -> PointOp {
    PointOp::Table(Box::new(std::array::from_fn(|v| to_u8(f(v as f32)))))
}
// ANCHOR_END: point_op_impl
// ANCHOR_END: point_op

/// Gray levels with R = G = B = the pixel's luma (BT.601); the colour type is kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grayscale;

// ANCHOR: grayscale
impl PixelFilter for Grayscale {
    const INFO: FilterInfo = FilterInfo {
        name: "grayscale",
        summary: "gray levels from BT.601 luma (R = G = B), colour type kept",
        params: &[],
        build: |_| Ok(Box::new(Grayscale)),
    };

    fn params(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    fn kind(&self) -> FilterKind {
        FilterKind::Point
    }

    fn point_op(&self) -> Option<PointOp> {
        Some(PointOp::Grayscale)
    }

    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        Ok(PointOp::Grayscale.run(image))
    }
}
// ANCHOR_END: grayscale

/// Scales every colour sample's distance from `PIVOT` by a factor: `PIVOT + (v - PIVOT) * factor`.
///
/// Brightness and contrast are this one linear map with two pivots. Around black (0) it is
/// Pillow's `ImageEnhance.Brightness`: 0 is black, 1 the original. Around mid-gray (128) it is
/// contrast: 0 is flat gray, 1 the original. (Pillow's contrast pivots on the image's mean
/// gray instead; a fixed pivot keeps it a point operation, so a tile of an image is
/// processed exactly as the whole image would be.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale<const PIVOT: u8> {
    factor: f32,
}

/// Brightness: [`Scale`] around black.
pub type Brightness = Scale<0>;

/// Contrast: [`Scale`] around mid-gray.
pub type Contrast = Scale<128>;

// ANCHOR: scale
impl<const PIVOT: u8> Scale<PIVOT> {
    const FACTOR: ParamSpec = ParamSpec {
        name: "factor",
        kind: ParamKind::Float {
            min: 0.0,
            max: 10.0,
        },
        default: ParamDefault::Value("1.5"),
        help: if PIVOT == 0 {
            "multiplier: 0 black, 1 unchanged, 2 twice as bright"
        } else {
            "multiplier of the distance from mid-gray: 0 flat, 1 unchanged"
        },
    };

    /// Checks `factor` against `0..=10`.
    pub fn new(factor: f64) -> Result<Self, ParamError> {
        let factor = Self::FACTOR.check_float(Self::INFO.name, factor)? as f32;
        Ok(Self { factor })
    }

    /// The multiplier.
    pub fn factor(&self) -> f32 {
        self.factor
    }

    /// The lookup table of this scale.
    fn op(&self) -> PointOp {
        let pivot = f32::from(PIVOT);
        table(|v| pivot + (v - pivot) * self.factor)
    }
}

impl<const PIVOT: u8> PixelFilter for Scale<PIVOT> {
    const INFO: FilterInfo = FilterInfo {
        name: if PIVOT == 0 { "brightness" } else { "contrast" },
        summary: if PIVOT == 0 {
            "scale brightness (Pillow's ImageEnhance.Brightness)"
        } else {
            "scale contrast around mid-gray"
        },
        params: &[Self::FACTOR],
        build: |args: &Args| Ok(Box::new(Self::new(args.float("factor")?)?)),
    };

    fn params(&self) -> Vec<(&'static str, String)> {
        vec![("factor", self.factor.to_string())]
    }

    fn kind(&self) -> FilterKind {
        FilterKind::Point
    }

    fn point_op(&self) -> Option<PointOp> {
        Some(self.op())
    }

    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        Ok(self.op().run(image))
    }
}
// ANCHOR_END: scale

/// The photographic negative: every colour sample `v` becomes `255 - v`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Invert;

impl Invert {
    /// The lookup table of the negative.
    fn op() -> PointOp {
        table(|v| 255.0 - v)
    }
}

impl PixelFilter for Invert {
    const INFO: FilterInfo = FilterInfo {
        name: "invert",
        summary: "negative: each colour sample v becomes 255 - v",
        params: &[],
        build: |_| Ok(Box::new(Invert)),
    };

    fn params(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    fn kind(&self) -> FilterKind {
        FilterKind::Point
    }

    fn point_op(&self) -> Option<PointOp> {
        Some(Self::op())
    }

    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        Ok(Self::op().run(image))
    }
}

/// Black and white: white where the pixel's luma is at least `level`, black elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    level: u8,
}

impl Threshold {
    const LEVEL: ParamSpec = ParamSpec {
        name: "level",
        kind: ParamKind::Int { min: 0, max: 255 },
        default: ParamDefault::Value("128"),
        help: "luma at and above which a pixel becomes white",
    };

    /// Checks `level` against `0..=255`.
    pub fn new(level: i64) -> Result<Self, ParamError> {
        let level = Self::LEVEL.check_int(Self::INFO.name, level)? as u8;
        Ok(Self { level })
    }

    /// The luma at and above which a pixel becomes white.
    pub fn level(&self) -> u8 {
        self.level
    }
}

impl PixelFilter for Threshold {
    const INFO: FilterInfo = FilterInfo {
        name: "threshold",
        summary: "black and white by luma",
        params: &[Self::LEVEL],
        build: |args: &Args| Ok(Box::new(Self::new(args.int("level")?)?)),
    };

    fn params(&self) -> Vec<(&'static str, String)> {
        vec![("level", self.level.to_string())]
    }

    fn kind(&self) -> FilterKind {
        FilterKind::Point
    }

    fn point_op(&self) -> Option<PointOp> {
        Some(PointOp::Threshold(self.level))
    }

    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        Ok(PointOp::Threshold(self.level).run(image))
    }
}
