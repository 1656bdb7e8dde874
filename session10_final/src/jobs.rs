//! Jobs over HTTP: submit one, read its state, fetch its result.
//!
//! A job is accepted only once everything that can be checked without decoding it has
//! been: the image's format and size from its header, the pipeline against the filter
//! catalog. What only decoding can find (a file cut short after its header) fails the job,
//! and its record says why.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use session02_pipelines::PipelineSpec;
use session03_workers::{TaskId, TaskRecord, TaskState};

use crate::app::App;
use crate::backend::{Context, Job, Tiles};
use crate::error::ApiError;
use crate::limits::{self, Inspected};
use crate::request::Submission;
use crate::routes;

/// The longest id text an error message quotes.
const QUOTED: usize = 64;

/// A job as the API shows it.
// ANCHOR: view
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    /// Its id.
    pub id: TaskId,
    /// `pending`, `running`, `retrying`, `succeeded`, `failed` or `dead`.
    pub state: TaskState,
    /// Attempts started so far.
    pub attempts: u32,
    /// The pipeline, in the text form.
    pub pipeline: String,
    /// From 0 to 1, in two decimals.
    pub progress: f64,
    /// When it was queued.
    pub enqueued_at: DateTime<Utc>,
    /// When its last attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// How long its last attempt took.
    pub duration_seconds: Option<f64>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Its failed attempts (worker, reason), oldest first.
    pub history: Vec<String>,
    /// Why it waits, when it waits.
    pub waiting_reason: Option<String>,
    /// A tiled job's tiles done and in all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiles: Option<Tiles>,
    /// Where to follow it.
    pub links: Links,
}
// ANCHOR_END: view

/// A job's related paths.
#[derive(Debug, Clone, Serialize)]
pub struct Links {
    /// The job.
    pub job: String,
    /// Its result image.
    pub result: String,
    /// Its progress events.
    pub events: String,
}

impl JobView {
    /// The view of `job`, with what the backend adds.
    pub fn of(job: &Job, context: Context) -> Self {
        let record = &job.record;
        let id = record.id();
        let path = routes::job(id);
        Self {
            id,
            state: record.state,
            attempts: record.attempts,
            pipeline: (job.pipeline.clone()).unwrap_or_else(|| record.task.pipeline.to_string()),
            // Two decimals: a client shows a percentage, not 0.42857142857142855.
            progress: (progress(record.state, job.tiles) * 100.0).round() / 100.0,
            enqueued_at: record.enqueued_at,
            started_at: record.started_at,
            finished_at: record.finished_at,
            duration_seconds: record.duration_seconds,
            error: record.error.as_ref().map(|error| error.message.clone()),
            history: context.history,
            waiting_reason: context.waiting_reason,
            tiles: job.tiles,
            links: Links {
                result: format!("{path}/result"),
                events: format!("{path}/events"),
                job: path,
            },
        }
    }
}

/// How far a job is, from its state; a tiled job's steps are its tiles and the assembly.
/// Below 1 until the job is final, and never back while it runs.
fn progress(state: TaskState, tiles: Option<Tiles>) -> f64 {
    let share = match (state, tiles) {
        (TaskState::Succeeded | TaskState::Failed | TaskState::Dead, _) => return 1.0,
        (TaskState::Running | TaskState::Retrying, None) => 0.5,
        (_, None) => 0.0,
        // Every tile done: the assembly runs, waits, or is retried.
        (_, Some(Tiles { done, total })) if done >= total => {
            (total as f64 + 0.5) / (total as f64 + 1.0)
        }
        (_, Some(Tiles { done, total })) => done as f64 / (total as f64 + 1.0),
    };
    // Shown in two decimals: a job still running never shows 1.
    share.min(0.99)
}

/// The longest pipeline spec accepted, in bytes.
pub const MAX_SPEC_BYTES: usize = 4096;
/// The most filters a pipeline may chain.
pub const MAX_STAGES: usize = 32;

// ANCHOR: pipeline
/// Parses and checks a pipeline spec (text or JSON): bounded in size and stages, every
/// filter and parameter checked against the catalog, an error pointing at the token.
pub fn pipeline(text: &str) -> Result<PipelineSpec, ApiError> {
    if text.len() > MAX_SPEC_BYTES {
        return Err(ApiError::Unprocessable(format!(
            "the pipeline is {} bytes; at most {MAX_SPEC_BYTES} are accepted",
            text.len()
        )));
    }
    // Built once to check it, pointing at the offending token; the spec is what is queued.
    PipelineSpec::parse_and_build(text)?;
    let spec = PipelineSpec::parse_any(text)?;
    if spec.filters.len() > MAX_STAGES {
        return Err(ApiError::Unprocessable(format!(
            "the pipeline has {} filters; at most {MAX_STAGES} are accepted",
            spec.filters.len()
        )));
    }
    Ok(spec)
}
// ANCHOR_END: pipeline

/// An accepted upload with its parsed pipeline and the extension of its result.
#[derive(Debug)]
pub struct Checked {
    /// The upload.
    pub submission: Submission,
    /// What its header says.
    pub image: Inspected,
    /// The pipeline.
    pub pipeline: PipelineSpec,
    /// The result's extension.
    pub extension: &'static str,
}

// ANCHOR: checked
/// Checks a submission: the image from its header, the pipeline against the catalog
/// (built, so parameter ranges are checked too), the output format against the allowed.
pub fn check(submission: Submission, app: &App) -> Result<Checked, ApiError> {
    let image = limits::check(&submission.image, app.limits())?;
    let text = submission
        .pipeline
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .ok_or_else(|| ApiError::bad_request("no pipeline: send one, e.g. blur:sigma=2|edges"))?;
    let pipeline = pipeline(text)?;
    let extension = match submission.format.as_deref().map(str::to_ascii_lowercase) {
        None => image.extension,
        Some(format) => match format.as_str() {
            "png" => "png",
            "jpg" | "jpeg" => "jpg",
            "webp" => "webp",
            other => {
                return Err(ApiError::bad_request(format!(
                    "format {other:?} is not offered; choose png, jpeg or webp"
                )));
            }
        },
    };
    Ok(Checked {
        submission,
        image,
        pipeline,
        extension,
    })
}
// ANCHOR_END: checked

// ANCHOR: submit
/// `POST /api/jobs`: 202 with the job and its `Location`.
#[utoipa::path(post, path = "/api/jobs", tag = "jobs",
    request_body(content_type = "multipart/form-data",
        description = "Fields `file` (the image), `pipeline` (e.g. `blur:sigma=2|edges`, or a JSON spec), optional `format` (png, jpeg, webp), optional `tiled` (true: cut into tiles that workers run apart; the distributed mode only, 422 in the embedded one). Also accepted: `application/json` `{\"image\": URL-safe base64, \"pipeline\": ..., \"tiled\": true}`, or the image as the body with `?pipeline=...&tiled=true`."),
    responses(
        (status = 202, description = "Queued; `Location` names the job", body = Object),
        (status = 400, description = "No image, no pipeline, or a malformed request", body = Object),
        (status = 413, description = "Over the body or pixel limit, or a decompression bomb", body = Object),
        (status = 415, description = "Not PNG, JPEG or WebP by its first bytes", body = Object),
        (status = 422, description = "A corrupt image, a pipeline error with its `position`, or a tiled job this mode or pipeline cannot run", body = Object),
        (status = 429, description = "The queue is full (or has no room for a tiled job's tiles, or another image is being cut); `Retry-After` says when to try again", body = Object),
        (status = 503, description = "The queue or the store cannot be reached", body = Object)))]
pub async fn submit(
    State(app): State<Arc<App>>,
    submission: Submission,
) -> Result<Response, ApiError> {
    let checked = check(submission, &app)?;
    let (image, pipeline) = (checked.submission.image, checked.pipeline);
    let id = if checked.submission.tiled {
        app.submit_tiled(image, pipeline, checked.extension).await?
    } else {
        app.submit(image, pipeline, checked.extension).await?
    };
    let job = app.job(id).await?;
    let view = JobView::of(&job, app.context(&job.record).await?);
    let location = HeaderValue::from_str(&view.links.job)
        .map_err(|error| ApiError::internal(error.to_string()))?;
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(view),
    )
        .into_response())
}
// ANCHOR_END: submit

/// The id in the path: 400 for one that is not a UUID.
pub fn job_id(id: Result<Path<String>, PathRejection>) -> Result<TaskId, ApiError> {
    let Path(id) = id.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    id.parse().map_err(|_| {
        let shown: String = id.chars().take(QUOTED).collect();
        ApiError::bad_request(format!("{shown:?} is not a job id (a UUID)"))
    })
}

/// `GET /api/jobs/{id}`.
#[utoipa::path(get, path = "/api/jobs/{id}", tag = "jobs", params(("id" = String, Path, description = "The job's id, a UUID")),
    responses(
        (status = 200, description = "State, attempts, history, why it waits, links", body = Object),
        (status = 400, description = "Not a UUID", body = Object),
        (status = 404, description = "No such job", body = Object)))]
pub async fn show(
    State(app): State<Arc<App>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<JobView>, ApiError> {
    let job = app.job(job_id(id)?).await?;
    let context = app.context(&job.record).await?;
    Ok(Json(JobView::of(&job, context)))
}

// ANCHOR: result
/// `GET /api/jobs/{id}/result`: the image with its type and an `ETag` (a result never
/// changes, so a client that has it gets 304); 409 while the job has none yet, 422 when
/// it failed.
#[utoipa::path(get, path = "/api/jobs/{id}/result", tag = "jobs", params(("id" = String, Path, description = "The job's id, a UUID")),
    responses(
        (status = 200, description = "The image, with its content type and `ETag`", content_type = "image/*"),
        (status = 304, description = "The client's copy (`If-None-Match`) is current"),
        (status = 404, description = "No such job, or its result expired", body = Object),
        (status = 409, description = "Not finished yet", body = Object),
        (status = 422, description = "The job failed; the reason says why", body = Object)))]
pub async fn result(
    State(app): State<Arc<App>>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let record = app.job(job_id(id)?).await?.record;
    match record.state {
        TaskState::Succeeded => {}
        TaskState::Failed | TaskState::Dead => {
            let why = record.error.as_ref().map_or("", |e| e.message.as_str());
            return Err(ApiError::Unprocessable(format!(
                "the job {}: {why}",
                record.state
            )));
        }
        state => {
            return Err(ApiError::Conflict(format!(
                "the job is {state}: its result comes when it has succeeded"
            )));
        }
    }
    let etag = format!("\"{}\"", record.id());
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    let kind = content_type(&record);
    let cache = [
        (header::ETAG, etag),
        (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
    ];
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    let bytes = app.result(&record).await?;
    Ok((cache, [(header::CONTENT_TYPE, kind)], bytes).into_response())
}
// ANCHOR_END: result

/// The MIME type of a job's result, from its key's extension.
fn content_type(record: &TaskRecord) -> &'static str {
    match record.task.output.extension().as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("webp") => "image/webp",
        _ => "image/png",
    }
}
