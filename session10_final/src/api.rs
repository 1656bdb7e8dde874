//! The API's router: the job routes, written once over a [`Backend`](crate::backend::Backend),
//! the routes that differ by mode (health, readiness, stats, workers, `/metrics`), and the
//! page.
//!
//! | route | answers |
//! |---|---|
//! | `GET /api/health` | 200 while the process serves |
//! | `GET /api/ready` | 200, or 503 with the reasons |
//! | `GET /api/filters` | the filter catalog with each parameter's type and range |
//! | `POST /api/jobs` | 202, the job, and its `Location` |
//! | `GET /api/jobs/{id}` | the job: state, attempts, history, why it waits |
//! | `GET /api/jobs/{id}/result` | the image, with its type and `ETag` |
//! | `GET /api/jobs/{id}/events` | Server-Sent Events until the job ends |
//! | `POST /api/process` | the result of a small image, while the client waits |
//! | `POST /api/image/info` | the image's header |
//! | `GET /api/stats`, `GET /api/workers` | the queue's and the workers' counts |
//! | `GET /metrics` | session 09's Prometheus exposition |
//! | `GET /api/metrics` | the original course's `metrics`: CPU, memory, workers, queue |
//! | `POST /api/compare` | session 02's strategies on the bundled photos, as a table |
//! | `POST /api/stress` | N jobs at once, bounded |
//! | `GET /api/openapi.json` | the OpenAPI document of these routes |
//! | `GET /` | the page |

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use session02_pipelines::registry::{self, FilterEntry};
use session07_k8s::state::REQUEST_DEADLINE;

use crate::app::App;
use crate::error::ApiError;
use crate::routes::{
    API_COMPARE, API_FILTERS, API_IMAGE_INFO, API_JOB, API_JOB_EVENTS, API_JOB_RESULT, API_JOBS,
    API_METRICS, API_OPENAPI, API_PROCESS, API_STRESS,
};
use crate::{compare, events, jobs, limits, openapi, page, process, stress};

/// Room for a form's boundaries and fields, or JSON's, around the largest image allowed.
const FORM_OVERHEAD: usize = 64 * 1024;

// ANCHOR: router
/// Every route, on `app`.
pub fn router(app: Arc<App>) -> Router {
    // Base64 in JSON makes an image 4/3 larger; the image itself is checked after decoding.
    let body_limit = app.limits().max_body_bytes / 3 * 4 + 4 + FORM_OVERHEAD;
    let by_mode = Arc::clone(app.backend()).routes();
    Router::new()
        .route(API_FILTERS, get(filters))
        .route(API_JOBS, post(jobs::submit))
        .route(API_JOB, get(jobs::show))
        .route(API_JOB_RESULT, get(jobs::result))
        .route(API_JOB_EVENTS, get(events::events))
        .route(API_PROCESS, post(process::process))
        .route(API_IMAGE_INFO, post(process::info))
        .route(API_OPENAPI, get(openapi::serve))
        .route(API_METRICS, get(metrics))
        .route(API_COMPARE, post(compare::compare))
        .route(API_STRESS, post(stress::stress))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            body_limit,
            limits::announced_length,
        ))
        .with_state(app)
        .merge(by_mode)
        .merge(page::router())
        .layer(middleware::map_response(page::secure))
}
// ANCHOR_END: router

/// The filters a pipeline can name, each parameter with its type, range and default.
#[utoipa::path(get, path = "/api/filters", tag = "filters",
    responses((status = 200, description = "The catalog", body = Object)))]
pub(crate) async fn filters() -> Json<Vec<FilterEntry>> {
    Json(registry::entries())
}

/// The original course's `metrics`, as JSON.
#[utoipa::path(get, path = "/api/metrics", tag = "status",
    responses(
        (status = 200, description = "CPU and memory, workers and utilisation, the queue, the success rate", body = Object),
        (status = 503, description = "The queue cannot be read now", body = Object)))]
pub(crate) async fn metrics(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let snapshot = tokio::time::timeout(REQUEST_DEADLINE, app.backend().snapshot())
        .await
        .map_err(|_| ApiError::unavailable("the system did not answer within 5 s"))??;
    Ok(Json(snapshot))
}
