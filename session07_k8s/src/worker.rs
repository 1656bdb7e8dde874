//! The `worker` command, as a Kubernetes pod runs it: session 05's worker (registered,
//! beating, able to run tiled jobs) with its health on a probe port instead of in a file.
//!
//! The probe port listens before Redis is tried, so the startup probe sees the worker
//! start; on SIGTERM (a pod being deleted, a rolling update) readiness turns false at once,
//! the tasks in hand finish within `--shutdown-grace`, and the process exits 0. The pod's
//! `terminationGracePeriodSeconds` must be longer than that grace, or the kubelet's SIGKILL
//! cuts the drain short.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, Result};
use session04_redis::worker::serve;
use session05_distributed::worker::{DistributedWorkerArgs, compose};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::probes::{self, Probes};
use crate::routes::PROBE_PORT;

/// How long the probe server gets to close once the worker has stopped.
const PROBES_GRACE: Duration = Duration::from_secs(2);

/// Runs a registered worker with HTTP probes, until SIGTERM or Ctrl-C.
// ANCHOR: args
#[derive(Debug, Clone, clap::Args)]
pub struct ProbedWorkerArgs {
    /// Session 05's worker: queue, concurrency, capabilities, heartbeat, grace.
    #[command(flatten)]
    pub worker: DistributedWorkerArgs,
    /// Where `/livez` and `/readyz` listen; `0.0.0.0:8081` in a pod, so the kubelet
    /// reaches them.
    #[arg(long, value_name = "ADDR", env = "PROBE_LISTEN", default_value_t = SocketAddr::from(([127, 0, 0, 1], PROBE_PORT)))]
    pub probe_listen: SocketAddr,
}
// ANCHOR_END: args

// ANCHOR: run
/// Runs the worker until a shutdown signal; the probes answer from start to exit.
pub async fn run(args: ProbedWorkerArgs) -> Result<String> {
    let heartbeat = args.worker.heartbeat.config()?;
    let folder = args.worker.folder.open()?;
    let listener = TcpListener::bind(args.probe_listen)
        .await
        .with_context(|| format!("cannot listen for probes on {}", args.probe_listen))?;
    tracing::info!(address = %listener.local_addr()?, "probes listening");
    let probes = Probes::default();
    let stop = CancellationToken::new();
    let server = tokio::spawn(probes::serve(listener, probes.clone(), stop.clone()));
    let report = serve(args.worker.worker, |runtime| {
        Ok(probes::attach(compose(runtime, heartbeat, folder), probes))
    })
    .await;
    stop.cancel();
    // A probe connection left open must not hold the exit.
    if tokio::time::timeout(PROBES_GRACE, server).await.is_err() {
        tracing::warn!("the probe server had connections open at exit");
    }
    report
}
// ANCHOR_END: run
