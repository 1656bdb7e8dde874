//! Exercise 10.2: a job's progress from Redis, as Server-Sent Events.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use std::time::Duration;

use axum::Router;
use redis::aio::ConnectionManager;

// ANCHOR: progress_app
/// Exercise 10.2: an HTTP service that streams a job's progress, kept in a Redis hash, as
/// Server-Sent Events, from the moment a client asks until the job is done.
///
/// Workers (here, the tests) keep job `id`'s progress in the hash
/// [`progress_key`](super::progress_key)`(id)`, `ex10:progress:{id}`, with the fields
/// `done` and `total`, whole numbers. One route, `GET /progress/{id}`:
///
/// - Before anything is streamed, the hash is read once. A key that does not exist is
///   `404 Not Found`, and a reading that fails (Redis is down, a field is missing or is
///   not a whole number) is `503 Service Unavailable`; both with a JSON
///   [`Refusal`](super::Refusal) (`Content-Type: application/json`).
/// - Otherwise the answer is `200 OK` with `Content-Type: text/event-stream`, and its
///   events are, in order:
///   - `event: progress` with the [`Progress`](super::Progress) as JSON in its `data`
///     (`{"done":1,"total":3}`): the first reading's at once, and then, reading the hash
///     again every `poll`, one for each reading that differs from the last one sent, and
///     none for a reading that does not;
///   - when a reading has `done >= total`: after its `progress` event, `event: done`
///     with the same JSON, and the stream ends (the response ends: the client sees the
///     end of the body);
///   - when a later reading fails, or finds the key gone: `event: error` with the reason
///     as its `data`, and the stream ends.
///
/// Keep-alive comments (lines that start with `:`) are allowed between events. A client
/// that goes away ends the stream: nothing keeps reading Redis for nobody.
pub fn progress_app(redis: ConnectionManager, poll: Duration) -> Router {
    todo!("exercise 10.2: progress_app")
}
// ANCHOR_END: progress_app
