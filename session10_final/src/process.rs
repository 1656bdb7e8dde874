//! Work done while the client waits: `POST /api/process` runs a pipeline on a small image
//! and answers with the result; `/api/image/info` reads a header and decodes nothing.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use session01_image_basics::Filter as _;
use session01_image_basics::io::format_for_path;

use crate::app::App;
use crate::error::ApiError;
use crate::jobs;
use crate::limits::{self, Inspected};
use crate::request::Submission;

/// The most pixels `/api/process` takes: bigger images go through `/api/jobs`.
pub const MAX_SYNC_PIXELS: u64 = 16_000_000;

// ANCHOR: process
/// `POST /api/process`: the result image, or the reason there is none.
#[utoipa::path(post, path = "/api/process", tag = "processing",
    request_body(content_type = "multipart/form-data", description = "As for `POST /api/jobs`"),
    responses(
        (status = 200, description = "The result image", content_type = "image/*"),
        (status = 413, description = "Over the limits, or over 16 megapixels (use /api/jobs)", body = Object),
        (status = 415, description = "Not PNG, JPEG or WebP", body = Object),
        (status = 422, description = "A corrupt image or a pipeline error", body = Object),
        (status = 429, description = "Every slot busy for 30 s", body = Object)))]
pub async fn process(
    State(app): State<Arc<App>>,
    submission: Submission,
) -> Result<Response, ApiError> {
    let checked = jobs::check(submission, &app)?;
    let pixels = u64::from(checked.image.width) * u64::from(checked.image.height);
    if pixels > MAX_SYNC_PIXELS {
        return Err(ApiError::TooLarge(format!(
            "{} megapixels is over the {} this route processes while you wait; submit it to /api/jobs",
            checked.image.megapixels,
            MAX_SYNC_PIXELS / 1_000_000
        )));
    }
    let decoding = app.limits().decoding();
    let output = format!("result.{}", checked.extension);
    let format = format_for_path(output.as_ref()).map_err(|e| ApiError::internal(e.to_string()))?;
    let pipeline = checked.pipeline.build()?;
    let image = checked.submission.image;
    // Decoding and filtering take CPU time: off the async threads, one image per permit.
    let permit = app.sync_permit().await?;
    let bytes = tokio::task::spawn_blocking(move || {
        // Held until the work ends, even if the client has left.
        let _permit = permit;
        let decoded = session01_image_basics::decode(&image, &decoding).map_err(limits::refused)?;
        let filtered = pipeline
            .apply(&decoded)
            .map_err(|error| ApiError::Unprocessable(error.to_string()))?;
        session01_image_basics::encode(&filtered, format)
            .map_err(|error| ApiError::internal(error.to_string()))
    })
    .await
    .map_err(|error| ApiError::internal(format!("the processing thread failed: {error}")))??;
    let (kind, _) = limits::media(format);
    Ok(([(header::CONTENT_TYPE, kind)], bytes).into_response())
}
// ANCHOR_END: process

/// `/api/image/info`: format, size and colour from the header.
#[utoipa::path(post, path = "/api/image/info", tag = "processing",
    request_body(content_type = "image/*", description = "The image (or a form with `file`)"),
    responses(
        (status = 200, description = "Format, size and colour, from the header only", body = Object),
        (status = 413, description = "Over the limits", body = Object),
        (status = 415, description = "Not PNG, JPEG or WebP", body = Object)))]
pub async fn info(
    State(app): State<Arc<App>>,
    submission: Submission,
) -> Result<Json<Inspected>, ApiError> {
    Ok(Json(limits::check(&submission.image, app.limits())?))
}
