//! Exercise 7.3: a status API route over real HTTP.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use session03_workers::TaskState;

use super::{API_TASKS, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, TaskList};
use crate::error::ApiError;
use crate::state::{AppState, REQUEST_DEADLINE, within};

/// Exercise 7.3: a router with `GET /api/tasks?state=STATE&limit=N`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new().route(API_TASKS, get(list)).with_state(state)
}

/// The ids of up to `limit` tasks in `state`, oldest first.
async fn list(
    State(state): State<Arc<AppState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<TaskList>, ApiError> {
    let states: Vec<&str> = TaskState::ALL.iter().map(|s| s.name()).collect();
    let states = states.join(", ");
    let wanted = match query.get("state").map(|s| s.trim()) {
        None | Some("") => {
            let reason = format!("give a state, as in ?state=pending; states: {states}");
            return Err(ApiError::BadRequest(reason));
        }
        Some(name) => name.parse::<TaskState>().map_err(|_| {
            let shown: String = name.chars().take(64).collect();
            ApiError::BadRequest(format!("{shown:?} is not a state; states: {states}"))
        })?,
    };
    let limit = match query.get("limit") {
        None => DEFAULT_LIST_LIMIT,
        Some(text) => text
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=MAX_LIST_LIMIT).contains(n))
            .ok_or_else(|| {
                let shown: String = text.chars().take(64).collect();
                ApiError::BadRequest(format!(
                    "limit {shown:?} must be a whole number from 1 to {MAX_LIST_LIMIT}"
                ))
            })?,
    };
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
