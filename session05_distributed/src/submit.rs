//! The `submit` command: session 04's `submit`, and with `--tiled`, each input as one
//! tiled job ([`Jobs::submit`]) whose stitched result it waits for.
//!
//! Without `--tiled` nothing differs from session 04's command: the same flags, the same
//! code. With it, each image is read here, cut into tiles of `--tile` pixels (with their
//! halos), and its tiles go to the queue as tasks that any capable worker runs; the command
//! then blocks on each job's events ([`wait_for_job`]) until it is assembled or fails, and
//! with `--output DIR` copies each stitched result into that folder, named as session 04
//! names results ([`write_results`]).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use image::DynamicImage;
use session01_image_basics::{Limits, load_with};
use session03_workers::{BlobKey, BlobStore, FsBlobStore, TaskId};
use session04_redis::submit::{self, ResultFile, prepare_output, stem_of, write_results};

use crate::jobs::{
    DEFAULT_TILE, JobOutcome, Jobs, PixelSource, PixelStore, RawLayout, band_rows, wait_for_job,
};
use crate::tiles::{MIN_READ, split_pipeline};
use crate::worker::SharedFolderArgs;

/// The largest `--tile`: one tile of this side already holds a quarter gigapixel.
pub const MAX_TILE: u32 = 16_384;

/// How long "wait for ever" (`--timeout 0`) waits for a job: a century.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Submits images to the queue: as tasks (session 04's `submit`), or with `--tiled` as
/// tiled jobs whose stitched results it waits for.
// ANCHOR: args
#[derive(Debug, Clone, clap::Args)]
// `--tiled` always waits, so `--output` needs `--wait` or `--tiled`.
#[command(
    group(clap::ArgGroup::new("waits").args(["wait", "tiled"]).multiple(true)),
    mut_arg("output", |output| output.requires(clap::builder::Resettable::Reset).requires("waits"))
)]
pub struct TiledSubmitArgs {
    /// Session 04's flags: the queue, the inputs, the pipeline, --wait, --output ...
    #[command(flatten)]
    pub submit: submit::SubmitArgs,
    /// Submit each input as one tiled job (cut into tiles that any worker runs, stitched
    /// once all are done), and wait for the stitched results.
    #[arg(long)]
    pub tiled: bool,
    /// With --tiled: the tiles' side, in pixels (the last row and column may be smaller).
    #[arg(
        long,
        value_name = "PIXELS",
        default_value_t = DEFAULT_TILE,
        requires = "tiled",
        value_parser = clap::value_parser!(u32).range(i64::from(MIN_READ)..=i64::from(MAX_TILE))
    )]
    pub tile: u32,
    /// With --tiled: run the jobs on this shared folder, in bands as wide as the image
    /// holding about a tile's pixels each, read and written in place; the results are
    /// stored there too.
    #[command(flatten)]
    pub folder: SharedFolderArgs,
    /// With --tiled: run the jobs in bands read and written in place in Redis, rather than
    /// in tiles that are cut up front and stitched after (8-bit RGB or gray images only).
    #[arg(long, requires = "tiled")]
    pub in_place: bool,
}

/// An input to submit.
enum Input {
    /// A raw image on the shared folder: its key, and its width.
    Stored(BlobKey, u32),
    /// An image read here.
    Image(DynamicImage),
}
// ANCHOR_END: args

/// One tiled job, submitted.
struct Submitted {
    job: TaskId,
    tiles: usize,
    output: BlobKey,
    stem: String,
}

/// Runs the command: session 04's `submit`, or tiled jobs with `--tiled`.
pub async fn run(args: TiledSubmitArgs) -> Result<String> {
    if !args.tiled {
        return submit::run(args.submit).await;
    }
    let plan = args.submit.plan()?;
    // A pipeline that cannot run in tiles is refused before anything is read or sent.
    split_pipeline(&plan.spec)?;
    if let Some(dir) = &args.submit.output {
        prepare_output(dir)?;
    }
    let limits = Limits::default();
    let (queue, redis_blobs) = args.submit.queue.open().await?;
    let mut jobs = Jobs::new(&queue, Arc::clone(&redis_blobs), limits);
    let folder = args.folder.open()?;
    // Where the results are stored: the shared folder, or Redis.
    let blobs: Arc<dyn BlobStore> = match &folder {
        Some(folder) => {
            jobs = jobs.with_folder(Arc::clone(folder));
            Arc::clone(folder) as Arc<dyn BlobStore>
        }
        None => redis_blobs,
    };
    // Tiles, or bands in place on the folder or in Redis.
    let store = match (&folder, args.in_place) {
        (Some(_), _) => Some(PixelStore::Folder),
        (None, true) => Some(PixelStore::Redis),
        (None, false) => None,
    };
    let mut submitted = Vec::new();
    for path in &plan.inputs {
        // A raw image already on the shared folder is read there, in place.
        let input = match folder.as_deref().and_then(|f| raw_in_folder(f, path)) {
            Some((key, width)) => Input::Stored(key, width),
            None => {
                let path = path.clone();
                Input::Image(
                    tokio::task::spawn_blocking(move || load_with(&path, &limits))
                        .await
                        .context("the thread reading an image panicked")??,
                )
            }
        };
        for _ in 0..args.submit.count {
            let output = BlobKey::new(format!("results/tiled-{}.{}", TaskId::new(), plan.format))?;
            let spec = &plan.spec;
            let job = match (&input, store) {
                (Input::Stored(key, width), _) => {
                    let (source, rows) = (PixelSource::Stored(key), band_rows(*width, args.tile));
                    let folder = PixelStore::Folder;
                    jobs.submit_in_place(&queue, folder, source, spec, output.clone(), rows)
                        .await
                }
                (Input::Image(image), Some(store)) => {
                    let rows = band_rows(image.width(), args.tile);
                    let source = PixelSource::Image(image);
                    jobs.submit_in_place(&queue, store, source, spec, output.clone(), rows)
                        .await
                }
                (Input::Image(image), None) => {
                    let tile = (args.tile, args.tile);
                    jobs.submit(&queue, image, spec, output.clone(), tile).await
                }
            }
            .with_context(|| format!("cannot submit {} as a tiled job", path.display()))?;
            let tiles = jobs
                .record(job)
                .await?
                .with_context(|| format!("the record of job {job} vanished"))?
                .tiles
                .len();
            submitted.push(Submitted {
                job,
                tiles,
                output,
                stem: stem_of(path).to_owned(),
            });
        }
    }

    let deadline = Instant::now() + plan.timeout.unwrap_or(FOREVER);
    let mut outcomes = Vec::with_capacity(submitted.len());
    for job in &submitted {
        let left = deadline.saturating_duration_since(Instant::now());
        outcomes.push(wait_for_job(&queue, job.job, left).await?);
    }
    let assembled: Vec<ResultFile> = submitted
        .iter()
        .zip(&outcomes)
        .filter(|(_, outcome)| matches!(outcome, JobOutcome::Assembled { .. }))
        .map(|(job, _)| ResultFile {
            id: job.job,
            blob: job.output.clone(),
            stem: job.stem.clone(),
        })
        .collect();
    let mut files = match &args.submit.output {
        Some(dir) => write_results(&*blobs, dir, &assembled).await?.into_iter(),
        None => Vec::new().into_iter(),
    };

    let mut report = String::new();
    let mut failed = 0;
    for (job, outcome) in submitted.iter().zip(&outcomes) {
        let (state, detail) = match outcome {
            JobOutcome::Assembled { .. } => (
                "assembled",
                files.next().map_or_else(
                    || blobs.locate(&job.output),
                    |file| file.display().to_string(),
                ),
            ),
            JobOutcome::Failed { reason } => {
                failed += 1;
                ("failed", reason.clone())
            }
        };
        writeln!(
            report,
            "{}\t{} tiles\t{state}\t{detail}",
            job.job, job.tiles
        )?;
    }
    if failed > 0 {
        bail!(
            "{failed} of {} tiled jobs failed:\n{report}",
            submitted.len()
        );
    }
    Ok(report)
}

/// The key of `path` in `folder` and its width, when `path` is a raw PPM or PGM inside it.
fn raw_in_folder(folder: &FsBlobStore, path: &Path) -> Option<(BlobKey, u32)> {
    let root = folder.root().canonicalize().ok()?;
    let path = path.canonicalize().ok()?;
    let relative = path.strip_prefix(&root).ok()?.to_str()?;
    let key = BlobKey::new(relative.replace(std::path::MAIN_SEPARATOR, "/")).ok()?;
    let (_, layout) = RawLayout::open(&path).ok()?;
    Some((key, layout.width))
}
