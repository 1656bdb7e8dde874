//! The pipeline: filters applied in order, itself a [`Filter`].
//!
//! Because a pipeline is a `Filter`, anything that takes a filter takes a pipeline: the batch
//! processor, the task queue of session 03, a pipeline inside a pipeline. Building one
//! groups consecutive point operations (grayscale, brightness, contrast, invert, threshold)
//! into a single pass: each pixel goes through all of them while it is in cache, and
//! consecutive lookup tables are composed into one table.
//!
//! A pipeline runs the [`fast`](crate::fast::accelerate) kernel of each filter unless it is built with
//! [`Kernels::Reference`], which keeps session 01's readable ones (tests compare the two).

use std::fmt;

use image::DynamicImage;
use session01_image_basics::pixels::{Buffer, Pixel8};
use session01_image_basics::{Filter, FilterError, FilterInfo, FilterKind, PixelFilter, PointOp};

use crate::fast;

/// Which implementation of each filter a pipeline runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// The fast kernels of [`fast`], where a filter has one.
    #[default]
    Fast,
    /// Session 01's readable versions, as they are.
    Reference,
}

/// Filters applied in order, with consecutive point operations fused.
// ANCHOR: pipeline_struct
pub struct Pipeline {
    filters: Vec<Box<dyn Filter>>,
    stages: Vec<Stage>,
}

/// One pass over the image.
enum Stage {
    /// A filter run on its own: the index into `filters`.
    Single(usize),
    /// Several point operations in one pass.
    Fused(FusedPoints),
}
// ANCHOR_END: pipeline_struct

impl Pipeline {
    /// Chains `filters` with their fast kernels, fusing runs of consecutive point operations.
    pub fn new(filters: Vec<Box<dyn Filter>>) -> Self {
        Self::with_kernels(filters, Kernels::Fast)
    }

    /// Chains `filters` running the chosen kernels, fusing runs of consecutive point
    /// operations.
    // ANCHOR: fuse
    pub fn with_kernels(filters: Vec<Box<dyn Filter>>, kernels: Kernels) -> Self {
        let filters: Vec<Box<dyn Filter>> = match kernels {
            Kernels::Fast => filters.into_iter().map(fast::accelerate).collect(),
            Kernels::Reference => filters,
        };
        let mut stages = Vec::new();
        let mut run: Vec<PointOp> = Vec::new();
        let mut run_start = 0;
        for (index, filter) in filters.iter().enumerate() {
            match filter.point_op() {
                Some(op) => {
                    if run.is_empty() {
                        run_start = index;
                    }
                    push_composed(&mut run, op);
                }
                None => {
                    flush(&mut stages, &mut run, run_start, index);
                    stages.push(Stage::Single(index));
                }
            }
        }
        flush(&mut stages, &mut run, run_start, filters.len());
        Self { filters, stages }
    }
    // ANCHOR_END: fuse

    /// The filters, in order.
    pub fn filters(&self) -> &[Box<dyn Filter>] {
        &self.filters
    }

    /// How many passes over the image `apply` makes (fewer than filters when some fuse).
    pub fn passes(&self) -> usize {
        self.stages.len()
    }
}

/// Adds `op` to a run, composing it into the previous lookup table when both are tables.
// ANCHOR: compose
fn push_composed(run: &mut Vec<PointOp>, op: PointOp) {
    match (run.last_mut(), op) {
        (Some(PointOp::Table(first)), PointOp::Table(second)) => {
            for value in first.iter_mut() {
                *value = second[usize::from(*value)];
            }
        }
        (_, op) => run.push(op),
    }
}
// ANCHOR_END: compose

/// Ends a run of point operations: one filter alone stays itself, more become one pass.
fn flush(stages: &mut Vec<Stage>, run: &mut Vec<PointOp>, start: usize, end: usize) {
    match end - start {
        _ if run.is_empty() => {}
        1 => {
            run.clear();
            stages.push(Stage::Single(start));
        }
        _ => stages.push(Stage::Fused(FusedPoints {
            ops: std::mem::take(run),
        })),
    }
}

/// Several point operations applied to each pixel in turn, in one pass.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FusedPoints {
    ops: Vec<PointOp>,
}

impl PixelFilter for FusedPoints {
    const INFO: FilterInfo = FilterInfo {
        name: "fused-points",
        summary: "point operations fused into one pass",
        params: &[],
        // Never in the catalog; built with no operations it is the identity.
        build: |_| Ok(Box::new(FusedPoints { ops: Vec::new() })),
    };

    fn params(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    fn kind(&self) -> FilterKind {
        FilterKind::Point
    }

    /// All operations on one band of rows at a time, while it is in cache.
    fn run<P: Pixel8>(&self, image: &Buffer<P>) -> Result<Buffer<P>, FilterError> {
        Ok(fast::run_ops(&self.ops, image))
    }
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("spec", &self.spec())
            .field("passes", &self.passes())
            .finish()
    }
}

impl Filter for Pipeline {
    fn name(&self) -> &'static str {
        "pipeline"
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        vec![("filters", self.spec())]
    }

    /// Geometry if any stage is; otherwise the radii of the neighbourhood stages add up,
    /// because each stage reads the output of the one before.
    fn kind(&self) -> FilterKind {
        let mut radius = 0;
        for filter in &self.filters {
            match filter.kind() {
                FilterKind::Geometry => return FilterKind::Geometry,
                FilterKind::Neighbourhood { radius: r } => radius += r,
                FilterKind::Point => {}
            }
        }
        if radius == 0 {
            FilterKind::Point
        } else {
            FilterKind::Neighbourhood { radius }
        }
    }

    // ANCHOR: apply
    fn apply(&self, image: &DynamicImage) -> Result<DynamicImage, FilterError> {
        let mut current: Option<DynamicImage> = None;
        for stage in &self.stages {
            let input = current.as_ref().unwrap_or(image);
            let output = match stage {
                Stage::Single(index) => self.filters[*index].apply(input)?,
                Stage::Fused(fused) => fused.apply(input)?,
            };
            current = Some(output);
        }
        Ok(current.unwrap_or_else(|| image.clone()))
    }
    // ANCHOR_END: apply

    /// The text spec, `name:key=value|...`, which parses back into this pipeline.
    fn spec(&self) -> String {
        self.filters
            .iter()
            .map(|f| f.spec())
            .collect::<Vec<_>>()
            .join("|")
    }
}
