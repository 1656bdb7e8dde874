//! Exercise 7.3: a status API route over real HTTP.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use std::sync::Arc;

use axum::Router;

use crate::state::AppState;

// ANCHOR: router
/// Exercise 7.3: a router with one more route for the status API,
/// `GET /api/tasks?state=STATE&limit=N` ([`API_TASKS`](super::API_TASKS)): the ids of
/// the tasks in a state, oldest first, as JSON ([`TaskList`](super::TaskList)). It is
/// served next to the API's own routes, `router(state.clone()).merge(api::router(state))`,
/// by [`server::serve`](crate::server::serve), which adds the JSON answers to unknown
/// paths: so this router has no fallback of its own (two could not be merged).
///
/// The query string's parameters (others are ignored):
///
/// - `state` (required): a task state as `TaskState`'s `FromStr` reads it (`pending`,
///   `running`, `retrying`, `succeeded`, `failed`, `dead`, in any case). Missing or empty,
///   or not a state: 400, with a reason that names every state, so the caller can fix the
///   request from the error alone.
/// - `limit`: how many ids at most, a whole number from 1 to
///   [`MAX_LIST_LIMIT`](super::MAX_LIST_LIMIT); absent:
///   [`DEFAULT_LIST_LIMIT`](super::DEFAULT_LIST_LIMIT). Anything else (`0`, `101`, `-1`,
///   `ten`, empty): 400, with a reason that names `limit` and its bounds. Never a silent
///   clamp: a client that asked for 1000 and got 100 would believe there are 100.
///
/// A wrong request is 400 whether Redis answers or not. A right one lists up to `limit`
/// ids with session 04's `RedisQueue::list(state, limit)`, on the queue that
/// `AppState::connected()` gives (503 until Redis has answered), within
/// [`REQUEST_DEADLINE`](crate::state::REQUEST_DEADLINE), as the API's other handlers do
/// with [`state::within`](crate::state::within) (503 when Redis is slow or down). Every
/// error is an [`ApiError`](crate::error::ApiError): its status, and the JSON body
/// `{"error": ..., "reason": ...}`.
pub fn router(state: Arc<AppState>) -> Router {
    todo!("exercise 7.3: router")
}
// ANCHOR_END: router
