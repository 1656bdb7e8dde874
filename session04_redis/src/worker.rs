//! The `worker` command: session 03's [`WorkerPool`] on the Redis queue, until SIGTERM.
//!
//! Run as many as you like, on as many machines as can reach Redis; each is a consumer of
//! the same group, so each task goes to one of them, and a task whose worker dies goes to
//! another after its lease. On SIGTERM or Ctrl-C a worker stops taking tasks, finishes what
//! it holds (up to `--shutdown-grace`, then gives the rest back), and exits 0.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use async_trait::async_trait;
use clap::ValueEnum;
use session01_image_basics::cli::limits;
use session03_workers::cli::{seconds, shutdown_signal};
use session03_workers::logging::LogFormat;
use session03_workers::queue::wait_idle;
use session03_workers::{
    Capabilities, ImageWorker, NoopWorker, PoolConfig, StatsHandle, Task, TaskError, Worker,
    WorkerPool,
};
use tokio::task::JoinHandle;
use tracing::info;

use crate::cli::QueueArgs;
use crate::{RedisBlobStore, RedisQueue};

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

/// A worker that waits before each task, so a drill can kill it mid-task.
struct Delayed {
    inner: Arc<dyn Worker>,
    delay: Duration,
}

#[async_trait]
impl Worker for Delayed {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn process(&self, task: &Task) -> Result<(), TaskError> {
        tokio::time::sleep(self.delay).await;
        self.inner.process(task).await
    }
}

/// What a later session adds to this worker without copying it: a wrapper around each
/// task's work, and a task of its own that runs beside the pool (a heartbeat, say).
pub trait Companion: Send + 'static {
    /// Wraps the worker that runs each task, which reads and writes `blobs` and takes its
    /// tasks from `queue`; the default leaves it as it is.
    fn wrap(
        &mut self,
        worker: Arc<dyn Worker>,
        queue: &Arc<RedisQueue>,
        blobs: &Arc<RedisBlobStore>,
    ) -> Arc<dyn Worker> {
        let _ = (queue, blobs);
        worker
    }

    /// Starts the companion once the pool runs; it is aborted after the pool has shut down
    /// and the consumer is retired, and `stopped` is then awaited.
    fn start(&mut self, queue: Arc<RedisQueue>, stats: StatsHandle) -> JoinHandle<()>;

    /// Called once the pool has stopped and the consumer is retired.
    fn stopped(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async {})
    }
}

/// Runs the worker until a shutdown signal; the report is the pool's final statistics.
pub async fn run(args: WorkerArgs) -> Result<String> {
    run_with(args, None).await
}

// ANCHOR: run
/// Runs the worker, with a `companion` if one is given, until a shutdown signal.
pub async fn run_with(
    args: WorkerArgs,
    mut companion: Option<Box<dyn Companion>>,
) -> Result<String> {
    // Listen for signals first: a SIGTERM while connecting still shuts down cleanly.
    let signal = shutdown_signal()?;
    tokio::pin!(signal);
    let config = PoolConfig {
        workers: args
            .concurrency
            .unwrap_or_else(|| PoolConfig::default().workers)
            .max(1),
        task_timeout: seconds("task-timeout", args.task_timeout)?,
        ..PoolConfig::default()
    };
    let grace = seconds("shutdown-grace", args.shutdown_grace)?;
    let limits = limits(args.max_megapixels)?;
    anyhow::ensure!(
        args.delay.is_finite() && args.delay >= 0.0,
        "--delay must be zero or a positive number of seconds, got {}",
        args.delay
    );
    let opened = tokio::select! {
        opened = args.queue.open() => opened?,
        () = &mut signal => return Ok("stopped before Redis answered\n".to_owned()),
    };
    let (queue, blobs) = opened;
    let queue = Arc::new(queue);
    let mut worker: Arc<dyn Worker> = match args.kind {
        WorkerKind::Image => Arc::new(
            ImageWorker::new(blobs.clone(), limits).with_capabilities(args.capabilities.clone()),
        ),
        WorkerKind::Noop => Arc::new(NoopWorker),
    };
    if args.delay > 0.0 {
        worker = Arc::new(Delayed {
            inner: worker,
            delay: Duration::from_secs_f64(args.delay),
        });
    }
    if let Some(companion) = &mut companion {
        worker = companion.wrap(worker, &queue, &blobs);
    }
    info!(
        consumer = queue.consumer(),
        concurrency = config.workers,
        capabilities = %args.capabilities,
        "worker ready"
    );
    let pool = WorkerPool::start(queue.clone(), worker, config);
    let beside = companion
        .as_mut()
        .map(|c| c.start(Arc::clone(&queue), pool.stats_handle()));
    if args.drain {
        tokio::select! {
            () = &mut signal => {}
            idle = wait_idle(&*queue, Duration::from_millis(200)) => {
                idle?;
                info!("the queue is empty");
            }
        }
    } else {
        signal.await;
    }
    info!("shutting down: finishing the tasks in hand");
    let report = pool.shutdown(grace).await;
    if let Err(error) = queue.retire().await {
        tracing::warn!(%error, "could not remove this worker's consumer from the group");
    }
    if let Some(beside) = beside {
        beside.abort();
        let _ = beside.await;
    }
    if let Some(companion) = &mut companion {
        companion.stopped().await;
    }
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
