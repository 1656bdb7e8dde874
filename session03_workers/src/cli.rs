//! The command line: the binary's flags and commands (clap's derive API), and what the
//! workers' binaries share at their edges: durations from flags, result keys that do not
//! collide, the signals that start a graceful shutdown, and running a command with logs.

use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use session01_image_basics::cli::finish;

use crate::blob::BlobKey;
use crate::logging::{self, LogFormat};
use crate::queue::{Backoff, MAX_LEASE};

/// A pool of workers on an in-memory task queue: the course's third session.
///
/// Without a command, processes the bundled photos (or --input) with a pipeline and prints
/// every task's outcome and the pool's statistics.
// ANCHOR: cli
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli {
    /// A command; without one, the demo.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Worker slots: tasks processed at once [default: the number of CPUs].
    #[arg(long, value_name = "N", env = "WORKERS")]
    pub workers: Option<usize>,
    /// The pipeline every image goes through, as text or JSON.
    #[arg(long, value_name = "SPEC", env = "PIPELINE", default_value = DEFAULT_PIPELINE)]
    pub pipeline: String,
    /// Image files or folders [default: the bundled photos].
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// Where the blob store keeps inputs and results.
    #[arg(
        long,
        value_name = "DIR",
        env = "OUTPUT_DIR",
        default_value = "output/session03"
    )]
    pub output_dir: PathBuf,
    /// Log lines as text for people or JSON for machines.
    #[arg(long, value_enum, env = "LOG_FORMAT", default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// Seconds a task may run before it counts as a worker failure.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "TASK_TIMEOUT",
        default_value_t = 300.0
    )]
    pub task_timeout: f64,
    /// Seconds a reserved task stays with its worker without a renewal.
    #[arg(long, value_name = "SECONDS", env = "LEASE", default_value_t = 30.0)]
    pub lease: f64,
    /// Attempts before worker failures make a task dead.
    #[arg(long, value_name = "N", env = "MAX_ATTEMPTS", default_value_t = 3)]
    pub max_attempts: u32,
    /// The most tasks that may wait in the queue.
    #[arg(long, value_name = "N", env = "QUEUE_CAPACITY", default_value_t = 1000)]
    pub capacity: usize,
    /// How long a retry waits.
    #[command(flatten)]
    pub retry: RetryArgs,
    /// Seconds running tasks get to finish at shutdown before they go back to the queue.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "SHUTDOWN_GRACE",
        default_value_t = 30.0
    )]
    pub shutdown_grace: f64,
    /// Refuse images with more pixels than this.
    #[arg(
        long,
        value_name = "N",
        env = "IMAGE_MAX_MEGAPIXELS",
        default_value_t = 50.0
    )]
    pub max_megapixels: f64,
    /// Print the final report as JSON (every task's record, and the statistics).
    #[arg(long)]
    pub json: bool,
}
// ANCHOR_END: cli

/// The session's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Push no-op tasks through the queue and the pool, and report tasks per second.
    Bench {
        /// No-op tasks to push through.
        #[arg(long, value_name = "N", default_value_t = 200_000)]
        tasks: usize,
        /// Worker slots.
        #[arg(long, value_name = "N", default_value_t = 2)]
        workers: usize,
        /// Threads of the async runtime.
        #[arg(long, value_name = "N", default_value_t = 2)]
        threads: usize,
        /// As JSON, for programs.
        #[arg(long)]
        json: bool,
    },
}

/// The demo's pipeline: a size every photo shares, a blur, and edges.
pub const DEFAULT_PIPELINE: &str = "resize:width=800|blur:sigma=2|edges";

/// A duration from a flag in seconds, refusing zero, negative, non-finite and values over a
/// day.
pub fn seconds(flag: &str, value: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero() && *d <= MAX_LEASE)
        .with_context(|| {
            format!(
                "--{flag} must be a positive number of seconds up to {}, got {value}",
                MAX_LEASE.as_secs()
            )
        })
}

/// How long a task waits after a worker failure: the flags every queue's command takes.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct RetryArgs {
    /// Seconds a task waits after its first worker failure; doubles with each further one,
    /// up to --retry-backoff-max, half of it random (0 retries at once).
    #[arg(
        long,
        value_name = "SECONDS",
        env = "RETRY_BACKOFF",
        default_value_t = 0.5
    )]
    pub retry_backoff: f64,
    /// The longest wait between two attempts, in seconds (0 for no cap).
    #[arg(
        long,
        value_name = "SECONDS",
        env = "RETRY_BACKOFF_MAX",
        default_value_t = 30.0
    )]
    pub retry_backoff_max: f64,
}

impl RetryArgs {
    /// The backoff, checked: a base of 0 retries at once, a cap of 0 is no cap.
    pub fn backoff(&self) -> Result<Backoff> {
        let optional = |flag: &str, value: f64| {
            if value == 0.0 {
                Ok(None)
            } else {
                seconds(flag, value).map(Some)
            }
        };
        Ok(Backoff {
            base: optional("retry-backoff", self.retry_backoff)?.unwrap_or_default(),
            max: optional("retry-backoff-max", self.retry_backoff_max)?.unwrap_or(Duration::MAX),
        })
    }
}

/// A key `prefix/stem.extension` that no earlier call with the same `used` returned:
/// `stem`, then `stem-2`, `stem-3` ... Characters a key cannot hold become `_` (see
/// [`BlobKey::for_file`]) before the names are compared, so `a b` and `a_b` get two keys.
pub fn unique_key(
    prefix: &str,
    stem: &str,
    extension: &str,
    used: &mut HashSet<String>,
) -> Result<BlobKey> {
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("{stem}.{extension}")
        } else {
            format!("{stem}-{n}.{extension}")
        };
        let key = BlobKey::for_file(prefix, &name)?;
        if used.insert(key.as_str().to_owned()) {
            return Ok(key);
        }
        n += 1;
    }
}

/// Resolves on Ctrl-C or SIGTERM (what `docker stop` and Kubernetes send). The handlers
/// are installed before this returns, so a signal at any later moment shuts down gracefully
/// instead of killing the process.
pub fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?;
        let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = tx.send(());
            }
        });
        Ok(async move {
            let _ = rx.await;
        })
    }
}

/// Runs `command` on a multi-threaded tokio runtime with logs in `format` on stderr, and
/// turns its outcome into an exit code (the report on stdout, or the error on stderr).
pub fn run<F>(format: LogFormat, command: F) -> ExitCode
where
    F: Future<Output = Result<String>>,
{
    let outcome = logging::init(format).and_then(|()| {
        let runtime = tokio::runtime::Runtime::new()?;
        runtime.block_on(command)
    });
    finish(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_keys_differ_once_cleaned() {
        let mut used = HashSet::new();
        let keys: Vec<String> = ["a", "a", "a b", "a_b", "a"]
            .into_iter()
            .map(|stem| {
                unique_key("in", stem, "png", &mut used)
                    .unwrap()
                    .as_str()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            keys,
            [
                "in/a.png",
                "in/a-2.png",
                "in/a_b.png",
                "in/a_b-2.png",
                "in/a-3.png"
            ]
        );
    }
}
