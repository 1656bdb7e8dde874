//! Tiled jobs on the queue: a large image becomes one task per tile, any worker runs them,
//! and the job is assembled exactly once, when its last tile is done.
//!
//! A job lives in Redis next to the queue's tasks:
//!
//! | key | holds |
//! |---|---|
//! | `NS:job:ID` | the plan, the pipeline split, the output key, the tile count, `assembled_at`, how many assemblies ran |
//! | `NS:job:ID:done` | the set of tiles done: a tile delivered twice is one member |
//! | `NS:job:ID:events` | a stream of what happened (tile done, assembled, failed): clients block on it, no polling |
//!
//! Tiles are ordinary tasks: their input and output are blobs named after the job
//! (`jobs/ID/tile-N.png`, `jobs/ID/tile-N.out.png`), so session 04's queue routes, leases,
//! retries and dead-letters them like any other. When a worker finishes a tile, one atomic
//! step adds it to the done set and tells whether all are in; then the worker enqueues the
//! job's assembly task. Its id is the job's id, and the queue refuses a second task with the
//! same id, so however many workers see the last tile finish (a tile delivered twice, a
//! worker that died after finishing one), one assembly task exists. The assembling worker
//! stitches the tiles' cores, runs the filters that change geometry, stores the result and
//! marks the job assembled, once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use image::DynamicImage;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
use serde::{Deserialize, Serialize};
use session01_image_basics::io::format_for_path;
use session01_image_basics::{Filter, Limits, decode, encode};
use session02_pipelines::PipelineSpec;
use session03_workers::worker::{blob_failure, run_blocking};
use session03_workers::{
    BlobKey, BlobStore, Capabilities, Queue, QueueError, Task, TaskError, TaskId, Worker,
};
use session04_redis::{RedisBlobStore, RedisOptions, RedisQueue};

use crate::tiles::{Rect, Stitcher, TilePlan, TiledPipeline, cut, split_pipeline};

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
    /// The extension of the tiles' blobs: `ppm`, `pgm` or `png`.
    pub tile_format: String,
}
// ANCHOR_END: job_record

/// The format tiles of an image travel in: raw PPM or PGM for 8-bit colour or gray (no
/// compression to pay for on either side), PNG for anything else.
pub fn tile_format(color: image::ColorType) -> &'static str {
    match color {
        image::ColorType::Rgb8 => "ppm",
        image::ColorType::L8 => "pgm",
        _ => "png",
    }
}

/// The blob key of tile `index`'s input, in `format` (an extension).
pub fn tile_input(job: TaskId, index: usize, format: &str) -> BlobKey {
    key(format!("jobs/{job}/tile-{index}.{format}"))
}

/// The blob key of tile `index`'s result.
pub fn tile_output(job: TaskId, index: usize, format: &str) -> BlobKey {
    key(format!("jobs/{job}/tile-{index}.out.{format}"))
}

/// A file name with `format` as its extension, to look the encoding up by.
fn task_input_name(format: &str) -> &'static str {
    match format {
        "ppm" => "tile.ppm",
        "pgm" => "tile.pgm",
        _ => "tile.png",
    }
}

/// The header of a binary PPM (colour) or PGM (gray) of `width` x `height`, for the pixels
/// of `like`'s colour type.
fn pnm_header(like: &DynamicImage, width: u32, height: u32) -> Result<String, TaskError> {
    let magic = match like.color() {
        image::ColorType::Rgb8 => "P6",
        image::ColorType::L8 => "P5",
        other => {
            return Err(TaskError::job(format!(
                "a PPM or PGM result needs 8-bit RGB or gray tiles, not {other:?}"
            )));
        }
    };
    Ok(format!("{magic}\n{width} {height}\n255\n"))
}

/// The input key of a job's assembly task: a name, not a blob.
fn assembly_input(job: TaskId) -> BlobKey {
    key(format!("jobs/{job}/assemble"))
}

fn key(text: String) -> BlobKey {
    BlobKey::new(text).expect("job keys are made of a UUID, digits and safe characters")
}

/// The job and tile index of a tile task, from its output key.
pub fn tile_of(task: &Task) -> Option<(TaskId, usize)> {
    let rest = task.output.as_str().strip_prefix("jobs/")?;
    let (job, file) = rest.split_once('/')?;
    let (index, _format) = file.strip_prefix("tile-")?.split_once(".out.")?;
    Some((job.parse().ok()?, index.parse().ok()?))
}

/// The job an assembly task assembles, from its input key.
pub fn assembly_of(task: &Task) -> Option<TaskId> {
    let rest = task.input.as_str().strip_prefix("jobs/")?;
    let job = rest.strip_suffix("/assemble")?;
    job.parse().ok().filter(|id| *id == task.id)
}

/// One atomic step when a tile is done: add it to the set, note it in the events, and tell
/// whether the job is ready to assemble (1), not yet (0), already assembled (2), or unknown
/// (-1: expired or never made).
const TILE_DONE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[1], 'assembled_at') == 1 then return 2 end
local added = redis.call('SADD', KEYS[2], ARGV[1])
local done = redis.call('SCARD', KEYS[2])
if added == 1 then
  redis.call('HSET', KEYS[1], 'done', done)
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'event', 'tile', 'index', ARGV[1], 'done', done)
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
if done >= tonumber(redis.call('HGET', KEYS[1], 'tiles')) then return 1 end
return 0
";

/// Counts an assembly and, the first time only, moves its result from the staging key to
/// the output, marks the job assembled and tells clients. A later assembly (a redelivered
/// task whose first run finished) throws its staged result away, so the output is written
/// by one assembly only, whole.
const ASSEMBLED: &str = r"
redis.call('HINCRBY', KEYS[1], 'assemblies', 1)
local t = redis.call('TIME')
if redis.call('HSETNX', KEYS[1], 'assembled_at', t[1] * 1000 + math.floor(t[2] / 1000)) == 1 then
  redis.call('RENAME', KEYS[3], KEYS[4])
  redis.call('XADD', KEYS[2], '*', 'event', 'assembled', 'output', ARGV[1])
  return 1
end
redis.call('DEL', KEYS[3])
return 0
";

/// A job that cannot finish: recorded once, told to clients; a late failure of a tile of
/// an assembled job (a duplicate delivery whose input is gone) changes nothing.
const FAILED: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], 'assembled_at') == 1 then return 0 end
if redis.call('HSETNX', KEYS[1], 'failed', ARGV[1]) == 1 then
  redis.call('XADD', KEYS[2], '*', 'event', 'failed', 'reason', ARGV[1])
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
end
return 0
";

/// The most bytes a banded assembly sends in one command.
const WRITE_PIECE: usize = 8 << 20;

/// What `tile_done` says of a tile whose job was assembled meanwhile.
const ALREADY_ASSEMBLED: &str = "its job is already assembled";

/// Tiled jobs in Redis, next to the queue.
#[derive(Clone)]
pub struct Jobs {
    conn: ConnectionManager,
    namespace: String,
    retention: Duration,
    blobs: Arc<RedisBlobStore>,
    limits: Limits,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
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

fn unavailable(error: redis::RedisError) -> QueueError {
    QueueError::Unavailable(format!("Redis: {error}"))
}

impl Jobs {
    /// Jobs of the queue `queue`, whose blobs are in `blobs`; tiles are decoded under
    /// `limits`.
    pub fn new(queue: &RedisQueue, blobs: Arc<RedisBlobStore>, limits: Limits) -> Self {
        Self {
            conn: queue.connection(),
            namespace: queue.config().namespace.clone(),
            retention: queue.config().retention,
            blobs,
            limits,
        }
    }

    fn keys(&self, job: TaskId) -> [String; 3] {
        let base = format!("{}:job:{job}", self.namespace);
        [
            base.clone(),
            format!("{base}:done"),
            format!("{base}:events"),
        ]
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
        let format = tile_format(image.color());
        let tasks: Vec<Task> = plan
            .tiles
            .iter()
            .map(|t| {
                Task::new(
                    split.tiled.clone(),
                    tile_input(id, t.index, format),
                    tile_output(id, t.index, format),
                )
            })
            .collect();
        let record = JobRecord {
            id,
            plan: plan.clone(),
            pipeline: split,
            output,
            tiles: tasks.iter().map(|t| t.id).collect(),
            tile_format: format.to_owned(),
        };
        // The record first: a tile that finishes at once must find its job.
        let [job, _, _] = self.keys(id);
        let mut conn = self.conn.clone();
        redis::pipe()
            .atomic()
            .hset_multiple(
                &job,
                &[
                    ("record", serde_json::to_string(&record)?),
                    ("tiles", plan.tiles.len().to_string()),
                    ("done", "0".to_owned()),
                ],
            )
            .ignore()
            .pexpire(&job, i64::try_from(self.retention_ms()).unwrap_or(i64::MAX))
            .ignore()
            .query_async::<()>(&mut conn)
            .await?;
        let encoding = format_for_path(std::path::Path::new(task_input_name(format)))?;
        for (tile, task) in plan.tiles.iter().zip(&tasks) {
            let piece = cut(image, tile);
            let bytes =
                run_blocking(move || encode(&piece, encoding).map_err(TaskError::job)).await?;
            self.blobs.put(&task.input, Bytes::from(bytes)).await?;
        }
        let enqueued = queue.enqueue_many(&tasks).await;
        let refused = match enqueued {
            Ok(outcomes) => outcomes.into_iter().find_map(Result::err),
            Err(error) => Some(error),
        };
        if let Some(error) = refused {
            // Some tiles may be queued already: the job can never finish, so say so.
            self.fail(id, &format!("not every tile could be queued: {error}"))
                .await?;
            return Err(error.into());
        }
        Ok(id)
    }
    // ANCHOR_END: submit

    /// The record of `job`, while it is kept.
    pub async fn record(&self, job: TaskId) -> Result<Option<JobRecord>, QueueError> {
        let [key, _, _] = self.keys(job);
        let mut conn = self.conn.clone();
        let text: Option<String> = conn.hget(&key, "record").await.map_err(unavailable)?;
        text.map(|t| {
            serde_json::from_str(&t)
                .map_err(|e| QueueError::Unavailable(format!("job {job}: unreadable record: {e}")))
        })
        .transpose()
    }

    /// Whether `job` has been assembled.
    pub async fn is_assembled(&self, job: TaskId) -> Result<bool, QueueError> {
        let [key, _, _] = self.keys(job);
        let mut conn = self.conn.clone();
        conn.hexists(&key, "assembled_at")
            .await
            .map_err(unavailable)
    }

    /// Where `job` stands.
    pub async fn status(&self, job: TaskId) -> Result<Option<JobStatus>, QueueError> {
        let [key, _, _] = self.keys(job);
        let mut conn = self.conn.clone();
        let (tiles, done, assemblies, assembled, failed): JobFields = redis::cmd("HMGET")
            .arg(&key)
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
        let [key, done, events] = self.keys(job);
        let ready: i64 = Script::new(TILE_DONE)
            .key(&key)
            .key(&done)
            .key(&events)
            .arg(index)
            .arg(self.retention_ms())
            .invoke_async(&mut self.conn.clone())
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
                    .map_err(TaskError::worker)?
                    .ok_or_else(|| TaskError::job(format!("job {job} is unknown")))?;
                let assembly = Task {
                    id: job,
                    pipeline: record.pipeline.after.clone(),
                    input: assembly_input(job),
                    output: record.output.clone(),
                    created_at: chrono::Utc::now(),
                };
                match queue
                    .enqueue(assembly, session03_workers::Backpressure::Wait)
                    .await
                {
                    // Another worker saw the last tile too: its task is the one.
                    Ok(_) | Err(QueueError::Duplicate(_)) => Ok(()),
                    Err(error) => Err(TaskError::worker(error)),
                }
            }
            2 => Err(TaskError::job(ALREADY_ASSEMBLED)),
            _ => Ok(()),
        }
    }
    // ANCHOR_END: tile_done

    /// Marks `job` failed for good, with `reason`, and tells waiting clients.
    pub async fn fail(&self, job: TaskId, reason: &str) -> Result<(), QueueError> {
        let [key, _, events] = self.keys(job);
        Script::new(FAILED)
            .key(&key)
            .key(&events)
            .arg(reason)
            .invoke_async::<i64>(&mut self.conn.clone())
            .await
            .map_err(unavailable)
            .map(drop)
    }

    // ANCHOR: assemble
    /// Stitches `job`'s tiles, runs the filters after stitching, stores the result and
    /// marks the job assembled (the first time only); then the tiles' blobs are deleted.
    ///
    /// A raw PPM or PGM result with no filter after stitching is written band by band (one
    /// row of tiles at a time), so the assembling worker never holds the whole image; any
    /// other result is stitched in memory, within the decoding limits.
    pub async fn assemble(&self, job: TaskId) -> Result<(), TaskError> {
        if self.is_assembled(job).await.map_err(TaskError::worker)? {
            return Ok(()); // a redelivered assembly whose first run finished
        }
        let record = self
            .record(job)
            .await
            .map_err(TaskError::worker)?
            .ok_or_else(|| TaskError::job(format!("job {job} is unknown")))?;
        let format = format_for_path(std::path::Path::new(record.output.as_str()))
            .map_err(TaskError::job)?;
        // Each attempt writes a key of its own; the first to finish moves it into place.
        let extension = record.output.as_str().rsplit('.').next().unwrap_or("png");
        let staging = key(format!("jobs/{job}/result-{}.{extension}", TaskId::new()));
        let written =
            if format == image::ImageFormat::Pnm && record.pipeline.after.filters.is_empty() {
                self.assemble_in_bands(&record, &staging).await
            } else {
                self.assemble_in_memory(&record, format, &staging).await
            };
        if let Err(error) = written {
            let _ = self.blobs.delete(&staging).await;
            return Err(error);
        }
        let [key, _, events] = self.keys(job);
        let first: i64 = Script::new(ASSEMBLED)
            .key(&key)
            .key(&events)
            .key(self.blobs.redis_key(&staging))
            .key(self.blobs.redis_key(&record.output))
            .arg(record.output.as_str())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(|e| TaskError::worker(unavailable(e)))?;
        if first == 1 {
            for tile in &record.plan.tiles {
                for blob in [
                    tile_input(job, tile.index, &record.tile_format),
                    tile_output(job, tile.index, &record.tile_format),
                ] {
                    // They expire anyway; deleting them now frees the memory at once.
                    let _ = self.blobs.delete(&blob).await;
                }
            }
        }
        Ok(())
    }
    // ANCHOR_END: assemble

    /// Decodes the result of tile `index`.
    async fn processed_tile(
        &self,
        record: &JobRecord,
        index: usize,
    ) -> Result<DynamicImage, TaskError> {
        let bytes = self
            .blobs
            .get(&tile_output(record.id, index, &record.tile_format))
            .await
            .map_err(blob_failure)?;
        let limits = self.limits;
        run_blocking(move || decode(&bytes, &limits).map_err(TaskError::job)).await
    }

    /// The whole result in memory: stitched, filtered, encoded, stored.
    async fn assemble_in_memory(
        &self,
        record: &JobRecord,
        format: image::ImageFormat,
        target: &BlobKey,
    ) -> Result<(), TaskError> {
        let pixels = u64::from(record.plan.width) * u64::from(record.plan.height);
        if pixels > self.limits.max_pixels {
            return Err(TaskError::job(format!(
                "a {}x{} result is over this worker's limit of {} pixels in memory; ask for \
                 a .ppm or .pgm result with no filter after the tiles, which is written in bands",
                record.plan.width, record.plan.height, self.limits.max_pixels
            )));
        }
        let mut stitcher: Option<Stitcher> = None;
        for tile in &record.plan.tiles {
            let piece = self.processed_tile(record, tile.index).await?;
            let stitcher =
                stitcher.get_or_insert_with(|| Stitcher::new(record.plan.clone(), piece.color()));
            stitcher.place(tile.index, &piece).map_err(TaskError::job)?;
        }
        let stitcher = stitcher.ok_or_else(|| TaskError::job("the job has no tiles"))?;
        let after = record.pipeline.after.clone();
        let bytes = run_blocking(move || {
            let stitched = stitcher.finish().map_err(TaskError::job)?;
            let result = if after.filters.is_empty() {
                stitched
            } else {
                let after = after.build().map_err(TaskError::job)?;
                after.apply(&stitched).map_err(TaskError::job)?
            };
            encode(&result, format).map_err(TaskError::job)
        })
        .await?;
        self.blobs
            .put(target, Bytes::from(bytes))
            .await
            .map_err(blob_failure)
    }

    // ANCHOR: bands
    /// A raw result written a row of tiles at a time: a blob of the final size, the header,
    /// then each band's rows in their place.
    async fn assemble_in_bands(
        &self,
        record: &JobRecord,
        target: &BlobKey,
    ) -> Result<(), TaskError> {
        let plan = &record.plan;
        let mut offset = None;
        for row in plan.tiles.chunk_by(|a, b| a.core.y == b.core.y) {
            let band = Rect {
                x: 0,
                y: row[0].core.y,
                width: plan.width,
                height: row[0].core.height,
            };
            let mut stitched: Option<Stitcher> = None;
            for tile in row {
                let piece = self.processed_tile(record, tile.index).await?;
                let stitcher = stitched
                    .get_or_insert_with(|| Stitcher::for_band(plan.clone(), band, piece.color()));
                stitcher.place(tile.index, &piece).map_err(TaskError::job)?;
            }
            let band_image = stitched
                .ok_or_else(|| TaskError::job("a band has no tiles"))?
                .finish()
                .map_err(TaskError::job)?;
            let at = match offset {
                Some(at) => at,
                None => {
                    // The whole blob at once, then each band in its place.
                    let header = pnm_header(&band_image, plan.width, plan.height)?;
                    let pixels = u64::from(plan.width)
                        * u64::from(plan.height)
                        * u64::from(band_image.color().bytes_per_pixel());
                    self.blobs
                        .create_sized(target, header.len() as u64 + pixels)
                        .await
                        .map_err(blob_failure)?;
                    self.blobs
                        .write_at(target, 0, header.as_bytes())
                        .await
                        .map_err(blob_failure)?;
                    header.len() as u64
                }
            };
            // In pieces: one command for a whole band would copy it into a buffer again.
            let mut at = at;
            for piece in band_image.as_bytes().chunks(WRITE_PIECE) {
                self.blobs
                    .write_at(target, at, piece)
                    .await
                    .map_err(blob_failure)?;
                at += piece.len() as u64;
            }
            offset = Some(at);
        }
        Ok(())
    }
    // ANCHOR_END: bands
}

// ANCHOR: wait
/// Waits for `job` to end, blocking on its events stream (no polling), for at most `limit`.
///
/// Uses a connection of its own: a blocking read holds its connection until it returns.
pub async fn wait_for_job(
    options: &RedisOptions,
    namespace: &str,
    job: TaskId,
    limit: Duration,
) -> anyhow::Result<JobOutcome> {
    let client = options.client()?;
    let config = redis::AsyncConnectionConfig::new()
        .set_response_timeout(Some(session04_redis::connect::MAX_BLOCK * 2));
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    let events = format!("{namespace}:job:{job}:events");
    let deadline = Instant::now() + limit;
    let mut last = "0-0".to_owned();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        anyhow::ensure!(
            !left.is_zero(),
            "job {job} did not finish within {:.0} s",
            limit.as_secs_f64()
        );
        let block = left.min(session04_redis::connect::MAX_BLOCK);
        let options = redis::streams::StreamReadOptions::default()
            .block(
                usize::try_from(block.as_millis())
                    .unwrap_or(usize::MAX)
                    .max(1),
            )
            .count(1000);
        let reply: Option<redis::streams::StreamReadReply> =
            conn.xread_options(&[&events], &[&last], &options).await?;
        if reply.is_none()
            && let Some(reason) = stuck(&mut conn, namespace, job).await?
        {
            // Nothing happened for a while: a tile or the assembly may have died in the
            // queue (out of attempts), where no job code runs to say so.
            return Ok(JobOutcome::Failed { reason });
        }
        for entry in reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids) {
            last = entry.id.clone();
            let field = |name: &str| entry.get::<String>(name).unwrap_or_default();
            match field("event").as_str() {
                "assembled" => {
                    return Ok(JobOutcome::Assembled {
                        output: field("output"),
                    });
                }
                "failed" => {
                    return Ok(JobOutcome::Failed {
                        reason: field("reason"),
                    });
                }
                _ => {}
            }
        }
    }
}
// ANCHOR_END: wait

/// Why `job` can never finish, when one of its tasks ended dead or failed.
async fn stuck(
    conn: &mut redis::aio::MultiplexedConnection,
    namespace: &str,
    job: TaskId,
) -> anyhow::Result<Option<String>> {
    let text: Option<String> = conn
        .hget(format!("{namespace}:job:{job}"), "record")
        .await?;
    let Some(text) = text else {
        return Ok(Some(format!(
            "job {job} is unknown (expired or never made)"
        )));
    };
    let record: JobRecord = serde_json::from_str(&text)?;
    let ids: Vec<TaskId> = record.tiles.iter().copied().chain([job]).collect();
    let mut pipe = redis::pipe();
    for id in &ids {
        pipe.cmd("HMGET")
            .arg(format!("{namespace}:task:{id}"))
            .arg(&["state", "error_message"]);
    }
    let states: Vec<(Option<String>, Option<String>)> = pipe.query_async(conn).await?;
    Ok(ids.iter().zip(states).find_map(|(id, (state, error))| {
        matches!(state.as_deref(), Some("dead" | "failed")).then(|| {
            let what = if *id == job {
                "the assembly".to_owned()
            } else {
                format!("tile task {id}")
            };
            format!(
                "{what} is {}: {}",
                state.unwrap_or_default(),
                error.unwrap_or_default()
            )
        })
    }))
}

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

#[async_trait]
impl Worker for TileAware {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn process(&self, task: &Task) -> Result<(), TaskError> {
        if let Some(job) = assembly_of(task) {
            let outcome = self.jobs.assemble(job).await;
            if let Err(error) = &outcome
                && !error.is_retryable()
            {
                let _ = self
                    .jobs
                    .fail(job, &format!("assembly failed: {}", error.message))
                    .await;
            }
            return outcome;
        }
        let tile = tile_of(task);
        if let Some((job, _)) = tile
            && self
                .jobs
                .is_assembled(job)
                .await
                .map_err(TaskError::worker)?
        {
            // A late copy of a tile whose job is done: its blobs are gone, and so is the need.
            return Ok(());
        }
        let outcome = self.inner.process(task).await;
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
                let _ = self.jobs.blobs.delete(&task.input).await;
                let _ = self.jobs.blobs.delete(&task.output).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_and_assemblies_are_told_apart_by_their_keys() {
        let job = TaskId::new();
        let spec = PipelineSpec::parse("blur").unwrap();
        let tile = Task::new(
            spec.clone(),
            tile_input(job, 7, "ppm"),
            tile_output(job, 7, "ppm"),
        );
        assert_eq!(tile_of(&tile), Some((job, 7)));
        assert_eq!(assembly_of(&tile), None);
        let mut assembly = Task::new(spec.clone(), assembly_input(job), key("out.png".into()));
        assert_eq!(assembly_of(&assembly), None, "the id must be the job's");
        assembly.id = job;
        assert_eq!(assembly_of(&assembly), Some(job));
        let plain = Task::new(
            spec,
            key("in.png".into()),
            key("jobs/x/tile-1.out.png".into()),
        );
        assert_eq!(tile_of(&plain), None);
    }
}
