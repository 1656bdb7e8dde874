//! The API's paths, in one place: the router is built from these, and the page, the
//! OpenAPI document and the tests name them from here.

pub use session07_k8s::routes::{API_HEALTH, API_READY, API_STATS, API_WORKERS};
pub use session09_monitoring::telemetry::METRICS;

// ANCHOR: routes
/// The filters a pipeline can name, with their parameters' ranges.
pub const API_FILTERS: &str = "/api/filters";
/// `POST`: submit a job (202 and its `Location`).
pub const API_JOBS: &str = "/api/jobs";
/// A job: state, attempts, history, why it waits.
pub const API_JOB: &str = "/api/jobs/{id}";
/// A job's result image.
pub const API_JOB_RESULT: &str = "/api/jobs/{id}/result";
/// A job's progress as Server-Sent Events.
pub const API_JOB_EVENTS: &str = "/api/jobs/{id}/events";
/// `POST`: process a small image now and answer with the result.
pub const API_PROCESS: &str = "/api/process";
/// What an image is, from its header only.
pub const API_IMAGE_INFO: &str = "/api/image/info";
/// The original course's `metrics` as JSON: CPU, memory, workers, queue, success rate.
pub const API_METRICS: &str = "/api/metrics";
/// `POST`: session 02's strategies compared on the bundled photos.
pub const API_COMPARE: &str = "/api/compare";
/// `POST`: submit N jobs at once, as the original course's `stress N`.
pub const API_STRESS: &str = "/api/stress";
/// The OpenAPI document of every route.
pub const API_OPENAPI: &str = "/api/openapi.json";
// ANCHOR_END: routes

/// A job's path, for `Location` and links.
pub fn job(id: impl std::fmt::Display) -> String {
    format!("{API_JOBS}/{id}")
}
