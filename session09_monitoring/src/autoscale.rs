//! The `autoscale` command: session 08's autoscaler, with `/metrics` on a port of its own
//! (`--metrics-listen`): the workers it runs, the workers it wants, and its decisions.
//!
//! Its children are this binary's `worker`, each with a probe and metrics port. On one
//! machine they cannot all take 8081: unless `PROBE_LISTEN` says otherwise, each child
//! gets `127.0.0.1:0` (a free port, which it publishes for the dashboard). A child inherits
//! its parent's environment, and a running program cannot safely change its own (other
//! threads may read it), so the command starts itself again, once, with that variable set
//! ([`free_probe_ports`]): `exec` replaces the process, keeping its id, before any child
//! exists.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use prometheus_client::registry::Registry;
use session03_workers::logging::LogFormat;
use session08_scaling::autoscale::{Autoscale, AutoscaleArgs};
use session08_scaling::timeline::{self, TimelineRow};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::telemetry::scaler::ScalerMetrics;
use crate::telemetry::{self, ProcessCollector};

/// The variable the workers read their probe address from.
pub const PROBE_LISTEN: &str = "PROBE_LISTEN";

/// The probe address each child gets unless `PROBE_LISTEN` is set: any free port.
pub const CHILD_PROBE_LISTEN: &str = "127.0.0.1:0";

/// The autoscaler's metrics port.
pub const METRICS_PORT: u16 = 8082;

/// How long the metrics server gets to close at the end.
const SERVER_GRACE: Duration = Duration::from_secs(2);

/// Scales workers, with metrics.
#[derive(Debug, Clone, clap::Args)]
pub struct MonitoredAutoscaleArgs {
    /// Session 08's autoscaler.
    #[command(flatten)]
    pub autoscale: AutoscaleArgs,
    /// Where its `/metrics` listens.
    #[arg(long, value_name = "ADDR", env = "AUTOSCALER_METRICS_LISTEN", default_value_t = SocketAddr::from(([127, 0, 0, 1], METRICS_PORT)))]
    pub metrics_listen: SocketAddr,
}

impl MonitoredAutoscaleArgs {
    /// How its logs are written.
    pub fn log_format(&self) -> LogFormat {
        self.autoscale.log_format
    }
}

/// Makes sure the children get a free probe port: unless `PROBE_LISTEN` is set, starts
/// `program` again, with the same arguments and `PROBE_LISTEN=127.0.0.1:0`, in place of
/// this process. Call it first thing in the `autoscale` command: it returns only when the
/// variable is set (or with the error that kept `program` from starting).
pub fn free_probe_ports(program: &Path) -> Result<()> {
    if std::env::var_os(PROBE_LISTEN).is_some() {
        return Ok(());
    }
    let error = std::process::Command::new(program)
        .args(std::env::args_os().skip(1))
        .env(PROBE_LISTEN, CHILD_PROBE_LISTEN)
        .exec();
    Err(error).with_context(|| format!("cannot restart {}", program.display()))
}

/// Runs the autoscaler with workers run as `program worker ...`, until Ctrl-C, SIGTERM or
/// `--for`; then every worker is drained and the timeline written. The workers inherit
/// this process's `PROBE_LISTEN` ([`free_probe_ports`]).
pub async fn run(args: MonitoredAutoscaleArgs, program: &Path) -> Result<String> {
    let listener = TcpListener::bind(args.metrics_listen)
        .await
        .with_context(|| format!("cannot listen for metrics on {}", args.metrics_listen))?;
    tracing::info!(address = %listener.local_addr()?, "metrics listening");
    let mut registry = Registry::default();
    let metrics = ScalerMetrics::register(&mut registry);
    ProcessCollector::new().register(&mut registry);
    let registry = Arc::new(registry);
    let routes = telemetry::router(move || {
        let text = telemetry::encode(&registry);
        async move { text }
    });
    let stop = CancellationToken::new();
    let server = tokio::spawn(
        axum::serve(listener, routes)
            .with_graceful_shutdown(stop.clone().cancelled_owned())
            .into_future(),
    );

    let args = args.autoscale;
    let mut autoscale = Autoscale::start(&args, program).await?;
    let limit = autoscale.settings().limit;
    // ANCHOR: record
    let ended = autoscale
        .run_until(limit, |autoscale| {
            if let Some(decision) = autoscale.decisions().back() {
                let workers = autoscale.supervisor();
                metrics.record(decision, workers.serving(), workers.replaced());
            }
            false
        })
        .await;
    // ANCHOR_END: record
    autoscale.shutdown().await;
    stop.cancel();
    if tokio::time::timeout(SERVER_GRACE, server).await.is_err() {
        tracing::warn!("the metrics server had connections open at exit");
    }
    let rows: Vec<TimelineRow> = autoscale.timeline().iter().copied().collect();
    if let Some(path) = &args.timeline {
        timeline::write_csv(path, &rows)?;
    }
    if let Some(path) = &args.plot {
        timeline::draw_png(path, &rows)?;
    }
    ended?;
    Ok(autoscale.report())
}
