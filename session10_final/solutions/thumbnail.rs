//! Exercise 10.1: a handler with validation.

use std::collections::HashMap;
use std::io::Cursor;

use axum::body::{Body, to_bytes};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use image::ImageFormat;

use super::{JPEG_MAGIC, PNG_MAGIC, Refusal, ThumbnailLimits};

/// A refusal before it is a response: its status and its reason.
type Refused = (StatusCode, String);

/// Exercise 10.1: an HTTP service that makes thumbnails, refusing bad requests in JSON.
pub fn thumbnail_app(limits: ThumbnailLimits) -> Router {
    Router::new()
        .route("/thumbnail", post(thumbnail))
        .with_state(limits)
}

// A map of strings cannot fail to deserialise, so this extractor never refuses in plain
// text: the handler judges every parameter itself.
async fn thumbnail(
    State(limits): State<ThumbnailLimits>,
    Query(query): Query<HashMap<String, String>>,
    body: Body,
) -> Response {
    match make(limits, &query, body).await {
        Ok(png) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        Err((status, reason)) => {
            let error = status.canonical_reason().unwrap_or("error").to_owned();
            (status, Json(Refusal { error, reason })).into_response()
        }
    }
}

/// The thumbnail as PNG, or the first problem, in the order the specification gives.
async fn make(
    limits: ThumbnailLimits,
    query: &HashMap<String, String>,
    body: Body,
) -> Result<Vec<u8>, Refused> {
    let width = side(query, "width", limits.max_side)?;
    let height = side(query, "height", limits.max_side)?;
    // `to_bytes` stops reading once the body is over the limit. It fails too when the body
    // cannot be read (a client that went away mid-body, a broken chunked encoding): the
    // specification gives that no status of its own, and it is answered as over the limit.
    let bytes = to_bytes(body, limits.max_body_bytes).await.map_err(|_| {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the image is over the limit of {} bytes",
                limits.max_body_bytes
            ),
        )
    })?;
    let format = if bytes.starts_with(PNG_MAGIC) {
        ImageFormat::Png
    } else if bytes.starts_with(JPEG_MAGIC) {
        ImageFormat::Jpeg
    } else {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body is neither a PNG nor a JPEG (by its first bytes)".to_owned(),
        ));
    };
    // Decoding, scaling and encoding are CPU work: off the async threads.
    tokio::task::spawn_blocking(move || {
        let image = image::load_from_memory_with_format(&bytes, format).map_err(|e| {
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("the image does not decode: {e}"),
            )
        })?;
        let mut png = Vec::new();
        image
            .thumbnail(width, height)
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("encoding: {e}")))?;
        Ok(png)
    })
    .await
    .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("thumbnail: {e}")))?
}

/// The parameter `name`, a whole number in `1..=max`.
fn side(query: &HashMap<String, String>, name: &str, max: u32) -> Result<u32, Refused> {
    let bad = |reason: String| (StatusCode::BAD_REQUEST, reason);
    let text = query
        .get(name)
        .ok_or_else(|| bad(format!("{name} is missing: give it in the query")))?;
    let value: u32 = text
        .parse()
        .map_err(|_| bad(format!("{name} {text:?} is not a whole number")))?;
    if !(1..=max).contains(&value) {
        return Err(bad(format!("{name} {value} is not between 1 and {max}")));
    }
    Ok(value)
}
