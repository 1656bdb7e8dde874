//! The `Filter` trait, and the catalog that builds any filter from a name and parameters.

use std::any::Any;
use std::fmt;

use image::DynamicImage;

use crate::error::{FilterError, ParamError};
use crate::filters::PointOp;
use crate::params::{Args, ParamSpec, split_key_value};
use crate::pixels::{Buffer, Pixel8, map_image};

/// How an output pixel depends on the input.
///
/// Later sessions lean on this: a pipeline fuses consecutive point operations into one pass,
/// and a tiled job gives each tile a halo as wide as the neighbourhood radius so the stitched
/// result has no seams.
// ANCHOR: filter_kind
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKind {
    /// Each output pixel depends only on the input pixel at the same place.
    Point,
    /// Each output pixel depends on the input pixels at most `radius` away in x and in y.
    Neighbourhood {
        /// How far the filter reads, in pixels.
        radius: u32,
    },
    /// The output has another size, or pixels move (resize, rotate, flip, crop).
    Geometry,
}
// ANCHOR_END: filter_kind

/// An image operation with validated parameters.
///
/// A `Filter` is built once (which checks its parameters) and then applied to any number
/// of images, from any thread. `apply` returns a new image of the same colour type, so
/// filters chain without surprises; it fails only when the image itself rules the
/// operation out (a crop outside it, a resize beyond the pixel limit).
///
/// `Any` lets code that holds a `Box<dyn Filter>` ask which filter it is: session 02 uses
/// that to swap in a fast kernel for each of these readable ones.
// ANCHOR: filter_trait
// ANCHOR: filter_trait_head
pub trait Filter: Any + fmt::Debug + Send + Sync {
    /// The name in the catalog, e.g. `"blur"`.
    fn name(&self) -> &'static str;

    /// The parameters in force, defaults included, in catalog order.
    fn params(&self) -> Vec<(&'static str, String)>;

    /// How each output pixel depends on the input.
    fn kind(&self) -> FilterKind;

    /// Applies the filter to an image.
    fn apply(&self, image: &DynamicImage) -> Result<DynamicImage, FilterError>;
    // ANCHOR_END: filter_trait_head

    /// For a point operation, what it does to one pixel, so a pipeline can fuse it with its
    /// neighbours into one pass; `None` for every other filter.
    fn point_op(&self) -> Option<PointOp> {
        None
    }

    /// The filter as `name:key=value,...`, the form the command line accepts.
    fn spec(&self) -> String {
        let params: Vec<String> = self
            .params()
            .into_iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        if params.is_empty() {
            self.name().to_owned()
        } else {
            format!("{}:{}", self.name(), params.join(","))
        }
    }
    // ANCHOR: filter_trait_tail
}
// ANCHOR_END: filter_trait_tail
// ANCHOR_END: filter_trait

/// A filter written once for every 8-bit pixel layout; it is a [`Filter`] for free.
///
/// Implementing this instead of [`Filter`] directly leaves a filter three things to say:
/// its catalog entry, its parameters, and what it does to a buffer of pixels `P`.
// ANCHOR: pixel_filter
pub trait PixelFilter: fmt::Debug + Send + Sync + 'static {
    /// The catalog entry (name, parameters, builder).
    const INFO: FilterInfo;

    /// The parameters in force, in catalog order.
    fn params(&self) -> Vec<(&'static str, String)>;

    /// How each output pixel depends on the input.
    fn kind(&self) -> FilterKind;

    /// Processes an image of pixel layout `P` (gray, gray + alpha, RGB or RGBA).
    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError>;

    /// See [`Filter::point_op`].
    fn point_op(&self) -> Option<PointOp> {
        None
    }
}

impl<T: PixelFilter> Filter for T {
    fn name(&self) -> &'static str {
        T::INFO.name
    }
    fn params(&self) -> Vec<(&'static str, String)> {
        PixelFilter::params(self)
    }
    fn kind(&self) -> FilterKind {
        PixelFilter::kind(self)
    }
    fn apply(&self, image: &DynamicImage) -> Result<DynamicImage, FilterError> {
        map_image(image, self)
    }
    fn point_op(&self) -> Option<PointOp> {
        PixelFilter::point_op(self)
    }
}
// ANCHOR_END: pixel_filter

/// A catalog entry: what a filter is called, what it takes, and how to build it.
#[derive(Clone, Copy)]
pub struct FilterInfo {
    /// The name users type.
    pub name: &'static str,
    /// One line on what it does.
    pub summary: &'static str,
    /// Its parameters.
    pub params: &'static [ParamSpec],
    /// Builds the filter from checked arguments.
    pub build: fn(&Args) -> Result<Box<dyn Filter>, ParamError>,
}

impl fmt::Debug for FilterInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilterInfo")
            .field("name", &self.name)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl FilterInfo {
    /// Builds the filter from `(key, value)` pairs, checking every one.
    pub fn build_from(&self, pairs: &[(String, String)]) -> Result<Box<dyn Filter>, ParamError> {
        let args = Args::check(self.name, self.params, pairs)?;
        (self.build)(&args)
    }
}

/// Every filter of the course, in the order `--list` shows them.
pub fn catalog() -> &'static [FilterInfo] {
    crate::filters::CATALOG
}

/// Finds a filter by name (case-insensitive).
pub fn find(name: &str) -> Result<&'static FilterInfo, ParamError> {
    catalog()
        .iter()
        .find(|info| info.name.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| ParamError::UnknownFilter {
            name: name.to_owned(),
            valid: catalog().iter().map(|info| info.name).collect(),
        })
}

/// Builds a filter from its name and `KEY=VALUE` arguments.
///
/// ```
/// let blur = session01_image_basics::build("blur", &["sigma=3"]).unwrap();
/// assert_eq!(blur.spec(), "blur:sigma=3");
/// let err = session01_image_basics::build("blur", &["sigma=-1"]).unwrap_err();
/// assert_eq!(err.to_string(), "blur: sigma must be a number in 0.1..=100, got -1");
/// ```
// ANCHOR: build
pub fn build<S: AsRef<str>>(name: &str, params: &[S]) -> Result<Box<dyn Filter>, ParamError> {
    let info = find(name)?;
    let pairs = params
        .iter()
        .map(|p| split_key_value(p.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    info.build_from(&pairs)
}
// ANCHOR_END: build
