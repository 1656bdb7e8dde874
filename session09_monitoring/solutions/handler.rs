//! Exercise 9.1: a counter and a histogram wired into a handler.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use redis::AsyncCommands as _;
use redis::aio::ConnectionManager;

use super::{MAX_SIDE, RESIZE_BUCKETS, ResizeRequest};

/// The label set of the counter: `outcome`, one of [`OUTCOMES`].
type Outcome = [(&'static str, &'static str); 1];

/// Every value of `outcome`, each series created at zero with the router.
const OUTCOMES: [&str; 3] = ["ok", "bad_request", "error"];

/// What the handlers share.
struct Shared {
    jobs: ConnectionManager,
    key: String,
    registry: Registry,
    requests: Family<Outcome, Counter>,
    duration: Histogram,
}

/// Exercise 9.1: an HTTP service that accepts resize jobs and counts them.
pub fn resize_app(jobs: ConnectionManager, key: String) -> Router {
    let requests = Family::<Outcome, Counter>::default();
    for outcome in OUTCOMES {
        // Created now, so that /metrics shows each outcome at 0 before it first happens.
        requests.get_or_create(&[("outcome", outcome)]).inc_by(0);
    }
    let duration = Histogram::new(RESIZE_BUCKETS);
    let mut registry = Registry::default();
    registry.register(
        "resize_requests",
        "POST /resize by outcome",
        requests.clone(),
    );
    registry.register(
        "resize_request_duration_seconds",
        "Time spent handling POST /resize",
        duration.clone(),
    );
    let shared = Arc::new(Shared {
        jobs,
        key,
        registry,
        requests,
        duration,
    });
    Router::new()
        .route("/resize", post(resize))
        .route("/metrics", get(metrics))
        .with_state(shared)
}

async fn resize(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let started = Instant::now();
    let (outcome, response) = match check(&body) {
        Err(problem) => (
            "bad_request",
            (StatusCode::BAD_REQUEST, problem).into_response(),
        ),
        Ok(()) => {
            // The body as received: it has just been read as a valid request.
            let mut jobs = shared.jobs.clone();
            match jobs.rpush::<_, _, ()>(&shared.key, &body[..]).await {
                Ok(()) => ("ok", StatusCode::ACCEPTED.into_response()),
                Err(e) => (
                    "error",
                    (StatusCode::SERVICE_UNAVAILABLE, format!("redis: {e}")).into_response(),
                ),
            }
        }
    };
    shared.requests.get_or_create(&[("outcome", outcome)]).inc();
    shared.duration.observe(started.elapsed().as_secs_f64());
    response
}

/// Nothing if the body is a valid request, or what is wrong with it.
fn check(body: &[u8]) -> Result<(), String> {
    let request: ResizeRequest =
        serde_json::from_slice(body).map_err(|e| format!("the body is not a resize: {e}"))?;
    for (side, value) in [("width", request.width), ("height", request.height)] {
        if !(1..=MAX_SIDE).contains(&value) {
            return Err(format!("{side} {value} is not between 1 and {MAX_SIDE}"));
        }
    }
    Ok(())
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let mut text = String::new();
    match encode(&mut text, &shared.registry) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
