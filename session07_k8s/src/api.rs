//! The status API: a read-only window on the queue over HTTP, the one the Ingress exposes.
//! Its JSON has the shapes of the command line's `--json` (`status`, `workers`), so a
//! script written against one reads the other.
//!
//! | route | answers |
//! |---|---|
//! | `GET /api/health` | 200 while the process serves (liveness) |
//! | `GET /api/ready` | 200, or 503 with the reasons (readiness) |
//! | `GET /api/stats` | `status --json`, plus throughput |
//! | `GET /api/workers` | `workers --json` |
//! | `GET /api/tasks/{id}` | the task's record, history, and why it waits; 400 for a bad id, 404 for an unknown one |
//!
//! Session 10's API adds its routes to [`router`]'s; it does not replace them.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use session03_workers::{Queue as _, TaskId, TaskRecord, TaskState};
use session04_redis::status::Status;
use session05_distributed::registry::{live_capabilities, waiting_reason};
use session05_distributed::workers::{self, Report};

use crate::error::ApiError;
use crate::readiness::{self, Readiness};
use crate::routes;
use crate::state::{AppState, within};
use crate::throughput::Throughput;

/// How many recent dead letters `/api/stats` lists, as `status --json` does.
const RECENT_DEAD_LETTERS: usize = 5;
/// The longest id text an error message quotes.
const QUOTED: usize = 64;

// ANCHOR: router
/// The status API's routes on `state`; unknown paths get a JSON 404.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(routes::API_HEALTH, get(health))
        .route(routes::API_READY, get(ready))
        .route(routes::API_STATS, get(stats))
        .route(routes::API_WORKERS, get(workers))
        .route(routes::API_TASK, get(task))
        .fallback(|| async { ApiError::NotFound("no such route".to_owned()) })
        .with_state(state)
}
// ANCHOR_END: router

/// The liveness answer.
#[derive(Debug, Serialize)]
struct Alive {
    status: &'static str,
}

/// Liveness: answering at all is the answer; no Redis call, so a Redis outage never
/// gets the API restarted.
async fn health() -> Json<Alive> {
    Json(Alive { status: "ok" })
}

// ANCHOR: ready
/// Readiness: 200 when Redis answers and a worker is live; otherwise 503 with reasons.
async fn ready(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Readiness>) {
    let verdict = match state.connected() {
        Err(error) => readiness::judge(Err(error.reason().to_owned()), &[]),
        Ok(connected) => match within(connected.registry.list()).await {
            Ok(workers) => readiness::judge(Ok(()), &workers),
            Err(error) => readiness::judge(Err(error.reason().to_owned()), &[]),
        },
    };
    let status = if verdict.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(verdict))
}
// ANCHOR_END: ready

/// `/api/stats`: `status --json`'s fields, and throughput.
#[derive(Debug, Serialize)]
pub struct Stats {
    /// What `status --json` reports.
    #[serde(flatten)]
    pub status: Status,
    /// Tasks finished per second lately.
    pub throughput: Throughput,
}

async fn stats(State(state): State<Arc<AppState>>) -> Result<Json<Stats>, ApiError> {
    let queue = &state.connected()?.queue;
    let stats = within(queue.stats()).await?;
    let status = Status {
        counts: within(queue.counts()).await?,
        dead_letters: within(queue.dead_letter_count()).await?,
        recent_dead_letters: within(queue.dead_letters(RECENT_DEAD_LETTERS)).await?,
        ids: None,
        task: None,
        stats,
    };
    let throughput = state.throughput(status.stats.succeeded);
    Ok(Json(Stats { status, throughput }))
}

async fn workers(State(state): State<Arc<AppState>>) -> Result<Json<Report>, ApiError> {
    let connected = state.connected()?;
    let report = within(workers::read(&connected.queue, &connected.registry)).await?;
    Ok(Json(report))
}

/// `/api/tasks/{id}`.
#[derive(Debug, Serialize)]
pub struct TaskView {
    /// The record, as `status ID --json` shows it under `task`.
    pub task: TaskRecord,
    /// Each step of its life: who took it, what happened.
    pub history: Vec<String>,
    /// Why it waits, when it waits and no live worker can run it.
    pub waiting_reason: Option<String>,
}

// ANCHOR: task
async fn task(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<TaskView>, ApiError> {
    let id: TaskId = id.parse().map_err(|_| {
        let shown: String = id.chars().take(QUOTED).collect();
        ApiError::BadRequest(format!("{shown:?} is not a task id (a UUID)"))
    })?;
    let connected = state.connected()?;
    let record = within(connected.queue.status(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no task {id} (or its record expired)")))?;
    let history = within(connected.queue.history(id)).await?;
    let waiting_reason = match record.state {
        TaskState::Pending | TaskState::Retrying => {
            let workers = within(connected.registry.list()).await?;
            let filters: Vec<&str> = record.task.filters().collect();
            waiting_reason(&live_capabilities(&workers), &filters)
        }
        _ => None,
    };
    Ok(Json(TaskView {
        task: record,
        history,
        waiting_reason,
    }))
}
// ANCHOR_END: task
