//! Shortcut for exercise 10.3: trusts `Content-Length`, the way the session's own
//! `limits::announced_length` does in front of a body limit: a chunked body announces no
//! length, and slips through whatever its size.
//! `ex10_3_a_chunked_body_is_counted` catches it.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Refusal;

/// Shortcut for exercise 10.3.
pub async fn body_limit(State(limit): State<usize>, request: Request, next: Next) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match announced {
        Some(length) if length > limit as u64 => {
            let status = StatusCode::PAYLOAD_TOO_LARGE;
            let refusal = Refusal {
                error: status.canonical_reason().unwrap_or("error").to_owned(),
                reason: format!("the body is over the limit of {limit} bytes"),
            };
            (status, Json(refusal)).into_response()
        }
        _ => next.run(request).await,
    }
}
