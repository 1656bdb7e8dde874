//! Tiled jobs on a shared folder (a compose volume, a Kubernetes volume, a local folder):
//! the pixels never cross Redis, and nothing is cut up front or assembled after.
//!
//! The source is a raw PPM or PGM on the folder ([`RawLayout`]). Submitting makes the
//! result there at its final size, and cuts the image into bands as wide as the image.
//! Each band's task reads its rows and halo rows straight from the source, filters them,
//! and writes its core rows into the result where they belong. Writing a band twice writes
//! the same bytes, so a redelivered band is harmless. When the last band is done, the
//! assembly only renames the result into place (or, when filters run after the tiles,
//! loads it and runs them).
//!
//! Redis still carries the job: its record, its tasks, its done set and its events.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use image::DynamicImage;
use serde::{Deserialize, Serialize};
use session01_image_basics::io::format_for_path;
use session01_image_basics::{Filter, encode, load_with};
use session02_pipelines::PipelineSpec;
use session03_workers::worker::{blob_failure, run_blocking};
use session03_workers::{BlobKey, BlobStore, FsBlobStore, QueueError, Task, TaskError, TaskId};
use session04_redis::RedisQueue;

use super::part::{job_blob, job_dir};
use super::raw::RawLayout;
use super::{JOBS, JobRecord, Jobs, TileFormat, tile_tasks, unavailable};
use crate::tiles::{MIN_READ, TileError, TilePlan, split_pipeline};

/// Where a job on a shared folder keeps its pixels, as keys in the folder.
// ANCHOR: folder_job
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderJob {
    /// The raw source image.
    pub source: BlobKey,
    /// Whether the job wrote the source, and so deletes it once assembled.
    pub owns_source: bool,
    /// The raw result, made at its final size, which the bands write into.
    pub staging: BlobKey,
}
// ANCHOR_END: folder_job

/// What a job on a shared folder reads.
#[derive(Debug, Clone, Copy)]
pub enum FolderSource<'a> {
    /// A raw PPM or PGM already in the folder: read in place and left there.
    Stored(&'a BlobKey),
    /// An image in memory: written raw into the folder first, deleted once assembled.
    Image(&'a DynamicImage),
}

/// The worker's error for a tile of a job on a folder it does not have.
const NO_FOLDER: &str = "this worker has no shared folder (--shared-dir), so it cannot run a \
                         job whose pixels are on one";

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

    // ANCHOR: submit_in_folder
    /// Records a job that filters `source` on the shared folder in bands of `rows` rows,
    /// makes its result there at its final size, and enqueues one task per band. The
    /// result goes to `output`, in the folder, once the job is assembled.
    pub async fn submit_in_folder(
        &self,
        queue: &RedisQueue,
        source: FolderSource<'_>,
        pipeline: &PipelineSpec,
        output: BlobKey,
        rows: u32,
    ) -> anyhow::Result<TaskId> {
        let folder = self.folder.clone().context(NO_FOLDER)?;
        format_for_path(Path::new(output.as_str()))?;
        let split = split_pipeline(pipeline)?;
        let id = TaskId::new();
        let submitted = self
            .submit_files(queue, &folder, id, source, split, output, rows)
            .await;
        if submitted.is_err() {
            // Whatever this job wrote in the folder goes with it.
            let _ = std::fs::remove_dir_all(folder.path(&job_dir(id)));
        }
        submitted.map(|()| id)
    }
    // ANCHOR_END: submit_in_folder

    #[allow(clippy::too_many_arguments)]
    async fn submit_files(
        &self,
        queue: &RedisQueue,
        folder: &FsBlobStore,
        id: TaskId,
        source: FolderSource<'_>,
        split: crate::tiles::TiledPipeline,
        output: BlobKey,
        rows: u32,
    ) -> anyhow::Result<()> {
        let (source, owns_source) = match source {
            FolderSource::Stored(key) => (key.clone(), false),
            FolderSource::Image(image) => {
                let layout = RawLayout::for_color(image.width(), image.height(), image.color())
                    .map_err(|error| {
                        anyhow::anyhow!("{error}: submit this image without a shared folder")
                    })?;
                let key = job_blob(id, &format!("source.{}", extension(&layout)));
                let path = folder.path(&key);
                create_parent(&path)?;
                // The submitter waits for this write: it has nothing else to do meanwhile.
                let file = layout.create(&path)?;
                layout
                    .write_rows(&file, 0, 0, image.width(), image.as_bytes())
                    .map_err(anyhow::Error::msg)?;
                (key, true)
            }
        };
        let (_, layout) = RawLayout::open(&folder.path(&source)).map_err(anyhow::Error::msg)?;
        let plan = TilePlan::new(layout.width, layout.height, layout.width, rows, split.halo)?;
        // The result's pixels are what the filters make of the source's: gray stays gray,
        // and a grayscale filter makes colour gray.
        let probe = DynamicImage::new(MIN_READ, MIN_READ, layout.color());
        let made = split.tiled.build()?.apply(&probe)?.color();
        let result =
            RawLayout::for_color(layout.width, layout.height, made).map_err(anyhow::Error::msg)?;
        let staging = job_blob(id, &format!("result.{}", extension(&result)));
        let path = folder.path(&staging);
        create_parent(&path)?;
        result
            .create(&path)
            .with_context(|| format!("cannot make the result {}", path.display()))?;
        let tasks = tile_tasks(id, &plan, &split, true, |_| {
            (source.clone(), staging.clone())
        });
        let record = JobRecord {
            id,
            plan,
            pipeline: split,
            output,
            tiles: tasks.iter().map(|t| t.id).collect(),
            tile_format: TileFormat::for_color(made),
            folder: Some(FolderJob {
                source,
                owns_source,
                staging,
            }),
        };
        self.save(&record).await?;
        self.enqueue_tiles(queue, id, &tasks, false).await
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
        let folder = self.folder.as_ref().ok_or(TaskError::worker(NO_FOLDER))?;
        let files = record
            .folder
            .as_ref()
            .ok_or_else(|| TaskError::job("the job's pixels are not on a shared folder"))?;
        let tile = *record.plan.tiles.get(index).ok_or_else(|| {
            TaskError::job(TileError::UnknownTile {
                index,
                count: record.plan.tiles.len(),
            })
        })?;
        let (source, staging) = (folder.path(&files.source), folder.path(&files.staging));
        let size = (record.plan.width, record.plan.height);
        let pipeline = task.pipeline.clone();
        run_blocking(move || {
            let (file, layout) = RawLayout::open(&source).map_err(TaskError::job)?;
            if (layout.width, layout.height) != size {
                return Err(TaskError::job(format!(
                    "the source is {}x{} now, and the job was planned for {}x{}",
                    layout.width, layout.height, size.0, size.1
                )));
            }
            let read = tile.read;
            let mut piece = layout
                .read_rows(&file, read.y, read.height)
                .map_err(TaskError::job)?;
            if read.width != layout.width {
                piece = piece.crop_imm(read.x, 0, read.width, read.height);
            }
            let pipeline = pipeline.build().map_err(TaskError::job)?;
            let filtered = pipeline.apply(&piece).map_err(TaskError::job)?;
            if (filtered.width(), filtered.height()) != (read.width, read.height) {
                return Err(TaskError::job(TileError::WrongSize {
                    index,
                    width: read.width,
                    height: read.height,
                    got_width: filtered.width(),
                    got_height: filtered.height(),
                }));
            }
            let mut out = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&staging)
                .map_err(|error| TaskError::worker(format!("{}: {error}", staging.display())))?;
            let result = RawLayout::read(&mut out).map_err(TaskError::job)?;
            if result.color() != filtered.color() {
                return Err(TaskError::job(format!(
                    "band {index} came out {:?}, and the result holds {:?}",
                    filtered.color(),
                    result.color()
                )));
            }
            let (x, y) = tile.core_offset();
            let core = tile.core;
            let cropped;
            let bytes = if core.width == read.width {
                // Whole rows: the core is one slice of the band.
                let row = core.width as usize * usize::from(result.channels);
                let start = y as usize * row;
                &filtered.as_bytes()[start..start + core.height as usize * row]
            } else {
                cropped = filtered.crop_imm(x, y, core.width, core.height);
                cropped.as_bytes()
            };
            result
                .write_rows(&out, core.x, core.y, core.width, bytes)
                .map_err(TaskError::worker)
        })
        .await
    }
    // ANCHOR_END: run_in_place

    /// Deletes what a job on the shared folder that is failing kept there: its result in
    /// the making, and its source if it wrote it. An assembled job has neither any more.
    pub(super) async fn remove_folder_files(&self, job: TaskId) -> Result<(), QueueError> {
        let (Some(folder), Some(record)) = (&self.folder, self.record(job).await?) else {
            return Ok(());
        };
        if let Some(files) = &record.folder {
            let _ = std::fs::remove_file(folder.path(&files.staging));
            if files.owns_source {
                let _ = std::fs::remove_file(folder.path(&files.source));
            }
            let _ = std::fs::remove_dir(folder.path(&job_dir(job)));
        }
        Ok(())
    }

    /// Puts the result of `record`'s job in place (renamed, or loaded and filtered when
    /// filters run after the tiles), marks the job assembled once, and deletes its files.
    pub(super) async fn assemble_in_folder(
        &self,
        record: &JobRecord,
        files: &FolderJob,
    ) -> Result<(), TaskError> {
        let folder = self.folder.clone().ok_or(TaskError::worker(NO_FOLDER))?;
        let output = folder.path(&record.output);
        let staging = folder.path(&files.staging);
        let format = format_for_path(Path::new(record.output.as_str())).map_err(TaskError::job)?;
        let after = record.pipeline.after.clone();
        if format == image::ImageFormat::Pnm && after.filters.is_empty() {
            let (staging, output) = (staging.clone(), output.clone());
            run_blocking(move || move_into_place(&staging, &output)).await?;
        } else if staging.exists() || !output.exists() {
            // An earlier run that finished removed the staging file after writing the output.
            let limits = self.limits;
            let loaded = staging.clone();
            let bytes = run_blocking(move || {
                let image = load_with(&loaded, &limits).map_err(|error| {
                    TaskError::job(format!(
                        "{error}; ask for a .ppm or .pgm result with no filter after the \
                         tiles, which is never loaded whole"
                    ))
                })?;
                let result = if after.filters.is_empty() {
                    image
                } else {
                    let after = after.build().map_err(TaskError::job)?;
                    after.apply(&image).map_err(TaskError::job)?
                };
                encode(&result, format).map_err(TaskError::job)
            })
            .await?;
            folder
                .put(&record.output, bytes.into())
                .await
                .map_err(blob_failure)?;
            let _ = std::fs::remove_file(&staging);
        }
        let keys = self.keys(record.id);
        let call = JOBS
            .call("imgjobs_assembled_in_place", &[&keys.job, &keys.events])
            .arg(record.output.as_str())
            .to_owned();
        let first: i64 = JOBS
            .run(&self.conn, &call)
            .await
            .map_err(|e| TaskError::worker(unavailable(e)))?;
        if first == 1 {
            if files.owns_source {
                let _ = std::fs::remove_file(folder.path(&files.source));
            }
            // Empty now, unless the output was asked for inside it.
            let _ = std::fs::remove_dir(folder.path(&job_dir(record.id)));
        }
        Ok(())
    }
}

/// The rows of a band as wide as `width` holding about as many pixels as a square tile of
/// side `tile`.
pub fn band_rows(width: u32, tile: u32) -> u32 {
    let rows = u64::from(tile) * u64::from(tile) / u64::from(width.max(1));
    u32::try_from(rows).unwrap_or(u32::MAX).max(1)
}

/// The file extension of a raw layout.
fn extension(layout: &RawLayout) -> &'static str {
    if layout.channels == 3 { "ppm" } else { "pgm" }
}

/// Creates the folder `path` goes in.
fn create_parent(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(parent) => std::fs::create_dir_all(parent),
        None => Ok(()),
    }
}

/// Renames the finished result into place; a run before this one may have done it.
fn move_into_place(staging: &PathBuf, output: &PathBuf) -> Result<(), TaskError> {
    create_parent(output)
        .map_err(|error| TaskError::worker(format!("{}: {error}", output.display())))?;
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
