//! The demo that `cargo run -p session03_workers` runs: the bundled photos (or `--input`)
//! queued as tasks in a [`MemoryQueue`], a [`WorkerPool`] processing them, and a report of
//! every task's outcome and the pool's statistics, as tables or as JSON.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;
use session01_image_basics::cli::limits;
use session01_image_basics::samples;
use session02_pipelines::{PipelineSpec, batch};
use tracing::{info, warn};

use crate::blob::{BlobStore, FsBlobStore};
use crate::cli::{Cli, seconds, shutdown_signal, unique_key};
use crate::memory::MemoryQueue;
use crate::pool::{PoolConfig, WorkerPool};
use crate::queue::{Backpressure, Queue, QueueConfig};
use crate::stats::PoolStats;
use crate::task::{Task, TaskRecord, TaskState};
use crate::worker::ImageWorker;

/// The target of the demo's own log lines: the program's name, not this module's path.
const LOG_TARGET: &str = "session03_workers";

/// What the demo reports as JSON.
#[derive(Debug, Serialize)]
struct Report {
    tasks: Vec<TaskRecord>,
    stats: PoolStats,
}

/// Runs the demo with the flags in `cli`; the report is the tables, or JSON with `--json`.
///
/// Fails, after printing the report, when any task did not succeed.
// ANCHOR: demo
pub async fn run(cli: &Cli) -> Result<String> {
    let limits = limits(cli.max_megapixels)?;
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
        retry_backoff: cli.retry.backoff()?,
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
            target: LOG_TARGET,
            tasks = ids.len(),
            workers = config.workers,
            "all tasks queued"
        );
        crate::queue::wait_idle(&*queue, Duration::from_millis(20)).await?;
        anyhow::Ok(())
    };
    tokio::select! {
        done = work => done?,
        () = interrupted => warn!(target: LOG_TARGET, "Ctrl-C: shutting down"),
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
