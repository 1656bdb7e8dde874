//! The `status` command: what the queue holds, by state, and one task in full; with
//! `--watch`, redrawn until Ctrl-C.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::Result;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;
use session03_workers::{Queue, QueueStats, TaskId, TaskRecord, TaskState};

use crate::cli::{QueueArgs, WatchArgs, watch};
use crate::queue::{DeadLetter, RedisQueue};

/// Shows the queue's depth, leased tasks, dead letters and counts by state, or one task.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// The queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// A task to show in full.
    #[arg(value_name = "TASK_ID")]
    pub id: Option<TaskId>,
    /// List the ids of the tasks in this state (oldest first).
    #[arg(long, value_name = "STATE")]
    pub state: Option<TaskState>,
    /// How many ids or dead letters to list.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
    /// Everything as JSON, for programs.
    #[arg(long)]
    pub json: bool,
    /// Redrawing the view until Ctrl-C.
    #[command(flatten)]
    pub watch: WatchArgs,
}

/// Everything `status` reports.
#[derive(Debug, Serialize)]
pub struct Status {
    /// The queue's counters and depths.
    pub stats: QueueStats,
    /// Tasks per state (finished ones while their records are kept).
    pub counts: BTreeMap<TaskState, u64>,
    /// Entries in the dead-letter stream.
    pub dead_letters: u64,
    /// The newest dead letters.
    pub recent_dead_letters: Vec<DeadLetter>,
    /// The ids listed with `--state`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<TaskId>>,
    /// The task asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskRecord>,
}

/// Reads the queue's state from Redis and renders it, once or (`--watch`) until Ctrl-C.
pub async fn run(args: StatusArgs) -> Result<String> {
    let every = args.watch.every(args.json)?;
    let (queue, _) = args.queue.open().await?;
    match every {
        Some(every) => {
            let (queue, args) = (&queue, &args);
            watch(every, args.watch.iterations, move || async move {
                render(&read(queue, args).await?)
            })
            .await
        }
        None if args.json => Ok(serde_json::to_string_pretty(&read(&queue, &args).await?)? + "\n"),
        None => render(&read(&queue, &args).await?),
    }
}

/// Everything `args` asks for, read from the queue.
async fn read(queue: &RedisQueue, args: &StatusArgs) -> Result<Status> {
    let task =
        match args.id {
            Some(id) => Some(queue.status(id).await?.ok_or_else(|| {
                anyhow::anyhow!("no task {id} in the queue (or its record expired)")
            })?),
            None => None,
        };
    let ids = match args.state {
        Some(state) => Some(queue.list(state, args.limit).await?),
        None => None,
    };
    Ok(Status {
        stats: queue.stats().await?,
        counts: queue.counts().await?,
        dead_letters: queue.dead_letter_count().await?,
        recent_dead_letters: queue.dead_letters(args.limit.min(5)).await?,
        ids,
        task,
    })
}

fn render(status: &Status) -> Result<String> {
    let mut out = String::new();
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_header(["queue", "tasks"]);
    let s = &status.stats;
    for (name, value) in [
        ("waiting (queue depth)", s.waiting as u64),
        ("in flight (leased)", s.in_flight as u64),
        ("dead letters", status.dead_letters),
        ("enqueued, ever", s.enqueued),
        ("succeeded, ever", s.succeeded),
        ("failed, ever", s.failed),
        ("retried attempts, ever", s.retried),
        ("expired leases, ever", s.expired_leases),
    ] {
        table.add_row([name.to_owned(), value.to_string()]);
    }
    for (state, count) in &status.counts {
        table.add_row([format!("state {state}"), count.to_string()]);
    }
    writeln!(out, "{table}")?;
    for letter in &status.recent_dead_letters {
        writeln!(
            out,
            "dead letter {} (task {}): {}",
            letter.entry, letter.task, letter.reason
        )?;
    }
    if let Some(ids) = &status.ids {
        for id in ids {
            writeln!(out, "{id}")?;
        }
    }
    if let Some(record) = &status.task {
        writeln!(out, "{}", serde_json::to_string_pretty(record)?)?;
    }
    Ok(out)
}
