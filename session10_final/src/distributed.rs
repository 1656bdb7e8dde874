//! The distributed system: the same API on session 04's Redis queue and blob store, with
//! separate worker processes (session 09's `worker`, or this binary's) that session 05's
//! registry knows. Session 07's status routes (health, readiness, stats, workers, a task's
//! record) and session 09's `/metrics` answer beside the job routes.
//!
//! The server listens before Redis answers, as session 07's does: readiness says why it
//! is not ready, and every job route answers 503 until the queue is open.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use axum::Router;
use bytes::Bytes;
use session02_pipelines::PipelineSpec;
use session03_workers::{BlobStore, Queue, TaskId, TaskRecord, TaskState};
use session04_redis::{RedisBlobStore, RedisQueue};
use session05_distributed::registry::{live_capabilities, waiting_reason};
use session07_k8s::state::AppState;
use session08_scaling::hpa::{Behavior, Spec};
use session08_scaling::metrics::Host;
use session08_scaling::recommend::Targets;
use session09_monitoring::snapshot::{self, Sources};

use crate::backend::{Backend, Context, Job};
use crate::error::ApiError;
use crate::limits::UploadLimits;
use crate::tiled::TiledJobs;

/// The API's side of the distributed system.
pub struct Distributed {
    state: Arc<AppState>,
    max_blob_bytes: u64,
    /// The queue, the store and the tiled jobs, once Redis has answered.
    open: OnceLock<Open>,
    /// Where session 09's snapshots are read from, once asked for.
    sources: tokio::sync::Mutex<Option<Sources>>,
}

/// What Redis gives once it answers.
struct Open {
    queue: Arc<RedisQueue>,
    blobs: Arc<RedisBlobStore>,
    tiled: TiledJobs,
}

impl std::fmt::Debug for Distributed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Distributed")
            .field("connected", &self.state.connected().is_ok())
            .field("max_blob_bytes", &self.max_blob_bytes)
            .finish_non_exhaustive()
    }
}

impl Distributed {
    /// The backend on session 07's state (which connects in the background); blobs up to
    /// `max_blob_bytes`.
    pub fn new(state: Arc<AppState>, max_blob_bytes: u64) -> Self {
        Self {
            state,
            max_blob_bytes,
            open: OnceLock::new(),
            sources: tokio::sync::Mutex::default(),
        }
    }

    /// The queue, the store and the tiled jobs, or 503 while Redis has not answered yet.
    fn open(&self) -> Result<&Open, ApiError> {
        let connected = self.state.connected()?;
        Ok(self.open.get_or_init(|| {
            let queue = Arc::new(connected.queue.clone());
            let config = queue.config();
            let blobs = Arc::new(RedisBlobStore::new(
                queue.connection(),
                &config.namespace,
                config.retention,
                self.max_blob_bytes,
            ));
            let tiled = TiledJobs::new(Arc::clone(&queue), Arc::clone(&blobs));
            Open {
                queue,
                blobs,
                tiled,
            }
        }))
    }
}

#[async_trait]
impl Backend for Distributed {
    fn mode(&self) -> &'static str {
        "distributed"
    }

    fn queue(&self) -> Result<Arc<dyn Queue>, ApiError> {
        Ok(self.open()?.queue.clone())
    }

    fn blobs(&self) -> Result<Arc<dyn BlobStore>, ApiError> {
        Ok(self.open()?.blobs.clone())
    }

    /// The queue's record, or a tiled job's view made from its tiles.
    async fn job(&self, id: TaskId) -> Result<Option<Job>, ApiError> {
        let open = self.open()?;
        let record = open.queue.status(id).await?;
        open.tiled.read(id, record).await
    }

    /// Session 05's tiled job.
    async fn submit_tiled(
        &self,
        image: Bytes,
        pipeline: PipelineSpec,
        extension: &str,
        limits: UploadLimits,
    ) -> Result<TaskId, ApiError> {
        let tiled = &self.open()?.tiled;
        tiled.submit(image, pipeline, extension, limits).await
    }

    // ANCHOR: context
    /// The failed attempts from the queue's history, and session 05's reason when no live
    /// worker can run the job's filters.
    async fn context(&self, record: &TaskRecord) -> Result<Context, ApiError> {
        let connected = self.state.connected()?;
        let history = connected.queue.history(record.id()).await?;
        let waiting_reason = match record.state {
            TaskState::Pending | TaskState::Retrying => {
                let workers = connected
                    .registry
                    .list()
                    .await
                    .map_err(session07_k8s::error::ApiError::from)?;
                let filters: Vec<&str> = record.task.filters().collect();
                waiting_reason(&live_capabilities(&workers), &filters)
                    .or_else(|| Some("queued: waiting for a free worker".to_owned()))
            }
            _ => None,
        };
        Ok(Context {
            history,
            waiting_reason,
        })
    }
    // ANCHOR_END: context

    /// Session 09's snapshot, as `metrics --json` prints it.
    async fn snapshot(&self) -> Result<serde_json::Value, ApiError> {
        let connected = self.state.connected()?;
        let mut sources = self.sources.lock().await;
        if sources.is_none() {
            let unreadable = |error: &dyn std::fmt::Display| ApiError::internal(error.to_string());
            *sources = Some(Sources {
                queue: connected.queue.clone(),
                registry: connected.registry.clone(),
                host: Host::new().map_err(|e| unreadable(&format!("{e:#}")))?,
                spec: Spec::new(1, 8, Behavior::course()).map_err(|e| unreadable(&e))?,
                targets: Targets::default(),
            });
        }
        let Some(sources) = sources.as_mut() else {
            return Err(ApiError::internal("no snapshot sources"));
        };
        let snapshot = snapshot::read(sources)
            .await
            .map_err(|error| ApiError::unavailable(format!("{error:#}")))?;
        let mut value = serde_json::to_value(snapshot)
            .map_err(|error| ApiError::internal(error.to_string()))?;
        value["mode"] = "distributed".into();
        Ok(value)
    }

    fn routes(self: Arc<Self>) -> Router {
        session07_k8s::api::router(Arc::clone(&self.state))
            .merge(session09_monitoring::api::router(Arc::clone(&self.state)))
    }
}
