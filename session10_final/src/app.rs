//! What every handler shares: the [`Backend`], the upload limits, and the turns for
//! processing while the client waits. A job is stored and queued here, the same way in
//! both modes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use session02_pipelines::PipelineSpec;
use session03_workers::{Backpressure, BlobError, BlobKey, Task, TaskId, TaskRecord};
use session07_k8s::state::REQUEST_DEADLINE;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};

use crate::backend::{Backend, Context, Job};
use crate::error::ApiError;
use crate::limits::UploadLimits;

/// How long `/api/process` waits for a turn before answering 429.
pub const SYNC_WAIT: Duration = Duration::from_secs(30);

/// The handlers' state.
#[derive(Debug)]
pub struct App {
    backend: Arc<dyn Backend>,
    limits: UploadLimits,
    /// One permit per CPU for `/api/process`: requests beyond wait their turn.
    sync: Arc<Semaphore>,
    /// Held while `/api/compare` runs: one at a time.
    comparing: Arc<Mutex<()>>,
    /// This program, for the work that starts processes of it (`/api/compare`).
    program: Option<PathBuf>,
}

impl App {
    /// The API's state over `backend`, taking uploads within `limits`, processing up to
    /// `sync_slots` images at once while their clients wait.
    pub fn new(backend: Arc<dyn Backend>, limits: UploadLimits, sync_slots: usize) -> Self {
        Self {
            backend,
            limits,
            sync: Arc::new(Semaphore::new(sync_slots.max(1))),
            comparing: Arc::new(Mutex::new(())),
            program: None,
        }
    }

    /// The same state, knowing `program`: a binary with session 02's hidden
    /// `process-worker` command (this crate's), for the `processes` strategy of
    /// `/api/compare`. Without it, that strategy is left out.
    pub fn with_program(mut self, program: PathBuf) -> Self {
        self.program = Some(program);
        self
    }

    /// The program `/api/compare` starts processes of, when known.
    pub fn program(&self) -> Option<&PathBuf> {
        self.program.as_ref()
    }

    /// The lock `/api/compare` holds while it runs (owned: the work keeps it, not the
    /// request).
    pub fn comparing(&self) -> Arc<Mutex<()>> {
        Arc::clone(&self.comparing)
    }

    /// The system under the API.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// What uploads may be.
    pub fn limits(&self) -> &UploadLimits {
        &self.limits
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
        let (queue, blobs) = (self.backend.queue()?, self.backend.blobs()?);
        let id = TaskId::new();
        let input = key(&format!("inputs/{id}.{extension}"))?;
        let output = key(&format!("outputs/{id}.{extension}"))?;
        within(async {
            // A full store first gives up its oldest finished jobs.
            loop {
                match blobs.put(&input, image.clone()).await {
                    Err(BlobError::Unavailable(_)) if self.backend.make_room().await => {}
                    put => break put.map_err(stored)?,
                }
            }
            let mut task = Task::new(pipeline, input.clone(), output.clone());
            task.id = id;
            match queue.enqueue(task, Backpressure::Reject).await {
                Ok(id) => Ok(id),
                Err(error) => {
                    // Nothing queued: the input is not kept.
                    let _ = blobs.delete(&input).await;
                    Err(error.into())
                }
            }
        })
        .await?;
        self.backend.keep(id, input, output).await;
        Ok(id)
    }
    // ANCHOR_END: submit

    /// Queues `pipeline` on `image` as a tiled job, where the mode offers them (422 where
    /// not). Not bounded by the request deadline: the image is decoded and cut first.
    pub async fn submit_tiled(
        &self,
        image: Bytes,
        pipeline: PipelineSpec,
        extension: &str,
    ) -> Result<TaskId, ApiError> {
        self.backend
            .submit_tiled(image, pipeline, extension, self.limits)
            .await
    }

    /// The job, or 404.
    pub async fn job(&self, id: TaskId) -> Result<Job, ApiError> {
        within(self.backend.job(id))
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no job {id} (or it was forgotten)")))
    }

    /// The job's history and why it waits.
    pub async fn context(&self, record: &TaskRecord) -> Result<Context, ApiError> {
        within(self.backend.context(record)).await
    }

    /// The job's result bytes; 404 when the store has none.
    pub async fn result(&self, record: &TaskRecord) -> Result<Bytes, ApiError> {
        let blobs = self.backend.blobs()?;
        within(async {
            blobs
                .get(&record.task.output)
                .await
                .map_err(|error| match error {
                    BlobError::NotFound(_) => ApiError::not_found(format!(
                        "job {} has no result (it expired, or was deleted)",
                        record.id()
                    )),
                    other => stored(other),
                })
        })
        .await
    }

    /// A turn to process an image while the client waits; 429 after [`SYNC_WAIT`]. The
    /// permit is owned, so the work can keep it after a client leaves.
    pub async fn sync_permit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        let busy = || ApiError::Busy {
            reason: "every slot is processing an image: try again later".to_owned(),
            retry_after: 1,
        };
        tokio::time::timeout(SYNC_WAIT, Arc::clone(&self.sync).acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())
    }
}

/// Runs a request's calls to the backend, all of them, within [`REQUEST_DEADLINE`]; a
/// miss is a 503 (Redis slow or gone; in memory it never happens).
async fn within<T>(work: impl Future<Output = Result<T, ApiError>>) -> Result<T, ApiError> {
    tokio::time::timeout(REQUEST_DEADLINE, work)
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::unavailable(format!(
                "the queue did not answer within {} s",
                REQUEST_DEADLINE.as_secs_f64()
            )))
        })
}

fn key(text: &str) -> Result<BlobKey, ApiError> {
    BlobKey::new(text).map_err(|error| ApiError::internal(error.to_string()))
}

/// A store error: full or unreachable is 503 (it may pass), too large 413, the rest 500.
pub(crate) fn stored(error: BlobError) -> ApiError {
    match error {
        BlobError::TooLarge { .. } => ApiError::TooLarge(error.to_string()),
        BlobError::Unavailable(_) => ApiError::unavailable(error.to_string()),
        other => ApiError::internal(other.to_string()),
    }
}
