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
//! | `GET /api/tasks/{id}` | the task's record, failed attempts, and why it waits; 400 for a bad id, 404 for an unknown one |
//!
//! A later session's API merges its own routes with [`router`]'s and serves both with
//! [`serve`](crate::server::serve), which adds the JSON 404 and 405 answers.
//! Read-only for its callers: counting the states does trim expired records in Redis.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
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
use crate::state::{AppState, READY_DEADLINE, REQUEST_DEADLINE, within};
use crate::throughput::Throughput;

/// How many recent dead letters `/api/stats` lists, as `status --json` does.
const RECENT_DEAD_LETTERS: usize = 5;
/// The longest id text an error message quotes.
const QUOTED: usize = 64;

// ANCHOR: router
/// The status API's routes, on `state`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(routes::API_HEALTH, get(health))
        .route(routes::API_READY, get(ready))
        .route(routes::API_STATS, get(stats))
        .route(routes::API_WORKERS, get(workers))
        .route(routes::API_TASK, get(task))
        .with_state(state)
}
// ANCHOR_END: router

/// The liveness answer.
#[derive(Debug, Serialize)]
struct Alive {
    status: &'static str,
}

/// Liveness: answering at all is the answer. No Redis call, so a Redis outage never gets
/// the API restarted (it only takes it out of the Service, through readiness).
async fn health() -> Json<Alive> {
    Json(Alive { status: "ok" })
}

// ANCHOR: ready
/// Readiness: 200 when Redis answers and a worker is live; otherwise 503 with reasons.
async fn ready(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Readiness>) {
    let verdict = match state.connected() {
        Err(error) => readiness::judge(Err(error.reason().to_owned()), &[]),
        Ok(connected) => {
            let listed = within(READY_DEADLINE, async {
                Ok(connected.registry.list().await?)
            });
            match listed.await {
                Ok(workers) => readiness::judge(Ok(()), &workers),
                Err(error) => readiness::judge(Err(error.reason().to_owned()), &[]),
            }
        }
    };
    state.note_readiness(&verdict);
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
    /// Tasks that succeeded per second lately.
    pub throughput: Throughput,
}

async fn stats(State(state): State<Arc<AppState>>) -> Result<Json<Stats>, ApiError> {
    let queue = &state.connected()?.queue;
    let status = within(REQUEST_DEADLINE, async {
        Ok(Status {
            stats: queue.stats().await?,
            counts: queue.counts().await?,
            dead_letters: queue.dead_letter_count().await?,
            recent_dead_letters: queue.dead_letters(RECENT_DEAD_LETTERS).await?,
            ids: None,
            task: None,
        })
    })
    .await?;
    Ok(Json(Stats {
        status,
        throughput: state.throughput(),
    }))
}

async fn workers(State(state): State<Arc<AppState>>) -> Result<Json<Report>, ApiError> {
    let connected = state.connected()?;
    let report = within(REQUEST_DEADLINE, async {
        workers::read(&connected.queue, &connected.registry)
            .await
            .map_err(|error| ApiError::Unavailable(format!("{error:#}")))
    })
    .await?;
    Ok(Json(report))
}

/// `/api/tasks/{id}`.
#[derive(Debug, Serialize)]
pub struct TaskView {
    /// The record, as `status ID --json` shows it under `task`.
    pub task: TaskRecord,
    /// Its attempts that failed (worker, reason), the newest last; empty when none did.
    pub history: Vec<String>,
    /// Why it waits, when it waits and no live worker can run it.
    pub waiting_reason: Option<String>,
}

// ANCHOR: task
async fn task(
    State(state): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<TaskView>, ApiError> {
    let Path(id) = id.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let id: TaskId = id.parse().map_err(|_| {
        let shown: String = id.chars().take(QUOTED).collect();
        ApiError::BadRequest(format!("{shown:?} is not a task id (a UUID)"))
    })?;
    let connected = state.connected()?;
    let view = within(REQUEST_DEADLINE, async {
        let task =
            connected.queue.status(id).await?.ok_or_else(|| {
                ApiError::NotFound(format!("no task {id} (or its record expired)"))
            })?;
        let history = connected.queue.history(id).await?;
        let waiting_reason = match task.state {
            TaskState::Pending | TaskState::Retrying => {
                let workers = connected.registry.list().await?;
                let filters: Vec<&str> = task.task.filters().collect();
                waiting_reason(&live_capabilities(&workers), &filters)
            }
            _ => None,
        };
        Ok(TaskView {
            task,
            history,
            waiting_reason,
        })
    })
    .await?;
    Ok(Json(view))
}
// ANCHOR_END: task
