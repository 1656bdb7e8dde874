//! The median filter, a neighbourhood operation that is not a convolution.

use crate::error::{FilterError, ParamError};
use crate::filter::{FilterInfo, FilterKind, PixelFilter};
use crate::params::{Args, ParamDefault, ParamKind, ParamSpec};
use crate::pixels::{Buffer, Pixel8};

/// Median filter: each sample becomes the median of its `(2 radius + 1)^2` neighbourhood,
/// which removes salt-and-pepper noise while keeping edges sharp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Median {
    radius: u32,
}

impl Median {
    const RADIUS: ParamSpec = ParamSpec {
        name: "radius",
        kind: ParamKind::Int { min: 1, max: 20 },
        default: ParamDefault::Value("1"),
        help: "half the side of the square, in pixels (1 is 3x3)",
    };

    /// Checks `radius` against `1..=20`.
    pub fn new(radius: i64) -> Result<Self, ParamError> {
        let radius = Self::RADIUS.check_int(Self::INFO.name, radius)? as u32;
        Ok(Self { radius })
    }

    /// Half the side of the square, in pixels.
    pub fn radius(&self) -> u32 {
        self.radius
    }
}

impl PixelFilter for Median {
    const INFO: FilterInfo = FilterInfo {
        name: "median",
        summary: "median of the square around each pixel (removes speckle)",
        params: &[Self::RADIUS],
        build: |args: &Args| Ok(Box::new(Self::new(args.int("radius")?)?)),
    };

    fn params(&self) -> Vec<(&'static str, String)> {
        vec![("radius", self.radius.to_string())]
    }

    fn kind(&self) -> FilterKind {
        FilterKind::Neighbourhood {
            radius: self.radius,
        }
    }

    // ANCHOR: median
    /// imageproc's sliding-histogram median: the window moves one pixel at a time, so each
    /// step updates a 256-bin histogram instead of sorting the whole window again.
    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        Ok(imageproc::filter::median_filter(
            image,
            self.radius,
            self.radius,
        ))
    }
    // ANCHOR_END: median
}
