//! Exercise 9.1: a counter and a histogram wired into a handler.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use axum::Router;
use redis::aio::ConnectionManager;

// ANCHOR: resize_app
/// Exercise 9.1: an HTTP service that accepts resize jobs onto a Redis list, and says
/// through `/metrics` how many it accepted, refused and failed, and how long it took.
///
/// Two routes:
///
/// - `POST /resize` with a JSON [`ResizeRequest`](super::ResizeRequest) body. A request
///   whose width and height are both between 1 and [`MAX_SIDE`](super::MAX_SIDE) is
///   *ok*: its body, as received, is pushed on the right of the Redis list `key`
///   (`RPUSH`), and the answer is `202 Accepted`. Anything else is a *bad request*,
///   answered `400 Bad Request` with a short text naming the problem, and nothing is
///   pushed: a size out of range, but also a body that is not JSON or misses a field (so
///   the handler must see those requests itself, not leave them to an extractor that
///   refuses them before the handler runs). A valid request that meets a Redis error is an
///   *error*, answered `503 Service Unavailable`.
/// - `GET /metrics`: the Prometheus text exposition (from `prometheus-client`) of:
///   - `resize_requests_total`, a counter with one label, `outcome`: `ok`, `bad_request`
///     or `error`, every `POST /resize` counted under exactly one. All three series
///     exist from the moment the router is built, at 0 until their first request, so
///     that a rate or a ratio over them has something to read before anything happens;
///   - `resize_request_duration_seconds`, a histogram without labels whose buckets are
///     [`RESIZE_BUCKETS`](super::RESIZE_BUCKETS): every `POST /resize` observes the
///     seconds its handler took, whatever the outcome.
///
/// The metrics belong to the router: two routers count apart.
pub fn resize_app(jobs: ConnectionManager, key: String) -> Router {
    todo!("exercise 9.1: resize_app")
}
// ANCHOR_END: resize_app
