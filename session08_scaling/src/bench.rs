//! The `bench` command: what a task costs, by image size, tasks in flight and workers.
//!
//! It makes PNG images of about 1 MB and 10 MB from a sample photo (scaled until their
//! files are that big), starts a Redis (unless given one) and, for each number of workers,
//! that many worker processes of this program, each running one task at a time. For each
//! image size and each concurrency `C`, it sends `C` tasks at once, waits for all of them,
//! and does that `--repeat` times. Before those timed rounds, each worker count starts with
//! one untimed round per image, as many tasks as workers. A task's time is from entering
//! the queue to its result, by Redis' clock: its wait for a free worker included, as a
//! user would see it.
//!
//! The rows go to a CSV file (`outcome,elapsed_seconds,size_bytes,concurrency,workers`), a
//! scatter plot (seconds against size, one colour per concurrency) to a PNG file, and the
//! medians per configuration to the screen, or with the rows as one JSON document.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat};
use plotters::prelude::*;
use serde::Serialize;
use session01_image_basics::samples;
use session02_pipelines::PipelineSpec;
use session03_workers::cli::seconds;
use session03_workers::{BlobKey, BlobStore, Task, TaskId};
use session04_redis::cli::QueueArgs;
use session04_redis::server::{Children, terminate};
use session04_redis::{RedisQueue, RedisServer};
use session05_distributed::Registry;
use session05_distributed::worker::HeartbeatArgs;
use session06_docker::batch;
use session06_docker::demo::exited;

use crate::loadgen::{self, Outcome, TaskOutcome};
use crate::plot;

/// The photo the images are made from.
pub const SOURCE: &str = "coffee.png";
/// The CSV file's header.
pub const CSV_HEADER: &str = "outcome,elapsed_seconds,size_bytes,concurrency,workers";
/// How long workers get to start, or to stop after SIGTERM.
const STEP: Duration = Duration::from_secs(60);
/// How often a round asks Redis whether its tasks are done.
const POLL: Duration = Duration::from_millis(20);
/// The largest image the bench makes, in MB: Redis' blobs stop at 32 MiB by default.
const MAX_MB: f64 = 30.0;

/// Times image size x concurrency x workers.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Use this Redis instead of starting one.
    #[arg(long, value_name = "URL", env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// The images' sizes, in MB (millions of bytes), comma-separated.
    #[arg(long, value_name = "MB", value_delimiter = ',', default_values_t = [1.0, 10.0])]
    pub sizes_mb: Vec<f64>,
    /// Tasks in flight at once, comma-separated.
    #[arg(long, value_name = "C", value_delimiter = ',', default_values_t = [1, 2, 4, 8])]
    pub concurrency: Vec<usize>,
    /// Worker processes, comma-separated; each runs one task at a time.
    #[arg(long, value_name = "N", value_delimiter = ',', default_values_t = [1, 2, 3, 4])]
    pub workers: Vec<usize>,
    /// Rounds per configuration (each sends `concurrency` tasks and waits for them).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub repeat: usize,
    /// The pipeline every task runs.
    #[arg(long, value_name = "SPEC", default_value = "blur:sigma=2")]
    pub pipeline: String,
    /// Seconds a round may take before the bench gives up.
    #[arg(long, value_name = "SECONDS", default_value_t = 120.0)]
    pub timeout: f64,
    /// The CSV file of every task.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "output/session08/bench.csv"
    )]
    pub csv: PathBuf,
    /// The scatter plot.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "output/session08/bench.png"
    )]
    pub plot: PathBuf,
    /// Print the rows and the medians as one JSON document.
    #[arg(long)]
    pub json: bool,
}

impl BenchArgs {
    /// Checks every list and the pipeline, before anything starts.
    pub fn check(&self) -> Result<(PipelineSpec, Duration)> {
        anyhow::ensure!(
            !self.sizes_mb.is_empty(),
            "--sizes-mb needs at least one size"
        );
        for &mb in &self.sizes_mb {
            anyhow::ensure!(
                (0.01..=MAX_MB).contains(&mb),
                "--sizes-mb must be 0.01 to {MAX_MB} MB each, got {mb}"
            );
        }
        for (flag, values, most) in [
            ("concurrency", &self.concurrency, 64),
            ("workers", &self.workers, 16),
        ] {
            anyhow::ensure!(!values.is_empty(), "--{flag} needs at least one number");
            if let Some(bad) = values.iter().find(|&&n| n == 0 || n > most) {
                bail!("--{flag} must be 1 to {most} each, got {bad}");
            }
        }
        anyhow::ensure!(
            (1..=100).contains(&self.repeat),
            "--repeat must be 1 to 100, got {}",
            self.repeat
        );
        let spec = PipelineSpec::parse_any(&self.pipeline)
            .and_then(|spec| spec.build().map(|_| spec))
            .with_context(|| format!("--pipeline {:?} is not a pipeline", self.pipeline))?;
        Ok((spec, seconds("timeout", self.timeout)?))
    }
}

/// An image the bench sends.
#[derive(Debug, Clone, Serialize)]
pub struct BenchImage {
    /// The size asked for, in MB.
    pub target_mb: f64,
    /// The PNG file's real size.
    pub size_bytes: u64,
    /// Its width in pixels.
    pub width: u32,
    /// Its height in pixels.
    pub height: u32,
    /// The PNG file.
    #[serde(skip)]
    pub png: Vec<u8>,
}

/// A PNG of about `target_mb` MB: `source` scaled until its file is within 10 % of that
/// (a PNG's size depends on the pixels, so it takes a few tries).
pub fn make_image(source: &DynamicImage, target_mb: f64) -> Result<BenchImage> {
    let target = target_mb * 1e6;
    let mut scale = 1.0_f64;
    let mut made = None;
    for _ in 0..5 {
        let width = ((f64::from(source.width()) * scale).round() as u32).max(8);
        let height = ((f64::from(source.height()) * scale).round() as u32).max(8);
        let scaled = source.resize_exact(width, height, FilterType::Triangle);
        let mut png = Vec::new();
        scaled.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)?;
        let bytes = png.len() as f64;
        let image = BenchImage {
            target_mb,
            size_bytes: png.len() as u64,
            width,
            height,
            png,
        };
        if (bytes - target).abs() <= 0.1 * target {
            return Ok(image);
        }
        made = Some(image);
        // The file grows with the pixels, so with the square of the scale.
        scale *= (target / bytes).sqrt();
    }
    made.context("no image was made")
}

/// One task of the bench.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// `succeeded`, `failed`, ... (see [`Outcome`]).
    pub outcome: &'static str,
    /// From entering the queue to the result.
    pub elapsed_seconds: f64,
    /// The input image's size.
    pub size_bytes: u64,
    /// Tasks in flight at once.
    pub concurrency: usize,
    /// Worker processes.
    pub workers: usize,
}

/// The median time of one configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Median {
    /// The input image's size.
    pub size_bytes: u64,
    /// Tasks in flight at once.
    pub concurrency: usize,
    /// Worker processes.
    pub workers: usize,
    /// Tasks that succeeded.
    pub tasks: usize,
    /// Tasks that did not.
    pub failed: usize,
    /// The median of the succeeded tasks' times; `None` when none succeeded.
    pub median_seconds: Option<f64>,
}

/// Everything `bench --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The pipeline every task ran.
    pub pipeline: String,
    /// The photo the images were made from.
    pub source: String,
    /// Rounds per configuration.
    pub repeat: usize,
    /// The images.
    pub images: Vec<BenchImage>,
    /// Every task.
    pub rows: Vec<Row>,
    /// The median per (size, concurrency, workers).
    pub medians: Vec<Median>,
    /// How long the whole bench took.
    pub elapsed_seconds: f64,
}

/// The medians of `rows`, per (size, concurrency, workers), in that order.
pub fn medians(rows: &[Row]) -> Vec<Median> {
    let mut groups: BTreeMap<(u64, usize, usize), Vec<&Row>> = BTreeMap::new();
    for row in rows {
        groups
            .entry((row.size_bytes, row.concurrency, row.workers))
            .or_default()
            .push(row);
    }
    groups
        .into_iter()
        .map(|((size_bytes, concurrency, workers), rows)| {
            let mut times: Vec<f64> = rows
                .iter()
                .filter(|row| row.outcome == Outcome::Succeeded.name())
                .map(|row| row.elapsed_seconds)
                .collect();
            times.sort_by(f64::total_cmp);
            Median {
                size_bytes,
                concurrency,
                workers,
                tasks: times.len(),
                failed: rows.len() - times.len(),
                median_seconds: median(&times),
            }
        })
        .collect()
}

/// The middle of sorted values (the mean of the two middle ones for an even count).
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Writes the rows under [`CSV_HEADER`].
pub fn write_csv(path: &Path, rows: &[Row]) -> Result<()> {
    let mut text = format!("{CSV_HEADER}\n");
    for row in rows {
        writeln!(
            text,
            "{},{:.3},{},{},{}",
            row.outcome, row.elapsed_seconds, row.size_bytes, row.concurrency, row.workers
        )?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The scatter plot: seconds against the image's size in MB, one colour per concurrency.
/// The points of each concurrency are set a little apart (dodged), so none hides another.
pub fn draw_scatter(path: &Path, rows: &[Row]) -> Result<()> {
    let mut levels: Vec<usize> = rows.iter().map(|row| row.concurrency).collect();
    levels.sort_unstable();
    levels.dedup();
    let mb = |row: &Row| row.size_bytes as f64 / 1e6;
    let right = rows.iter().map(mb).fold(1.0, f64::max) * 1.15;
    let top = rows.iter().map(|r| r.elapsed_seconds).fold(0.1, f64::max) * 1.1;
    let dodge = right / 60.0;
    plot::png(path, (900, 560), |area| {
        let mut chart = ChartBuilder::on(area)
            .caption("Seconds per task by image size", ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..right, 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc("image size (MB)")
            .y_desc("seconds from queue to result")
            .draw()?;
        for (n, level) in levels.iter().enumerate() {
            let colour = plot::colour(n);
            let shift = (n as f64 - (levels.len() as f64 - 1.0) / 2.0) * dodge;
            let points = rows
                .iter()
                .filter(|row| row.concurrency == *level)
                .map(|row| (mb(row) + shift, row.elapsed_seconds));
            chart
                .draw_series(points.map(|point| Circle::new(point, 4, colour.mix(0.7).filled())))?
                .label(format!("{level} in flight"))
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, colour.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })
}

/// The `bench` command, with workers run as `program worker ...`.
pub async fn run(args: BenchArgs, program: &Path) -> Result<String> {
    let report = measure(&args, program).await?;
    write_csv(&args.csv, &report.rows)?;
    draw_scatter(&args.plot, &report.rows)?;
    if args.json {
        return Ok(serde_json::to_string_pretty(&report)? + "\n");
    }
    Ok(human(&report, &args))
}

/// Runs every configuration and returns the rows and medians.
pub async fn measure(args: &BenchArgs, program: &Path) -> Result<BenchReport> {
    let (spec, timeout) = args.check()?;
    // Both files' folders exist before minutes of work.
    for file in [&args.csv, &args.plot] {
        if let Some(folder) = file.parent().filter(|f| !f.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder)
                .with_context(|| format!("cannot create {}", folder.display()))?;
        }
    }
    let started = Instant::now();
    let sizes = args.sizes_mb.clone();
    let images = tokio::task::spawn_blocking(move || -> Result<Vec<BenchImage>> {
        let source = image::open(samples::path(SOURCE))?;
        sizes.iter().map(|&mb| make_image(&source, mb)).collect()
    })
    .await??;
    // A Redis of its own unless given one; said on stderr, as stdout may be JSON.
    let (server, url) = match &args.redis_url {
        Some(url) => (None, url.clone()),
        None => {
            let server = RedisServer::start_async().await?;
            eprintln!("started redis-server on port {}", server.port());
            let url = server.url();
            (Some(server), url)
        }
    };
    let mut rows = Vec::new();
    for &workers in &args.workers {
        // A namespace per worker count: the registry shows only this round's workers.
        let mut queue_args = QueueArgs::for_url(&url);
        queue_args.namespace = format!("bench8-{}-w{workers}", std::process::id());
        let (queue, blobs) = batch::open(&queue_args, STEP).await?;
        let mut inputs = Vec::new();
        for (n, image) in images.iter().enumerate() {
            let key = BlobKey::new(format!("inputs/bench/{n}.png"))?;
            blobs.put(&key, image.png.clone().into()).await?;
            inputs.push(key);
        }
        let mut children = Children::default();
        for _ in 0..workers {
            children.0.push(spawn_worker(program, &queue_args)?);
        }
        let heartbeat = HeartbeatArgs {
            interval: 0.5,
            ttl: 2.0,
        };
        let registry = Registry::new(queue.connection(), queue.keys(), heartbeat.config()?);
        wait_for_workers(&registry, workers).await?;
        // One untimed round per image, as many tasks as workers: a worker's first task
        // finds its memory and caches cold, and took several times as long as later ones.
        for input in &inputs {
            round(&queue, &spec, input, workers, timeout).await?;
        }
        for (image, input) in images.iter().zip(&inputs) {
            for &concurrency in &args.concurrency {
                for _ in 0..args.repeat {
                    let ends = round(&queue, &spec, input, concurrency, timeout).await?;
                    rows.extend(ends.into_iter().map(|end| Row {
                        outcome: end.outcome.name(),
                        elapsed_seconds: end.latency_ms.unwrap_or(0) as f64 / 1000.0,
                        size_bytes: image.size_bytes,
                        concurrency,
                        workers,
                    }));
                }
            }
        }
        for child in &mut children.0 {
            terminate(child)?;
        }
        for child in &mut children.0 {
            exited(child, STEP).await?;
        }
        queue.purge().await?;
    }
    drop(server);
    let medians = medians(&rows);
    Ok(BenchReport {
        pipeline: args.pipeline.clone(),
        source: SOURCE.to_owned(),
        repeat: args.repeat,
        images,
        rows,
        medians,
        elapsed_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Sends `concurrency` tasks at once and follows them to their end; a round that does not
/// finish within `timeout` stops the bench, since its tasks would slow the next rounds.
async fn round(
    queue: &RedisQueue,
    spec: &PipelineSpec,
    input: &BlobKey,
    concurrency: usize,
    timeout: Duration,
) -> Result<Vec<TaskOutcome>> {
    let tasks: Vec<Task> = (0..concurrency)
        .map(|_| {
            let id = TaskId::new();
            let output = BlobKey::new(format!("results/bench/{id}.jpg"))?;
            let mut task = Task::new(spec.clone(), input.clone(), output);
            task.id = id;
            Ok(task)
        })
        .collect::<Result<_>>()?;
    let mut open = Vec::with_capacity(tasks.len());
    for (index, result) in queue.enqueue_many(&tasks).await?.into_iter().enumerate() {
        open.push((index, result?));
    }
    let mut ends: Vec<TaskOutcome> = (0..tasks.len())
        .map(|index| TaskOutcome {
            index,
            pipeline: 0,
            outcome: Outcome::TimedOut,
            latency_ms: None,
        })
        .collect();
    let deadline = Instant::now() + timeout;
    loop {
        let asked_until = tokio::time::Instant::from_std(deadline);
        open = loadgen::settle(queue, open, &mut ends, asked_until).await?;
        if open.is_empty() {
            return Ok(ends);
        }
        if Instant::now() >= deadline {
            bail!(
                "{} of {concurrency} tasks unfinished after {:.0} s (--timeout)",
                open.len(),
                timeout.as_secs_f64()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Starts a worker process that runs one task at a time, its output discarded.
fn spawn_worker(program: &Path, queue: &QueueArgs) -> Result<Child> {
    Command::new(program)
        .args(["worker", "--concurrency", "1"])
        .args(["--redis-url", &queue.redis.url])
        .args(["--namespace", &queue.namespace])
        .args(["--heartbeat", "0.5", "--heartbeat-ttl", "2"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start `{} worker`", program.display()))
}

/// Waits until `count` workers beat, within [`STEP`].
async fn wait_for_workers(registry: &Registry, count: usize) -> Result<()> {
    let deadline = Instant::now() + STEP;
    loop {
        let live = registry
            .list()
            .await?
            .iter()
            .filter(|worker| worker.state.is_live())
            .count();
        if live >= count {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {live} of {count} workers registered within {} s",
            STEP.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The report for people: the images, then the median seconds per configuration.
fn human(report: &BenchReport, args: &BenchArgs) -> String {
    let mut out = String::new();
    for image in &report.images {
        let _ = writeln!(
            out,
            "{} MB asked: {} bytes made ({} x {} pixels, from {})",
            image.target_mb, image.size_bytes, image.width, image.height, report.source
        );
    }
    let _ = writeln!(
        out,
        "pipeline {:?}, {} rounds per configuration, each worker one task at a time",
        report.pipeline, report.repeat
    );
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    let mut header = vec!["size (MB)".to_owned(), "in flight".to_owned()];
    header.extend(args.workers.iter().map(|&w| match w {
        1 => "1 worker: median s".to_owned(),
        _ => format!("{w} workers: median s"),
    }));
    table.set_header(header);
    for image in &report.images {
        for &concurrency in &args.concurrency {
            let mut cells = vec![
                format!("{:.1}", image.size_bytes as f64 / 1e6),
                concurrency.to_string(),
            ];
            for &workers in &args.workers {
                let cell = report
                    .medians
                    .iter()
                    .find(|m| {
                        (m.size_bytes, m.concurrency, m.workers)
                            == (image.size_bytes, concurrency, workers)
                    })
                    .and_then(|m| m.median_seconds)
                    .map_or("-".to_owned(), |s| format!("{s:.3}"));
                cells.push(cell);
            }
            table.add_row(cells);
        }
    }
    let _ = writeln!(out, "{table}");
    let _ = writeln!(
        out,
        "{} tasks in {:.0} s; every task in {}, the plot in {}",
        report.rows.len(),
        report.elapsed_seconds,
        args.csv.display(),
        args.plot.display()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(outcome: Outcome, seconds: f64, concurrency: usize) -> Row {
        Row {
            outcome: outcome.name(),
            elapsed_seconds: seconds,
            size_bytes: 1_000_000,
            concurrency,
            workers: 1,
        }
    }

    #[test]
    fn medians_are_per_configuration_over_the_tasks_that_succeeded() {
        let rows = [
            row(Outcome::Succeeded, 3.0, 1),
            row(Outcome::Succeeded, 1.0, 1),
            row(Outcome::Failed, 100.0, 1),
            row(Outcome::Succeeded, 2.0, 2),
            row(Outcome::Succeeded, 4.0, 2),
        ];
        let medians = medians(&rows);
        assert_eq!(medians.len(), 2);
        assert_eq!(
            (
                medians[0].tasks,
                medians[0].failed,
                medians[0].median_seconds
            ),
            (2, 1, Some(2.0))
        );
        assert_eq!(medians[1].median_seconds, Some(3.0));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, 2.0, 9.0]), Some(2.0));
    }

    #[test]
    fn an_image_is_made_within_a_tenth_of_its_size() {
        let source = image::open(samples::path(SOURCE)).unwrap();
        let image = make_image(&source, 0.2).unwrap();
        let asked = 200_000.0;
        assert!(
            (image.size_bytes as f64 - asked).abs() <= 0.1 * asked,
            "{} bytes",
            image.size_bytes
        );
        let decoded = image::load_from_memory(&image.png).unwrap();
        assert_eq!(
            (decoded.width(), decoded.height()),
            (image.width, image.height)
        );
    }

    #[test]
    fn bad_settings_are_refused_with_the_rule() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: BenchArgs,
        }
        let refused = |flags: &[&str], rule: &str| {
            let cli = Cli::try_parse_from(["bench"].iter().chain(flags)).unwrap();
            let error = format!("{:#}", cli.args.check().unwrap_err());
            assert!(error.contains(rule), "{flags:?}: {error}");
        };
        refused(&["--sizes-mb", "0"], "--sizes-mb must be 0.01 to 30");
        refused(&["--sizes-mb", "1,100"], "got 100");
        refused(&["--concurrency", "1,0"], "--concurrency must be 1 to 64");
        refused(&["--workers", "17"], "--workers must be 1 to 16");
        refused(&["--repeat", "0"], "--repeat must be 1 to 100");
        refused(&["--pipeline", "blur:sigma=-1"], "is not a pipeline");
    }

    #[test]
    fn the_scatter_plot_is_a_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bench.png");
        let rows = [
            row(Outcome::Succeeded, 0.5, 1),
            row(Outcome::Succeeded, 1.5, 8),
        ];
        draw_scatter(&path, &rows).unwrap();
        let decoded = image::open(&path).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (900, 560));
    }
}
