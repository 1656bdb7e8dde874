//! The `worker` command: session 03's [`WorkerPool`](session03_workers::WorkerPool) on the
//! Redis queue, until SIGTERM.
//!
//! Run as many as you like, on as many machines as can reach Redis; each is a consumer of
//! the same group, so each task goes to one of them, and a task whose worker dies goes to
//! another after its lease. On SIGTERM or Ctrl-C a worker stops taking tasks, finishes what
//! it holds (up to `--shutdown-grace`, then gives the rest back), and exits 0. The
//! process itself is a [`Runtime`]; a later session's worker composes onto it with
//! [`serve`].

use anyhow::Result;
use clap::ValueEnum;
use session03_workers::Capabilities;
use session03_workers::cli::shutdown_signal;
use session03_workers::logging::LogFormat;

use crate::cli::QueueArgs;
use crate::queue::WorkerName;
use crate::runtime::Runtime;

/// What a worker does with a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WorkerKind {
    /// Runs the task's pipeline on its image (the real work).
    Image,
    /// Acknowledges every task at once: measures the queue itself.
    Noop,
}

/// Takes tasks from the Redis queue and runs them until SIGTERM or Ctrl-C.
// ANCHOR: worker_args
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    /// The queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// A readable name for this worker: its id becomes NAME and 8 random hex digits, unique
    /// per start [default: the host's name and the process id].
    #[arg(long, value_name = "NAME", env = "WORKER_ID")]
    pub worker_id: Option<WorkerName>,
    /// Tasks run at once [default: the number of CPUs].
    #[arg(long, value_name = "N", env = "WORKER_CONCURRENCY")]
    pub concurrency: Option<usize>,
    /// The filters this worker runs: `all`, or names like `resize,blur,brightness`.
    #[arg(
        long,
        value_name = "FILTERS",
        env = "WORKER_CAPABILITIES",
        default_value = "all"
    )]
    pub capabilities: Capabilities,
    /// What the worker does with a task.
    #[arg(long, value_enum, env = "WORKER_KIND", default_value_t = WorkerKind::Image)]
    pub kind: WorkerKind,
    /// Seconds to pause before each task: slow work on purpose, for failure drills.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "WORKER_DELAY",
        default_value_t = 0.0
    )]
    pub delay: f64,
    /// Seconds a task may run before it counts as a worker failure.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "TASK_TIMEOUT",
        default_value_t = 300.0
    )]
    pub task_timeout: f64,
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
    /// Exit once the queue has nothing waiting or running (a batch job), instead of
    /// waiting for more.
    #[arg(long, env = "WORKER_DRAIN")]
    pub drain: bool,
    /// Log lines as text for people or JSON for machines.
    #[arg(long, value_enum, env = "LOG_FORMAT", default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}
// ANCHOR_END: worker_args

// ANCHOR: run
/// Runs the worker until a shutdown signal; the report is the pool's final statistics.
pub async fn run(args: WorkerArgs) -> Result<String> {
    serve(args, Ok).await
}

/// Opens the worker's [`Runtime`], lets `compose` add to it (a later session's layers and
/// side tasks), and runs it until SIGTERM or Ctrl-C.
pub async fn serve(
    args: WorkerArgs,
    compose: impl FnOnce(Runtime) -> Result<Runtime>,
) -> Result<String> {
    // Listen for signals first: a SIGTERM while connecting still shuts down cleanly.
    let signal = shutdown_signal()?;
    tokio::pin!(signal);
    let runtime = tokio::select! {
        opened = Runtime::open(&args) => opened?,
        () = &mut signal => return Ok("stopped before Redis answered\n".to_owned()),
    };
    let report = compose(runtime)?.run(signal).await;
    Ok(format!(
        "worker stopped{}: {} tasks processed, {} succeeded, {} failed, {} released\n",
        if report.clean {
            ""
        } else {
            " (deadline reached)"
        },
        report.stats.processed,
        report.stats.succeeded,
        report.stats.failed,
        report.released
    ))
}
// ANCHOR_END: run
