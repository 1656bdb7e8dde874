//! The filters of the course, one file per family.

mod blur;
mod edges;
mod geometry;
mod median;
mod point;

pub use blur::{BoxBlur, GaussianBlur, Sharpen, UnsharpMask};
pub use edges::Edges;
pub use geometry::{Crop, Flip, MAX_SIDE, Resize, ResizeMode, Rotate};
pub use median::Median;
pub use point::{Brightness, Contrast, Grayscale, Invert, PointOp, Scale, Threshold};

use crate::filter::{FilterInfo, PixelFilter};

/// Every filter, in the order `--list` and the demo show them.
pub(crate) const CATALOG: &[FilterInfo] = &[
    Grayscale::INFO,
    Brightness::INFO,
    Contrast::INFO,
    Invert::INFO,
    Threshold::INFO,
    GaussianBlur::INFO,
    BoxBlur::INFO,
    Sharpen::INFO,
    UnsharpMask::INFO,
    Edges::INFO,
    Median::INFO,
    Resize::INFO,
    Rotate::INFO,
    Flip::INFO,
    Crop::INFO,
];
