//! Exercise 10.3: a limit layer.

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;

use super::Refusal;

/// Exercise 10.3: refuses a body over `limit` bytes, counted as it streams.
pub async fn body_limit(State(limit): State<usize>, request: Request, next: Next) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if announced.is_some_and(|length| length > limit as u64) {
        return too_large(limit);
    }
    let (parts, body) = request.into_parts();
    let mut frames = body.into_data_stream();
    let mut received = Vec::new();
    while let Some(frame) = frames.next().await {
        let bytes = match frame {
            Ok(bytes) => bytes,
            Err(error) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    format!("cannot read the body: {error}"),
                );
            }
        };
        // Checked before the bytes are kept: nothing over the limit is ever held.
        if received.len() + bytes.len() > limit {
            return too_large(limit);
        }
        received.extend_from_slice(&bytes);
    }
    next.run(Request::from_parts(parts, Body::from(received)))
        .await
}

fn too_large(limit: usize) -> Response {
    refuse(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the body is over the limit of {limit} bytes"),
    )
}

fn refuse(status: StatusCode, reason: String) -> Response {
    let error = status.canonical_reason().unwrap_or("error").to_owned();
    (status, Json(Refusal { error, reason })).into_response()
}
