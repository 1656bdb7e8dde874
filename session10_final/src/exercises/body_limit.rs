//! Exercise 10.3: a limit layer.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

// ANCHOR: body_limit
/// Exercise 10.3: a middleware that refuses a request whose body is over `limit` bytes,
/// installed with `axum::middleware::from_fn_with_state(limit, body_limit)`.
///
/// A client need not say how long its body is: with `Transfer-Encoding: chunked` there
/// is no `Content-Length`, and the body's length is known only once its last chunk has
/// come. So the bytes are counted as they arrive:
///
/// - A `Content-Length` that announces more than `limit` bytes is refused at once,
///   without reading the body.
/// - Otherwise the body is read, frame by frame, counting its bytes. As soon as the count
///   passes `limit`, the request is refused, without waiting for the rest of the body
///   (a client can announce nothing and send for ever). A body that cannot be read (the
///   client broke the chunked encoding, or went away) is `400 Bad Request`.
/// - A body of at most `limit` bytes (exactly `limit` is allowed) goes on to the inner
///   service unchanged: the same method, URI, headers and bytes, with whatever it
///   answers returned as it is. A request without a body goes on too.
///
/// A refusal for size is `413 Payload Too Large` with a JSON
/// [`Refusal`](super::Refusal) (`Content-Type: application/json`) whose `reason` gives
/// the limit in bytes (`"the body is over the limit of 1000 bytes"`); the inner service
/// never sees the request.
pub async fn body_limit(State(limit): State<usize>, request: Request, next: Next) -> Response {
    todo!("exercise 10.3: body_limit")
}
// ANCHOR_END: body_limit
