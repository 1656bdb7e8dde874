//! Geometric operations: the output has another size, or pixels move.

use image::imageops::{self, FilterType};

use crate::error::{FilterError, ParamError};
use crate::filter::{FilterInfo, FilterKind, PixelFilter};
use crate::io::Limits;
use crate::params::{Args, ParamDefault, ParamKind, ParamSpec};
use crate::pixels::{Buffer, Pixel8};

/// Largest output side a resize accepts.
pub const MAX_SIDE: u32 = 16_384;

const SIDE: ParamKind = ParamKind::Int {
    min: 1,
    max: MAX_SIDE as i64,
};

/// How [`Resize`] turns the requested width and height into an output size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResizeMode {
    /// Exactly `width` x `height`, stretching if the aspect ratio differs.
    Exact,
    /// The largest size that fits inside `width` x `height` with the aspect ratio kept.
    Fit,
    /// The one side given; the other follows from the aspect ratio.
    Aspect,
}

/// Resampling to another size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resize {
    width: Option<u32>,
    height: Option<u32>,
    mode: ResizeMode,
    filter: FilterType,
}

impl Resize {
    const WIDTH: ParamSpec = ParamSpec {
        name: "width",
        kind: SIDE,
        default: ParamDefault::Optional,
        help: "target width in pixels",
    };
    const HEIGHT: ParamSpec = ParamSpec {
        name: "height",
        kind: SIDE,
        default: ParamDefault::Optional,
        help: "target height in pixels",
    };
    const MODE: ParamSpec = ParamSpec {
        name: "mode",
        kind: ParamKind::Choice(&["auto", "exact", "fit", "aspect"]),
        default: ParamDefault::Value("auto"),
        help: "exact: stretch to width x height; fit: inside it, aspect kept; aspect: one side \
               given; auto: exact with both sides, aspect with one",
    };
    const FILTER: ParamSpec = ParamSpec {
        name: "filter",
        kind: ParamKind::Choice(&["lanczos3", "bilinear", "nearest"]),
        default: ParamDefault::Value("lanczos3"),
        help: "resampling kernel: lanczos3 sharpest, nearest fastest",
    };

    /// Checks the sides (`1..=16384`) and that the mode has the sides it needs.
    pub fn new(
        width: Option<i64>,
        height: Option<i64>,
        mode: Option<ResizeMode>,
        filter: FilterType,
    ) -> Result<Self, ParamError> {
        let name = Self::INFO.name;
        let side = |spec: ParamSpec, value: Option<i64>| {
            value
                .map(|v| spec.check_int(name, v).map(|v| v as u32))
                .transpose()
        };
        let (width, height) = (side(Self::WIDTH, width)?, side(Self::HEIGHT, height)?);
        let both = width.is_some() && height.is_some();
        let one = width.is_some() != height.is_some();
        let mode = match mode {
            None if both => ResizeMode::Exact,
            None if one => ResizeMode::Aspect,
            Some(mode @ (ResizeMode::Exact | ResizeMode::Fit)) if both => mode,
            Some(ResizeMode::Aspect) if one => ResizeMode::Aspect,
            _ => {
                let reason = match mode {
                    None => "give width, height or both".to_owned(),
                    Some(ResizeMode::Aspect) => {
                        "mode=aspect takes exactly one of width and height".to_owned()
                    }
                    Some(other) => format!("mode={} needs both width and height", mode_name(other)),
                };
                return Err(ParamError::Conflict {
                    filter: name,
                    reason,
                });
            }
        };
        Ok(Self {
            width,
            height,
            mode,
            filter,
        })
    }

    /// The output size for an input of `width` x `height`.
    pub fn target(&self, width: u32, height: u32) -> (u32, u32) {
        let scaled = |side: u32, factor: f64| ((f64::from(side) * factor).round() as u32).max(1);
        match (self.mode, self.width, self.height) {
            (ResizeMode::Exact, Some(w), Some(h)) => (w, h),
            (ResizeMode::Fit, Some(w), Some(h)) => {
                let factor =
                    (f64::from(w) / f64::from(width)).min(f64::from(h) / f64::from(height));
                (scaled(width, factor).min(w), scaled(height, factor).min(h))
            }
            (_, Some(w), _) => (w, scaled(height, f64::from(w) / f64::from(width))),
            (_, _, Some(h)) => (scaled(width, f64::from(h) / f64::from(height)), h),
            (_, None, None) => (width, height),
        }
    }

    /// [`target`](Self::target), refused when it exceeds the default pixel limit.
    pub fn checked_target(&self, width: u32, height: u32) -> Result<(u32, u32), FilterError> {
        let (width, height) = self.target(width, height);
        let limit = Limits::default().max_pixels;
        if u64::from(width) * u64::from(height) > limit {
            return Err(FilterError::TooLarge {
                filter: Self::INFO.name,
                width,
                height,
                limit,
            });
        }
        Ok((width, height))
    }

    /// The resampling kernel.
    pub fn filter_type(&self) -> FilterType {
        self.filter
    }
}

fn mode_name(mode: ResizeMode) -> &'static str {
    match mode {
        ResizeMode::Exact => "exact",
        ResizeMode::Fit => "fit",
        ResizeMode::Aspect => "aspect",
    }
}

fn filter_name(filter: FilterType) -> &'static str {
    match filter {
        FilterType::Nearest => "nearest",
        FilterType::Triangle => "bilinear",
        _ => "lanczos3",
    }
}

impl PixelFilter for Resize {
    const INFO: FilterInfo = FilterInfo {
        name: "resize",
        summary: "resample to a new size (exact, fit inside, or keep aspect)",
        params: &[Self::WIDTH, Self::HEIGHT, Self::MODE, Self::FILTER],
        build: |args: &Args| {
            let mode = match args.choice("mode")? {
                "exact" => Some(ResizeMode::Exact),
                "fit" => Some(ResizeMode::Fit),
                "aspect" => Some(ResizeMode::Aspect),
                _ => None,
            };
            let filter = match args.choice("filter")? {
                "nearest" => FilterType::Nearest,
                "bilinear" => FilterType::Triangle,
                _ => FilterType::Lanczos3,
            };
            let resize = Self::new(
                args.optional_int("width"),
                args.optional_int("height"),
                mode,
                filter,
            )?;
            Ok(Box::new(resize))
        },
    };

    fn params(&self) -> Vec<(&'static str, String)> {
        let mut params = Vec::new();
        if let Some(width) = self.width {
            params.push(("width", width.to_string()));
        }
        if let Some(height) = self.height {
            params.push(("height", height.to_string()));
        }
        params.push(("mode", mode_name(self.mode).to_owned()));
        params.push(("filter", filter_name(self.filter).to_owned()));
        params
    }

    fn kind(&self) -> FilterKind {
        FilterKind::Geometry
    }

    // ANCHOR: resize_run
    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        if image.width() == 0 || image.height() == 0 {
            return Ok(image.clone());
        }
        let (width, height) = self.checked_target(image.width(), image.height())?;
        Ok(imageops::resize(image, width, height, self.filter))
    }
    // ANCHOR_END: resize_run
}

/// Rotation by a quarter, half or three quarters of a turn, clockwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotate {
    angle: u16,
}

impl Rotate {
    const ANGLE: ParamSpec = ParamSpec {
        name: "angle",
        kind: ParamKind::Choice(&["90", "180", "270"]),
        default: ParamDefault::Value("90"),
        help: "degrees clockwise",
    };

    /// Accepts 90, 180 or 270.
    pub fn new(angle: u16) -> Result<Self, ParamError> {
        match angle {
            90 | 180 | 270 => Ok(Self { angle }),
            other => Err(ParamError::Invalid {
                filter: Self::INFO.name,
                name: Self::ANGLE.name,
                value: other.to_string(),
                expected: Self::ANGLE.kind.to_string(),
            }),
        }
    }

    /// Degrees clockwise: 90, 180 or 270.
    pub fn angle(&self) -> u16 {
        self.angle
    }
}

impl PixelFilter for Rotate {
    const INFO: FilterInfo = FilterInfo {
        name: "rotate",
        summary: "rotate clockwise by 90, 180 or 270 degrees",
        params: &[Self::ANGLE],
        build: |args: &Args| {
            let angle = args.choice("angle")?.parse().unwrap_or_default();
            Ok(Box::new(Self::new(angle)?))
        },
    };

    fn params(&self) -> Vec<(&'static str, String)> {
        vec![("angle", self.angle.to_string())]
    }

    fn kind(&self) -> FilterKind {
        FilterKind::Geometry
    }

    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        Ok(match self.angle {
            90 => imageops::rotate90(image),
            180 => imageops::rotate180(image),
            _ => imageops::rotate270(image),
        })
    }
}

/// Mirror image, left to right or top to bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flip {
    horizontal: bool,
}

impl Flip {
    const DIRECTION: ParamSpec = ParamSpec {
        name: "direction",
        kind: ParamKind::Choice(&["horizontal", "vertical"]),
        default: ParamDefault::Value("horizontal"),
        help: "horizontal swaps left and right; vertical swaps top and bottom",
    };

    /// A left-right mirror.
    pub fn horizontal() -> Self {
        Self { horizontal: true }
    }

    /// A top-bottom mirror.
    pub fn vertical() -> Self {
        Self { horizontal: false }
    }

    /// Whether left and right swap (else top and bottom).
    pub fn is_horizontal(&self) -> bool {
        self.horizontal
    }
}

impl PixelFilter for Flip {
    const INFO: FilterInfo = FilterInfo {
        name: "flip",
        summary: "mirror horizontally or vertically",
        params: &[Self::DIRECTION],
        build: |args: &Args| {
            let horizontal = args.choice("direction")? == "horizontal";
            Ok(Box::new(Self { horizontal }))
        },
    };

    fn params(&self) -> Vec<(&'static str, String)> {
        let direction = if self.horizontal {
            "horizontal"
        } else {
            "vertical"
        };
        vec![("direction", direction.to_owned())]
    }

    fn kind(&self) -> FilterKind {
        FilterKind::Geometry
    }

    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        Ok(if self.horizontal {
            imageops::flip_horizontal(image)
        } else {
            imageops::flip_vertical(image)
        })
    }
}

/// Cuts out a rectangle; it must lie inside the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crop {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
}

const POSITION: ParamKind = ParamKind::Int {
    min: 0,
    max: 1_000_000,
};
const EXTENT: ParamKind = ParamKind::Int {
    min: 1,
    max: 1_000_000,
};

impl Crop {
    const PARAMS: [ParamSpec; 4] = [
        ParamSpec {
            name: "x",
            kind: POSITION,
            default: ParamDefault::Value("0"),
            help: "left edge, in pixels from the left of the image",
        },
        ParamSpec {
            name: "y",
            kind: POSITION,
            default: ParamDefault::Value("0"),
            help: "top edge, in pixels from the top of the image",
        },
        ParamSpec {
            name: "width",
            kind: EXTENT,
            default: ParamDefault::Required,
            help: "width of the rectangle",
        },
        ParamSpec {
            name: "height",
            kind: EXTENT,
            default: ParamDefault::Required,
            help: "height of the rectangle",
        },
    ];

    /// Checks each value against its range; whether the rectangle fits is checked against
    /// the image it is applied to.
    pub fn new(x: i64, y: i64, width: i64, height: i64) -> Result<Self, ParamError> {
        let name = Self::INFO.name;
        let [px, py, pw, ph] = Self::PARAMS;
        Ok(Self {
            x: px.check_int(name, x)? as u32,
            y: py.check_int(name, y)? as u32,
            width: pw.check_int(name, width)? as u32,
            height: ph.check_int(name, height)? as u32,
        })
    }

    /// The rectangle as `(x, y, width, height)`.
    pub fn rect(&self) -> (u32, u32, u32, u32) {
        (self.x, self.y, self.width, self.height)
    }

    /// Checks that the rectangle lies inside an image of `width` x `height`.
    pub fn check_inside(&self, width: u32, height: u32) -> Result<(), FilterError> {
        let fits = |start: u32, extent: u32, limit: u32| {
            u64::from(start) + u64::from(extent) <= u64::from(limit)
        };
        if fits(self.x, self.width, width) && fits(self.y, self.height, height) {
            return Ok(());
        }
        Err(FilterError::CropOutside {
            x: self.x,
            y: self.y,
            width: self.width,
            height: self.height,
            image_width: width,
            image_height: height,
        })
    }
}

impl PixelFilter for Crop {
    const INFO: FilterInfo = FilterInfo {
        name: "crop",
        summary: "cut out a rectangle",
        params: &Self::PARAMS,
        build: |args: &Args| {
            let crop = Self::new(
                args.int("x")?,
                args.int("y")?,
                args.int("width")?,
                args.int("height")?,
            )?;
            Ok(Box::new(crop))
        },
    };

    fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("x", self.x.to_string()),
            ("y", self.y.to_string()),
            ("width", self.width.to_string()),
            ("height", self.height.to_string()),
        ]
    }

    fn kind(&self) -> FilterKind {
        FilterKind::Geometry
    }

    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        self.check_inside(image.width(), image.height())?;
        Ok(imageops::crop_imm(image, self.x, self.y, self.width, self.height).to_image())
    }
}
