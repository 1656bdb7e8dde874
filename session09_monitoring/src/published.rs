//! What a worker publishes for the dashboard, beside its heartbeat: its CPU and memory (and
//! where its `/metrics` listens), and the tasks it finished last.
//!
//! | key | type | what |
//! |---|---|---|
//! | `NS:monitor:proc:ID` | hash | `cpu_percent`, `memory_bytes`, `metrics_address`, `at_ms` (Redis's clock); expires after 3 heartbeats |
//! | `NS:monitor:recent:ID` | list | the last [`RECENT_KEPT`] tasks as JSON [`RecentTask`], newest first; expires after an hour |
//!
//! Prometheus has the same numbers, but the `monitor` command reads Redis only: it works
//! with nothing else running.

use std::time::Duration;

use anyhow::{Context as _, Result};
use redis::AsyncCommands as _;
use serde::{Deserialize, Serialize};
use session03_workers::Task;
use session04_redis::RedisQueue;
use session04_redis::runtime::Context;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::telemetry::ProcessCollector;
use crate::telemetry::tasks::{Outcome, filters_of};

/// How many recent tasks each worker keeps.
pub const RECENT_KEPT: usize = 20;

/// How long a recent-task list outlives its worker's last task.
pub const RECENT_TTL: Duration = Duration::from_secs(3600);

/// A process's CPU and memory, as last published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessSample {
    /// CPU use since the previous sample, in percent of one core.
    pub cpu_percent: f64,
    /// Resident memory, in bytes.
    pub memory_bytes: u64,
    /// When it was published, in milliseconds since the epoch by Redis's clock.
    pub at_ms: u64,
    /// Where the worker's `/metrics` (and probes) listen, when it said.
    #[serde(default)]
    pub metrics_address: Option<String>,
}

/// A task a worker finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentTask {
    /// The task.
    pub task_id: String,
    /// Its pipeline's filters, each once.
    pub filters: Vec<String>,
    /// `succeeded`, `failed` or `retried`.
    pub outcome: String,
    /// How long the run took.
    pub seconds: f64,
    /// When it finished, in milliseconds since the epoch by the worker's clock.
    pub finished_at_ms: u64,
}

impl RecentTask {
    /// A run of `task` that just ended with `outcome` after `took`.
    pub fn new(task: &Task, outcome: Outcome, took: Duration) -> Self {
        Self {
            task_id: task.id.to_string(),
            filters: filters_of(task).into_iter().map(str::to_owned).collect(),
            outcome: outcome.name().to_owned(),
            seconds: took.as_secs_f64(),
            finished_at_ms: u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0),
        }
    }
}

/// The key of `worker_id`'s process hash.
pub fn process_key(queue: &RedisQueue, worker_id: &str) -> String {
    queue.keys().of(&[&"monitor", &"proc", &worker_id])
}

/// The key of `worker_id`'s recent tasks.
pub fn recent_key(queue: &RedisQueue, worker_id: &str) -> String {
    queue.keys().of(&[&"monitor", &"recent", &worker_id])
}

/// Writes the sample with Redis's time in one call, and sets its expiry.
const WRITE_SAMPLE: &str = r"
local t = redis.call('TIME')
local ms = t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
redis.call('HSET', KEYS[1], 'cpu_percent', ARGV[1], 'memory_bytes', ARGV[2],
  'metrics_address', ARGV[3], 'at_ms', ms)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return ms
";

/// Publishes one sample of this process for `worker_id`, kept for `keep`.
pub async fn write_process(
    queue: &RedisQueue,
    worker_id: &str,
    cpu_percent: f64,
    memory_bytes: u64,
    metrics_address: &str,
    keep: Duration,
) -> Result<()> {
    let mut conn = queue.connection();
    let _: String = redis::Script::new(WRITE_SAMPLE)
        .key(process_key(queue, worker_id))
        .arg(cpu_percent)
        .arg(memory_bytes)
        .arg(metrics_address)
        .arg(u64::try_from(keep.as_millis()).unwrap_or(u64::MAX).max(1))
        .invoke_async(&mut conn)
        .await
        .context("cannot publish the process sample")?;
    Ok(())
}

/// Pushes `task` onto `worker_id`'s recent list, keeping the newest [`RECENT_KEPT`].
pub async fn push_recent(queue: &RedisQueue, worker_id: &str, task: &RecentTask) -> Result<()> {
    let key = recent_key(queue, worker_id);
    let json = serde_json::to_string(task).context("cannot write a recent task as JSON")?;
    let mut conn = queue.connection();
    let last = isize::try_from(RECENT_KEPT).unwrap_or(isize::MAX) - 1;
    let () = redis::pipe()
        .lpush(&key, json)
        .ignore()
        .ltrim(&key, 0, last)
        .ignore()
        .expire(
            &key,
            i64::try_from(RECENT_TTL.as_secs()).unwrap_or(i64::MAX),
        )
        .ignore()
        .query_async(&mut conn)
        .await
        .context("cannot publish a recent task")?;
    Ok(())
}

/// The last sample `worker_id` published, or `None` (none, expired, or unreadable).
pub async fn read_process(queue: &RedisQueue, worker_id: &str) -> Result<Option<ProcessSample>> {
    let mut conn = queue.connection();
    let fields: std::collections::HashMap<String, String> = conn
        .hgetall(process_key(queue, worker_id))
        .await
        .context("cannot read a worker's process sample")?;
    let number = |name: &str| fields.get(name).and_then(|v| v.parse().ok());
    Ok(
        match (
            number("cpu_percent"),
            fields.get("memory_bytes"),
            fields.get("at_ms"),
        ) {
            (Some(cpu_percent), Some(memory), Some(at)) => match (memory.parse(), at.parse()) {
                (Ok(memory_bytes), Ok(at_ms)) => Some(ProcessSample {
                    cpu_percent,
                    memory_bytes,
                    at_ms,
                    metrics_address: fields
                        .get("metrics_address")
                        .filter(|a| !a.is_empty())
                        .cloned(),
                }),
                _ => None,
            },
            _ => None,
        },
    )
}

/// Up to `limit` of `worker_id`'s recent tasks, newest first; unreadable entries are
/// skipped.
pub async fn read_recent(
    queue: &RedisQueue,
    worker_id: &str,
    limit: usize,
) -> Result<Vec<RecentTask>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut conn = queue.connection();
    let last = isize::try_from(limit.min(RECENT_KEPT)).unwrap_or(isize::MAX) - 1;
    let entries: Vec<String> = conn
        .lrange(recent_key(queue, worker_id), 0, last)
        .await
        .context("cannot read a worker's recent tasks")?;
    Ok(entries
        .iter()
        .filter_map(|entry| serde_json::from_str(entry).ok())
        .collect())
}

/// The worker's side task: every `every`, a sample of this process (and `address`, where
/// its `/metrics` listens); each finished task from `recent` as it comes. Errors are
/// logged, never fatal: the dashboard goes without until Redis answers again.
pub async fn publish(
    context: Context,
    address: String,
    mut recent: mpsc::Receiver<RecentTask>,
    every: Duration,
    done: CancellationToken,
) {
    let process = ProcessCollector::new();
    let queue = &context.queue;
    let id = context.id().to_owned();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // ANCHOR: publisher
    loop {
        tokio::select! {
            () = done.cancelled() => break,
            _ = tick.tick() => {
                let now = process.read().unwrap_or_default();
                let written = write_process(
                    queue, &id, now.cpu_percent, now.memory_bytes, &address, every * 3,
                );
                if let Err(error) = written.await {
                    tracing::debug!(error = format!("{error:#}"), "cannot publish");
                }
            }
            Some(task) = recent.recv() => {
                if let Err(error) = push_recent(queue, &id, &task).await {
                    tracing::debug!(error = format!("{error:#}"), "cannot publish");
                }
            }
        }
    }
    // ANCHOR_END: publisher
    // The tasks that finished during the drain.
    while let Ok(task) = recent.try_recv() {
        let _ = push_recent(queue, &id, &task).await;
    }
}
