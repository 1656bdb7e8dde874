//! The `api` command: the status API on a port, until SIGTERM.
//!
//! It binds first (a taken port is an error at once), answers liveness at once, connects
//! to Redis in the background (readiness says why it is not ready meanwhile), and on
//! SIGTERM stops accepting connections and lets the requests in flight finish within
//! `--shutdown-grace`, then exits 0. When Kubernetes deletes a pod, it sends SIGTERM (after
//! the `preStop` hook) while, at the same time, the pod is taken out of the Service's
//! endpoints; for a moment both happen, and the `preStop` sleep covers it, so no new
//! request reaches a server that has stopped accepting.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use session03_workers::cli::{seconds, shutdown_signal};
use session03_workers::logging::LogFormat;
use session04_redis::cli::QueueArgs;
use session05_distributed::worker::HeartbeatArgs;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::api;
use crate::error::ApiError;
use crate::routes::API_PORT;
use crate::state::{self, AppState};
use crate::throughput::SAMPLE_EVERY;

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

/// Runs the API until SIGTERM or Ctrl-C; fails early on a malformed `REDIS_URL`, and
/// later if Redis refuses the password (waiting would not fix either).
pub async fn run(args: ApiArgs) -> Result<String> {
    run_with(args, api::router).await
}

/// Runs the API with the routes `routes` makes from its state (later sessions add theirs
/// to [`api::router`]'s), as [`run`] does.
pub async fn run_with(
    args: ApiArgs,
    routes: impl FnOnce(Arc<AppState>) -> Router,
) -> Result<String> {
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    run_on(listener, args, routes).await
}

/// [`run_with`] on a listener already bound (`args.listen` is then not used): for a
/// caller that must know the address before serving, as when it binds port 0.
pub async fn run_on(
    listener: TcpListener,
    args: ApiArgs,
    routes: impl FnOnce(Arc<AppState>) -> Router,
) -> Result<String> {
    let stop = shutdown_signal()?;
    let grace = seconds("shutdown-grace", args.shutdown_grace)?;
    let registry = args.heartbeat.config()?;
    args.queue.config()?;
    args.queue
        .redis
        .client()
        .with_context(|| format!("invalid REDIS_URL {}", args.queue.redis.display_url()))?;
    let state = Arc::new(AppState::default());
    let background = {
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            state::connect(Arc::clone(&state), args.queue, registry, CONNECT_RETRY).await?;
            state.sample_throughput(SAMPLE_EVERY).await;
            anyhow::Ok(())
        })
    };
    let server = serve(listener, routes(state), stop, grace);
    tokio::pin!(server);
    let mut background = std::pin::pin!(background);
    let served = tokio::select! {
        served = &mut server => served,
        joined = &mut background => {
            joined??;
            // Sampling never ends; should it, the server goes on without it.
            server.await
        }
    };
    background.abort();
    served.map(|report| format!("status API {report}"))
}

// ANCHOR: serve
/// Serves `router` on `listener`, with JSON answers for unknown paths and methods, until
/// `stop` resolves; then stops accepting and lets requests in flight finish within
/// `grace`. The report says whether they all did.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    stop: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> Result<String> {
    let address = listener.local_addr()?;
    tracing::info!(%address, "listening");
    let router = router
        .fallback(|| async { ApiError::NotFound("no such route".to_owned()) })
        .method_not_allowed_fallback(|| async {
            ApiError::MethodNotAllowed(
                "this route does not answer this method (the Allow header lists those it does)"
                    .to_owned(),
            )
        });
    let stopping = CancellationToken::new();
    let server = axum::serve(listener, router)
        .with_graceful_shutdown(stopping.clone().cancelled_owned())
        .into_future();
    tokio::pin!(server);
    tokio::select! {
        served = &mut server => {
            served?;
            return Ok("stopped\n".to_owned());
        }
        () = stop => stopping.cancel(),
    }
    tracing::info!("shutting down: finishing the requests in flight");
    match tokio::time::timeout(grace, server).await {
        Ok(served) => {
            served?;
            Ok("stopped: every request in flight finished\n".to_owned())
        }
        // Each connection is a task of its own: it ends when the process does.
        Err(_) => Ok(format!(
            "stopped: requests still open after {} s were left to end with the process\n",
            grace.as_secs_f64()
        )),
    }
}
// ANCHOR_END: serve
