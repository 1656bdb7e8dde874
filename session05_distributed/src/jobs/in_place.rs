//! Tiled jobs that run in place: each pixel moves once each way, and nothing is cut up
//! front or stitched after.
//!
//! The source is a raw PPM or PGM ([`RawLayout`]) in a [`PixelStore`]: a shared folder (a
//! compose volume, a Kubernetes volume, a local folder) or Redis. Submitting makes the
//! result there at its final size and cuts the image into bands as wide as the image. Each
//! band's task reads its rows and halo rows straight from the source, filters them, and
//! writes its core rows into the result where they belong. Writing a band twice writes the
//! same bytes, so a redelivered band is harmless. When the last band is done, the assembly
//! moves the result into place (or, when filters run after the tiles, loads it and runs
//! them).
//!
//! Redis carries the job as for any tiled job: its record, its tasks, its done set and its
//! events.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use image::DynamicImage;
use serde::{Deserialize, Serialize};
use session01_image_basics::io::format_for_path;
use session01_image_basics::{Filter, decode, encode};
use session02_pipelines::PipelineSpec;
use session03_workers::worker::{blob_failure, run_blocking};
use session03_workers::{
    BlobError, BlobKey, BlobStore, FsBlobStore, QueueError, Task, TaskError, TaskId,
};
use session04_redis::RedisQueue;

use super::part::{job_blob, job_dir};
use super::pixels::{PixelStore, Pixels};
use super::raw::RawLayout;
use super::{JOBS, JobRecord, Jobs, TileFormat, tile_tasks, unavailable};
use crate::tiles::{MIN_READ, TileError, TilePlan, TiledPipeline, split_pipeline};

/// Where a job that runs in place keeps its pixels, as keys of its store.
// ANCHOR: in_place_job
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InPlaceJob {
    /// The store: the shared folder, or Redis.
    pub store: PixelStore,
    /// The raw source image.
    pub source: BlobKey,
    /// Whether the job wrote the source, and so deletes it once assembled.
    pub owns_source: bool,
    /// The raw result, made at its final size, which the bands write into.
    pub staging: BlobKey,
}
// ANCHOR_END: in_place_job

/// What a job that runs in place reads.
#[derive(Debug, Clone, Copy)]
pub enum PixelSource<'a> {
    /// A raw PPM or PGM already in the store: read in place and left there.
    Stored(&'a BlobKey),
    /// An image in memory: written raw into the store first, deleted once assembled.
    Image(&'a DynamicImage),
}

/// A job to plan: its id, what runs on it, where its result goes, its bands' height.
struct Planned {
    id: TaskId,
    split: TiledPipeline,
    output: BlobKey,
    rows: u32,
}

/// The worker's error for a band of a job on a folder it does not have.
const NO_FOLDER: &str = "this worker has no shared folder (--shared-dir), so it cannot run a \
                         job whose pixels are on one";

/// The rows of a band as wide as `width` holding about as many pixels as a square tile of
/// side `tile`.
pub fn band_rows(width: u32, tile: u32) -> u32 {
    let rows = u64::from(tile) * u64::from(tile) / u64::from(width.max(1));
    u32::try_from(rows).unwrap_or(u32::MAX).max(1)
}

impl Jobs {
    /// These jobs, able to run on the shared folder `folder` as well.
    pub fn with_folder(mut self, folder: Arc<FsBlobStore>) -> Self {
        self.folder = Some(folder);
        self
    }

    /// The shared folder, if these jobs have one.
    pub fn folder(&self) -> Option<&Arc<FsBlobStore>> {
        self.folder.as_ref()
    }

    /// The store `store`, opened; a worker error when it is a folder these jobs lack.
    fn pixels(&self, store: PixelStore) -> Result<Pixels, TaskError> {
        match store {
            PixelStore::Folder => self
                .folder
                .clone()
                .map(Pixels::Folder)
                .ok_or(TaskError::worker(NO_FOLDER)),
            PixelStore::Redis => Ok(Pixels::Redis(self.conn.clone(), Arc::clone(&self.blobs))),
        }
    }

    // ANCHOR: submit_in_place
    /// Records a job that filters `source` in `store` in bands of `rows` rows, makes its
    /// result there at its final size, and enqueues one task per band. The result goes
    /// to `output`, in the same store, once the job is assembled.
    pub async fn submit_in_place(
        &self,
        queue: &RedisQueue,
        store: PixelStore,
        source: PixelSource<'_>,
        pipeline: &PipelineSpec,
        output: BlobKey,
        rows: u32,
    ) -> anyhow::Result<TaskId> {
        let pixels = self
            .pixels(store)
            .map_err(|error| anyhow::anyhow!(error.message))?;
        format_for_path(Path::new(output.as_str()))?;
        if let PixelSource::Stored(source) = source {
            anyhow::ensure!(
                output != *source,
                "the result {output} would overwrite its source"
            );
        }
        anyhow::ensure!(
            !output.as_str().starts_with("jobs/"),
            "the result {output} would be among the jobs' own files (jobs/...)"
        );
        let split = split_pipeline(pipeline)?;
        let id = TaskId::new();
        let files = InPlaceJob {
            store,
            source: match source {
                PixelSource::Stored(key) => key.clone(),
                PixelSource::Image(_) => job_blob(id, "source.pnm"),
            },
            owns_source: matches!(source, PixelSource::Image(_)),
            staging: job_blob(id, "result.pnm"),
        };
        let job = Planned {
            id,
            split,
            output,
            rows,
        };
        let submitted = self.submit_bands(queue, &pixels, source, &files, job).await;
        if let Err(error) = &submitted {
            // Whatever this job wrote goes with it, and a job already recorded is failed,
            // so no client waits for it.
            remove_files(&pixels, &files, id).await;
            let _ = self
                .fail(id, &format!("its submission stopped: {error:#}"))
                .await;
        }
        submitted.map(|()| id)
    }
    // ANCHOR_END: submit_in_place

    /// Makes the result, records the job and enqueues its bands. An image's rows are
    /// stored band by band, each band enqueued once its rows are in, so the workers start
    /// while the rest is sent.
    async fn submit_bands(
        &self,
        queue: &RedisQueue,
        pixels: &Pixels,
        source: PixelSource<'_>,
        files: &InPlaceJob,
        job: Planned,
    ) -> anyhow::Result<()> {
        let failed = |error: TaskError| anyhow::anyhow!(error.message);
        let (layout, image) = match source {
            PixelSource::Image(image) => {
                let (width, height) = (image.width(), image.height());
                let layout = RawLayout::for_color(width, height, image.color())
                    .map_err(|error| anyhow::anyhow!("{error}: submit this image as tiles"))?;
                pixels.create(&files.source, layout).await.map_err(failed)?;
                (layout, Some(image))
            }
            PixelSource::Stored(_) => (pixels.layout(&files.source).await.map_err(failed)?, None),
        };
        let (width, height) = (layout.width, layout.height);
        let plan = TilePlan::new(width, height, width, job.rows, job.split.halo)?;
        if let Some(band) = plan
            .tiles
            .iter()
            .find(|t| t.read.pixels() > self.limits.max_pixels)
        {
            anyhow::bail!(
                "a band of {} pixels is over the limit of {}: use smaller bands",
                band.read.pixels(),
                self.limits.max_pixels
            );
        }
        // The result's pixels are what the filters make of the source's: gray stays gray,
        // and a grayscale filter makes colour gray.
        let probe = DynamicImage::new(MIN_READ, MIN_READ, layout.color());
        let made = job.split.tiled.build()?.apply(&probe)?.color();
        let result = RawLayout::for_color(width, height, made).map_err(anyhow::Error::msg)?;
        pixels
            .create(&files.staging, result)
            .await
            .map_err(failed)?;
        let tasks = tile_tasks(job.id, &plan, &job.split, true, |_| {
            (files.source.clone(), files.staging.clone())
        });
        let record = JobRecord {
            id: job.id,
            plan,
            pipeline: job.split,
            output: job.output,
            tiles: tasks.iter().map(|t| t.id).collect(),
            tile_format: TileFormat::for_color(made),
            in_place: Some(files.clone()),
        };
        self.save(&record).await?;
        let Some(image) = image else {
            return self.enqueue_tiles(queue, job.id, &tasks, false).await;
        };
        let mut stored = 0;
        for (tile, task) in record.plan.tiles.iter().zip(&tasks) {
            let bottom = tile.read.y + tile.read.height;
            if bottom > stored {
                pixels
                    .write_image_rows(&files.source, layout, image, stored..bottom)
                    .await
                    .map_err(failed)?;
                stored = bottom;
            }
            self.enqueue_tiles(queue, job.id, std::slice::from_ref(task), false)
                .await?;
        }
        Ok(())
    }

    // ANCHOR: run_in_place
    /// Runs band `index` of `record`'s job: reads its rows and halo rows from the source,
    /// filters them with `task`'s pipeline, and writes its core rows into the result.
    pub(super) async fn run_in_place(
        &self,
        record: &JobRecord,
        index: usize,
        task: &Task,
    ) -> Result<(), TaskError> {
        let files = record
            .in_place
            .as_ref()
            .ok_or_else(|| TaskError::job("the job does not run in place"))?;
        let pixels = self.pixels(files.store)?;
        let count = record.plan.tiles.len();
        let tile = *record
            .plan
            .tiles
            .get(index)
            .ok_or_else(|| TaskError::job(TileError::UnknownTile { index, count }))?;
        let layout = pixels.layout(&files.source).await?;
        let planned = (record.plan.width, record.plan.height);
        if (layout.width, layout.height) != planned {
            return Err(TaskError::job(format!(
                "the source is {}x{} now, and the job was planned for {}x{}",
                layout.width, layout.height, planned.0, planned.1
            )));
        }
        let (read, core) = (tile.read, tile.core);
        if read.pixels() > self.limits.max_pixels {
            return Err(TaskError::job(format!(
                "band {index} reads {} pixels, over this worker's limit of {}: use smaller bands",
                read.pixels(),
                self.limits.max_pixels
            )));
        }
        let piece = pixels
            .read_rows(&files.source, layout, read.y, read.height)
            .await?;
        // A result that is gone was moved into place or deleted with its failed job, which
        // the next attempt learns; failing the job here could race with its assembly.
        let result = pixels
            .layout(&files.staging)
            .await
            .map_err(|error| TaskError::worker(error.message))?;
        let pipeline = task.pipeline.clone();
        let bytes = run_blocking(move || {
            let piece = if read.width == layout.width {
                piece
            } else {
                piece.crop_imm(read.x, 0, read.width, read.height)
            };
            let filtered = pipeline
                .build()
                .map_err(TaskError::job)?
                .apply(&piece)
                .map_err(TaskError::job)?;
            core_bytes(index, &tile, filtered, result)
        })
        .await?;
        pixels
            .write_rows(&files.staging, result, (core.x, core.y, core.width), bytes)
            .await
    }
    // ANCHOR_END: run_in_place

    /// Moves the result of `record`'s job into place (or loads it and runs the filters
    /// after the tiles), marks the job assembled once, and deletes its source if it wrote
    /// it.
    pub(super) async fn assemble_in_place(
        &self,
        record: &JobRecord,
        files: &InPlaceJob,
    ) -> Result<(), TaskError> {
        let pixels = self.pixels(files.store)?;
        let format = format_for_path(Path::new(record.output.as_str())).map_err(TaskError::job)?;
        let after = record.pipeline.after.clone();
        let first = match &pixels {
            Pixels::Folder(folder)
                if format == image::ImageFormat::Pnm && after.filters.is_empty() =>
            {
                let (staging, output) = (folder.path(&files.staging), folder.path(&record.output));
                run_blocking(move || move_into_place(&staging, &output)).await?;
                self.mark_assembled(record, None).await?
            }
            // Redis renames the result into place as it marks the job.
            Pixels::Redis(..) if format == image::ImageFormat::Pnm && after.filters.is_empty() => {
                self.mark_assembled(record, Some(&files.staging)).await?
            }
            Pixels::Folder(folder) => {
                let done_before =
                    !folder.path(&files.staging).exists() && folder.path(&record.output).exists();
                if !done_before {
                    let bytes = self.finish(&**folder, files, record, format).await?;
                    folder
                        .put(&record.output, bytes)
                        .await
                        .map_err(blob_failure)?;
                    pixels.remove(&files.staging).await;
                }
                self.mark_assembled(record, None).await?
            }
            Pixels::Redis(_, blobs) => {
                let bytes = self.finish(&**blobs, files, record, format).await?;
                // Each attempt stages its own result; the first to mark the job moves it.
                let extension = record.output.as_str().rsplit('.').next().unwrap_or("png");
                let staged = job_blob(record.id, &format!("result-{}.{extension}", TaskId::new()));
                blobs.put(&staged, bytes).await.map_err(blob_failure)?;
                let first = self.mark_assembled(record, Some(&staged)).await?;
                pixels.remove(&files.staging).await;
                first
            }
        };
        // Whichever run marked the job, the source it wrote has no use now.
        if files.owns_source {
            pixels.remove(&files.source).await;
        }
        if let (true, Pixels::Folder(folder)) = (first, &pixels) {
            // Empty now, unless the output was asked for inside it.
            let _ = std::fs::remove_dir(folder.path(&job_dir(record.id)));
        }
        Ok(())
    }

    /// The result in `store` of `record`'s job, loaded within the decoding limits, run
    /// through the filters after the tiles, and encoded as `format`.
    async fn finish(
        &self,
        store: &dyn BlobStore,
        files: &InPlaceJob,
        record: &JobRecord,
        format: image::ImageFormat,
    ) -> Result<Bytes, TaskError> {
        let (width, height) = (record.plan.width, record.plan.height);
        if u64::from(width) * u64::from(height) > self.limits.max_pixels {
            return Err(TaskError::job(format!(
                "a {width}x{height} result is over this worker's limit of {} pixels in \
                 memory; ask for a .ppm or .pgm result with no filter after the tiles, which \
                 is never loaded whole",
                self.limits.max_pixels
            )));
        }
        let bytes = match store.get(&files.staging).await {
            Ok(bytes) => bytes,
            // Another run of this assembly finished first: the retry finds the job done.
            Err(BlobError::NotFound(_)) => {
                return Err(TaskError::worker("the result moved while it was read"));
            }
            Err(error) => return Err(blob_failure(error)),
        };
        let (limits, after) = (self.limits, record.pipeline.after.clone());
        run_blocking(move || {
            let image = decode(&bytes, &limits).map_err(|error| {
                TaskError::job(format!(
                    "{error}; ask for a .ppm or .pgm result with no filter after the tiles, \
                     which is never loaded whole"
                ))
            })?;
            let result = if after.filters.is_empty() {
                image
            } else {
                let after = after.build().map_err(TaskError::job)?;
                after.apply(&image).map_err(TaskError::job)?
            };
            encode(&result, format)
                .map(Bytes::from)
                .map_err(TaskError::job)
        })
        .await
    }

    /// Marks `record`'s job assembled, the first time only (`true`), with its result
    /// already in place, or, in Redis, moved there from `staged` as it is marked (a later
    /// assembly's `staged` is deleted).
    pub(super) async fn mark_assembled(
        &self,
        record: &JobRecord,
        staged: Option<&BlobKey>,
    ) -> Result<bool, TaskError> {
        let keys = self.keys(record.id);
        let call = match staged {
            None => JOBS.call("imgjobs_assembled_in_place", &[&keys.job, &keys.events]),
            Some(staged) => {
                let names = self.blobs.keys();
                JOBS.call(
                    "imgjobs_assembled",
                    &[
                        &keys.job,
                        &keys.events,
                        &names.blob(staged),
                        &names.blob(&record.output),
                    ],
                )
            }
        }
        .arg(record.output.as_str())
        .to_owned();
        let first: i64 = JOBS
            .run(&self.conn, &call)
            .await
            .map_err(|e| TaskError::worker(unavailable(e)))?;
        if first == -1 {
            return Err(TaskError::job(format!(
                "the assembled result of job {} is gone (expired or deleted) before it was \
                 moved to {}",
                record.id, record.output
            )));
        }
        Ok(first == 1)
    }

    /// Deletes what a job that runs in place and is failing kept: its result in the
    /// making, and its source if it wrote it. An assembled job has neither any more.
    pub(super) async fn remove_in_place_files(&self, job: TaskId) -> Result<(), QueueError> {
        let Some(record) = self.record(job).await? else {
            return Ok(());
        };
        if let Some(files) = &record.in_place
            && let Ok(pixels) = self.pixels(files.store)
        {
            remove_files(&pixels, files, job).await;
        }
        Ok(())
    }
}

/// The core rows of band `index` of `tile`, cut from `filtered`, checked against the
/// result's layout.
fn core_bytes(
    index: usize,
    tile: &crate::tiles::Tile,
    filtered: DynamicImage,
    result: RawLayout,
) -> Result<Bytes, TaskError> {
    let (read, core) = (tile.read, tile.core);
    if (filtered.width(), filtered.height()) != (read.width, read.height) {
        return Err(TaskError::job(TileError::WrongSize {
            index,
            width: read.width,
            height: read.height,
            got_width: filtered.width(),
            got_height: filtered.height(),
        }));
    }
    if filtered.color() != result.color() {
        return Err(TaskError::job(format!(
            "band {index} came out {:?}, and the result holds {:?}",
            filtered.color(),
            result.color()
        )));
    }
    let (x, y) = tile.core_offset();
    if core.width == read.width {
        // Whole rows: the core is one slice of the band, taken without a copy.
        let row = core.width as usize * usize::from(result.channels);
        let start = y as usize * row;
        let all = Bytes::from(filtered.into_bytes());
        return Ok(all.slice(start..start + core.height as usize * row));
    }
    let cropped = filtered.crop_imm(x, y, core.width, core.height);
    Ok(Bytes::from(cropped.into_bytes()))
}

/// Deletes a job's result in the making and, if it wrote it, its source.
async fn remove_files(pixels: &Pixels, files: &InPlaceJob, job: TaskId) {
    pixels.remove(&files.staging).await;
    if files.owns_source {
        pixels.remove(&files.source).await;
    }
    if let Pixels::Folder(folder) = pixels {
        let _ = std::fs::remove_dir(folder.path(&job_dir(job)));
    }
}

/// Renames the finished result into place; a run before this one may have done it.
fn move_into_place(staging: &Path, output: &Path) -> Result<(), TaskError> {
    if let Some(parent) = output.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|error| TaskError::worker(format!("{}: {error}", parent.display())))?;
    }
    match std::fs::rename(staging, output) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && output.exists() => Ok(()),
        Err(error) => Err(TaskError::worker(format!(
            "cannot move {} to {}: {error}",
            staging.display(),
            output.display()
        ))),
    }
}
