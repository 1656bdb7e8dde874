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
//! | `GET /api/openapi.json` | the OpenAPI document of these routes |
//! | `GET /` | the page |

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use session02_pipelines::registry::{self, FilterEntry};

use crate::app::App;
use crate::routes::{
    API_FILTERS, API_IMAGE_INFO, API_JOB, API_JOB_EVENTS, API_JOB_RESULT, API_JOBS, API_OPENAPI,
    API_PROCESS,
};
use crate::{events, jobs, limits, openapi, page, process};

/// Room for a multipart form's boundaries and fields around the largest image allowed.
const FORM_OVERHEAD: usize = 64 * 1024;

// ANCHOR: router
/// Every route, on `app`.
pub fn router(app: Arc<App>) -> Router {
    let body_limit = app.limits().max_body_bytes + FORM_OVERHEAD;
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
