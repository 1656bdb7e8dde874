//! The tiling benchmark: a Gaussian blur of a very large image, once in this process with
//! the fast kernel on 2 threads, and once as a tiled job across worker processes through
//! redis-server, with each worker's peak memory.
//!
//! The tiled job pays for what the single process does not: cutting the tiles, moving
//! every pixel into Redis and out again (twice: the tiles, then their results), halos, and
//! assembly. What it buys is that no process ever holds the image: each worker's peak
//! memory is a few tiles, whatever the image's size.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use session01_image_basics::{Filter, Limits, decode, samples};
use session02_pipelines::PipelineSpec;
use session02_pipelines::memory::peak_resident;
use session03_workers::{BlobKey, BlobStore, FsBlobStore, TaskId};
use session04_redis::RedisServer;
use session04_redis::cli::QueueArgs;
use session04_redis::server::Children;

use crate::jobs::{JobOutcome, Jobs, PixelSource, PixelStore, RawLayout, band_rows, wait_for_job};
use crate::registry::{Registry, RegistryConfig};

/// Measures a tiled blur against the whole-image fast kernel.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// The image's size, in megapixels (12 000 pixels wide).
    #[arg(long, value_name = "N", default_value_t = 100.0)]
    pub megapixels: f64,
    /// The Gaussian's sigma.
    #[arg(long, default_value_t = 3.0)]
    pub sigma: f32,
    /// Worker processes, one slot each.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub workers: usize,
    /// The tiles' side, in pixels; on a folder, bands as wide as the image hold as many
    /// pixels as such a tile.
    #[arg(long, value_name = "PIXELS", default_value_t = 2048)]
    pub tile: u32,
    /// Where the job's pixels go: tiles through Redis, or bands read and written in place
    /// in Redis or on a shared folder (a temporary one here).
    #[arg(long, value_enum, default_value_t = Store::Tiles)]
    pub store: Store,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Where a benchmarked job keeps its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Store {
    /// Square tiles with halos, cut by the submitter, their results stitched by an
    /// assembly: every tile and result a blob in Redis.
    Tiles,
    /// Bands read and written in place in a raw source and result in Redis.
    Redis,
    /// Bands read and written in place in a raw source and result on a shared folder.
    Folder,
}

/// A temporary shared folder, removed when dropped.
struct TempFolder(PathBuf);

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the benchmark measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The image's width.
    pub width: u32,
    /// The image's height.
    pub height: u32,
    /// Tiles in the job.
    pub tiles: usize,
    /// Worker processes.
    pub workers: usize,
    /// Where the pixels went.
    pub store: Store,
    /// On a folder: writing the source there raw, before the job starts (the counterpart
    /// of the whole-image kernel's decoded image), in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_seconds: Option<f64>,
    /// The fast kernel on the whole image with 2 threads, best of 7, in seconds.
    pub whole_seconds: f64,
    /// The tiled job from the image in memory (on a folder, the source stored) to the
    /// result stored, best of 7, in seconds.
    pub tiled_seconds: f64,
    /// Every run of the tiled job, in seconds: the first pays for fresh memory.
    pub tiled_runs_seconds: Vec<f64>,
    /// Of which: cutting the tiles and storing them (in Redis) or making the result (on a
    /// folder), and enqueueing the tasks.
    pub submit_seconds: f64,
    /// `tiled_seconds / whole_seconds`.
    pub ratio: f64,
    /// When the last tile was done, from the start of the tiled job, by Redis's clock.
    pub last_tile_seconds: f64,
    /// When the job was assembled, likewise.
    pub assembled_seconds: f64,
    /// Each worker's peak resident memory (VmHWM), in megabytes.
    pub worker_peak_rss_mb: Vec<f64>,
    /// Whether the stitched result equals the whole-image one, pixel for pixel.
    pub identical: bool,
}

/// The width of the benchmark's image; the height follows from the megapixels.
const WIDTH: u32 = 12_000;

// ANCHOR: bench
/// Runs the benchmark with worker processes of `program` (this executable).
pub async fn run(args: &BenchArgs, program: &Path) -> Result<BenchReport> {
    anyhow::ensure!(
        args.megapixels.is_finite() && (0.01..=400.0).contains(&args.megapixels),
        "--megapixels must be between 0.01 and 400"
    );
    anyhow::ensure!(args.workers >= 1, "--workers must be at least 1");
    let height = ((args.megapixels * 1e6) / f64::from(WIDTH)).ceil() as u32;
    let image: image::DynamicImage = samples::generate(WIDTH, height).into();
    let spec = PipelineSpec::parse(&format!("blur:sigma={}", args.sigma))?;
    let pipeline = spec.build()?;

    // The peer: the fast kernel, whole image, 2 threads.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build()?;
    let mut whole = None;
    let mut whole_seconds = f64::INFINITY;
    for _ in 0..RUNS {
        let started = Instant::now();
        let result = pool.install(|| pipeline.apply(&image))?;
        whole_seconds = whole_seconds.min(started.elapsed().as_secs_f64());
        whole = Some(result);
    }
    let whole = whole.context("no run")?;

    // The tiled job: its own redis-server, worker processes with one slot each.
    let server = RedisServer::start_async().await?;
    let mut flags = QueueArgs::for_url(&server.url());
    flags.namespace = "bench5".to_owned();
    flags.max_blob_bytes = 1 << 30;
    flags.lease = 120.0;
    let (queue, blobs) = flags.open().await?;
    let folder = match args.store {
        Store::Tiles | Store::Redis => None,
        Store::Folder => {
            let dir = std::env::temp_dir().join(format!("imgbench-{}", TaskId::new()));
            Some(TempFolder(dir))
        }
    };
    let mut children = Children::default();
    for _ in 0..args.workers {
        let mut worker = Command::new(program);
        worker
            .args([
                "worker",
                "--redis-url",
                &server.url(),
                "--namespace",
                "bench5",
            ])
            .args(["--concurrency", "1", "--lease", "120"])
            .args(["--max-blob-bytes", &(1u64 << 30).to_string()])
            // One thread per worker process, as many as the whole-image kernel has in all.
            .env("RAYON_NUM_THREADS", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(TempFolder(dir)) = &folder {
            worker.arg("--shared-dir").arg(dir);
        }
        children
            .0
            .push(worker.spawn().context("cannot start a worker process")?);
    }
    let registry = Registry::new(queue.connection(), queue.keys(), RegistryConfig::default());
    let deadline = Instant::now() + Duration::from_secs(60);
    while registry.list().await?.len() < args.workers {
        anyhow::ensure!(Instant::now() < deadline, "the workers did not register");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut jobs = Jobs::new(&queue, Arc::clone(&blobs), Limits::default());
    let shared = match &folder {
        Some(TempFolder(dir)) => {
            let store = Arc::new(FsBlobStore::with_limit(dir, u64::MAX)?);
            jobs = jobs.with_folder(Arc::clone(&store));
            Some(store)
        }
        None => None,
    };
    // A small job first: the workers learn of the tiles' and the assembly's streams (which
    // they look for once a second), so the measured run pays for none of that.
    let warm: image::DynamicImage = samples::generate(600, 400).into();
    let warm_output = BlobKey::new("results/warm-up.ppm")?;
    let warm_job = match in_place(args.store) {
        Some(store) => {
            let source = PixelSource::Image(&warm);
            jobs.submit_in_place(&queue, store, source, &spec, warm_output, 100)
                .await?
        }
        None => {
            jobs.submit(&queue, &warm, &spec, warm_output, (256, 256))
                .await?
        }
    };
    wait_for_job(&queue, warm_job, Duration::from_secs(60)).await?;

    // On a folder, the source is stored raw first, as an upload to the volume would be.
    let source = BlobKey::new("inbox/bench.ppm")?;
    let source_seconds = match &shared {
        Some(store) => {
            let started = Instant::now();
            let path = store.path(&source);
            std::fs::create_dir_all(path.parent().context("a source has a folder")?)?;
            let layout = RawLayout::for_color(image.width(), image.height(), image.color())
                .map_err(anyhow::Error::msg)?;
            let file = layout.create(&path)?;
            layout
                .write_rows(&file, 0, 0, image.width(), image.as_bytes())
                .map_err(anyhow::Error::msg)?;
            Some(started.elapsed().as_secs_f64())
        }
        None => None,
    };
    // Best of 7, as for the whole-image kernel; each run's result is deleted before the
    // next, and the last one is compared with the whole image.
    let mut best: Option<TiledRun> = None;
    let mut tiled_runs_seconds = Vec::with_capacity(RUNS);
    let mut identical = false;
    for run in 0..RUNS {
        let output = BlobKey::new(format!("results/bench-{run}.ppm"))?;
        let measured = tiled_run(&jobs, &queue, &image, &spec, &source, &output, args).await?;
        if run + 1 == RUNS {
            let big = Limits {
                max_pixels: u64::MAX,
                max_alloc: u64::MAX,
                max_file_bytes: u64::MAX,
            };
            let stitched = match &shared {
                Some(store) => decode(&store.get(&output).await?, &big)?,
                None => decode(&blobs.get(&output).await?, &big)?,
            };
            identical = stitched == whole;
        }
        match &shared {
            Some(store) => store.delete(&output).await?,
            None => blobs.delete(&output).await?,
        };
        tiled_runs_seconds.push(measured.seconds);
        if best.as_ref().is_none_or(|b| measured.seconds < b.seconds) {
            best = Some(measured);
        }
    }
    let best = best.context("no tiled run")?;
    let worker_peak_rss_mb = children
        .0
        .iter()
        .map(|c| {
            peak_resident(c.id())
                .map(|bytes| bytes as f64 / 1_048_576.0)
                .with_context(|| format!("cannot read the peak memory of process {}", c.id()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(BenchReport {
        width: WIDTH,
        height,
        tiles: best.tiles,
        workers: args.workers,
        store: args.store,
        source_seconds,
        whole_seconds,
        tiled_seconds: best.seconds,
        tiled_runs_seconds,
        submit_seconds: best.submit_seconds,
        ratio: best.seconds / whole_seconds,
        last_tile_seconds: best.last_tile_seconds,
        assembled_seconds: best.assembled_seconds,
        worker_peak_rss_mb,
        identical,
    })
}
// ANCHOR_END: bench

/// The store a job that runs in place uses, for `store`; `None` for tiles.
fn in_place(store: Store) -> Option<PixelStore> {
    match store {
        Store::Tiles => None,
        Store::Redis => Some(PixelStore::Redis),
        Store::Folder => Some(PixelStore::Folder),
    }
}

/// Runs of the tiled job, and of the whole-image kernel; the best counts. On a virtual
/// machine, memory freed a moment ago may have gone back to the host, and the run that
/// touches it again pays for that: more runs make a warm one likely.
const RUNS: usize = 7;

/// One run of the tiled job.
struct TiledRun {
    tiles: usize,
    seconds: f64,
    submit_seconds: f64,
    last_tile_seconds: f64,
    assembled_seconds: f64,
}

/// Submits `image` (on a folder, the raw `source` stored there) as a tiled job and waits for its result in
/// `output`.
async fn tiled_run(
    jobs: &Jobs,
    queue: &session04_redis::RedisQueue,
    image: &image::DynamicImage,
    spec: &PipelineSpec,
    source: &BlobKey,
    output: &BlobKey,
    args: &BenchArgs,
) -> Result<TiledRun> {
    let redis_start = redis_now_ms(queue).await?;
    let started = Instant::now();
    let rows = band_rows(image.width(), args.tile);
    let job = match args.store {
        Store::Tiles => {
            let tile = (args.tile, args.tile);
            jobs.submit(queue, image, spec, output.clone(), tile)
                .await?
        }
        // In Redis, the source goes there with the job, as the tiles do.
        Store::Redis => {
            let from = PixelSource::Image(image);
            jobs.submit_in_place(queue, PixelStore::Redis, from, spec, output.clone(), rows)
                .await?
        }
        Store::Folder => {
            let from = PixelSource::Stored(source);
            jobs.submit_in_place(queue, PixelStore::Folder, from, spec, output.clone(), rows)
                .await?
        }
    };
    let submit_seconds = started.elapsed().as_secs_f64();
    let outcome = wait_for_job(queue, job, Duration::from_secs(600)).await?;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        matches!(outcome, JobOutcome::Assembled { .. }),
        "the job failed: {outcome:?}"
    );
    let tiles = jobs.record(job).await?.context("no record")?.tiles.len();
    let (last_tile_ms, assembled_ms) = milestones(queue, job, redis_start).await?;
    Ok(TiledRun {
        tiles,
        seconds,
        submit_seconds,
        last_tile_seconds: last_tile_ms as f64 / 1000.0,
        assembled_seconds: assembled_ms as f64 / 1000.0,
    })
}

/// Redis's clock, in milliseconds.
async fn redis_now_ms(queue: &session04_redis::RedisQueue) -> Result<u64> {
    let (seconds, micros): (u64, u64) = redis::cmd("TIME")
        .query_async(&mut queue.connection())
        .await?;
    Ok(seconds * 1000 + micros / 1000)
}

/// When (ms after `start`, by Redis's clock) the job's last tile was done and when it was
/// assembled, from the times in its events stream's entry ids.
async fn milestones(
    queue: &session04_redis::RedisQueue,
    job: session03_workers::TaskId,
    start: u64,
) -> Result<(u64, u64)> {
    let events = crate::jobs::JobKeys::new(queue.keys(), job).events;
    let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(&events)
        .arg("-")
        .arg("+")
        .query_async(&mut queue.connection())
        .await?;
    let (mut last_tile, mut assembled) = (0, 0);
    for entry in reply.ids {
        let ms: u64 = entry
            .id
            .split('-')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(start);
        match entry.get::<String>("event").as_deref() {
            Some("tile") => last_tile = last_tile.max(ms.saturating_sub(start)),
            Some("assembled") => assembled = ms.saturating_sub(start),
            _ => {}
        }
    }
    Ok((last_tile, assembled))
}

/// The report as text.
pub fn render(report: &BenchReport) -> String {
    let peaks: Vec<String> = report
        .worker_peak_rss_mb
        .iter()
        .map(|mb| format!("{mb:.0} MB"))
        .collect();
    let store = match report.store {
        Store::Tiles => "in tiles through Redis".to_owned(),
        Store::Redis => "in bands, in place in Redis".to_owned(),
        Store::Folder => format!(
            "in bands, in place on a shared folder, the source stored there raw first in {:.3} s",
            report.source_seconds.unwrap_or(f64::NAN)
        ),
    };
    format!(
        "Gaussian blur of a {}x{} image ({:.0} MP):\n\
         fast kernel, whole image, 2 threads:      {:.3} s\n\
         tiled job, {} tiles, {} worker processes: {:.3} s ({:.3} s of it submitting)\n\
         (pixels {store}; last tile done at {:.3} s, assembled at {:.3} s)\n\
         ratio: {:.2}x; each worker's peak memory: {}; identical to the whole-image result: {}\n",
        report.width,
        report.height,
        f64::from(report.width) * f64::from(report.height) / 1e6,
        report.whole_seconds,
        report.tiles,
        report.workers,
        report.tiled_seconds,
        report.submit_seconds,
        report.last_tile_seconds,
        report.assembled_seconds,
        report.ratio,
        peaks.join(", "),
        if report.identical { "yes" } else { "NO" }
    )
}

/// The `bench` command: runs the benchmark with worker processes of `program`; the report
/// is text, or JSON with `--json`.
pub async fn command(args: &BenchArgs, program: &Path) -> Result<String> {
    let report = run(args, program).await?;
    Ok(if args.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        render(&report)
    })
}
