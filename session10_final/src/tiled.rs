//! Tiled jobs through the API, in the distributed mode. Session 05's [`Jobs`] cuts a large
//! image into tiles that any worker process runs, and the worker that finishes the last
//! tile queues the assembly. The job's id is the assembly task's id.
//!
//! The API shows such a job as one job. Until its assembly task exists, its record is
//! made from the job's record in Redis and its tiles' states. After, it is the assembly's
//! record, with the first tile's times. Either way, the view shows the whole pipeline and
//! how many tiles are done.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use session01_image_basics::Limits;
use session02_pipelines::PipelineSpec;
use session03_workers::{BlobError, BlobKey, Queue, QueueError, Task, TaskError, TaskId};
use session03_workers::{TaskRecord, TaskState};
use session04_redis::{RedisBlobStore, RedisQueue};
use session05_distributed::TilePlan;
use session05_distributed::jobs::{DEFAULT_TILE, JobPart, JobRecord, Jobs, tile_input};
use session05_distributed::tiles::{TileError, split_pipeline};
use tokio::sync::Semaphore;

use crate::app::stored;
use crate::backend::{Job, Tiles};
use crate::error::ApiError;
use crate::limits::{self, UploadLimits};

/// How long a submission waits for its turn to be cut before answering 429.
pub const CUT_WAIT: Duration = Duration::from_secs(30);

/// The distributed mode's tiled jobs.
pub struct TiledJobs {
    jobs: Jobs,
    queue: Arc<RedisQueue>,
    /// One image decoded and cut at a time: a 50-megapixel image holds 200 MB meanwhile.
    cutting: Arc<Semaphore>,
}

impl std::fmt::Debug for TiledJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TiledJobs").finish_non_exhaustive()
    }
}

impl TiledJobs {
    /// Tiled jobs on `queue`, their tiles and results in `blobs`.
    pub fn new(queue: Arc<RedisQueue>, blobs: Arc<RedisBlobStore>) -> Self {
        Self {
            // The API decodes only to cut: the workers decode the tiles under their limits.
            jobs: Jobs::new(&queue, blobs, Limits::default()),
            queue,
            cutting: Arc::new(Semaphore::new(1)),
        }
    }

    // ANCHOR: submit
    /// Decodes `image` within `limits`, cuts it into tiles of session 05's default size and
    /// queues them; the result, in format `extension`, comes when the job is assembled.
    pub async fn submit(
        &self,
        image: Bytes,
        pipeline: PipelineSpec,
        extension: &str,
        limits: UploadLimits,
    ) -> Result<TaskId, ApiError> {
        // Refused before anything is decoded: a pipeline that nothing can run in tiles, or
        // (once it is this image's turn) more tiles than the queue has room for.
        let halo = split_pipeline(&pipeline).map_err(tile_error)?.halo;
        let header = limits::check(&image, &limits)?;
        let (width, height) = (header.width, header.height);
        let tiles = TilePlan::new(width, height, DEFAULT_TILE, DEFAULT_TILE, halo)
            .map_err(tile_error)?
            .tiles
            .len();
        let output = BlobKey::new(format!("outputs/tiled-{}.{extension}", TaskId::new()))
            .map_err(|error| ApiError::internal(error.to_string()))?;
        let turn = tokio::time::timeout(CUT_WAIT, Arc::clone(&self.cutting).acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or_else(|| ApiError::Busy {
                reason: "another image is being cut into tiles: try again later".to_owned(),
                retry_after: 1,
            })?;
        self.room_for(tiles).await?;
        let (jobs, queue) = (self.jobs.clone(), Arc::clone(&self.queue));
        // Its own task: a client that leaves does not stop it halfway, nor free the turn
        // while an image is still decoded.
        let work = tokio::spawn(async move {
            let _turn = turn;
            let decoding = limits.decoding();
            let decoded = tokio::task::spawn_blocking(move || {
                session01_image_basics::decode(&image, &decoding).map_err(limits::refused)
            })
            .await
            .map_err(|error| {
                ApiError::internal(format!("the decoding thread failed: {error}"))
            })??;
            let tile = (DEFAULT_TILE, DEFAULT_TILE);
            jobs.submit(&queue, &decoded, &pipeline, output, tile)
                .await
                .map_err(submit_error)
        });
        work.await
            .map_err(|error| ApiError::internal(format!("the submission failed: {error}")))?
    }
    // ANCHOR_END: submit

    /// 429 when the queue has no room for `tiles` more tasks now (checked again, task by
    /// task, when they are queued).
    async fn room_for(&self, tiles: usize) -> Result<(), ApiError> {
        let stats = self.queue.stats().await?;
        match stats.capacity {
            Some(capacity) if stats.waiting + tiles > capacity => Err(ApiError::Busy {
                reason: format!(
                    "the queue has room for {} more tasks, and this image makes {tiles} tiles: \
                     try again later",
                    capacity.saturating_sub(stats.waiting)
                ),
                retry_after: 1,
            }),
            _ => Ok(()),
        }
    }

    /// Job `id` as one job, given the queue's record of `id`: `None` when neither the
    /// queue nor the jobs know it.
    pub async fn read(
        &self,
        id: TaskId,
        record: Option<TaskRecord>,
    ) -> Result<Option<Job>, ApiError> {
        let assembly = record.as_ref().map(|record| {
            matches!(
                JobPart::of(&record.task),
                Ok(Some(JobPart::Assembly { .. }))
            )
        });
        if assembly == Some(false) {
            return Ok(record.map(Job::task));
        }
        let (Some(job), Some(status)) = (self.jobs.record(id).await?, self.jobs.status(id).await?)
        else {
            // No such job (a 404), or its record expired before its assembly's: the
            // assembly alone.
            return Ok(record.map(Job::task));
        };
        let tiles = Tiles {
            done: status.done,
            total: status.tiles,
        };
        let first = match job.tiles.first() {
            Some(&tile) => self.queue.status(tile).await?,
            None => None,
        };
        let mut record = match record {
            Some(record) => record,
            None => {
                let mut record = TaskRecord::new(tiles_task(&job), Utc::now());
                let (state, error, finished) = self.before_assembly(&job, status.failed).await?;
                (record.state, record.error, record.finished_at) = (state, error, finished);
                record
            }
        };
        if let Some(first) = first {
            record.enqueued_at = first.enqueued_at;
            record.started_at = first.started_at.or(record.started_at);
        }
        if let (Some(started), Some(finished)) = (record.started_at, record.finished_at) {
            record.duration_seconds = Some((finished - started).as_seconds_f64().max(0.0));
        }
        let whole = [&job.pipeline.tiled, &job.pipeline.after]
            .into_iter()
            .flat_map(|part| part.filters.iter().cloned())
            .collect();
        Ok(Some(Job {
            record,
            tiles: Some(tiles),
            pipeline: Some(PipelineSpec { filters: whole }.to_string()),
        }))
    }

    /// The state of a job whose assembly is not queued yet, from its tiles: failed or dead
    /// with the reason and time when one of them is (a dead tile never tells the job),
    /// running once one has started, pending before.
    async fn before_assembly(
        &self,
        job: &JobRecord,
        failed: Option<String>,
    ) -> Result<(TaskState, Option<TaskError>, Option<DateTime<Utc>>), ApiError> {
        let states = self.queue.states(job.tiles.iter().copied()).await?;
        let ended = states
            .iter()
            .enumerate()
            .find_map(|(index, state)| match state {
                Some(state @ (TaskState::Dead | TaskState::Failed)) => Some((index, *state)),
                _ => None,
            });
        let ended = match ended {
            Some((index, state)) => {
                let record = self.queue.status(job.tiles[index]).await?;
                let why = record.as_ref().and_then(|r| r.error.as_ref());
                let reason = match why {
                    Some(error) => format!("tile {index} is {state}: {}", error.message),
                    None => format!("tile {index} is {state}"),
                };
                Some((state, reason, record.and_then(|r| r.finished_at)))
            }
            None => None,
        };
        // The job's own reason first: it was written when the tile failed.
        if let Some(reason) = failed {
            let at = ended.and_then(|(_, _, at)| at);
            return Ok((TaskState::Failed, Some(TaskError::job(reason)), at));
        }
        if let Some((state, reason, at)) = ended {
            return Ok((state, Some(TaskError::job(reason)), at));
        }
        let started = states
            .iter()
            .any(|state| matches!(state, Some(TaskState::Running | TaskState::Succeeded)));
        let retrying = states.contains(&Some(TaskState::Retrying));
        let state = match (started, retrying) {
            (true, _) => TaskState::Running,
            (false, true) => TaskState::Retrying,
            (false, false) => TaskState::Pending,
        };
        Ok((state, None, None))
    }
}

/// The task that stands for a job whose assembly is not queued yet: its tiles' part of the
/// pipeline (what a worker must be able to run now), from the first tile to the result.
fn tiles_task(job: &JobRecord) -> Arc<Task> {
    let input = tile_input(job.id, 0, job.tile_format);
    let mut task = Task::new(job.pipeline.tiled.clone(), input, job.output.clone());
    task.id = job.id;
    Arc::new(task)
}

/// A pipeline that cannot run in tiles, or an image with no pixels: 422.
fn tile_error(error: TileError) -> ApiError {
    ApiError::Unprocessable(error.to_string())
}

/// What `Jobs::submit` met: a full queue is 429, Redis away 503, a store error as
/// [`stored`] says, a plan that cannot be made 422.
fn submit_error(error: anyhow::Error) -> ApiError {
    let error = match error.downcast::<QueueError>() {
        Ok(error) => return error.into(),
        Err(error) => error,
    };
    let error = match error.downcast::<TileError>() {
        Ok(error) => return tile_error(error),
        Err(error) => error,
    };
    let error = match error.downcast::<BlobError>() {
        Ok(error) => return stored(error),
        Err(error) => error,
    };
    match error.downcast::<redis::RedisError>() {
        Ok(error) => ApiError::unavailable(format!("Redis: {error}")),
        Err(error) => ApiError::internal(format!("{error:#}")),
    }
}
