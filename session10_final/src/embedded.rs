//! The embedded system: everything the course built, in one process. Session 03's
//! in-memory queue, a pool of its image workers measured by session 09's layer, and a blob
//! store in memory: no Redis, nothing to install.
//!
//! Memory stays bounded: the queue refuses jobs past its capacity (429), the store holds
//! at most `store_bytes`, and finished jobs give up their images, oldest first, once more
//! than [`kept_jobs`](EmbeddedConfig::kept_jobs) are kept or the store is three quarters
//! full (room for results to come); the queue forgets old records by itself.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use prometheus_client::registry::Registry;
use serde::Serialize;
use session03_workers::{
    BlobKey, BlobStore, ImageWorker, MemoryBlobStore, MemoryQueue, PoolConfig, PoolStats, Queue,
    QueueConfig, QueueStats, ShutdownReport, StatsHandle, TaskId, TaskRecord, TaskState,
    WorkerPool,
};
use session08_scaling::metrics::{Host, HostSignals};
use session09_monitoring::snapshot::{QueueSummary, WorkerSummary};
use session09_monitoring::telemetry::tasks::{TaskMetrics, instrument};
use session09_monitoring::telemetry::{self, ProcessCollector, encode};
use tokio::sync::watch;

use crate::backend::{Backend, Context};
use crate::error::ApiError;
use crate::limits::UploadLimits;
use crate::routes::{API_HEALTH, API_READY, API_STATS, API_WORKERS};
use crate::watched::Watched;

/// How the embedded system is sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedConfig {
    /// Worker tasks in the pool.
    pub workers: usize,
    /// The most jobs that may wait; one more is refused with 429.
    pub queue_capacity: usize,
    /// The most bytes the blob store holds (inputs and results).
    pub store_bytes: u64,
    /// What uploads may be.
    pub limits: UploadLimits,
}

impl Default for EmbeddedConfig {
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

impl EmbeddedConfig {
    /// How many jobs keep their images: twice the queue and one per worker, so a job is
    /// never deleted while it can still be waiting or running.
    pub fn kept_jobs(&self) -> usize {
        self.queue_capacity
            .saturating_mul(2)
            .saturating_add(self.workers)
    }
}

/// A job whose images the store keeps.
#[derive(Debug)]
struct Kept {
    id: TaskId,
    input: BlobKey,
    output: BlobKey,
}

/// The queue, the store and the workers of one process.
#[derive(Debug)]
pub struct Embedded {
    queue: Arc<Watched<MemoryQueue>>,
    blobs: Arc<MemoryBlobStore>,
    pool: Mutex<Option<WorkerPool>>,
    stats: StatsHandle,
    metrics: Registry,
    config: EmbeddedConfig,
    /// The jobs whose blobs are kept, oldest first.
    kept: Mutex<VecDeque<Kept>>,
    /// This machine's CPU and memory, kept between readings (CPU use is a rate); `None`
    /// where the platform does not tell.
    host: Option<tokio::sync::Mutex<Host>>,
}

/// `/api/metrics` in the embedded mode: session 09's snapshot, less what only a fleet has.
#[derive(Debug, Serialize)]
struct EmbeddedSnapshot {
    mode: &'static str,
    host: Option<HostSignals>,
    workers: WorkerSummary,
    queue: QueueSummary,
    success_rate: Option<f64>,
}

impl Embedded {
    // ANCHOR: start
    /// Starts the pool; it takes jobs at once.
    pub fn start(config: EmbeddedConfig) -> Self {
        // Watched: a job's event stream wakes when its state changes, not on a timer.
        let queue = Arc::new(Watched::new(MemoryQueue::new(QueueConfig {
            capacity: Some(config.queue_capacity),
            ..QueueConfig::default()
        })));
        // A result may be larger than its upload (a PNG of a JPEG): room for it.
        let max_blob = (config.limits.max_body_bytes as u64).saturating_mul(4);
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
            pool: Mutex::new(Some(pool)),
            stats,
            metrics,
            config,
            kept: Mutex::default(),
            host: Host::new().ok().map(tokio::sync::Mutex::new),
        }
    }
    // ANCHOR_END: start

    /// Stops the pool: jobs in hand get `grace` to finish, the rest go back to the queue.
    pub async fn shutdown(&self, grace: Duration) -> Option<ShutdownReport> {
        let pool = self.pool.lock().ok()?.take()?;
        Some(pool.shutdown(grace).await)
    }

    /// Jobs waiting in the queue (none started, or given back unfinished).
    pub async fn waiting(&self) -> usize {
        self.queue.stats().await.map_or(0, |stats| stats.waiting)
    }

    /// Whether the pool takes jobs (false once shutting down).
    fn accepting(&self) -> bool {
        !self.stats.is_shutting_down()
    }
}

#[async_trait]
impl Backend for Embedded {
    fn mode(&self) -> &'static str {
        "embedded"
    }

    fn queue(&self) -> Result<Arc<dyn Queue>, ApiError> {
        Ok(self.queue.clone())
    }

    fn blobs(&self) -> Result<Arc<dyn BlobStore>, ApiError> {
        Ok(self.blobs.clone())
    }

    fn changes(&self) -> Option<watch::Receiver<u64>> {
        Some(self.queue.subscribe())
    }

    async fn context(&self, record: &TaskRecord) -> Result<Context, ApiError> {
        let waiting_reason = match record.state {
            TaskState::Pending if self.accepting() => "queued: waiting for a free worker",
            TaskState::Pending => "queued: the workers are shutting down",
            TaskState::Retrying => "waiting to retry after a failed attempt",
            _ => return Ok(Context::default()),
        };
        Ok(Context {
            history: vec![],
            waiting_reason: Some(waiting_reason.to_owned()),
        })
    }

    async fn snapshot(&self) -> Result<serde_json::Value, ApiError> {
        let queue = self.queue.stats().await?;
        let pool = self.stats.snapshot();
        let host = match &self.host {
            Some(host) => {
                let mut host = host.lock().await;
                tokio::time::sleep(host.until_ready()).await;
                Some(host.machine())
            }
            None => None,
        };
        let finished = queue.succeeded + queue.failed + queue.dead;
        let slots = pool.workers as u64;
        let busy = pool.in_flight as u64;
        let snapshot = EmbeddedSnapshot {
            mode: "embedded",
            host,
            workers: WorkerSummary {
                active: 1,
                busy: u32::from(busy > 0),
                total_slots: slots,
                busy_slots: busy,
                utilisation_percent: 100.0 * busy as f64 / slots.max(1) as f64,
            },
            queue: QueueSummary {
                length: queue.waiting as u64,
                lag: queue.waiting as u64,
                pending: queue.in_flight as u64,
                dead_letters: queue.dead,
                succeeded: queue.succeeded,
                failed: queue.failed,
                dead: queue.dead,
            },
            success_rate: (finished > 0).then(|| queue.succeeded as f64 / finished as f64),
        };
        serde_json::to_value(snapshot).map_err(|error| ApiError::internal(error.to_string()))
    }

    // ANCHOR: keep
    /// Keeps the job's images; then, while more than
    /// [`kept_jobs`](EmbeddedConfig::kept_jobs) are kept or the store is three quarters
    /// full, deletes the oldest finished job's.
    async fn keep(&self, id: TaskId, input: BlobKey, output: BlobKey) {
        lock(&self.kept).push_back(Kept { id, input, output });
        loop {
            let crowded = lock(&self.kept).len() > self.config.kept_jobs();
            let full = self.blobs.used_bytes() > self.config.store_bytes / 4 * 3;
            if !(crowded || full) || !self.make_room().await {
                return;
            }
        }
    }

    /// Deletes the images of the oldest kept job that has finished (a long job at the
    /// front does not stop the others being freed); false when none has.
    async fn make_room(&self) -> bool {
        let ids: Vec<TaskId> = lock(&self.kept).iter().map(|kept| kept.id).collect();
        for id in ids {
            let finished = match self.queue.status(id).await {
                Ok(Some(record)) => record.state.is_final(),
                // Forgotten by the queue: nobody can ask for it any more.
                Ok(None) => true,
                Err(_) => false,
            };
            if !finished {
                continue;
            }
            let removed = {
                let mut kept = lock(&self.kept);
                let at = kept.iter().position(|kept| kept.id == id);
                at.and_then(|at| kept.remove(at))
            };
            // Removed here, or by a request that got there first: room either way.
            if let Some(kept) = removed {
                let _ = self.blobs.delete(&kept.input).await;
                let _ = self.blobs.delete(&kept.output).await;
            }
            return true;
        }
        false
    }
    // ANCHOR_END: keep

    fn routes(self: Arc<Self>) -> Router {
        let metrics = {
            let system = Arc::clone(&self);
            telemetry::router(move || {
                let system = Arc::clone(&system);
                async move { encode(&system.metrics) }
            })
        };
        Router::new()
            .route(API_HEALTH, get(health))
            .route(API_READY, get(ready))
            .route(API_STATS, get(stats))
            .route(API_WORKERS, get(workers))
            .with_state(self)
            .merge(metrics)
    }
}

/// Locks `mutex`, even if a panic poisoned it (each change is one push or pop).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The liveness answer.
#[derive(Debug, Serialize)]
pub(crate) struct Alive {
    status: &'static str,
}

#[utoipa::path(get, path = "/api/health", tag = "status",
    responses((status = 200, description = "The process serves: `{\"status\": \"ok\"}`", body = Object)))]
pub(crate) async fn health() -> Json<Alive> {
    Json(Alive { status: "ok" })
}

/// The readiness answer, in session 07's shape.
#[derive(Debug, Serialize)]
pub(crate) struct Ready {
    ready: bool,
    reasons: Vec<String>,
}

#[utoipa::path(get, path = "/api/ready", tag = "status",
    responses(
        (status = 200, description = "Ready to take jobs", body = Object),
        (status = 503, description = "Not ready, with the reasons", body = Object)))]
pub(crate) async fn ready(State(system): State<Arc<Embedded>>) -> (StatusCode, Json<Ready>) {
    if system.accepting() {
        let ready = Ready {
            ready: true,
            reasons: vec![],
        };
        return (StatusCode::OK, Json(ready));
    }
    let reasons = vec!["shutting down: finishing the jobs in hand".to_owned()];
    let ready = Ready {
        ready: false,
        reasons,
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(ready))
}

/// `/api/stats`: the queue and the pool.
#[derive(Debug, Serialize)]
pub(crate) struct Stats {
    mode: &'static str,
    queue: QueueStats,
    pool: PoolStats,
}

#[utoipa::path(get, path = "/api/stats", tag = "status",
    responses((status = 200, description = "The queue's counts and the workers' timings", body = Object)))]
pub(crate) async fn stats(State(system): State<Arc<Embedded>>) -> Result<Json<Stats>, ApiError> {
    Ok(Json(Stats {
        mode: "embedded",
        queue: system.queue.stats().await?,
        pool: system.stats.snapshot(),
    }))
}

/// `/api/workers`: the in-process pool as one worker with its slots.
#[derive(Debug, Serialize)]
pub(crate) struct Workers {
    mode: &'static str,
    workers: Vec<WorkerView>,
}

/// One worker.
#[derive(Debug, Serialize)]
pub(crate) struct WorkerView {
    id: &'static str,
    state: &'static str,
    slots: usize,
    busy: usize,
    processed: u64,
}

#[utoipa::path(get, path = "/api/workers", tag = "status",
    responses((status = 200, description = "The workers, their state and slots", body = Object)))]
pub(crate) async fn workers(State(system): State<Arc<Embedded>>) -> Json<Workers> {
    let pool = system.stats.snapshot();
    let state = match (system.accepting(), pool.in_flight) {
        (false, _) => "draining",
        (true, 0) => "idle",
        (true, _) => "busy",
    };
    Json(Workers {
        mode: "embedded",
        workers: vec![WorkerView {
            id: "embedded",
            state,
            slots: pool.workers,
            busy: pool.in_flight,
            processed: pool.processed,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn event_streams_can_wait_on_the_queues_changes() {
        let system = Embedded::start(EmbeddedConfig {
            workers: 1,
            ..EmbeddedConfig::default()
        });
        let mut changes = system.changes().expect("the embedded mode counts changes");
        changes.borrow_and_update();
        let blobs = system.blobs().unwrap();
        let input = BlobKey::new("in.png").unwrap();
        blobs
            .put(&input, bytes::Bytes::from_static(b"not an image"))
            .await
            .unwrap();
        let task = session03_workers::Task::new(
            "invert".parse().unwrap(),
            input,
            BlobKey::new("out.png").unwrap(),
        );
        system
            .queue()
            .unwrap()
            .enqueue(task, session03_workers::Backpressure::Reject)
            .await
            .unwrap();
        assert!(
            changes.has_changed().unwrap(),
            "a job queued through the API's queue"
        );
        assert!(system.shutdown(Duration::from_secs(5)).await.is_some());
    }
}
