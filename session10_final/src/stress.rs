//! `POST /api/stress`: the original course's `stress N` over HTTP. It submits `count` jobs
//! on a bundled photo, as fast as the queue takes them, and answers at once with their ids;
//! the page's workers panel, `/api/stats` and `/metrics` show the system react. Bounded: at
//! most [`MAX_STRESS`] jobs a request, and a full queue stops it early (the answer says how
//! many went in).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use session01_image_basics::samples;
use session03_workers::TaskId;

use crate::app::App;
use crate::error::ApiError;
use crate::jobs;
use crate::request::JsonBody;

/// The most jobs one stress request submits.
pub const MAX_STRESS: usize = 200;

/// What a stress run may be asked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StressRequest {
    /// How many jobs, 1 to [`MAX_STRESS`].
    pub count: usize,
    /// The pipeline; `blur:sigma=2` when absent.
    pub pipeline: Option<String>,
}

/// The answer.
#[derive(Debug, Serialize)]
pub struct StressReport {
    /// The jobs that went in, in order.
    pub submitted: Vec<TaskId>,
    /// Why it stopped early, when it did (the queue full, the store unreachable).
    pub stopped: Option<String>,
}

// ANCHOR: stress
/// `POST /api/stress` `{"count": N}`: 202 with the jobs' ids.
#[utoipa::path(post, path = "/api/stress", tag = "jobs",
    request_body(content_type = "application/json", description = "`{\"count\": N, \"pipeline\": \"...\"}`, N from 1 to 200"),
    responses(
        (status = 202, description = "The jobs that went in, and why it stopped early if it did", body = Object),
        (status = 400, description = "A count out of range, or a body that is not the JSON expected", body = Object),
        (status = 422, description = "A pipeline error", body = Object),
        (status = 429, description = "The queue is full", body = Object)))]
pub async fn stress(
    State(app): State<Arc<App>>,
    JsonBody(request): JsonBody<StressRequest>,
) -> Result<(StatusCode, Json<StressReport>), ApiError> {
    if !(1..=MAX_STRESS).contains(&request.count) {
        return Err(ApiError::bad_request(format!(
            "count is 1 to {MAX_STRESS}, not {}",
            request.count
        )));
    }
    let text = request.pipeline.as_deref().unwrap_or("blur:sigma=2");
    let pipeline = jobs::pipeline(text)?;
    let photo = tokio::fs::read(samples::path(samples::DEMO_PHOTO))
        .await
        .map_err(|error| ApiError::unavailable(format!("the bundled photo: {error}")))?;
    let photo = Bytes::from(photo);
    let mut report = StressReport {
        submitted: Vec::with_capacity(request.count),
        stopped: None,
    };
    for _ in 0..request.count {
        match app.submit(photo.clone(), pipeline.clone(), "png").await {
            Ok(id) => report.submitted.push(id),
            // What went in is the client's to follow: say why the rest did not.
            Err(error) if !report.submitted.is_empty() => {
                report.stopped = Some(error.to_string());
                break;
            }
            Err(error) => return Err(error),
        }
    }
    Ok((StatusCode::ACCEPTED, Json(report)))
}
// ANCHOR_END: stress
