//! The status API's errors: each is an HTTP status and a JSON body that says what went
//! wrong, `{"error": "...", "reason": "..."}`, never a bare 500 or a panic.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use session03_workers::QueueError;

/// What a request can fail with.
// ANCHOR: error
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The request is wrong (a malformed id): 400.
    BadRequest(String),
    /// Nothing has that name: 404.
    NotFound(String),
    /// The route exists, but not for this method: 405.
    MethodNotAllowed(String),
    /// A part the answer needs (Redis) does not answer now: 503; retrying later may work.
    Unavailable(String),
    /// Redis answered, but with data this version cannot read: 500; retrying will not help.
    Internal(String),
}
// ANCHOR_END: error

/// The JSON body of an error.
#[derive(Debug, Serialize)]
struct Body<'a> {
    error: &'a str,
    reason: &'a str,
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The reason, in words.
    pub fn reason(&self) -> &str {
        match self {
            Self::BadRequest(reason)
            | Self::NotFound(reason)
            | Self::MethodNotAllowed(reason)
            | Self::Unavailable(reason)
            | Self::Internal(reason) => reason,
        }
    }
}

/// The queue's errors: an outage is a 503, anything else (unreadable data) a 500.
impl From<QueueError> for ApiError {
    fn from(error: QueueError) -> Self {
        match error {
            QueueError::Unavailable(_) => Self::Unavailable(error.to_string()),
            _ => Self::Internal(error.to_string()),
        }
    }
}

/// The registry's errors: a record it cannot parse is a 500, the rest an outage.
impl From<redis::RedisError> for ApiError {
    fn from(error: redis::RedisError) -> Self {
        match error.kind() {
            redis::ErrorKind::Parse | redis::ErrorKind::UnexpectedReturnType => Self::Internal(
                format!("Redis answered with data this version cannot read: {error}"),
            ),
            _ => Self::Unavailable(format!("Redis: {error}")),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let error = status.canonical_reason().unwrap_or("error");
        (
            status,
            Json(Body {
                error,
                reason: self.reason(),
            }),
        )
            .into_response()
    }
}
