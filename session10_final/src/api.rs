//! The API's router: session 07's paths for health, readiness, stats and workers, session
//! 09's `/metrics`, and this session's jobs, processing, events and page, on one
//! [`System`].
//!
//! | route | answers |
//! |---|---|
//! | `GET /api/health` | 200 while the process serves |
//! | `GET /api/ready` | 200, or 503 with the reason (shutting down) |
//! | `GET /api/filters` | the filter catalog with each parameter's type and range |
//! | `POST /api/jobs` | 202, the job, and its `Location` |
//! | `GET /api/jobs/{id}` | the job: state, attempts, why it waits |
//! | `GET /api/jobs/{id}/result` | the image, with its type and `ETag` |
//! | `GET /api/jobs/{id}/events` | Server-Sent Events until the job ends |
//! | `POST /api/process` | the result of a small image, while the client waits |
//! | `POST /api/image/info` | the image's header |
//! | `GET /api/stats`, `GET /api/workers` | the queue's and the pool's counts |
//! | `GET /metrics` | session 09's Prometheus exposition |
//! | `GET /` | the page |

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use serde::Serialize;
use session02_pipelines::registry::{self, FilterEntry};
use session03_workers::{PoolStats, QueueStats};

use crate::error::ApiError;
use crate::routes::{
    API_FILTERS, API_HEALTH, API_IMAGE_INFO, API_JOB, API_JOB_EVENTS, API_JOB_RESULT, API_JOBS,
    API_PROCESS, API_READY, API_STATS, API_WORKERS,
};
use crate::system::System;
use crate::{events, jobs, limits, page, process};

/// Room for a multipart form's boundaries and fields around the largest image allowed.
const FORM_OVERHEAD: usize = 64 * 1024;

// ANCHOR: router
/// Every route, on `system`.
pub fn router(system: Arc<System>) -> Router {
    let body_limit = system.limits().max_body_bytes + FORM_OVERHEAD;
    let metrics = {
        let system = Arc::clone(&system);
        session09_monitoring::telemetry::router(move || {
            let system = Arc::clone(&system);
            async move { system.metrics() }
        })
    };
    Router::new()
        .route(API_HEALTH, get(health))
        .route(API_READY, get(ready))
        .route(API_FILTERS, get(filters))
        .route(API_JOBS, post(jobs::submit))
        .route(API_JOB, get(jobs::show))
        .route(API_JOB_RESULT, get(jobs::result))
        .route(API_JOB_EVENTS, get(events::events))
        .route(API_PROCESS, post(process::process))
        .route(API_IMAGE_INFO, post(process::info))
        .route(API_STATS, get(stats))
        .route(API_WORKERS, get(workers))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            body_limit,
            limits::announced_length,
        ))
        .with_state(system)
        .merge(metrics)
        .merge(page::router())
        .layer(middleware::map_response(page::secure))
}
// ANCHOR_END: router

/// The liveness answer.
#[derive(Debug, Serialize)]
struct Alive {
    status: &'static str,
}

async fn health() -> Json<Alive> {
    Json(Alive { status: "ok" })
}

/// The readiness answer, in session 07's shape.
#[derive(Debug, Serialize)]
struct Ready {
    ready: bool,
    mode: &'static str,
    reasons: Vec<String>,
}

async fn ready(State(system): State<Arc<System>>) -> (StatusCode, Json<Ready>) {
    let (status, reasons) = if system.accepting() {
        (StatusCode::OK, vec![])
    } else {
        let reason = "shutting down: finishing the jobs in hand".to_owned();
        (StatusCode::SERVICE_UNAVAILABLE, vec![reason])
    };
    let ready = status == StatusCode::OK;
    (
        status,
        Json(Ready {
            ready,
            mode: "embedded",
            reasons,
        }),
    )
}

async fn filters() -> Json<Vec<FilterEntry>> {
    Json(registry::entries())
}

/// `/api/stats`: the queue and the pool.
#[derive(Debug, Serialize)]
struct Stats {
    mode: &'static str,
    queue: QueueStats,
    pool: PoolStats,
}

async fn stats(State(system): State<Arc<System>>) -> Result<Json<Stats>, ApiError> {
    Ok(Json(Stats {
        mode: "embedded",
        queue: system.queue_stats().await?,
        pool: system.pool_stats(),
    }))
}

/// `/api/workers`: the in-process pool as one worker with its slots.
#[derive(Debug, Serialize)]
struct Workers {
    mode: &'static str,
    workers: Vec<WorkerView>,
}

/// One worker.
#[derive(Debug, Serialize)]
struct WorkerView {
    id: &'static str,
    state: &'static str,
    slots: usize,
    busy: usize,
    processed: u64,
}

async fn workers(State(system): State<Arc<System>>) -> Json<Workers> {
    let pool = system.pool_stats();
    let state = match (system.accepting(), pool.in_flight) {
        (false, _) => "draining",
        (true, 0) => "idle",
        (true, _) => "busy",
    };
    Json(Workers {
        mode: "embedded",
        workers: vec![WorkerView {
            id: "embedded",
            state,
            slots: pool.workers,
            busy: pool.in_flight,
            processed: pool.processed,
        }],
    })
}
