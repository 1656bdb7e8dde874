//! The seam between the API and the system under it: a [`Backend`] gives the API a queue
//! and a blob store (session 03's traits), says why a job waits, and serves the routes
//! that differ by mode (health, readiness, stats, workers, metrics). The API's job routes
//! are written once, on this trait; [`Embedded`](crate::embedded::Embedded) and
//! [`Distributed`](crate::distributed::Distributed) implement it.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use session03_workers::{BlobKey, BlobStore, Queue, TaskId, TaskRecord};
use tokio::sync::watch;

use crate::error::ApiError;

/// What a job's record does not say: its failed attempts, and why it waits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// Its failed attempts (worker, reason), oldest first.
    pub history: Vec<String>,
    /// Why it waits, when it waits.
    pub waiting_reason: Option<String>,
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
