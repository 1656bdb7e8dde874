//! Shortcut for exercise 7.3: a typed `Query` with defaults for everything. An unknown or
//! missing state lists the pending tasks, and a limit out of range is clamped to 1..=100
//! without a word: `?state=done&limit=1000` answers 200 with 100 pending ids, and the
//! client believes it. `ex07_3_a_limit_out_of_range_is_refused` and
//! `ex07_3_the_state_is_required_and_checked` catch it.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use session03_workers::TaskState;

use super::{API_TASKS, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, TaskList};
use crate::error::ApiError;
use crate::state::{AppState, REQUEST_DEADLINE, within};

/// The query string, every parameter optional.
#[derive(Deserialize)]
struct Params {
    state: Option<String>,
    limit: Option<i64>,
}

/// Exercise 7.3: a router with `GET /api/tasks?state=STATE&limit=N`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new().route(API_TASKS, get(list)).with_state(state)
}

async fn list(
    State(state): State<Arc<AppState>>,
    Query(params): Query<Params>,
) -> Result<Json<TaskList>, ApiError> {
    let wanted = params
        .state
        .and_then(|s| s.parse().ok())
        .unwrap_or(TaskState::Pending);
    let limit = params.limit.map_or(DEFAULT_LIST_LIMIT, |n| {
        usize::try_from(n.clamp(1, MAX_LIST_LIMIT as i64)).unwrap_or(DEFAULT_LIST_LIMIT)
    });
    let queue = &state.connected()?.queue;
    let ids = within(REQUEST_DEADLINE, async {
        Ok(queue.list(wanted, limit).await?)
    })
    .await?;
    Ok(Json(TaskList {
        state: wanted,
        limit,
        ids,
    }))
}
