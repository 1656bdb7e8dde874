//! Shortcut for exercise 10.1: the query is read by axum's `Query` extractor into two
//! numbers, so a missing or malformed `width` is refused by axum, before the handler runs,
//! as a plain-text 400 rather than the JSON refusal a client can read.
//! `ex10_1_bad_parameters_are_json_400s` catches it.

use std::io::Cursor;

use axum::body::{Body, to_bytes};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use image::ImageFormat;
use serde::Deserialize;

use super::{JPEG_MAGIC, PNG_MAGIC, Refusal, ThumbnailLimits};

/// A refusal before it is a response.
type Problem = (StatusCode, String);

/// The query, as the extractor reads it.
#[derive(Deserialize)]
struct Size {
    width: u32,
    height: u32,
}

/// Shortcut for exercise 10.1.
pub fn thumbnail_app(limits: ThumbnailLimits) -> Router {
    Router::new()
        .route("/thumbnail", post(thumbnail))
        .with_state(limits)
}

async fn thumbnail(
    State(limits): State<ThumbnailLimits>,
    Query(size): Query<Size>,
    body: Body,
) -> Response {
    match make(limits, size, body).await {
        Ok(png) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        Err((status, reason)) => {
            let error = status.canonical_reason().unwrap_or("error").to_owned();
            (status, Json(Refusal { error, reason })).into_response()
        }
    }
}

async fn make(limits: ThumbnailLimits, size: Size, body: Body) -> Result<Vec<u8>, Problem> {
    for (name, value) in [("width", size.width), ("height", size.height)] {
        if !(1..=limits.max_side).contains(&value) {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("{name} {value} is not between 1 and {}", limits.max_side),
            ));
        }
    }
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
            "the body is neither a PNG nor a JPEG".to_owned(),
        ));
    };
    let image = image::load_from_memory_with_format(&bytes, format).map_err(|e| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the image does not decode: {e}"),
        )
    })?;
    let mut png = Vec::new();
    image
        .thumbnail(size.width, size.height)
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("encoding: {e}")))?;
    Ok(png)
}
