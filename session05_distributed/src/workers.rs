//! The `workers` command: every registered worker with its state, and the tasks that wait
//! because no live worker can run them; with `--watch`, redrawn until Ctrl-C.

use std::fmt::Write as _;

use anyhow::Result;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;

use crate::registry::{Registry, WorkerView, live_capabilities, waiting_reason};
use crate::worker::HeartbeatArgs;
use session04_redis::RedisQueue;
use session04_redis::cli::{QueueArgs, WatchArgs, watch};

/// Lists the workers: who, where, what they run, their last heartbeat and their state.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkersArgs {
    /// The queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// The heartbeat timing to judge workers by when their records do not carry their own.
    #[command(flatten)]
    pub heartbeat: HeartbeatArgs,
    /// Everything as JSON, for programs.
    #[arg(long)]
    pub json: bool,
}

/// The `workers` command's flags: the report's, and redrawing it.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkersCommand {
    /// What to report.
    #[command(flatten)]
    pub report: WorkersArgs,
    /// Redrawing the report until Ctrl-C.
    #[command(flatten)]
    pub watch: WatchArgs,
}

/// Tasks of one capability class that no worker has taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiting {
    /// The class: the tasks' distinct filters joined by `+`.
    pub class: String,
    /// How many tasks wait.
    pub tasks: u64,
    /// Why, when no live worker can run them; `None` when one can (they are just queued).
    pub reason: Option<String>,
}

/// What `workers` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Every worker with a record.
    pub workers: Vec<WorkerView>,
    /// The classes with tasks waiting.
    pub waiting: Vec<Waiting>,
}

/// Reads the registry and the queue's classes.
pub async fn report(args: &WorkersArgs) -> Result<Report> {
    let (queue, _) = args.queue.open().await?;
    let registry = Registry::new(queue.connection(), queue.keys(), args.heartbeat.config()?);
    read(&queue, &registry).await
}

/// The report, from a queue and a registry already open.
pub async fn read(queue: &RedisQueue, registry: &Registry) -> Result<Report> {
    let workers = registry.list().await?;
    let live = live_capabilities(&workers);
    let waiting = queue
        .waiting_by_class()
        .await?
        .into_iter()
        .filter(|(_, tasks)| *tasks > 0)
        .map(|(class, tasks)| {
            let filters: Vec<&str> = session04_redis::queue::filters_of_class(&class).collect();
            let reason = waiting_reason(&live, &filters);
            Waiting {
                class,
                tasks,
                reason,
            }
        })
        .collect();
    Ok(Report { workers, waiting })
}

/// Runs the command once.
pub async fn run(args: WorkersArgs) -> Result<String> {
    let report = report(&args).await?;
    if args.json {
        return Ok(serde_json::to_string_pretty(&report)? + "\n");
    }
    Ok(render(&report))
}

/// Runs the command: once, or with `--watch` until Ctrl-C.
pub async fn command(args: WorkersCommand) -> Result<String> {
    let Some(every) = args.watch.every(args.report.json)? else {
        return run(args.report).await;
    };
    let (queue, _) = args.report.queue.open().await?;
    let registry = Registry::new(
        queue.connection(),
        queue.keys(),
        args.report.heartbeat.config()?,
    );
    let (queue, registry) = (&queue, &registry);
    watch(every, args.watch.iterations, move || async move {
        Ok(render(&read(queue, registry).await?))
    })
    .await
}

// ANCHOR: render
/// The report as tables.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    if report.workers.is_empty() {
        out.push_str("no worker has registered\n");
    } else {
        let mut table = Table::new();
        table.load_style(UTF8_FULL_CONDENSED).set_header([
            "worker",
            "state",
            "last beat",
            "capabilities",
            "slots",
            "in hand",
            "done",
            "failed",
            "retried",
            "version",
            "up since",
        ]);
        for w in &report.workers {
            table.add_row([
                format!("{} (pid {} on {})", w.info.id, w.info.pid, w.info.host),
                if w.beat.stopping && w.state.is_live() {
                    format!("{} (stopping)", w.state.name())
                } else {
                    w.state.name().to_owned()
                },
                format!("{:.1}s ago", w.age_ms as f64 / 1000.0),
                w.info.capabilities.to_string(),
                w.info.concurrency.to_string(),
                w.beat.current.len().to_string(),
                w.beat.succeeded.to_string(),
                w.beat.failed.to_string(),
                w.beat.retried.to_string(),
                w.info.version.clone(),
                w.info.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            ]);
        }
        let _ = writeln!(out, "{table}");
    }
    for waiting in &report.waiting {
        let _ = match &waiting.reason {
            Some(reason) => writeln!(
                out,
                "{} tasks of class {} wait: {reason}",
                waiting.tasks, waiting.class
            ),
            None => writeln!(
                out,
                "{} tasks of class {} are queued for a live worker",
                waiting.tasks, waiting.class
            ),
        };
    }
    out
}
// ANCHOR_END: render
