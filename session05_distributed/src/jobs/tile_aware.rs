//! [`TileAware`]: the task runner that knows the parts of a tiled job, composed onto
//! session 04's worker runtime with [`attach`].

use std::sync::Arc;

use async_trait::async_trait;
use session03_workers::{BlobStore, Capabilities, FsBlobStore, Task, TaskError, TaskId, Worker};
use session04_redis::{RedisQueue, Runtime};

use super::{JobPart, Jobs, task_error};

// ANCHOR: attach
/// Makes the worker of `runtime` run the tiles of tiled jobs and assemble them; with
/// `folder`, the jobs on that shared folder too.
pub fn attach(runtime: Runtime, folder: Option<Arc<FsBlobStore>>) -> Runtime {
    runtime.wrap(move |inner, context| {
        let mut jobs = Jobs::new(&context.queue, Arc::clone(&context.blobs), context.limits);
        if let Some(folder) = folder {
            jobs = jobs.with_folder(folder);
        }
        Arc::new(TileAware::new(inner, Arc::clone(&context.queue), jobs))
    })
}
// ANCHOR_END: attach

/// A task runner that knows tiles and assemblies: runs a tile with the inner runner and
/// then counts it for its job; assembles a job itself.
pub struct TileAware {
    inner: Arc<dyn Worker>,
    queue: Arc<RedisQueue>,
    jobs: Jobs,
}

impl TileAware {
    /// Wraps `inner`, which runs ordinary tasks and tiles.
    pub fn new(inner: Arc<dyn Worker>, queue: Arc<RedisQueue>, jobs: Jobs) -> Self {
        Self { inner, queue, jobs }
    }
}

impl TileAware {
    /// Runs band `index` of `job`, whose pixels are on the shared folder.
    async fn run_in_place(&self, job: TaskId, index: usize, task: &Task) -> Result<(), TaskError> {
        let record = self
            .jobs
            .record(job)
            .await
            .map_err(task_error)?
            .ok_or_else(|| TaskError::job(format!("job {job} is unknown")))?;
        self.jobs.run_in_place(&record, index, task).await
    }
}

#[async_trait]
impl Worker for TileAware {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn process(&self, task: &Task) -> Result<(), TaskError> {
        let part = JobPart::of(task).map_err(TaskError::job)?;
        if let Some(JobPart::Assembly { job }) = part {
            let outcome = self.jobs.assemble(job).await;
            if let Err(error) = &outcome
                && !error.is_retryable()
            {
                // Another run of this assembly finished first, and cleaned up under it.
                if self.jobs.is_assembled(job).await.unwrap_or(false) {
                    return Ok(());
                }
                let _ = self
                    .jobs
                    .fail(job, &format!("assembly failed: {}", error.message))
                    .await;
            }
            return outcome;
        }
        let (tile, in_place) = match part {
            Some(JobPart::Tile { job, index }) => (Some((job, index)), false),
            Some(JobPart::InPlace { job, index }) => (Some((job, index)), true),
            _ => (None, false),
        };
        if let Some((job, _)) = tile
            && let Some(status) = self.jobs.status(job).await.map_err(task_error)?
        {
            if status.assembled {
                // A late copy of a tile whose job is done: its blobs are gone, and so is the
                // need.
                return Ok(());
            }
            if let Some(reason) = status.failed {
                // Its job can never be assembled: the tile's work would be thrown away.
                // A band's blobs are its job's source and result, not its own.
                if !in_place {
                    let _ = self.jobs.blobs.delete(&task.input).await;
                }
                return Err(TaskError::job(format!("its job failed: {reason}")));
            }
        }
        let outcome = match tile {
            Some((job, index)) if in_place => self.run_in_place(job, index, task).await,
            _ => self.inner.process(task).await,
        };
        let Some((job, index)) = tile else {
            return outcome;
        };
        let done = match outcome {
            Ok(()) => self.jobs.tile_done(&self.queue, job, index).await,
            Err(error) => Err(error),
        };
        match done {
            Ok(()) => Ok(()),
            Err(error) if error.is_retryable() => Err(error),
            // The job was assembled while this copy ran: what it wrote is not needed, and
            // a missing input only means the assembly cleaned up first.
            Err(_) if self.jobs.is_assembled(job).await.unwrap_or(false) => {
                if !in_place {
                    let _ = self.jobs.blobs.delete(&task.input).await;
                    let _ = self.jobs.blobs.delete(&task.output).await;
                }
                Ok(())
            }
            Err(error) => {
                let _ = self
                    .jobs
                    .fail(job, &format!("tile {index} failed: {}", error.message))
                    .await;
                Err(error)
            }
        }
    }
}
