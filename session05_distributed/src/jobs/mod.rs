//! Tiled jobs on the queue: a large image becomes one task per tile, any worker runs them,
//! and the job is assembled exactly once, when its last tile is done.
//!
//! A job lives in Redis next to the queue's tasks, under keys that session 04's
//! [`Keys`] builds ([`JobKeys`]):
//!
//! | key | holds |
//! |---|---|
//! | `NS:job:ID` | the record (plan, pipeline split, output, tiles), the tile count, `done`, `assembled_at`, `assemblies`, `failed` |
//! | `NS:job:ID:done` | the set of tiles done: a tile delivered twice is one member |
//! | `NS:job:ID:events` | a stream of what happened (tile done, assembled, failed): clients block on it, no polling |
//!
//! Tiles are ordinary tasks whose headers say which tile of which job they are
//! ([`JobPart`]); their input and output are blobs named after the job, so session 04's
//! queue routes, leases, retries and dead-letters them like any other. When a worker
//! finishes a tile, one atomic function (`jobs.lua`) adds it to the done set and tells
//! whether all are in; then the worker enqueues the job's assembly task. Its id is the
//! job's id, and the queue refuses a second task with the same id, so however many workers
//! see the last tile finish, one assembly task exists. The assembling worker stitches the
//! tiles' cores, runs the filters that change geometry, stores the result and marks the
//! job assembled, once.
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | [`Jobs`]: submitting a job, its record and status, a tile done, a job failed |
//! | `part.rs` | [`JobPart`], [`TileFormat`]: what a task of a job is, and its tiles' blobs |
//! | `assemble.rs` | stitching the tiles, in memory or band by band |
//! | `bands.rs` | a large result written into Redis in pieces |
//! | `in_place.rs` | [`InPlaceJob`]: a job in bands that read and write raw images in place |
//! | `pixels.rs` | [`PixelStore`]: raw images' rows read and written on a folder or in Redis |
//! | `raw.rs` | [`RawLayout`]: where a raw PPM or PGM's rows lie |
//! | `wait.rs` | [`wait_for_job`]: a client blocking on the job's events |
//! | `tile_aware.rs` | [`TileAware`]: the task runner that knows tiles and assemblies |
//! | `jobs.lua` | the job's atomic steps in Redis |

mod assemble;
mod bands;
mod in_place;
mod part;
mod pixels;
mod raw;
mod tile_aware;
mod wait;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use image::DynamicImage;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use session01_image_basics::io::format_for_path;
use session01_image_basics::{Limits, encode};
use session02_pipelines::PipelineSpec;
use session03_workers::worker::run_blocking;
use session03_workers::{BlobKey, BlobStore, FsBlobStore, QueueError, Task, TaskError, TaskId};
use session04_redis::functions::Library;
use session04_redis::{Keys, RedisBlobStore, RedisQueue};

use crate::tiles::{TilePlan, TiledPipeline, cut, split_pipeline};

pub use in_place::{InPlaceJob, PixelSource, band_rows};
pub use part::{HEADER, JobPart, TileFormat, tile_input, tile_output};
pub use pixels::PixelStore;
pub use raw::RawLayout;
pub use tile_aware::{TileAware, attach};
pub use wait::wait_for_job;

/// The side of a job's tiles unless told otherwise, in pixels: a megapixel per tile, a
/// dozen tiles for a 12-megapixel photo.
pub const DEFAULT_TILE: u32 = 1024;

/// The jobs' functions in Redis.
pub const JOBS: Library = Library::new(include_str!("jobs.lua"));

/// What a job's record holds: enough to assemble it anywhere.
// ANCHOR: job_record
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The job's id, which is also its assembly task's id.
    pub id: TaskId,
    /// How the image is cut.
    pub plan: TilePlan,
    /// What runs on the tiles, and what runs after stitching.
    pub pipeline: TiledPipeline,
    /// Where the stitched result goes.
    pub output: BlobKey,
    /// The tile tasks' ids, in the plan's order.
    pub tiles: Vec<TaskId>,
    /// The format the tiles travel in.
    pub tile_format: TileFormat,
    /// Where the job's raw images are when it runs in place, in bands; `None` for tiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_place: Option<InPlaceJob>,
}
// ANCHOR_END: job_record

/// The Redis keys of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobKeys {
    /// The job's hash.
    pub job: String,
    /// The set of tiles done.
    pub done: String,
    /// The stream of what happened.
    pub events: String,
}

impl JobKeys {
    /// The keys of `job` in the namespace of `keys`.
    pub fn new(keys: &Keys, job: TaskId) -> Self {
        Self {
            job: keys.of(&[&"job", &job]),
            done: keys.of(&[&"job", &job, &"done"]),
            events: keys.of(&[&"job", &job, &"events"]),
        }
    }
}

/// How a job ended, as its events stream tells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    /// Stitched and stored.
    Assembled {
        /// Where the result is.
        output: String,
    },
    /// A tile failed for good, or the tiles would not stitch.
    Failed {
        /// Why.
        reason: String,
    },
}

/// A job's progress, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobStatus {
    /// Tiles in the plan.
    pub tiles: u64,
    /// Tiles done.
    pub done: u64,
    /// How many times the assembly ran (1 when all went well).
    pub assemblies: u64,
    /// Whether the result is stored.
    pub assembled: bool,
    /// Why the job cannot finish, if it cannot.
    pub failed: Option<String>,
}

/// A job's counters as `HMGET` returns them: tiles, done, assemblies, assembled_at, failed.
type JobFields = (
    Option<u64>,
    Option<u64>,
    Option<u64>,
    Option<String>,
    Option<String>,
);

/// What `tile_done` says of a tile whose job was assembled meanwhile.
const ALREADY_ASSEMBLED: &str = "its job is already assembled";

fn unavailable(error: redis::RedisError) -> QueueError {
    QueueError::Unavailable(format!("Redis: {error}"))
}

/// A queue error met while running a task of a job: data that cannot be read back fails
/// the job; anything else (Redis away, say) is the worker's, and the task is retried.
fn task_error(error: QueueError) -> TaskError {
    match error {
        QueueError::Malformed(_) => TaskError::job(error),
        other => TaskError::worker(other),
    }
}

/// One task per tile of `plan`, running the tiled part of `split`, with the input and
/// output blobs `keys` names for each tile index; `in_place` for a job in bands in place.
fn tile_tasks(
    job: TaskId,
    plan: &TilePlan,
    split: &TiledPipeline,
    in_place: bool,
    keys: impl Fn(usize) -> (BlobKey, BlobKey),
) -> Vec<Task> {
    plan.tiles
        .iter()
        .map(|t| {
            let (input, output) = keys(t.index);
            let task = Task::new(split.tiled.clone(), input, output);
            let index = t.index;
            let part = if in_place {
                JobPart::InPlace { job, index }
            } else {
                JobPart::Tile { job, index }
            };
            part.mark(task)
        })
        .collect()
}

/// Tiled jobs in Redis, next to the queue.
#[derive(Clone)]
pub struct Jobs {
    conn: ConnectionManager,
    keys: Keys,
    retention: Duration,
    blobs: Arc<RedisBlobStore>,
    folder: Option<Arc<FsBlobStore>>,
    limits: Limits,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs")
            .field("namespace", &self.keys.namespace())
            .finish_non_exhaustive()
    }
}

impl Jobs {
    /// Jobs of the queue `queue`, whose blobs are in `blobs`; tiles are decoded under
    /// `limits`.
    pub fn new(queue: &RedisQueue, blobs: Arc<RedisBlobStore>, limits: Limits) -> Self {
        Self {
            conn: queue.connection(),
            keys: queue.keys().clone(),
            retention: queue.config().retention,
            blobs,
            folder: None,
            limits,
        }
    }

    /// The keys of `job`.
    pub fn keys(&self, job: TaskId) -> JobKeys {
        JobKeys::new(&self.keys, job)
    }

    fn retention_ms(&self) -> u64 {
        u64::try_from(self.retention.as_millis()).unwrap_or(u64::MAX)
    }

    // ANCHOR: submit
    /// Cuts `image` into tiles of `tile` pixels, stores them, records the job and enqueues
    /// one task per tile. The result goes to `output` once the job is assembled.
    ///
    /// Refuses a pipeline whose first filter changes geometry: nothing could run in tiles.
    pub async fn submit(
        &self,
        queue: &RedisQueue,
        image: &DynamicImage,
        pipeline: &PipelineSpec,
        output: BlobKey,
        tile: (u32, u32),
    ) -> anyhow::Result<TaskId> {
        format_for_path(std::path::Path::new(output.as_str()))?;
        let split = split_pipeline(pipeline)?;
        let plan = TilePlan::new(image.width(), image.height(), tile.0, tile.1, split.halo)?;
        let id = TaskId::new();
        let format = TileFormat::for_color(image.color());
        let tasks = tile_tasks(id, &plan, &split, false, |index| {
            (
                tile_input(id, index, format),
                tile_output(id, index, format),
            )
        });
        let record = JobRecord {
            id,
            plan: plan.clone(),
            pipeline: split,
            output,
            tiles: tasks.iter().map(|t| t.id).collect(),
            tile_format: format,
            in_place: None,
        };
        // The record first: a tile that finishes at once must find its job.
        self.save(&record).await?;
        let encoding = format.image_format();
        for (tile, task) in plan.tiles.iter().zip(&tasks) {
            let piece = cut(image, tile);
            let bytes =
                run_blocking(move || encode(&piece, encoding).map_err(TaskError::job)).await?;
            self.blobs.put(&task.input, Bytes::from(bytes)).await?;
        }
        self.enqueue_tiles(queue, id, &tasks, true).await?;
        Ok(id)
    }
    // ANCHOR_END: submit

    /// Stores `record`, kept for the queue's retention.
    async fn save(&self, record: &JobRecord) -> anyhow::Result<()> {
        let keys = self.keys(record.id);
        let mut conn = self.conn.clone();
        redis::pipe()
            .atomic()
            .hset_multiple(
                &keys.job,
                &[
                    ("record", serde_json::to_string(record)?),
                    ("tiles", record.plan.tiles.len().to_string()),
                    ("done", "0".to_owned()),
                ],
            )
            .ignore()
            .pexpire(
                &keys.job,
                i64::try_from(self.retention_ms()).unwrap_or(i64::MAX),
            )
            .ignore()
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    /// Enqueues the tiles of `job`; when one is refused, the job is failed (it can never
    /// finish) and, with `delete_inputs`, the refused tiles' inputs are deleted.
    async fn enqueue_tiles(
        &self,
        queue: &RedisQueue,
        job: TaskId,
        tasks: &[Task],
        delete_inputs: bool,
    ) -> anyhow::Result<()> {
        let refused = match queue.enqueue_many(tasks).await {
            Ok(outcomes) => {
                let mut first = None;
                for (task, outcome) in tasks.iter().zip(outcomes) {
                    if let Err(error) = outcome {
                        // A tile that was not queued never runs: its input is not kept.
                        if delete_inputs {
                            let _ = self.blobs.delete(&task.input).await;
                        }
                        first.get_or_insert(error);
                    }
                }
                first
            }
            Err(error) => Some(error),
        };
        if let Some(error) = refused {
            // Some tiles may be queued already: the job can never finish, so say so.
            self.fail(job, &format!("not every tile could be queued: {error}"))
                .await?;
            return Err(error.into());
        }
        Ok(())
    }

    /// The record of `job`, while it is kept.
    pub async fn record(&self, job: TaskId) -> Result<Option<JobRecord>, QueueError> {
        let mut conn = self.conn.clone();
        let text: Option<String> = conn
            .hget(self.keys(job).job, "record")
            .await
            .map_err(unavailable)?;
        text.map(|t| {
            serde_json::from_str(&t)
                .map_err(|e| QueueError::Malformed(format!("job {job}: unreadable record: {e}")))
        })
        .transpose()
    }

    /// Whether `job` has been assembled.
    pub async fn is_assembled(&self, job: TaskId) -> Result<bool, QueueError> {
        let mut conn = self.conn.clone();
        conn.hexists(self.keys(job).job, "assembled_at")
            .await
            .map_err(unavailable)
    }

    /// Where `job` stands.
    pub async fn status(&self, job: TaskId) -> Result<Option<JobStatus>, QueueError> {
        let mut conn = self.conn.clone();
        let (tiles, done, assemblies, assembled, failed): JobFields = redis::cmd("HMGET")
            .arg(self.keys(job).job)
            .arg(&["tiles", "done", "assemblies", "assembled_at", "failed"])
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(tiles.map(|tiles| JobStatus {
            tiles,
            done: done.unwrap_or(0),
            assemblies: assemblies.unwrap_or(0),
            assembled: assembled.is_some(),
            failed,
        }))
    }

    // ANCHOR: tile_done
    /// Notes that tile `index` of `job` is done; when all are, enqueues the assembly task.
    /// Safe to call again for the same tile: the set and the task's id make it count once.
    pub async fn tile_done(
        &self,
        queue: &RedisQueue,
        job: TaskId,
        index: usize,
    ) -> Result<(), TaskError> {
        let keys = self.keys(job);
        let call = JOBS
            .call("imgjobs_tile_done", &[&keys.job, &keys.done, &keys.events])
            .arg(index)
            .arg(self.retention_ms())
            .to_owned();
        let ready: i64 = JOBS
            .run(&self.conn, &call)
            .await
            .map_err(|e| TaskError::worker(unavailable(e)))?;
        match ready {
            -1 => Err(TaskError::job(format!(
                "job {job} is unknown (its record expired or was never made)"
            ))),
            1 => {
                let record = self
                    .record(job)
                    .await
                    .map_err(task_error)?
                    .ok_or_else(|| TaskError::job(format!("job {job} is unknown")))?;
                // ANCHOR: enqueue_assembly
                let mut assembly = Task::new(
                    record.pipeline.after.clone(),
                    part::job_blob(job, "assemble"),
                    record.output.clone(),
                );
                assembly.id = job;
                let assembly = JobPart::Assembly { job }.mark(assembly);
                // The assembly continues admitted work: it goes in however full the queue
                // is. Waiting for room would park this worker slot until the task timeout,
                // and a refusal would fail the job once the tile's attempts ran out.
                match queue.enqueue_continuation(&assembly).await {
                    // Another worker saw the last tile too: its task is the one.
                    Ok(_) | Err(QueueError::Duplicate(_)) => Ok(()),
                    Err(error) => Err(TaskError::worker(format!(
                        "cannot queue the assembly of job {job}: {error}"
                    ))),
                }
                // ANCHOR_END: enqueue_assembly
            }
            2 => Err(TaskError::job(ALREADY_ASSEMBLED)),
            _ => Ok(()),
        }
    }
    // ANCHOR_END: tile_done

    /// Marks `job` failed for good, with `reason`, and tells waiting clients.
    pub async fn fail(&self, job: TaskId, reason: &str) -> Result<(), QueueError> {
        let keys = self.keys(job);
        let call = JOBS
            .call("imgjobs_failed", &[&keys.job, &keys.events])
            .arg(reason)
            .to_owned();
        // Its files go first, so a client told of the failure finds them gone; the job is
        // marked failed even when they cannot be.
        let _ = self.remove_in_place_files(job).await;
        JOBS.run::<i64>(&self.conn, &call)
            .await
            .map_err(unavailable)
            .map(drop)
    }
}
