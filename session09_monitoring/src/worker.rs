//! The `worker` command: session 07's worker (registered, beating, probed), measured.
//!
//! Three additions, composed onto session 04's runtime like session 05's and 07's:
//!
//! - `/metrics` beside `/livez` and `/readyz`, on the probe port (`PROBE_LISTEN`): one
//!   port for the kubelet and Prometheus;
//! - a layer around the task runner ([`telemetry::tasks::instrument`]): durations, counts
//!   by filter, and a `task` span with the task's and the worker's ids on every log line
//!   the task writes (the pool's own lines name its slot); the task counter and the slot
//!   gauges are read from the pool's statistics at each scrape;
//! - a side task ([`published::publish`]): the process's CPU and memory and the recent
//!   tasks, for the dashboard.
//!
//! With `--probe-listen 127.0.0.1:0` the system picks a free port (several workers on one
//! machine); the worker logs it and publishes it, so the dashboard and the demo find it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use axum::Router;
use prometheus_client::registry::Registry;
use session03_workers::logging::LogFormat;
use session04_redis::worker::serve;
use session05_distributed::worker::compose;
use session07_k8s::probes::{self, Probes};
use session07_k8s::worker::ProbedWorkerArgs;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::published;
use crate::telemetry::tasks::{PoolSource, TaskMetrics, instrument};
use crate::telemetry::{self, ProcessCollector};

/// How long the HTTP server gets to close once the worker has stopped.
const SERVER_GRACE: Duration = Duration::from_secs(2);

/// Finished tasks waiting to be published: beyond that, the newest are dropped.
const RECENT_BACKLOG: usize = 64;

/// Runs a monitored worker.
#[derive(Debug, Clone, clap::Args)]
pub struct MonitoredWorkerArgs {
    /// Session 07's worker; `/metrics` listens beside its probes.
    #[command(flatten)]
    pub worker: ProbedWorkerArgs,
}

impl MonitoredWorkerArgs {
    /// How its logs are written.
    pub fn log_format(&self) -> LogFormat {
        self.worker.worker.worker.log_format
    }
}

/// Runs the worker until a shutdown signal; probes and metrics answer from start to exit.
pub async fn run(args: MonitoredWorkerArgs) -> Result<String> {
    let args = args.worker;
    let heartbeat = args.worker.heartbeat.config()?;
    let folder = args.worker.folder.open()?;
    let listener = TcpListener::bind(args.probe_listen)
        .await
        .with_context(|| format!("cannot listen for probes on {}", args.probe_listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "probes and metrics listening");
    let pool = PoolSource::default();
    let mut registry = Registry::default();
    let metrics = TaskMetrics::register(&mut registry, Arc::clone(&pool));
    ProcessCollector::new().register(&mut registry);
    let probes = Probes::default();
    let stop = CancellationToken::new();
    let routes = probes::router(probes.clone()).merge(metrics_router(Arc::new(registry)));
    let server = tokio::spawn(serve_http(listener, routes, stop.clone()));
    // ANCHOR: compose
    let (recent, finished) = mpsc::channel(RECENT_BACKLOG);
    let report = serve(args.worker.worker, |runtime| {
        let runtime = compose(runtime, heartbeat, folder)
            .wrap(|inner, context| instrument(inner, metrics, context.id(), Some(recent)))
            .beside(move |context, stats, done| {
                let _ = pool.set(stats);
                let every = heartbeat.interval;
                published::publish(context, address.to_string(), finished, every, done)
            });
        Ok(probes::attach(runtime, probes))
    })
    .await;
    // ANCHOR_END: compose
    stop.cancel();
    // A connection left open must not hold the exit.
    if tokio::time::timeout(SERVER_GRACE, server).await.is_err() {
        tracing::warn!("the probe and metrics server had connections open at exit");
    }
    report
}

/// `/metrics`: the registry, the pool's counts read as it is written.
fn metrics_router(registry: Arc<Registry>) -> Router {
    telemetry::router(move || {
        let text = telemetry::encode(&registry);
        async move { text }
    })
}

/// Serves `routes` on `listener` until `stop` is cancelled.
async fn serve_http(listener: TcpListener, routes: Router, stop: CancellationToken) {
    if let Err(error) = axum::serve(listener, routes)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
    {
        tracing::warn!(%error, "the probe and metrics server stopped");
    }
}
