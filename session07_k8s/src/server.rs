//! The `api` command: the status API on a port, until SIGTERM.
//!
//! It binds first (a taken port is an error at once), answers liveness at once, connects
//! to Redis in the background (readiness says why it is not ready meanwhile), and on
//! SIGTERM stops accepting connections, lets the requests in flight finish within
//! `--shutdown-grace`, and exits 0. Kubernetes sends SIGTERM when it removes a pod, after
//! taking it out of the Service's endpoints; the grace covers the moment in between.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use session03_workers::cli::{seconds, shutdown_signal};
use session03_workers::logging::LogFormat;
use session04_redis::cli::QueueArgs;
use session05_distributed::worker::HeartbeatArgs;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::api;
use crate::routes::API_PORT;
use crate::state::{self, AppState};

/// How often the API retries Redis until it first answers.
const CONNECT_RETRY: Duration = Duration::from_secs(2);

/// Serves the read-only status API.
// ANCHOR: args
#[derive(Debug, Clone, clap::Args)]
pub struct ApiArgs {
    /// The address to listen on; `0.0.0.0:8080` in a container, so the Service reaches it.
    #[arg(long, value_name = "ADDR", env = "API_LISTEN", default_value_t = SocketAddr::from(([127, 0, 0, 1], API_PORT)))]
    pub listen: SocketAddr,
    /// Seconds the requests in flight get to finish after SIGTERM.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "API_SHUTDOWN_GRACE",
        default_value_t = 10.0
    )]
    pub shutdown_grace: f64,
    /// The queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// How the registry judges workers.
    #[command(flatten)]
    pub heartbeat: HeartbeatArgs,
    /// Log lines as human text or JSON.
    #[arg(long, value_enum, env = "LOG_FORMAT", default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}
// ANCHOR_END: args

/// Runs the API until SIGTERM or Ctrl-C.
pub async fn run(args: ApiArgs) -> Result<String> {
    let stop = shutdown_signal()?;
    let grace = seconds("shutdown-grace", args.shutdown_grace)?;
    let registry = args.heartbeat.config()?;
    args.queue.config()?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let state = Arc::new(AppState::default());
    let connecting = tokio::spawn(state::connect(
        Arc::clone(&state),
        args.queue.clone(),
        registry,
        CONNECT_RETRY,
    ));
    let served = serve(listener, state, stop, grace).await;
    connecting.abort();
    served
}

// ANCHOR: serve
/// Serves the API on `listener` until `stop` resolves, then lets requests in flight
/// finish within `grace`; the report says whether they all did.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    stop: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> Result<String> {
    let address = listener.local_addr()?;
    tracing::info!(%address, "status API listening");
    let stopping = CancellationToken::new();
    let server = axum::serve(listener, api::router(state))
        .with_graceful_shutdown(stopping.clone().cancelled_owned())
        .into_future();
    tokio::pin!(server);
    tokio::select! {
        served = &mut server => {
            served?;
            return Ok("status API stopped\n".to_owned());
        }
        () = stop => stopping.cancel(),
    }
    tracing::info!("shutting down: finishing the requests in flight");
    match tokio::time::timeout(grace, server).await {
        Ok(served) => {
            served?;
            Ok("status API stopped: every request finished\n".to_owned())
        }
        Err(_) => Ok(format!(
            "status API stopped: requests still open after {} s were cut\n",
            grace.as_secs_f64()
        )),
    }
}
// ANCHOR_END: serve
