//! The `stress` command: submits N tasks and measures how fast the workers take them, as
//! the original course's demo did (busy workers from 0 to 3 and utilisation from 0 to
//! 100 % within 5 s, with 3 workers).
//!
//! The clock starts at the first submit. [`measure`] then reads the registry and the
//! queue's counters every 50 ms and notes the first time:
//!
//! - a worker is busy (its beat says it holds a task);
//! - every live worker is busy;
//! - every slot is busy: utilisation 100 % (the same sum as the dashboard's);
//! - all N tasks finished (the drain time).
//!
//! Busy is what the workers' heartbeats say, so each time is late by up to one heartbeat
//! interval: that is what any dashboard sees too. Finished tasks are counted by the queue's
//! counters, so another load running at the same time is counted as well.
//!
//! On a terminal, the dashboard shows the run; with `--no-dashboard` (or without a
//! terminal) a line is printed each time the counts change. Either way the report ends it.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use serde::Serialize;
use session01_image_basics::Limits;
use session02_pipelines::PipelineSpec;
use session03_workers::cli::seconds;
use session03_workers::logging::LogFormat;
use session03_workers::{BlobKey, BlobStore as _, Queue as _, Task, TaskId};
use session04_redis::cli::QueueArgs;
use session04_redis::submit::enqueue_all;
use session04_redis::{RedisBlobStore, RedisQueue};
use session05_distributed::Registry;
use session05_distributed::worker::HeartbeatArgs;
use tokio::time::Instant;

use crate::monitor::{self, MonitorArgs};
use crate::snapshot::summarise;

/// Each task's pipeline when none is given: slow enough that the workers stay busy a while.
pub const DEFAULT_PIPELINE: &str = "resize:width=1600|blur:sigma=6|sharpen:amount=1.5";

/// The most tasks one run submits.
pub const MAX_TASKS: u32 = 100_000;

/// How often [`measure`] reads the registry and the queue.
pub const POLL: Duration = Duration::from_millis(50);

/// How long `stress` waits for Redis to answer before saying it is unreachable.
const CONNECT_DEADLINE: Duration = Duration::from_secs(5);

/// Submits N tasks and measures how fast the workers take them.
#[derive(Debug, Clone, clap::Args)]
pub struct StressArgs {
    /// Tasks to submit.
    #[arg(value_name = "N")]
    pub tasks: u32,
    /// The queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// The heartbeat timing to judge workers by when their records do not carry their own.
    #[command(flatten)]
    pub heartbeat: HeartbeatArgs,
    /// The pipeline every task runs, as text or JSON.
    #[arg(long, value_name = "SPEC", default_value = DEFAULT_PIPELINE)]
    pub pipeline: String,
    /// The folder of photos the tasks use, in turn [default: the bundled photos].
    #[arg(long, value_name = "DIR")]
    pub input: Option<PathBuf>,
    /// Seconds to wait for every task to finish.
    #[arg(long, value_name = "SECONDS", default_value_t = 120.0)]
    pub timeout: f64,
    /// Print a line per change instead of showing the dashboard.
    #[arg(long)]
    pub no_dashboard: bool,
    /// With the dashboard: seconds between two of its readings.
    #[arg(long = "interval", value_name = "SECONDS", default_value_t = 0.5)]
    pub refresh: f64,
    /// Print the report as JSON (the progress lines go to stderr).
    #[arg(long)]
    pub json: bool,
}

/// What to submit, checked.
#[derive(Debug, Clone)]
pub struct Load {
    /// How many tasks.
    pub tasks: u32,
    /// The pipeline each runs.
    pub pipeline: PipelineSpec,
    /// The photos they use, in turn.
    pub photos: Vec<PathBuf>,
    /// The longest the run may take.
    pub timeout: Duration,
}

impl StressArgs {
    /// The load the flags describe, checked before anything is sent.
    pub fn load(&self) -> Result<Load> {
        if self.tasks == 0 || self.tasks > MAX_TASKS {
            bail!("N must be from 1 to {MAX_TASKS} tasks, got {}", self.tasks);
        }
        // Built once here, so an unknown filter or a bad parameter is refused now.
        let pipeline = PipelineSpec::parse_any(&self.pipeline)
            .and_then(|spec| spec.build().map(|_| spec))
            .with_context(|| format!("--pipeline {:?} is not a pipeline", self.pipeline))?;
        let photos = session06_docker::batch::photos(self.input.as_deref(), &Limits::default())?;
        if photos.is_empty() {
            bail!("no photo to process (--input)");
        }
        Ok(Load {
            tasks: self.tasks,
            pipeline,
            photos,
            timeout: seconds("timeout", self.timeout)?,
        })
    }
}

/// Where the run is now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Progress {
    /// Seconds since the first submit.
    pub seconds: f64,
    /// Live workers.
    pub active: u32,
    /// Live workers with a task in hand.
    pub busy: u32,
    /// Busy slots over slots, percent.
    pub utilisation_percent: f64,
    /// Tasks finished since the first submit.
    pub finished: u64,
}

/// What a stress run measured: seconds from the first submit.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StressReport {
    /// Tasks submitted.
    pub tasks: u32,
    /// Live workers when the run started.
    pub workers: u32,
    /// Workers already busy when the run started (another load): the times then measure
    /// that load too.
    pub busy_at_start: u32,
    /// Until a worker was busy.
    pub first_busy_seconds: Option<f64>,
    /// Until every live worker was busy.
    pub all_busy_seconds: Option<f64>,
    /// Until every slot was busy: utilisation 100 %.
    pub full_utilisation_seconds: Option<f64>,
    /// Until every task finished.
    pub drain_seconds: Option<f64>,
    /// The most workers busy at once.
    pub peak_busy: u32,
    /// The highest utilisation seen, percent.
    pub peak_utilisation_percent: f64,
    /// Tasks finished (succeeded, failed or dead) by the end.
    pub finished: u64,
    /// Whether the run ended at `--timeout` before every task finished.
    pub timed_out: bool,
}

/// Tasks finished, ever, by the queue's counters.
async fn finished(queue: &RedisQueue) -> Result<u64> {
    let stats = queue
        .stats()
        .await
        .context("cannot read the queue's counts")?;
    Ok([stats.succeeded, stats.failed, stats.dead]
        .into_iter()
        .fold(0, u64::saturating_add))
}

/// Uploads the photos once, then the tasks, each to a result of its own.
async fn submit(blobs: &RedisBlobStore, load: &Load) -> Result<Vec<Task>> {
    let run = TaskId::new().to_string().replace('-', "")[..16].to_owned();
    let mut inputs = Vec::with_capacity(load.photos.len());
    for (n, path) in load.photos.iter().enumerate() {
        let bytes = tokio::fs::read(path)
            .await
            .with_context(|| format!("cannot read {}", path.display()))?;
        let key = BlobKey::new(format!("inputs/stress-{run}/{n}"))?;
        blobs.put(&key, bytes.into()).await?;
        inputs.push(key);
    }
    let mut tasks = Vec::new();
    for (index, input) in inputs.iter().cycle().take(load.tasks as usize).enumerate() {
        // JPEG results keep Redis's memory small.
        let output = BlobKey::new(format!("results/stress-{run}/{index}.jpg"))?;
        tasks.push(Task::new(load.pipeline.clone(), input.clone(), output));
    }
    Ok(tasks)
}

/// Submits `load` and measures the workers taking it, calling `progress` each time the
/// counts change; ends when every task finished or at the load's timeout.
pub async fn measure(
    queue: &RedisQueue,
    blobs: &RedisBlobStore,
    registry: &Registry,
    load: &Load,
    mut progress: impl FnMut(&Progress, &StressReport),
) -> Result<StressReport> {
    let tasks = submit(blobs, load).await?;
    let before = finished(queue).await?;
    let workers = registry.list().await.context("cannot read the registry")?;
    let mut report = StressReport {
        tasks: load.tasks,
        workers: summarise(&workers).active,
        busy_at_start: summarise(&workers).busy,
        ..StressReport::default()
    };
    let start = Instant::now();
    enqueue_all(queue, &tasks).await?;
    let mut last = None;
    loop {
        let workers = registry.list().await.context("cannot read the registry")?;
        let done = finished(queue).await?.saturating_sub(before);
        let seconds = start.elapsed().as_secs_f64();
        let summary = summarise(&workers);
        let now = Progress {
            seconds,
            active: summary.active,
            busy: summary.busy,
            utilisation_percent: summary.utilisation_percent,
            finished: done,
        };
        let busy = summary.busy > 0;
        let all_busy = busy && summary.busy == summary.active;
        let full = summary.total_slots > 0 && summary.busy_slots == summary.total_slots;
        let first = |slot: &mut Option<f64>, reached: bool| {
            if reached && slot.is_none() {
                *slot = Some(seconds);
            }
        };
        first(&mut report.first_busy_seconds, busy);
        first(&mut report.all_busy_seconds, all_busy);
        first(&mut report.full_utilisation_seconds, full);
        first(&mut report.drain_seconds, done >= u64::from(load.tasks));
        report.peak_busy = report.peak_busy.max(summary.busy);
        report.peak_utilisation_percent = report
            .peak_utilisation_percent
            .max(summary.utilisation_percent);
        report.finished = done;
        let counts = (
            now.active,
            now.busy,
            now.utilisation_percent.round() as u32,
            done,
        );
        if last != Some(counts) {
            last = Some(counts);
            progress(&now, &report);
        }
        if report.drain_seconds.is_some() {
            return Ok(report);
        }
        if start.elapsed() >= load.timeout {
            report.timed_out = true;
            return Ok(report);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// A progress line: `  1.20 s: 3 of 3 workers busy, utilisation 100%, 4 of 12 finished`.
pub fn progress_line(now: &Progress, tasks: u32) -> String {
    format!(
        "{:>6.2} s: {} of {} workers busy, utilisation {:.0}%, {} of {tasks} finished",
        now.seconds, now.busy, now.active, now.utilisation_percent, now.finished
    )
}

/// The report for people.
pub fn render(report: &StressReport) -> String {
    let time =
        |seconds: Option<f64>| seconds.map_or_else(|| "never".to_owned(), |s| format!("{s:.2} s"));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "stress: {} tasks, {} live workers at the start, {} of them busy",
        report.tasks, report.workers, report.busy_at_start
    );
    if report.busy_at_start > 0 {
        let _ = writeln!(
            out,
            "warning: {} workers were already busy at the start: the times below measure \
             that load too",
            report.busy_at_start
        );
    }
    let _ = writeln!(
        out,
        "first worker busy:      {}",
        time(report.first_busy_seconds)
    );
    let _ = writeln!(
        out,
        "all workers busy:       {}",
        time(report.all_busy_seconds)
    );
    let _ = writeln!(
        out,
        "utilisation 100%:       {}",
        time(report.full_utilisation_seconds)
    );
    let _ = writeln!(
        out,
        "all tasks finished:     {}",
        time(report.drain_seconds)
    );
    let _ = writeln!(
        out,
        "peak: {} workers busy, utilisation {:.0}%; {} of {} finished",
        report.peak_busy, report.peak_utilisation_percent, report.finished, report.tasks
    );
    if report.timed_out {
        let _ = writeln!(out, "stopped at --timeout before every task finished");
    }
    out
}

/// Connects, then runs [`measure`] with a progress line per change (to stderr with
/// `--json`).
pub async fn run(args: StressArgs) -> Result<String> {
    let load = args.load()?;
    let (queue, blobs, registry) = open(&args).await?;
    let json = args.json;
    let report = measure(&queue, &blobs, &registry, &load, |now, _| {
        let line = progress_line(now, load.tasks);
        if json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    })
    .await?;
    output(&report, json)
}

/// The report, as text or JSON.
fn output(report: &StressReport, json: bool) -> Result<String> {
    if json {
        Ok(serde_json::to_string_pretty(report)? + "\n")
    } else {
        Ok(render(report))
    }
}

/// The queue, its blob store and the registry, or an error naming Redis.
async fn open(args: &StressArgs) -> Result<(RedisQueue, Arc<RedisBlobStore>, Registry)> {
    let config = args.heartbeat.config()?;
    let redis = args.queue.redis.display_url();
    let (queue, blobs) = tokio::time::timeout(CONNECT_DEADLINE, args.queue.open())
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "Redis at {redis} did not answer within {} s",
                CONNECT_DEADLINE.as_secs()
            )
        })??;
    let registry = Registry::new(queue.connection(), queue.keys(), config);
    Ok((queue, blobs, registry))
}

/// Runs the stress: with the dashboard on a terminal, else with progress lines.
pub fn main(args: StressArgs) -> ExitCode {
    let terminal = std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    if args.no_dashboard || !terminal {
        return session04_redis::cli::run(LogFormat::Human, run(args));
    }
    match with_dashboard(args) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Measures on a tokio task while the dashboard shows the run; after `q`, the report so
/// far (the tasks keep running when the dashboard closes first).
fn with_dashboard(args: StressArgs) -> Result<String> {
    let load = args.load()?;
    let monitor = MonitorArgs {
        queue: args.queue.clone(),
        heartbeat: args.heartbeat.clone(),
        refresh: args.refresh,
    };
    let interval = monitor.interval()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let (queue, blobs, registry) = runtime.block_on(open(&args))?;
    let latest = Arc::new(Mutex::new(StressReport::default()));
    let shared = Arc::clone(&latest);
    let measuring = runtime.spawn(async move {
        measure(&queue, &blobs, &registry, &load, |_, report| {
            if let Ok(mut latest) = shared.lock() {
                latest.clone_from(report);
            }
        })
        .await
    });
    monitor::run(&runtime, &monitor, interval)?;
    let report = if measuring.is_finished() {
        runtime.block_on(measuring)??
    } else {
        measuring.abort();
        latest.lock().map(|r| r.clone()).unwrap_or_default()
    };
    runtime.shutdown_timeout(monitor::SHUTDOWN);
    output(&report, args.json)
}
