//! The worker's probes over HTTP: `/livez` and `/readyz` on a small port of their own, so
//! the Deployment's probes are `httpGet`, with no shell or extra binary in the image.
//!
//! What each answers, from the pool's own health (session 03) and the worker's phase:
//!
//! | phase | `/livez` | `/readyz` |
//! |---|---|---|
//! | connecting to Redis | 200 | 503 "starting" |
//! | running | 200 while the supervisor runs | 200 while it takes tasks |
//! | draining after SIGTERM | 200 | 503 "shutting down" |
//!
//! A failing liveness probe gets the container restarted; a failing readiness probe only
//! takes it out of rotation (and holds a rolling update until the new pod is ready).

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use session03_workers::Health;
use session03_workers::pool::StatsHandle;
use session04_redis::runtime::Runtime;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::routes::{LIVEZ, READYZ};

/// Where the worker is in its life.
#[derive(Debug, Clone, Default)]
enum Phase {
    /// Connecting to Redis.
    #[default]
    Starting,
    /// The pool runs; `stopping` is cancelled once it drains.
    Running {
        stats: StatsHandle,
        stopping: CancellationToken,
    },
    /// The pool has stopped; the process is about to exit.
    Stopped,
}

/// The worker's health as the probes see it; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Probes(Arc<Mutex<Phase>>);

impl Probes {
    // ANCHOR: health
    /// The health now: the pool's own while it runs, "starting" and "shutting down"
    /// around it.
    pub fn health(&self) -> Health {
        let phase = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match phase {
            Phase::Starting => {
                Health::from_reasons(true, vec!["starting: connecting to Redis".into()])
            }
            Phase::Running { stats, stopping } => {
                let health = stats.health();
                if stopping.is_cancelled() && health.ready {
                    Health::from_reasons(true, vec!["shutting down".to_owned()])
                } else {
                    health
                }
            }
            Phase::Stopped => Health::from_reasons(true, vec!["stopped".to_owned()]),
        }
    }
    // ANCHOR_END: health

    fn set(&self, phase: Phase) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = phase;
    }
}

// ANCHOR: attach
/// Adds the probes to a worker runtime: a side task that shows the running pool to them,
/// and tells them when it has stopped.
pub fn attach(runtime: Runtime, probes: Probes) -> Runtime {
    runtime.beside(move |context, stats, done| async move {
        probes.set(Phase::Running {
            stats,
            stopping: context.stopping.clone(),
        });
        done.cancelled().await;
        probes.set(Phase::Stopped);
    })
}
// ANCHOR_END: attach

/// The probes' routes.
pub fn router(probes: Probes) -> Router {
    Router::new()
        .route(LIVEZ, get(livez))
        .route(READYZ, get(readyz))
        .with_state(probes)
}

async fn livez(State(probes): State<Probes>) -> (StatusCode, Json<Health>) {
    answer(probes.health(), |h| h.live)
}

async fn readyz(State(probes): State<Probes>) -> (StatusCode, Json<Health>) {
    answer(probes.health(), |h| h.ready)
}

/// 200 when `yes`, 503 when not; the health as the body either way.
fn answer(health: Health, yes: impl Fn(&Health) -> bool) -> (StatusCode, Json<Health>) {
    let status = if yes(&health) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health))
}

/// Serves the probes on `listener` until `stop` is cancelled.
pub async fn serve(listener: TcpListener, probes: Probes, stop: CancellationToken) {
    if let Err(error) = axum::serve(listener, router(probes))
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
    {
        tracing::warn!(%error, "the probe server stopped");
    }
}
