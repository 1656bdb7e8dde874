//! The `api` command: session 07's status API, plus `/metrics` with the queue's and the
//! workers' gauges, read from Redis at each scrape (absent when the reading fails).
//!
//! Session 07's [`run_with`] does the rest: the flags checked, the port bound, Redis
//! connected in the background, the requests in flight finished on SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use axum::Router;
use prometheus_client::registry::Registry;
use session03_workers::logging::LogFormat;
use session07_k8s::api;
use session07_k8s::server::{ApiArgs, run_with};
use session07_k8s::state::AppState;

use crate::telemetry::cluster::ClusterMetrics;
use crate::telemetry::{self, ProcessCollector};

/// How long a scrape waits for Redis before it answers `imgproc_redis_up 0`: well within
/// Prometheus's default scrape timeout (10 s).
pub const SCRAPE_DEADLINE: Duration = Duration::from_secs(2);

/// Serves the status API with metrics.
#[derive(Debug, Clone, clap::Args)]
pub struct MonitoredApiArgs {
    /// Session 07's API.
    #[command(flatten)]
    pub api: ApiArgs,
}

impl MonitoredApiArgs {
    /// How its logs are written.
    pub fn log_format(&self) -> LogFormat {
        self.api.log_format
    }
}

/// Runs the API until SIGTERM or Ctrl-C: session 07's, with `/metrics` beside its routes.
pub async fn run(args: MonitoredApiArgs) -> Result<String> {
    run_with(args.api, |state| {
        api::router(Arc::clone(&state)).merge(router(state))
    })
    .await
}

/// The API's `/metrics`: this process's CPU and memory, and the cluster's gauges read
/// from Redis at each scrape (one reading at a time; scrapes within
/// [`REUSE`](crate::telemetry::cluster::REUSE) of the last reading share it).
pub fn router(state: Arc<AppState>) -> Router {
    let mut registry = Registry::default();
    let cluster = ClusterMetrics::register(&mut registry);
    ProcessCollector::new().register(&mut registry);
    let registry = Arc::new(registry);
    telemetry::router(move || {
        let (state, cluster, registry) =
            (Arc::clone(&state), cluster.clone(), Arc::clone(&registry));
        async move {
            let connected = state.connected().ok();
            let redis = connected.map(|c| (&c.queue, &c.registry));
            cluster.refresh(redis, SCRAPE_DEADLINE).await;
            telemetry::encode(&registry)
        }
    })
}
