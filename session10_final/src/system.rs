//! The embedded system: everything the course built, in one process. Session 03's
//! in-memory queue, a pool of its image workers measured by session 09's layer, and a blob
//! store in memory: no Redis, nothing to install.
//!
//! A job is a session 03 task: its input is stored under `inputs/{id}.{ext}`, its result
//! under `outputs/{id}.{ext}`, and the queue's record is the job's state.

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use prometheus_client::registry::Registry;
use session02_pipelines::PipelineSpec;
use session03_workers::{
    Backpressure, BlobKey, BlobStore, ImageWorker, MemoryBlobStore, MemoryQueue, PoolConfig,
    PoolStats, Queue, QueueConfig, QueueStats, ShutdownReport, Task, TaskId, TaskRecord,
    WorkerPool,
};
use session09_monitoring::telemetry::tasks::{TaskMetrics, instrument};
use session09_monitoring::telemetry::{ProcessCollector, encode};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::ApiError;
use crate::limits::UploadLimits;

/// How the embedded system is sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemConfig {
    /// Worker tasks in the pool.
    pub workers: usize,
    /// The most jobs that may wait; one more is refused with 429.
    pub queue_capacity: usize,
    /// The most bytes the blob store holds (inputs and results).
    pub store_bytes: u64,
    /// What uploads may be.
    pub limits: UploadLimits,
}

impl Default for SystemConfig {
    /// A worker per CPU, 1000 waiting jobs, 1 GiB of blobs, the default limits.
    fn default() -> Self {
        Self {
            workers: PoolConfig::default().workers,
            queue_capacity: 1000,
            store_bytes: 1 << 30,
            limits: UploadLimits::default(),
        }
    }
}

/// The queue, the store and the workers of one process.
#[derive(Debug)]
pub struct System {
    queue: Arc<MemoryQueue>,
    blobs: Arc<MemoryBlobStore>,
    pool: std::sync::Mutex<Option<WorkerPool>>,
    stats: session03_workers::StatsHandle,
    metrics: Registry,
    config: SystemConfig,
    /// The jobs whose blobs are kept, oldest first: bounded, so memory is.
    kept: std::sync::Mutex<VecDeque<(BlobKey, BlobKey)>>,
    /// One permit per worker for `/api/process`: requests beyond wait their turn.
    sync: Semaphore,
}

/// How long `/api/process` waits for a permit before answering 429.
pub const SYNC_WAIT: Duration = Duration::from_secs(30);

impl System {
    /// Starts the pool; it takes jobs at once.
    // ANCHOR: start
    pub fn start(config: SystemConfig) -> Self {
        let queue = Arc::new(MemoryQueue::new(QueueConfig {
            capacity: Some(config.queue_capacity),
            ..QueueConfig::default()
        }));
        let max_blob = config.limits.max_body_bytes as u64 * 4;
        let blobs = Arc::new(MemoryBlobStore::with_limits(max_blob, config.store_bytes));
        let mut metrics = Registry::default();
        let source = Arc::new(OnceLock::new());
        let task_metrics = TaskMetrics::register(&mut metrics, Arc::clone(&source));
        ProcessCollector::new().register(&mut metrics);
        let worker = ImageWorker::new(blobs.clone(), config.limits.decoding());
        let worker = instrument(Arc::new(worker), task_metrics, "embedded", None);
        let pool = WorkerPool::start(
            queue.clone(),
            worker,
            PoolConfig {
                workers: config.workers.max(1),
                poll: Duration::from_millis(200),
                ..PoolConfig::default()
            },
        );
        let stats = pool.stats_handle();
        // Set once, here: the collector reads the pool from now on.
        let _ = source.set(stats.clone());
        Self {
            queue,
            blobs,
            pool: std::sync::Mutex::new(Some(pool)),
            stats,
            metrics,
            config,
            kept: std::sync::Mutex::default(),
            sync: Semaphore::new(config.workers.max(1)),
        }
    }
    // ANCHOR_END: start

    /// What uploads may be.
    pub fn limits(&self) -> &UploadLimits {
        &self.config.limits
    }

    // ANCHOR: submit
    /// Stores `image` and queues `pipeline` on it; the result will have extension
    /// `extension`. A full queue is refused at once (429), never waited for.
    pub async fn submit(
        &self,
        image: Bytes,
        pipeline: PipelineSpec,
        extension: &str,
    ) -> Result<TaskId, ApiError> {
        let id = TaskId::new();
        let input = key(&format!("inputs/{id}.{extension}"))?;
        let output = key(&format!("outputs/{id}.{extension}"))?;
        self.blobs.put(&input, image).await.map_err(stored)?;
        let mut task = Task::new(pipeline, input.clone(), output.clone());
        task.id = id;
        match self.queue.enqueue(task, Backpressure::Reject).await {
            Ok(id) => {
                self.forget_oldest(input, output).await;
                Ok(id)
            }
            Err(error) => {
                // Nothing queued: the input is not kept.
                let _ = self.blobs.delete(&input).await;
                Err(error.into())
            }
        }
    }
    // ANCHOR_END: submit

    /// The job's record, or 404.
    pub async fn job(&self, id: TaskId) -> Result<TaskRecord, ApiError> {
        self.queue
            .status(id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no job {id} (or it was forgotten)")))
    }

    /// The job's result bytes; 404 until it has one.
    pub async fn result(&self, record: &TaskRecord) -> Result<Bytes, ApiError> {
        self.blobs
            .get(&record.task.output)
            .await
            .map_err(|error| match error {
                session03_workers::BlobError::NotFound(_) => {
                    ApiError::not_found(format!("job {} has no result", record.id()))
                }
                other => stored(other),
            })
    }

    /// A turn to process an image while the client waits; 429 after [`SYNC_WAIT`].
    pub async fn sync_permit(&self) -> Result<SemaphorePermit<'_>, ApiError> {
        let busy = || ApiError::Busy {
            reason: "every worker is processing an image: try again later".to_owned(),
            retry_after: 1,
        };
        tokio::time::timeout(SYNC_WAIT, self.sync.acquire())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())
    }

    /// The queue's counts.
    pub async fn queue_stats(&self) -> Result<QueueStats, ApiError> {
        Ok(self.queue.stats().await?)
    }

    /// The pool's counts and timings.
    pub fn pool_stats(&self) -> PoolStats {
        self.stats.snapshot()
    }

    /// Whether the pool takes jobs (false once shutting down).
    pub fn accepting(&self) -> bool {
        !self.stats.is_shutting_down()
    }

    /// The Prometheus exposition of the pool and the process.
    pub fn metrics(&self) -> String {
        encode(&self.metrics)
    }

    /// Stops the pool: jobs in hands get `grace` to finish, the rest go back to the queue.
    pub async fn shutdown(&self, grace: Duration) -> Option<ShutdownReport> {
        let pool = self.pool.lock().ok()?.take()?;
        Some(pool.shutdown(grace).await)
    }
}

impl System {
    /// Keeps this job's blobs; past [`kept_jobs`](SystemConfig::kept_jobs), deletes the
    /// oldest job's (its record stays in the queue until the queue forgets it too).
    async fn forget_oldest(&self, input: BlobKey, output: BlobKey) {
        let dropped = {
            let Ok(mut kept) = self.kept.lock() else {
                return;
            };
            kept.push_back((input, output));
            if kept.len() > self.config.kept_jobs() {
                kept.pop_front()
            } else {
                None
            }
        };
        if let Some((input, output)) = dropped {
            let _ = self.blobs.delete(&input).await;
            let _ = self.blobs.delete(&output).await;
        }
    }
}

impl SystemConfig {
    /// How many jobs keep their images: twice the queue, so a job is never deleted while
    /// it can still be waiting.
    pub fn kept_jobs(&self) -> usize {
        self.queue_capacity
            .saturating_mul(2)
            .saturating_add(self.workers)
    }
}

fn key(text: &str) -> Result<BlobKey, ApiError> {
    BlobKey::new(text).map_err(|error| ApiError::internal(error.to_string()))
}

/// A store error: full is 503 (it may drain), too large 413, the rest 500.
fn stored(error: session03_workers::BlobError) -> ApiError {
    match error {
        session03_workers::BlobError::TooLarge { .. } => ApiError::TooLarge(error.to_string()),
        session03_workers::BlobError::Unavailable(_) => ApiError::unavailable(error.to_string()),
        other => ApiError::internal(other.to_string()),
    }
}
