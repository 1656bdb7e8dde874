//! What a client sends: an image and, for a job, a pipeline, in one of three shapes.
//!
//! | `Content-Type` | image | pipeline |
//! |---|---|---|
//! | `multipart/form-data` (a browser form) | the `file` field | the `pipeline` field, text or JSON |
//! | `application/json` | `image`, URL-safe base64 | `pipeline`, text or a JSON spec |
//! | anything else (`image/png` ...) | the body itself | `?pipeline=` in the query |
//!
//! Optional: `format` (`png`, `jpeg`, `webp`; the input's by default) and `tiled`.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Query, Request};
use axum::http::header;
use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// An image and what to do with it.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    /// The encoded image.
    pub image: Bytes,
    /// The pipeline spec's text (text form or JSON), when one came.
    pub pipeline: Option<String>,
    /// The output format asked for, when one was.
    pub format: Option<String>,
    /// Whether the client asked for a tiled job.
    pub tiled: bool,
}

/// The JSON shape.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonUpload {
    image: String,
    #[serde(default)]
    pipeline: Option<serde_json::Value>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    tiled: bool,
}

/// The query of a raw-body request.
#[derive(Debug, Deserialize)]
struct RawQuery {
    pipeline: Option<String>,
    format: Option<String>,
    #[serde(default)]
    tiled: bool,
}

impl<S: Send + Sync> FromRequest<S> for Submission {
    type Rejection = ApiError;

    // ANCHOR: from_request
    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let kind = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if kind.starts_with("multipart/form-data") {
            let multipart = Multipart::from_request(request, state)
                .await
                .map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
            from_multipart(multipart).await
        } else if kind.starts_with("application/json") {
            let Json(body) = Json::<JsonUpload>::from_request(request, state)
                .await
                .map_err(|rejection| body_error(rejection.status(), rejection.body_text()))?;
            from_json(body)
        } else {
            let Query(query) = Query::<RawQuery>::try_from_uri(request.uri())
                .map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
            let image = Bytes::from_request(request, state)
                .await
                .map_err(|rejection| body_error(rejection.status(), rejection.body_text()))?;
            Ok(Self {
                image,
                pipeline: query.pipeline,
                format: query.format,
                tiled: query.tiled,
            })
        }
    }
    // ANCHOR_END: from_request
}

/// A body that could not be read: too large is 413, the rest 400.
fn body_error(status: axum::http::StatusCode, text: String) -> ApiError {
    if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(format!("the request body is over the upload limit: {text}"))
    } else {
        ApiError::bad_request(text)
    }
}

async fn from_multipart(mut multipart: Multipart) -> Result<Submission, ApiError> {
    let mut submission = Submission::default();
    let mut has_file = false;
    while let Some(field) = multipart.next_field().await.map_err(|error| {
        body_error(
            error.status(),
            format!("cannot read the form: {}", error.body_text()),
        )
    })? {
        let name = field.name().unwrap_or("").to_owned();
        let read = |error: axum::extract::multipart::MultipartError| {
            body_error(
                error.status(),
                format!("cannot read field {name:?}: {}", error.body_text()),
            )
        };
        match name.as_str() {
            "file" => {
                submission.image = field.bytes().await.map_err(read)?;
                has_file = true;
            }
            "pipeline" => submission.pipeline = Some(field.text().await.map_err(read)?),
            "format" => submission.format = Some(field.text().await.map_err(read)?),
            "tiled" => {
                let text = field.text().await.map_err(read)?;
                submission.tiled = match text.trim() {
                    "true" | "on" | "1" | "yes" => true,
                    "false" | "off" | "0" | "no" | "" => false,
                    other => {
                        let shown: String = other.chars().take(32).collect();
                        return Err(ApiError::bad_request(format!(
                            "tiled is {shown:?}; send true or false"
                        )));
                    }
                };
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown form field {other:?}; the fields are file, pipeline, format, tiled"
                )));
            }
        }
    }
    if !has_file {
        return Err(ApiError::bad_request("the form has no file field"));
    }
    Ok(submission)
}

fn from_json(body: JsonUpload) -> Result<Submission, ApiError> {
    let text = body.image.trim_end_matches('=');
    let image = URL_SAFE_NO_PAD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(&body.image))
        .map_err(|error| ApiError::bad_request(format!("image is not URL-safe base64: {error}")))?;
    let pipeline = match body.pipeline {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(text)) => Some(text),
        Some(spec) => Some(spec.to_string()),
    };
    Ok(Submission {
        image: image.into(),
        pipeline,
        format: body.format,
        tiled: body.tiled,
    })
}

/// A JSON body whose every refusal is the API's JSON error: 400 for text that is not the
/// expected JSON (serde's message says where), 413 for a body over the limit. An empty
/// body is `T::default()`, for routes whose every field is optional.
#[derive(Debug, Clone, Default)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| body_error(rejection.status(), rejection.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        serde_json::from_slice(&bytes).map(Self).map_err(|error| {
            ApiError::bad_request(format!("the body is not the JSON expected: {error}"))
        })
    }
}
