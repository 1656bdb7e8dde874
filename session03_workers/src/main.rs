//! `session03_workers`: a pool of workers processing the sample photos through an
//! in-memory queue, with logs as it goes and a table of statistics at the end.
//!
//! Every flag has an environment variable, the way later sessions configure containers.
//! Ctrl-C starts a graceful shutdown: no new tasks, running ones finish (or go back to the
//! queue after `--shutdown-grace`). Errors go to stderr with exit code 1 (2 for bad usage).

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;
use session01_image_basics::{cli, samples};
use session02_pipelines::{PipelineSpec, batch};
use session03_workers::bench::{self, BenchOptions};
use session03_workers::cli::{retry_backoff, seconds, shutdown_signal, unique_key};
use session03_workers::logging::{self, LogFormat};
use session03_workers::{
    Backpressure, BlobStore, FsBlobStore, ImageWorker, MemoryQueue, PoolConfig, PoolStats, Queue,
    QueueConfig, Task, TaskRecord, TaskState, WorkerPool,
};
use tracing::{info, warn};

/// A pool of workers on an in-memory task queue: the course's third session.
///
/// Without a command, processes the bundled photos (or --input) with a pipeline and prints
/// every task's outcome and the pool's statistics.
// ANCHOR: cli
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Worker slots: tasks processed at once [default: the number of CPUs].
    #[arg(long, value_name = "N", env = "WORKERS")]
    workers: Option<usize>,
    /// The pipeline every image goes through, as text or JSON.
    #[arg(long, value_name = "SPEC", env = "PIPELINE", default_value = DEFAULT_PIPELINE)]
    pipeline: String,
    /// Image files or folders [default: the bundled photos].
    #[arg(long, value_name = "PATH", num_args = 1..)]
    input: Vec<PathBuf>,
    /// Where the blob store keeps inputs and results.
    #[arg(
        long,
        value_name = "DIR",
        env = "OUTPUT_DIR",
        default_value = "output/session03"
    )]
    output_dir: PathBuf,
    /// Log lines as text for people or JSON for machines.
    #[arg(long, value_enum, env = "LOG_FORMAT", default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    /// Seconds a task may run before it counts as a worker failure.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "TASK_TIMEOUT",
        default_value_t = 300.0
    )]
    task_timeout: f64,
    /// Seconds a reserved task stays with its worker without a renewal.
    #[arg(long, value_name = "SECONDS", env = "LEASE", default_value_t = 30.0)]
    lease: f64,
    /// Attempts before worker failures make a task dead.
    #[arg(long, value_name = "N", env = "MAX_ATTEMPTS", default_value_t = 3)]
    max_attempts: u32,
    /// The most tasks that may wait in the queue.
    #[arg(long, value_name = "N", env = "QUEUE_CAPACITY", default_value_t = 1000)]
    capacity: usize,
    /// Seconds a task waits after its first worker failure; doubles with each further one,
    /// up to --retry-backoff-max, half of it random (0 retries at once).
    #[arg(
        long,
        value_name = "SECONDS",
        env = "RETRY_BACKOFF",
        default_value_t = 0.5
    )]
    retry_backoff: f64,
    /// The longest wait between two attempts, in seconds (0 for no cap).
    #[arg(
        long,
        value_name = "SECONDS",
        env = "RETRY_BACKOFF_MAX",
        default_value_t = 30.0
    )]
    retry_backoff_max: f64,
    /// Seconds running tasks get to finish at shutdown before they go back to the queue.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "SHUTDOWN_GRACE",
        default_value_t = 30.0
    )]
    shutdown_grace: f64,
    /// Refuse images with more pixels than this.
    #[arg(
        long,
        value_name = "N",
        env = "IMAGE_MAX_MEGAPIXELS",
        default_value_t = 50.0
    )]
    max_megapixels: f64,
    /// Print the final report as JSON (every task's record, and the statistics).
    #[arg(long)]
    json: bool,
}
// ANCHOR_END: cli

#[derive(Debug, Subcommand)]
enum Command {
    /// Push no-op tasks through the queue and the pool, and report tasks per second.
    Bench {
        /// No-op tasks to push through.
        #[arg(long, value_name = "N", default_value_t = 200_000)]
        tasks: usize,
        /// Worker slots.
        #[arg(long, value_name = "N", default_value_t = 2)]
        workers: usize,
        /// Threads of the async runtime.
        #[arg(long, value_name = "N", default_value_t = 2)]
        threads: usize,
        /// As JSON, for programs.
        #[arg(long)]
        json: bool,
    },
}

/// The demo's pipeline: a size every photo shares, a blur, and edges.
const DEFAULT_PIPELINE: &str = "resize:width=800|blur:sigma=2|edges";

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Bench {
            tasks,
            workers,
            threads,
            json,
        }) => cli::finish(run_bench(
            BenchOptions {
                tasks,
                workers,
                threads,
                ..BenchOptions::default()
            },
            json,
        )),
        None => {
            if let Err(error) = logging::init(cli.log_format) {
                return cli::finish(Err(error));
            }
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(runtime) => runtime,
                Err(error) => return cli::finish(Err(error.into())),
            };
            cli::finish(runtime.block_on(demo(&cli)))
        }
    }
}

fn run_bench(options: BenchOptions, json: bool) -> Result<String> {
    let result = bench::run(options)?;
    if json {
        return Ok(serde_json::to_string(&result)? + "\n");
    }
    Ok(format!(
        "{} no-op tasks through the in-memory queue, {} workers on {} threads: {:.3} s, {:.0} tasks/s (p50 hold {:.1} µs)\n",
        result.tasks,
        result.workers,
        result.threads,
        result.seconds,
        result.tasks_per_second,
        result.p50_micros
    ))
}

/// What the demo reports as JSON.
#[derive(Debug, Serialize)]
struct Report {
    tasks: Vec<TaskRecord>,
    stats: PoolStats,
}

// ANCHOR: demo
async fn demo(cli: &Cli) -> Result<String> {
    let limits = cli::limits(cli.max_megapixels)?;
    let spec = PipelineSpec::parse_any(&cli.pipeline)?;
    spec.build()?; // refuse a bad pipeline before anything is queued
    let inputs = if cli.input.is_empty() {
        batch::collect_inputs(&[samples::dir()])?
    } else {
        batch::collect_inputs(&cli.input)?
    };
    let store = Arc::new(FsBlobStore::new(&cli.output_dir)?);
    let queue = Arc::new(MemoryQueue::new(QueueConfig {
        lease: seconds("lease", cli.lease)?,
        max_attempts: cli.max_attempts.max(1),
        capacity: Some(cli.capacity.max(1)),
        retry_backoff: retry_backoff(cli.retry_backoff, cli.retry_backoff_max)?,
    }));
    let config = PoolConfig {
        workers: cli.workers.unwrap_or(PoolConfig::default().workers),
        task_timeout: seconds("task-timeout", cli.task_timeout)?,
        poll: Duration::from_millis(200),
    };
    let grace = seconds("shutdown-grace", cli.shutdown_grace)?;
    let interrupted = shutdown_signal()?;
    let worker = Arc::new(ImageWorker::new(store.clone(), limits));
    let pool = WorkerPool::start(queue.clone(), worker, config);

    let mut ids = Vec::new();
    let work = async {
        let (mut inputs_used, mut results_used) = (HashSet::new(), HashSet::new());
        for input in &inputs {
            let name = input
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("image");
            let (stem, extension) = name.rsplit_once('.').unwrap_or((name, "img"));
            let bytes = tokio::fs::read(input)
                .await
                .with_context(|| format!("cannot read {}", input.display()))?;
            let input_key = unique_key("inputs", stem, extension, &mut inputs_used)?;
            store.put(&input_key, bytes.into()).await?;
            let output_key = unique_key("results", stem, "png", &mut results_used)?;
            let task = Task::new(spec.clone(), input_key, output_key);
            ids.push(queue.enqueue(task, Backpressure::Wait).await?);
        }
        info!(
            tasks = ids.len(),
            workers = config.workers,
            "all tasks queued"
        );
        session03_workers::queue::wait_idle(&*queue, Duration::from_millis(20)).await?;
        anyhow::Ok(())
    };
    tokio::select! {
        done = work => done?,
        () = interrupted => warn!("Ctrl-C: shutting down"),
    }
    let shutdown = pool.shutdown(grace).await;
    let mut records = Vec::new();
    for id in ids {
        records.extend(queue.status(id).await?);
    }
    let report = Report {
        tasks: records,
        stats: shutdown.stats,
    };
    let text = if cli.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        render(&report, &*store)
    };
    let unfinished = report
        .tasks
        .iter()
        .filter(|r| r.state != TaskState::Succeeded)
        .count();
    if unfinished > 0 {
        print!("{text}");
        bail!(
            "{unfinished} of {} tasks did not succeed",
            report.tasks.len()
        );
    }
    Ok(text)
}
// ANCHOR_END: demo

/// The report as two tables: every task, then the pool's statistics.
fn render(report: &Report, store: &dyn BlobStore) -> String {
    let mut tasks = Table::new();
    tasks
        .load_style(UTF8_FULL_CONDENSED)
        .set_header(["input", "state", "attempts", "worker", "ms", "result"]);
    for record in &report.tasks {
        let outcome = match (&record.state, &record.error) {
            (TaskState::Succeeded, _) => store.locate(&record.task.output),
            (_, Some(error)) => format!("{:?} failure: {}", error.kind, error.message),
            _ => String::new(),
        };
        tasks.add_row([
            record.task.input.to_string(),
            record.state.to_string(),
            record.attempts.to_string(),
            record
                .worker
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            record
                .duration_seconds
                .map(|s| format!("{:.1}", s * 1e3))
                .unwrap_or_default(),
            outcome,
        ]);
    }
    let s = &report.stats;
    let mut stats = Table::new();
    stats
        .load_style(UTF8_FULL_CONDENSED)
        .set_header(["statistic", "value"]);
    for (name, value) in [
        ("workers", s.workers.to_string()),
        ("processed", s.processed.to_string()),
        ("succeeded", s.succeeded.to_string()),
        ("failed (job)", s.failed.to_string()),
        ("retried (worker)", s.retried.to_string()),
        ("dead", s.dead.to_string()),
        ("replaced workers", s.replaced.to_string()),
        ("mean ms", format!("{:.1}", s.mean_seconds * 1e3)),
        ("p50 ms", format!("{:.1}", s.p50_seconds * 1e3)),
        ("p95 ms", format!("{:.1}", s.p95_seconds * 1e3)),
        (
            "throughput tasks/s",
            format!("{:.2}", s.throughput_per_second),
        ),
        ("utilisation", format!("{:.0}%", s.utilisation * 100.0)),
    ] {
        stats.add_row([name.to_owned(), value]);
    }
    format!("{tasks}\n{stats}\n")
}
