//! The `monitor` demo (the original course's second): the tasks by state and every live
//! worker with the age of its last heartbeat and the tasks it has done, redrawn every two
//! seconds until Ctrl-C.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::Result;
use session01_image_basics::cli::table;
use session03_workers::TaskState;
use session03_workers::cli::seconds;
use session04_redis::RedisQueue;
use session04_redis::cli::{QueueArgs, watch};
use session05_distributed::worker::HeartbeatArgs;
use session05_distributed::{Registry, WorkerState};

/// Shows the tasks by state and the live workers, refreshed until Ctrl-C.
#[derive(Debug, Clone, clap::Args)]
pub struct MonitorArgs {
    /// The queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// How the registry judges a silent worker.
    #[command(flatten)]
    pub heartbeat: HeartbeatArgs,
    /// Seconds between two refreshes.
    #[arg(long = "interval", value_name = "SECONDS", default_value_t = 2.0)]
    pub refresh: f64,
    /// Stop after this many refreshes (for scripts; 0: until Ctrl-C).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub iterations: u64,
}

/// The counts as one line, in the order of a task's life.
pub fn counts_line(counts: &BTreeMap<TaskState, u64>) -> String {
    let mut line = String::from("tasks:");
    for state in TaskState::ALL {
        let count = counts.get(&state).copied().unwrap_or(0);
        let _ = write!(line, " {state} {count}");
    }
    line
}

// ANCHOR: snapshot
/// One screen: the counts, then a row per worker that is not gone.
pub async fn snapshot(queue: &RedisQueue, registry: &Registry) -> Result<String> {
    let mut out = counts_line(&queue.counts().await?) + "\n";
    let mut workers = table(["worker", "state", "last beat", "tasks done", "in hand"]);
    let mut live = 0;
    for view in registry.list().await? {
        if view.state == WorkerState::Gone {
            continue;
        }
        live += 1;
        workers.add_row([
            view.info.id.clone(),
            view.state.name().to_owned(),
            format!("{:.1}s ago", view.age_ms as f64 / 1000.0),
            view.beat.succeeded.to_string(),
            view.beat.current.len().to_string(),
        ]);
    }
    writeln!(out, "live workers: {live}\n{workers}")?;
    Ok(out)
}
// ANCHOR_END: snapshot

/// Redraws the snapshot every interval until Ctrl-C (or `--iterations`), with session
/// 04's `watch`.
pub async fn run(args: MonitorArgs) -> Result<String> {
    let every = seconds("interval", args.refresh)?;
    let (queue, _) = args.queue.open().await?;
    let registry = Registry::new(queue.connection(), queue.keys(), args.heartbeat.config()?);
    let iterations = (args.iterations > 0).then_some(args.iterations);
    watch(every, iterations, || snapshot(&queue, &registry)).await
}
