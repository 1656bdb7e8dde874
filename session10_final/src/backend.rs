//! The seam between the API and the system under it: a [`Backend`] gives the API a queue
//! and a blob store (session 03's traits), says why a job waits, and serves the routes
//! that differ by mode (health, readiness, stats, workers, metrics). The API's job routes
//! are written once, on this trait; [`Embedded`](crate::embedded::Embedded) and
//! [`Distributed`](crate::distributed::Distributed) implement it.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use bytes::Bytes;
use serde::Serialize;
use session02_pipelines::PipelineSpec;
use session03_workers::{BlobKey, BlobStore, Queue, TaskId, TaskRecord};
use tokio::sync::watch;

use crate::error::ApiError;
use crate::limits::UploadLimits;

/// What a job's record does not say: its failed attempts, and why it waits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// Its failed attempts (worker, reason), oldest first.
    pub history: Vec<String>,
    /// Why it waits, when it waits.
    pub waiting_reason: Option<String>,
}

/// A job as the API shows it: a record in the queue's terms, and a tiled job's tiles.
#[derive(Debug, Clone)]
pub struct Job {
    /// The record of the task that stands for the job now: the job's own task, or for a
    /// job of many tasks the part that runs or waits (one the backend made, if need be).
    pub record: TaskRecord,
    /// How many of a tiled job's tiles are done.
    pub tiles: Option<Tiles>,
    /// The whole pipeline, when the record's task runs only a part of it.
    pub pipeline: Option<String>,
}

impl Job {
    /// A job that is one task.
    pub fn task(record: TaskRecord) -> Self {
        Self {
            record,
            tiles: None,
            pipeline: None,
        }
    }
}

/// A tiled job's tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tiles {
    /// Tiles done.
    pub done: u64,
    /// Tiles in all.
    pub total: u64,
}

// ANCHOR: backend
/// A system the API can run on.
#[async_trait]
pub trait Backend: Send + Sync + fmt::Debug + 'static {
    /// `embedded` or `distributed`, as the API reports it.
    fn mode(&self) -> &'static str;

    /// The queue, or 503 while it cannot be reached.
    fn queue(&self) -> Result<Arc<dyn Queue>, ApiError>;

    /// Where images and results are kept, or 503 while it cannot be reached.
    fn blobs(&self) -> Result<Arc<dyn BlobStore>, ApiError>;

    /// A counter that moves when a job's state changes, for event streams to wait on;
    /// `None` where there is none (they look again after a pause instead).
    fn changes(&self) -> Option<watch::Receiver<u64>> {
        None
    }

    /// Job `id`, or `None` when the system does not know it: by default, the queue's record.
    async fn job(&self, id: TaskId) -> Result<Option<Job>, ApiError> {
        Ok(self.queue()?.status(id).await?.map(Job::task))
    }

    /// Queues `pipeline` on `image`, cut into tiles that workers run apart, for a result in
    /// format `extension`; `image` has passed `limits`' header checks. By default the mode
    /// has no tiled jobs, and says where they are.
    async fn submit_tiled(
        &self,
        _image: Bytes,
        _pipeline: PipelineSpec,
        _extension: &str,
        _limits: UploadLimits,
    ) -> Result<TaskId, ApiError> {
        Err(ApiError::Unprocessable(format!(
            "tiled jobs need the distributed mode: their tiles live in Redis, where any \
             worker process takes them (start the API with --redis URL); the {} mode \
             processes the image as one job when tiled is left out",
            self.mode()
        )))
    }

    /// The history and waiting reason of a job.
    async fn context(&self, record: &TaskRecord) -> Result<Context, ApiError>;

    /// One reading of the system as the original course's `metrics` printed it: CPU and
    /// memory, workers and utilisation, the queue, the success rate.
    async fn snapshot(&self) -> Result<serde_json::Value, ApiError>;

    /// Job `id` was queued with these blobs: a backend whose store does not expire blobs
    /// by itself deletes old ones here.
    async fn keep(&self, _id: TaskId, _input: BlobKey, _output: BlobKey) {}

    /// The store is full: frees the oldest finished job's blobs; false when nothing could
    /// be freed (a store that expires blobs by itself frees nothing here).
    async fn make_room(&self) -> bool {
        false
    }

    /// The routes whose answers depend on the mode: `/api/health`, `/api/ready`,
    /// `/api/stats`, `/api/workers`, `/metrics`.
    fn routes(self: Arc<Self>) -> Router;
}
// ANCHOR_END: backend
