//! What session 02's tests share: session 01's helpers (compiled from its file, not copied),
//! and filters built from one stage of a text spec.
#![allow(dead_code)] // each test binary uses its own share of these

/// Session 01's test helpers: photos, filters applied, measures of an image.
#[path = "../../../session01_image_basics/tests/common/mod.rs"]
pub mod session01;

use session01_image_basics::{Filter, build};

/// The filter that one stage of a text spec names, `name:key=value,...`, built by
/// session 01's catalog alone.
pub fn filter(stage: &str) -> Box<dyn Filter> {
    let (name, params) = stage.split_once(':').unwrap_or((stage, ""));
    let params: Vec<&str> = params.split(',').filter(|p| !p.is_empty()).collect();
    build(name, &params).unwrap()
}
