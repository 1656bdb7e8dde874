//! The worker runtime: what a worker process is made of, and how later sessions add to it
//! without editing this file.
//!
//! [`Runtime::open`] turns the `worker` command's flags into a [`Context`] (the queue, the
//! blob store, the concurrency, the decoding limits, the worker's identity and a
//! cancellation token) and a task runner. Before [`Runtime::run`], two kinds of additions
//! compose onto it, as layers do in tower or axum:
//!
//! - [`Runtime::wrap`] wraps the task runner (a layer around every task: tracking, a
//!   different way to run some tasks);
//! - [`Runtime::beside`] adds a side task that runs beside the pool (a heartbeat, a health
//!   or metrics server) and stops with it.
//!
//! Session 05 adds its heartbeat and its tiled jobs this way; later sessions add their
//! servers the same way.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use async_trait::async_trait;
use session01_image_basics::Limits;
use session01_image_basics::cli::limits;
use session03_workers::cli::seconds;
use session03_workers::queue::wait_idle;
use session03_workers::{
    Capabilities, ImageWorker, NoopWorker, PoolConfig, ShutdownReport, StatsHandle, Task,
    TaskError, Worker, WorkerPool,
};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::worker::{WorkerArgs, WorkerKind};
use crate::{RedisBlobStore, RedisQueue};

/// How long side tasks get to finish once the pool has stopped, before they are aborted.
pub const SIDE_TASK_GRACE: Duration = Duration::from_secs(5);

/// What a worker process has, shared by its task runner and its side tasks.
#[derive(Debug, Clone)]
pub struct Context {
    /// The queue the pool takes tasks from.
    pub queue: Arc<RedisQueue>,
    /// Where images and results are.
    pub blobs: Arc<RedisBlobStore>,
    /// Tasks run at once.
    pub concurrency: usize,
    /// The decoding limits.
    pub limits: Limits,
    /// The filters this worker runs: what the queue routes to it.
    pub capabilities: Capabilities,
    /// Cancelled when the worker begins to stop (a signal, or a drained queue): it takes
    /// no new task from then on, and finishes those it holds.
    pub stopping: CancellationToken,
}

impl Context {
    /// The worker's identity: its consumer name in the queue, unique per start.
    pub fn id(&self) -> &str {
        self.queue.consumer()
    }
}

/// A side task, not yet started: it gets the context, the pool's statistics, and a token
/// cancelled once the pool has stopped.
type SideTask = Box<
    dyn FnOnce(Context, StatsHandle, CancellationToken) -> Pin<Box<dyn Future<Output = ()> + Send>>
        + Send,
>;

/// A worker process, ready to run: its context, its task runner and its side tasks.
// ANCHOR: runtime
pub struct Runtime {
    context: Context,
    worker: Arc<dyn Worker>,
    pool: PoolConfig,
    grace: Duration,
    drain: bool,
    beside: Vec<SideTask>,
}

impl Runtime {
    /// Checks the flags, connects to Redis (waiting for it) and builds the task runner
    /// the flags ask for.
    pub async fn open(args: &WorkerArgs) -> Result<Self> {
        let pool = PoolConfig {
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
        let (queue, blobs) = args.queue.open_as(args.worker_id.as_ref()).await?;
        let mut worker: Arc<dyn Worker> = match args.kind {
            WorkerKind::Image => Arc::new(
                ImageWorker::new(blobs.clone(), limits)
                    .with_capabilities(args.capabilities.clone()),
            ),
            WorkerKind::Noop => Arc::new(NoopWorker),
        };
        if args.delay > 0.0 {
            worker = Arc::new(Delayed {
                inner: worker,
                delay: Duration::from_secs_f64(args.delay),
            });
        }
        Ok(Self {
            context: Context {
                queue: Arc::new(queue),
                blobs,
                concurrency: pool.workers,
                limits,
                capabilities: worker.capabilities(),
                stopping: CancellationToken::new(),
            },
            worker,
            pool,
            grace,
            drain: args.drain,
            beside: Vec::new(),
        })
    }

    /// The context every addition shares.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// Wraps the task runner: `layer` gets the current runner and returns the one the pool
    /// will use (which usually calls the one it got).
    #[must_use]
    pub fn wrap(
        mut self,
        layer: impl FnOnce(Arc<dyn Worker>, &Context) -> Arc<dyn Worker>,
    ) -> Self {
        self.worker = layer(self.worker, &self.context);
        self
    }

    /// Adds a side task, started once the pool runs. Its token is cancelled after the
    /// pool has stopped and the worker has left the queue; it then has
    /// [`SIDE_TASK_GRACE`] to end (a last word to Redis, say) before it is aborted.
    #[must_use]
    pub fn beside<F, Fut>(mut self, task: F) -> Self
    where
        F: FnOnce(Context, StatsHandle, CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.beside.push(Box::new(move |context, stats, done| {
            Box::pin(task(context, stats, done))
        }));
        self
    }

    /// Runs the pool and the side tasks until `stop` resolves (or, with `--drain`, until
    /// the queue is idle); then stops taking tasks, finishes those in hand within the
    /// grace period, leaves the queue's group, and stops the side tasks.
    pub async fn run(self, stop: impl Future<Output = ()>) -> ShutdownReport {
        let Self {
            context,
            worker,
            pool,
            grace,
            drain,
            beside,
        } = self;
        info!(
            consumer = context.id(),
            concurrency = context.concurrency,
            capabilities = %context.capabilities,
            "worker ready"
        );
        let queue = Arc::clone(&context.queue);
        let pool = WorkerPool::start(queue.clone(), worker, pool);
        let done = CancellationToken::new();
        let mut side = JoinSet::new();
        for task in beside {
            side.spawn(task(context.clone(), pool.stats_handle(), done.clone()));
        }
        if drain {
            tokio::select! {
                () = stop => {}
                idle = wait_idle(&*queue, Duration::from_millis(200)) => match idle {
                    Ok(()) => info!("the queue is empty"),
                    Err(error) => warn!(%error, "cannot tell whether the queue is empty: stopping"),
                },
            }
        } else {
            stop.await;
        }
        context.stopping.cancel();
        info!("shutting down: finishing the tasks in hand");
        let report = pool.shutdown(grace).await;
        if let Err(error) = queue.retire().await {
            warn!(%error, "could not remove this worker's consumer from the group");
        }
        done.cancel();
        let ended = tokio::time::timeout(SIDE_TASK_GRACE, async {
            while side.join_next().await.is_some() {}
        })
        .await;
        if ended.is_err() {
            warn!("side tasks did not end in time: aborting them");
            side.shutdown().await;
        }
        report
    }
}
// ANCHOR_END: runtime

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("context", &self.context)
            .field("side_tasks", &self.beside.len())
            .finish_non_exhaustive()
    }
}

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
