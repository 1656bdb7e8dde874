//! The `serve` command (the default): the whole system in this process, its API and page on
//! `--bind`, until Ctrl-C or SIGTERM; then the requests in flight and the jobs in hand get
//! `--shutdown-grace` to finish, and the jobs not started stay in the queue's record.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use session03_workers::cli::{seconds, shutdown_signal};
use session03_workers::logging::LogFormat;
use tokio::net::TcpListener;

use crate::api;
use crate::limits::UploadLimits;
use crate::system::{System, SystemConfig};

/// Serves the API and the page.
// ANCHOR: args
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", env = "BIND", default_value_t = SocketAddr::from(([127, 0, 0, 1], 8080)))]
    pub bind: SocketAddr,
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
    /// Worker tasks; one per CPU by default.
    #[arg(long, env = "WORKERS")]
    pub workers: Option<usize>,
    /// The most jobs that may wait; one more is refused with 429.
    #[arg(long, env = "QUEUE_CAPACITY", default_value_t = 1000)]
    pub queue_capacity: usize,
    /// Seconds the jobs and requests in flight get after SIGTERM.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "SHUTDOWN_GRACE",
        default_value_t = 10.0
    )]
    pub shutdown_grace: f64,
    /// Log lines as human text or JSON.
    #[arg(long, value_enum, env = "LOG_FORMAT", default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}
// ANCHOR_END: args

impl ServeArgs {
    /// The system these flags ask for, or what is wrong with them.
    pub fn config(&self) -> Result<SystemConfig> {
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
            self.queue_capacity > 0,
            "--queue-capacity must be at least 1"
        );
        anyhow::ensure!(self.workers != Some(0), "--workers must be at least 1");
        let defaults = SystemConfig::default();
        Ok(SystemConfig {
            workers: self.workers.unwrap_or(defaults.workers),
            queue_capacity: self.queue_capacity,
            limits: UploadLimits {
                max_body_bytes: (self.max_upload * 1e6) as usize,
                max_pixels: (self.max_megapixels * 1e6) as u64,
            },
            ..defaults
        })
    }
}

// ANCHOR: run
/// Runs the embedded system until a signal; the report says how it stopped.
pub async fn run(args: ServeArgs) -> Result<String> {
    let config = args.config()?;
    let grace = seconds("shutdown-grace", args.shutdown_grace)?;
    let stop = shutdown_signal()?;
    let listener = TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let address = listener.local_addr()?;
    let system = Arc::new(System::start(config));
    // The one line a person looks for: where to point the browser.
    eprintln!("imgproc is serving on http://{address}/ (Ctrl-C stops it)");
    let served =
        session07_k8s::server::serve(listener, api::router(Arc::clone(&system)), stop, grace)
            .await?;
    let jobs = match system.shutdown(grace).await {
        Some(report) if report.clean => "every job in hand finished".to_owned(),
        Some(report) => format!("{} jobs in hand went back to the queue", report.released),
        None => "the workers had already stopped".to_owned(),
    };
    Ok(format!("API {}workers: {jobs}\n", served))
}
// ANCHOR_END: run
