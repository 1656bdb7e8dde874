//! The status API's errors: each is an HTTP status and a JSON body that says what went
//! wrong, `{"error": "...", "reason": "..."}`, never a bare 500 or a panic.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// What a request can fail with.
// ANCHOR: error
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The request is wrong (a malformed id): 400.
    BadRequest(String),
    /// Nothing has that name: 404.
    NotFound(String),
    /// A part the answer needs (Redis) does not answer now: 503; retrying later may work.
    Unavailable(String),
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
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The reason, in words.
    pub fn reason(&self) -> &str {
        match self {
            Self::BadRequest(reason) | Self::NotFound(reason) | Self::Unavailable(reason) => reason,
        }
    }

    /// A Redis failure, named as such.
    pub fn redis(error: impl std::fmt::Display) -> Self {
        Self::Unavailable(format!("Redis: {error}"))
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
