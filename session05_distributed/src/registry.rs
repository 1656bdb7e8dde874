//! The worker registry: who is out there, what each can run, and whether it is alive.
//!
//! Every worker process writes a record when it starts and rewrites it on each heartbeat:
//! who it is (host, pid, version, capabilities, slots) and what it is doing (tasks in hand,
//! counters). Ages are measured by Redis's clock, both when a beat is written and when the
//! registry is read, so a worker whose clock is wrong still looks alive when it is.
//!
//! From the age of the last beat, a reader tells four states apart:
//!
//! | state | meaning |
//! |---|---|
//! | busy / idle | beating on time, with or without tasks in hand |
//! | stale | missed a beat or two: slow, paused or cut off; its tasks are still its own |
//! | gone | stopped cleanly, or silent past the TTL; its leases will run out and its tasks go to others |
//!
//! Records of gone workers stay for a while (the retention), so `workers` can show who
//! left, and then disappear by themselves.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use redis::RedisResult;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use session02_pipelines::PipelineSpec;
use session03_workers::{Capabilities, PoolStats, TaskId};
use session04_redis::Keys;
use session04_redis::functions::Library;

/// How often workers beat, and how long a reader waits before calling one stale or gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistryConfig {
    /// Time between two beats of a worker.
    pub interval: Duration,
    /// Silence after which a worker counts as gone.
    pub ttl: Duration,
    /// How long the record of a gone worker is kept.
    pub retention: Duration,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            ttl: Duration::from_secs(10),
            retention: Duration::from_secs(3600),
        }
    }
}

/// Who a worker is: written once per process start.
// ANCHOR: info
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerInfo {
    /// Unique per process start (the queue's consumer name): never reused.
    pub id: String,
    /// The machine (or container) it runs on.
    pub host: String,
    /// Its process id on that host.
    pub pid: u32,
    /// The filters it runs.
    pub capabilities: Capabilities,
    /// Tasks it runs at once.
    pub concurrency: usize,
    /// The version of the worker program.
    pub version: String,
    /// When the process started.
    pub started_at: DateTime<Utc>,
    /// Its time between beats, in milliseconds: readers judge it by its own timing.
    #[serde(default)]
    pub heartbeat_ms: u64,
    /// Its silence after which it counts as gone, in milliseconds.
    #[serde(default)]
    pub ttl_ms: u64,
}
// ANCHOR_END: info

/// What a worker is doing: rewritten on every beat.
// ANCHOR: beat
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beat {
    /// The tasks it holds now.
    pub current: Vec<TaskId>,
    /// Attempts finished since it started.
    pub processed: u64,
    /// Tasks it completed.
    pub succeeded: u64,
    /// Tasks that failed for good in its hands.
    pub failed: u64,
    /// Attempts that failed and will be retried.
    pub retried: u64,
    /// It has begun shutting down and takes no new tasks.
    pub stopping: bool,
}
// ANCHOR_END: beat

impl Beat {
    /// A beat from the pool's counters and the tasks in hand.
    pub fn from_stats(stats: &PoolStats, current: Vec<TaskId>, stopping: bool) -> Self {
        Self {
            current,
            processed: stats.processed,
            succeeded: stats.succeeded,
            failed: stats.failed,
            retried: stats.retried,
            stopping,
        }
    }
}

/// What a reader makes of a worker's last beat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    /// Beating on time, with tasks in hand.
    Busy,
    /// Beating on time, with nothing to do.
    Idle,
    /// Late: missed at least two beats, not yet past the TTL.
    Stale,
    /// Stopped cleanly, or silent past the TTL.
    Gone,
}

impl WorkerState {
    /// The state's name, as `workers` prints it.
    pub fn name(self) -> &'static str {
        match self {
            WorkerState::Busy => "busy",
            WorkerState::Idle => "idle",
            WorkerState::Stale => "stale",
            WorkerState::Gone => "gone",
        }
    }

    /// Whether the worker may still take tasks: routing counts busy, idle and stale ones.
    pub fn is_live(self) -> bool {
        self != WorkerState::Gone
    }
}

// ANCHOR: classify
/// The state of a worker whose last beat is `age` old.
///
/// Stale starts after two missed beats, so one slow beat does not flap the state; gone
/// starts at the TTL, or at once when the worker said it stopped.
pub fn classify(age: Duration, beat: &Beat, stopped: bool, config: &RegistryConfig) -> WorkerState {
    if stopped || age > config.ttl {
        WorkerState::Gone
    } else if age > config.interval * 2 {
        WorkerState::Stale
    } else if beat.current.is_empty() {
        WorkerState::Idle
    } else {
        WorkerState::Busy
    }
}
// ANCHOR_END: classify

/// One worker as a reader sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerView {
    /// Who it is.
    pub info: WorkerInfo,
    /// What it said last.
    pub beat: Beat,
    /// When it said it, by Redis's clock.
    pub last_beat: DateTime<Utc>,
    /// How long ago that was, in milliseconds.
    pub age_ms: u64,
    /// What the reader makes of it.
    pub state: WorkerState,
}

// ANCHOR: waiting_reason
/// Why a task whose pipeline uses `filters` waits when the live workers run `live`, or
/// `None` when one of them can run it.
///
/// Names the filters no live worker runs at all; when each filter has a worker but no
/// worker has them all, says that instead (a task never runs on two workers).
pub fn waiting_reason(live: &[&Capabilities], filters: &[&str]) -> Option<String> {
    if live.iter().any(|c| filters.iter().all(|f| c.allows(f))) {
        return None;
    }
    if live.is_empty() {
        return Some("no live worker".to_owned());
    }
    let mut unknown: Vec<&str> = Vec::new();
    for &name in filters {
        if !live.iter().any(|c| c.allows(name)) && !unknown.contains(&name) {
            unknown.push(name);
        }
    }
    if unknown.is_empty() {
        let all: BTreeSet<&str> = filters.iter().copied().collect();
        let all: Vec<&str> = all.into_iter().collect();
        Some(format!(
            "no live worker can run {} together",
            join_names(&all)
        ))
    } else {
        Some(format!("no live worker can run {}", join_names(&unknown)))
    }
}
// ANCHOR_END: waiting_reason

/// The capabilities of the workers that are not gone.
pub fn live_capabilities(workers: &[WorkerView]) -> Vec<&Capabilities> {
    workers
        .iter()
        .filter(|w| w.state.is_live())
        .map(|w| &w.info.capabilities)
        .collect()
}

/// `a`, `a and b`, `a, b and c`.
fn join_names(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The registry's functions in Redis.
pub const REGISTRY: Library = Library::new(include_str!("registry.lua"));

/// The registry in Redis, under the queue's namespace.
#[derive(Clone)]
pub struct Registry {
    conn: ConnectionManager,
    keys: Keys,
    config: RegistryConfig,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("namespace", &self.keys.namespace())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A record in Redis that cannot be read back (written by an incompatible version).
fn unreadable(what: &str, error: &serde_json::Error) -> redis::RedisError {
    redis::RedisError::from((
        redis::ErrorKind::Parse,
        "unreadable worker record",
        format!("{what}: {error}"),
    ))
}

impl Registry {
    /// The registry of the queue whose keys are `keys`.
    pub fn new(conn: ConnectionManager, keys: &Keys, config: RegistryConfig) -> Self {
        Self {
            conn,
            keys: keys.clone(),
            config,
        }
    }

    /// Its timing.
    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    fn index_key(&self) -> String {
        self.keys.of(&[&"workers"])
    }

    /// The key of a worker's record is this prefix and its id.
    fn record_prefix(&self) -> String {
        self.keys.of(&[&"worker", &""])
    }

    /// Writes `info` and `beat`: the first call registers the worker, later ones are its
    /// heartbeats. `stopped` marks a clean exit, which readers show as gone at once.
    pub async fn beat(&self, info: &WorkerInfo, beat: &Beat, stopped: bool) -> RedisResult<()> {
        let info_json = serde_json::to_string(info).map_err(|e| unreadable("info", &e))?;
        let beat_json = serde_json::to_string(beat).map_err(|e| unreadable("beat", &e))?;
        let keep = self.config.ttl + self.config.retention;
        let record = self.keys.of(&[&"worker", &info.id]);
        let call = REGISTRY
            .call("imgreg_beat", &[&record, &self.index_key()])
            .arg(info_json)
            .arg(beat_json)
            .arg(u8::from(stopped))
            .arg(u64::try_from(keep.as_millis()).unwrap_or(u64::MAX))
            .arg(&info.id)
            .to_owned();
        REGISTRY.run::<i64>(&self.conn, &call).await.map(drop)
    }

    /// Every worker with a record, busy first, then by host and id.
    pub async fn list(&self) -> RedisResult<Vec<WorkerView>> {
        let call = REGISTRY
            .call("imgreg_list", &[&self.index_key()])
            .arg(self.record_prefix())
            .to_owned();
        let raw: Vec<redis::Value> = REGISTRY.run(&self.conn, &call).await?;
        let mut raw = raw.into_iter();
        let now: i64 = match raw.next() {
            Some(value) => redis::from_redis_value(value)?,
            None => return Ok(Vec::new()),
        };
        let fields: Vec<String> = raw
            .map(|v| redis::from_redis_value::<Option<String>>(v).map(Option::unwrap_or_default))
            .collect::<Result<_, _>>()?;
        let mut workers = Vec::new();
        for record in fields.chunks_exact(4) {
            let info: WorkerInfo =
                serde_json::from_str(&record[0]).map_err(|e| unreadable("info", &e))?;
            let beat: Beat =
                serde_json::from_str(&record[1]).map_err(|e| unreadable("beat", &e))?;
            let beat_ms: i64 = record[2].parse().map_err(|_| {
                redis::RedisError::from((
                    redis::ErrorKind::Parse,
                    "unreadable worker record",
                    format!("beat_ms holds {:?}", record[2]),
                ))
            })?;
            let age_ms = u64::try_from(now.saturating_sub(beat_ms)).unwrap_or(0);
            // Each worker by its own timing; the reader's for records that do not say.
            let mut timing = self.config;
            if info.heartbeat_ms > 0 && info.ttl_ms > 0 {
                timing.interval = Duration::from_millis(info.heartbeat_ms);
                timing.ttl = Duration::from_millis(info.ttl_ms);
            }
            let state = classify(
                Duration::from_millis(age_ms),
                &beat,
                record[3] == "1",
                &timing,
            );
            workers.push(WorkerView {
                info,
                beat,
                last_beat: Utc
                    .timestamp_millis_opt(beat_ms)
                    .single()
                    .unwrap_or_default(),
                age_ms,
                state,
            });
        }
        workers.sort_by(|a, b| {
            (a.state, &a.info.host, &a.info.id).cmp(&(b.state, &b.info.host, &b.info.id))
        });
        Ok(workers)
    }

    /// Why a task with `pipeline` waits, by the live workers' capabilities now; `None`
    /// when a live worker can run it.
    pub async fn why_waiting(&self, pipeline: &PipelineSpec) -> RedisResult<Option<String>> {
        let workers = self.list().await?;
        let filters: Vec<&str> = pipeline.filters.iter().map(|f| f.name.as_str()).collect();
        Ok(waiting_reason(&live_capabilities(&workers), &filters))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(text: &str) -> Capabilities {
        text.parse().unwrap()
    }

    fn names(text: &str) -> Vec<&str> {
        text.split('|').collect()
    }

    #[test]
    fn a_task_waits_for_the_filter_nobody_runs() {
        let (a, b) = (caps("resize,blur,brightness"), caps("sharpen,edges"));
        let live = [&a, &b];
        assert_eq!(waiting_reason(&live, &names("blur")), None);
        assert_eq!(
            waiting_reason(&[&a], &names("blur|sharpen")).as_deref(),
            Some("no live worker can run sharpen")
        );
        assert_eq!(
            waiting_reason(&live, &names("blur|sharpen")).as_deref(),
            Some("no live worker can run blur and sharpen together")
        );
        assert_eq!(
            waiting_reason(&[], &names("invert")).as_deref(),
            Some("no live worker")
        );
        assert_eq!(
            waiting_reason(&live, &names("invert|median|invert")).as_deref(),
            Some("no live worker can run invert and median")
        );
    }

    #[test]
    fn states_follow_the_age_of_the_last_beat() {
        let config = RegistryConfig::default();
        let idle = Beat::default();
        let busy = Beat {
            current: vec![TaskId::new()],
            ..Beat::default()
        };
        let s = Duration::from_secs;
        assert_eq!(classify(s(1), &idle, false, &config), WorkerState::Idle);
        assert_eq!(classify(s(1), &busy, false, &config), WorkerState::Busy);
        assert_eq!(classify(s(5), &busy, false, &config), WorkerState::Stale);
        assert_eq!(classify(s(11), &idle, false, &config), WorkerState::Gone);
        assert_eq!(classify(s(0), &idle, true, &config), WorkerState::Gone);
        assert!(WorkerState::Stale.is_live() && !WorkerState::Gone.is_live());
    }
}
