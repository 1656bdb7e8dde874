//! The default command: the API and the page on `--bind`, until Ctrl-C or SIGTERM.
//!
//! Without `--redis`, the whole system runs in this process ([`Embedded`]); with it, the
//! API runs on that Redis's queue ([`Distributed`]), through session 07's server: it listens
//! at once, connects in the background, and reports readiness meanwhile. On a signal, the
//! requests in flight get `--shutdown-grace` to finish; in the embedded mode, so do the jobs
//! in hand, and the others go back to the queue.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{Args, FromArgMatches};
use session03_workers::cli::{seconds, shutdown_signal};
use session03_workers::logging::LogFormat;
use session07_k8s::server::{ApiArgs, run_on};
use tokio::net::TcpListener;

use crate::api;
use crate::app::App;
use crate::distributed::Distributed;
use crate::embedded::{Embedded, EmbeddedConfig};
use crate::limits::UploadLimits;

/// Serves the API and the page.
// ANCHOR: args
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The address to listen on; `0.0.0.0:8080` in a container.
    #[arg(long, value_name = "ADDR", env = "API_LISTEN", default_value_t = SocketAddr::from(([127, 0, 0, 1], 8080)))]
    pub bind: SocketAddr,
    /// Run on the Redis at this URL, with separate worker processes, instead of in this
    /// process. Session 04's variables (`QUEUE_NAMESPACE`, `REDIS_PASSWORD` ...) apply.
    /// Not `REDIS_URL`: a shell that sets it for the workers keeps this command embedded.
    #[arg(long, value_name = "URL", env = "API_REDIS_URL")]
    pub redis: Option<String>,
    /// The largest request body, in megabytes.
    #[arg(long, value_name = "MB", env = "MAX_UPLOAD_MB", default_value_t = 25.0)]
    pub max_upload: f64,
    /// The largest image, in megapixels.
    #[arg(
        long,
        value_name = "MP",
        env = "MAX_MEGAPIXELS",
        default_value_t = 50.0
    )]
    pub max_megapixels: f64,
    /// Embedded mode: worker tasks; one per CPU by default. Also the images
    /// `/api/process` works on at once, in both modes.
    #[arg(long, env = "EMBEDDED_WORKERS")]
    pub workers: Option<usize>,
    /// Embedded mode: the most jobs that may wait; one more is refused with 429.
    #[arg(long, env = "EMBEDDED_QUEUE_CAPACITY", default_value_t = 1000)]
    pub queue_capacity: usize,
    /// Seconds the jobs and requests in flight get after SIGTERM.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "API_SHUTDOWN_GRACE",
        default_value_t = 10.0
    )]
    pub shutdown_grace: f64,
    /// Log lines as human text or JSON.
    #[arg(long, value_enum, env = "LOG_FORMAT", default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}
// ANCHOR_END: args

impl ServeArgs {
    /// The limits on uploads.
    pub fn limits(&self) -> Result<UploadLimits> {
        let positive = |flag: &str, value: f64| {
            anyhow::ensure!(
                value.is_finite() && value > 0.0,
                "--{flag} must be a positive number, not {value}"
            );
            Ok(())
        };
        positive("max-upload", self.max_upload)?;
        positive("max-megapixels", self.max_megapixels)?;
        anyhow::ensure!(self.max_upload <= 1000.0, "--max-upload is at most 1000 MB");
        anyhow::ensure!(
            self.max_megapixels <= 1000.0,
            "--max-megapixels is at most 1000"
        );
        Ok(UploadLimits {
            max_body_bytes: (self.max_upload * 1e6) as usize,
            max_pixels: (self.max_megapixels * 1e6) as u64,
        })
    }

    /// The embedded system these flags ask for, or what is wrong with them.
    pub fn embedded(&self) -> Result<EmbeddedConfig> {
        anyhow::ensure!(
            self.queue_capacity > 0,
            "--queue-capacity must be at least 1"
        );
        anyhow::ensure!(self.workers != Some(0), "--workers must be at least 1");
        let defaults = EmbeddedConfig::default();
        Ok(EmbeddedConfig {
            workers: self.workers.unwrap_or(defaults.workers),
            queue_capacity: self.queue_capacity,
            limits: self.limits()?,
            ..defaults
        })
    }

    /// `--shutdown-grace`, as a duration.
    pub fn grace(&self) -> Result<Duration> {
        seconds("shutdown-grace", self.shutdown_grace)
    }

    /// Session 07's API flags for the distributed mode on `url`: the other queue and
    /// heartbeat settings come from their environment variables, as a worker's do.
    pub fn distributed(&self, url: &str) -> Result<ApiArgs> {
        let command = ApiArgs::augment_args(clap::Command::new("api"));
        let matches = command.try_get_matches_from([
            "api".to_owned(),
            format!("--redis-url={url}"),
            format!("--listen={}", self.bind),
            format!("--shutdown-grace={}", self.shutdown_grace),
        ])?;
        Ok(ApiArgs::from_arg_matches(&matches)?)
    }
}

/// Runs the API in the mode the flags choose, until a signal; the report says how it
/// stopped.
pub async fn run(args: ServeArgs) -> Result<String> {
    match args.redis.clone() {
        None => run_embedded(args).await,
        Some(url) => run_distributed(args, &url).await,
    }
}

// ANCHOR: embedded
/// The whole system in this process.
pub async fn run_embedded(args: ServeArgs) -> Result<String> {
    // Every flag checked before anything listens.
    let (config, grace) = (args.embedded()?, args.grace()?);
    let stop = shutdown_signal()?;
    let listener = TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    // The one line a person looks for: where to point the browser.
    eprintln!(
        "imgproc is serving on http://{}/ (Ctrl-C stops it)",
        listener.local_addr()?
    );
    serve_embedded(listener, config, grace, stop).await
}

/// The whole system in this process, on `listener`, until `stop` resolves; then the
/// requests and the jobs in flight get `grace`.
pub async fn serve_embedded(
    listener: TcpListener,
    config: EmbeddedConfig,
    grace: Duration,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<String> {
    let system = Arc::new(Embedded::start(config));
    let app = App::new(system.clone(), config.limits, config.workers);
    let router = api::router(Arc::new(with_this_program(app)));
    let served = session07_k8s::server::serve(listener, router, stop, grace).await?;
    let jobs = match system.shutdown(grace).await {
        Some(report) if report.clean => "every job in hand finished".to_owned(),
        Some(report) => format!(
            "{} jobs in hand did not finish within {} s",
            report.released,
            grace.as_secs_f64()
        ),
        None => "the workers had already stopped".to_owned(),
    };
    // The embedded queue lives in this process's memory: say what goes with it.
    let waiting = system.waiting().await;
    let dropped = if waiting == 0 {
        String::new()
    } else {
        format!("{waiting} jobs never started and end with the process (--redis keeps them)\n")
    };
    Ok(format!("API {served}workers: {jobs}\n{dropped}"))
}
// ANCHOR_END: embedded

/// The API on Redis: session 07's server with this session's routes.
pub async fn run_distributed(args: ServeArgs, url: &str) -> Result<String> {
    let limits = args.limits()?;
    let api = args.distributed(url)?;
    let max_blob = api.queue.max_blob_bytes;
    let slots = args.workers.unwrap_or(EmbeddedConfig::default().workers);
    let listener = TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    eprintln!(
        "imgproc is serving on http://{}/ on the queue at {} (Ctrl-C stops it)",
        listener.local_addr()?,
        api.queue.redis.display_url()
    );
    run_on(listener, api, move |state| {
        let backend = Arc::new(Distributed::new(state, max_blob));
        api::router(Arc::new(with_this_program(App::new(
            backend, limits, slots,
        ))))
    })
    .await
}

/// `app`, knowing this program for `/api/compare`'s `processes` strategy, when it can be
/// found.
fn with_this_program(app: App) -> App {
    match std::env::current_exe() {
        Ok(program) => app.with_program(program),
        Err(error) => {
            tracing::warn!(%error, "cannot find this program: /api/compare leaves out processes");
            app
        }
    }
}
