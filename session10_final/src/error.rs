//! The API's errors: session 07's (400, 404, 405, 503, 500) and the ones an API that takes
//! uploads needs: 413 for too much, 415 for a format it does not read, 422 for an image or a
//! pipeline it cannot use, 429 with `Retry-After` when the queue is full. Every one is a
//! JSON body `{"error": "...", "reason": "..."}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use session02_pipelines::spec::SpecError;
use session03_workers::QueueError;
use session07_k8s::error::ApiError as StatusError;

/// What a request can fail with.
// ANCHOR: error
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Session 07's errors: bad request, not found, method not allowed, unavailable, internal.
    #[error("{}", .0.reason())]
    Status(StatusError),
    /// The body, or the image in it, is larger than the limits: 413.
    #[error("{0}")]
    TooLarge(String),
    /// Bytes that are not an image format the service reads: 415.
    #[error("{0}")]
    UnsupportedFormat(String),
    /// Well-formed request, unusable content (a corrupt image, an unknown filter): 422.
    #[error("{0}")]
    Unprocessable(String),
    /// A pipeline spec that does not parse or names what does not exist: 422, with the
    /// byte range of the offending token in the text when it came as text.
    #[error("{reason}")]
    Spec {
        /// What is wrong.
        reason: String,
        /// Where, in the spec's text.
        position: Option<Position>,
    },
    /// The job is not in a state that has what was asked (no result yet): 409.
    #[error("{0}")]
    Conflict(String),
    /// The queue is full: 429, with the seconds to wait before trying again.
    #[error("{reason}")]
    Busy {
        /// Why.
        reason: String,
        /// The `Retry-After` header, in seconds.
        retry_after: u32,
    },
}
// ANCHOR_END: error

impl ApiError {
    /// A 400 with `reason`.
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::Status(StatusError::BadRequest(reason.into()))
    }

    /// A 404 with `reason`.
    pub fn not_found(reason: impl Into<String>) -> Self {
        Self::Status(StatusError::NotFound(reason.into()))
    }

    /// A 503 with `reason`.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self::Status(StatusError::Unavailable(reason.into()))
    }

    /// A 500 with `reason`.
    pub fn internal(reason: impl Into<String>) -> Self {
        Self::Status(StatusError::Internal(reason.into()))
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Status(error) => error.status(),
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedFormat(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable(_) | Self::Spec { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

impl From<StatusError> for ApiError {
    fn from(error: StatusError) -> Self {
        Self::Status(error)
    }
}

/// A full queue asks the client to come back; the rest is session 07's rule.
impl From<QueueError> for ApiError {
    fn from(error: QueueError) -> Self {
        match error {
            QueueError::Full { .. } => Self::Busy {
                reason: format!("{error}: try again later"),
                retry_after: 1,
            },
            other => Self::Status(other.into()),
        }
    }
}

/// A byte range in a spec's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Position {
    /// The first byte of the token.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
}

impl From<SpecError> for ApiError {
    fn from(error: SpecError) -> Self {
        Self::Spec {
            reason: error.message.clone(),
            position: error.location.map(|(_, range)| Position {
                start: range.start,
                end: range.end,
            }),
        }
    }
}

/// The JSON body of an error.
#[derive(Debug, Serialize)]
struct Body<'a> {
    error: &'a str,
    reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<Position>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Status(error) = self {
            return error.into_response();
        }
        let status = self.status();
        let body = Body {
            error: status.canonical_reason().unwrap_or("error"),
            reason: self.to_string(),
            position: match self {
                Self::Spec { position, .. } => position,
                _ => None,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Self::Busy { retry_after, .. } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}
