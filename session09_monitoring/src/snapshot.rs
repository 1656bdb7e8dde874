//! One reading of the whole system: the machine, the workers, the queue and what session
//! 08's recommender makes of them. `metrics` prints one, `monitor` draws one every
//! interval, `stress` and the demo measure with them.
//!
//! Nothing here is new arithmetic on the queue: the signals are session 08's
//! ([`queue_signals`], [`worker_signals_of`], [`Host`]), the recommendation is session 08's
//! [`recommend`]. What the snapshot adds is the slot count (how much of the workers'
//! concurrency is in use: the utilisation) and, per worker, what its process published
//! ([`crate::published`]).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde::Serialize;
use session03_workers::TaskState;
use session04_redis::RedisQueue;
use session04_redis::cli::QueueArgs;
use session05_distributed::worker::HeartbeatArgs;
use session05_distributed::{Registry, WorkerState, WorkerView};
use session08_scaling::hpa::{Behavior, Spec};
use session08_scaling::metrics::{
    Host, HostSignals, queue_signals, system_metrics, worker_signals_of,
};
use session08_scaling::recommend::{Recommendation, Targets, recommend};

use crate::published;

// ANCHOR: snapshot
/// One reading of the system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// The machine: CPU %, memory %, memory available.
    pub host: HostSignals,
    /// The live workers and their slots.
    pub workers: WorkerSummary,
    /// The queue's counts.
    pub queue: QueueSummary,
    /// Succeeded over finished (succeeded, failed, dead), when anything finished.
    pub success_rate: Option<f64>,
    /// How many tasks are in each state (finished ones while their records are kept).
    pub states: BTreeMap<TaskState, u64>,
    /// Every registered worker, with what its process published.
    pub worker_rows: Vec<WorkerRow>,
    /// Session 08's recommendation, as `recommend --json` prints it.
    pub recommendation: Recommendation,
}
// ANCHOR_END: snapshot

/// The live workers and their slots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct WorkerSummary {
    /// Live workers (busy, idle or stale).
    pub active: u32,
    /// Live workers with at least one task in hand.
    pub busy: u32,
    /// Tasks the live workers can run at once.
    pub total_slots: u64,
    /// Tasks they run now.
    pub busy_slots: u64,
    /// Busy slots over total slots, 0 to 100 % (0 without any slot).
    pub utilisation_percent: f64,
}

/// The queue's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueSummary {
    /// Tasks waiting to be taken, or waiting for a retry.
    pub length: u64,
    /// Stream entries no worker has taken yet.
    pub lag: u64,
    /// Tasks leased by a worker now.
    pub pending: u64,
    /// Tasks in the dead-letter list now.
    pub dead_letters: u64,
    /// Tasks that succeeded, ever.
    pub succeeded: u64,
    /// Tasks that ended with a job failure, ever.
    pub failed: u64,
    /// Tasks moved to the dead-letter list, ever (finished too: they will not run again).
    pub dead: u64,
}

/// One worker, as the dashboard's table shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerRow {
    /// Its id (the queue's consumer name).
    pub id: String,
    /// Busy, idle, stale or gone.
    pub state: WorkerState,
    /// The filters it runs, as `workers` prints them.
    pub capabilities: String,
    /// Seconds since its last beat, by Redis's clock.
    pub last_beat_seconds: f64,
    /// Attempts it finished since it started.
    pub tasks_done: u64,
    /// Tasks it holds now.
    pub in_hand: u64,
    /// Tasks it runs at once.
    pub slots: u64,
    /// Its process's CPU, percent of one core, when it published one.
    pub cpu_percent: Option<f64>,
    /// Its process's resident memory, when it published one.
    pub memory_bytes: Option<u64>,
}

// ANCHOR: utilisation
/// The live workers' counts and slots: a worker with concurrency 4 holding 2 tasks is 2
/// busy slots of 4. Utilisation is busy slots over slots, so three single-slot workers
/// with a task each are 100 %, whatever their CPU says.
pub fn summarise(workers: &[WorkerView]) -> WorkerSummary {
    let signals = worker_signals_of(workers);
    let (mut total_slots, mut busy_slots) = (0u64, 0u64);
    for worker in workers.iter().filter(|w| w.state.is_live()) {
        let slots = count(worker.info.concurrency.max(1));
        // A beat never says more tasks than slots; if one did, it is still full, not more.
        let busy = count(worker.beat.current.len()).min(slots);
        total_slots = total_slots.saturating_add(slots);
        busy_slots = busy_slots.saturating_add(busy);
    }
    let utilisation_percent = if total_slots == 0 {
        0.0
    } else {
        100.0 * busy_slots as f64 / total_slots as f64
    };
    WorkerSummary {
        active: signals.total,
        busy: signals.busy,
        total_slots,
        busy_slots,
        utilisation_percent,
    }
}
// ANCHOR_END: utilisation

/// A count as `u64` (a `usize` always fits on the machines Rust runs on).
fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Where a snapshot is read from: the queue, the registry, this machine, and the bounds
/// and targets the recommendation is judged by.
#[derive(Debug)]
pub struct Sources {
    /// The queue.
    pub queue: RedisQueue,
    /// The worker registry, on the queue's Redis.
    pub registry: Registry,
    /// This machine, kept between readings (CPU use is a rate).
    pub host: Host,
    /// minReplicas and maxReplicas for the recommendation.
    pub spec: Spec,
    /// What the recommendation aims at.
    pub targets: Targets,
}

impl Sources {
    /// Connects to the queue `queue` names, with the registry judged by `heartbeat`, and the
    /// course's bounds (1 to 8 workers) and targets. Session 04's connect retries for as
    /// long as Redis does not answer; this gives up after `deadline`, naming Redis.
    pub async fn open(
        queue: &QueueArgs,
        heartbeat: &HeartbeatArgs,
        deadline: Duration,
    ) -> Result<Self> {
        let config = heartbeat.config()?;
        let redis = queue.redis.display_url();
        let (queue, _) = tokio::time::timeout(deadline, queue.open())
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "Redis at {redis} did not answer within {} s",
                    deadline.as_secs_f64()
                )
            })??;
        let registry = Registry::new(queue.connection(), queue.keys(), config);
        Ok(Self {
            queue,
            registry,
            host: Host::new()?,
            spec: Spec::new(1, 8, Behavior::course())?,
            targets: Targets::default(),
        })
    }
}

/// Reads the whole system once: a few round trips to Redis, one per live worker for what
/// it published, and this machine's CPU and memory (the first reading waits for sysinfo's
/// minimum interval).
pub async fn read(sources: &mut Sources) -> Result<Snapshot> {
    let queue = &sources.queue;
    let signals = queue_signals(queue).await?;
    let workers = sources
        .registry
        .list()
        .await
        .context("cannot read the worker registry")?;
    let mut states = queue.counts().await.context("cannot count the tasks")?;
    for state in TaskState::ALL {
        states.entry(state).or_insert(0);
    }
    let dead_letters = queue
        .dead_letter_count()
        .await
        .context("cannot count the dead letters")?;
    let mut worker_rows = Vec::with_capacity(workers.len());
    for worker in &workers {
        let sample = if worker.state.is_live() {
            published::read_process(queue, &worker.info.id).await?
        } else {
            None
        };
        worker_rows.push(row(worker, sample.as_ref()));
    }
    tokio::time::sleep(sources.host.until_ready()).await;
    let machine = sources.host.machine();
    let metrics = system_metrics(&signals, &worker_signals_of(&workers), &machine);
    Ok(Snapshot {
        host: machine,
        workers: summarise(&workers),
        queue: QueueSummary {
            length: signals.waiting,
            lag: signals.lag,
            pending: signals.pending,
            dead_letters,
            succeeded: signals.succeeded,
            failed: signals.failed,
            dead: signals.dead,
        },
        success_rate: metrics.success_rate,
        states,
        worker_rows,
        recommendation: recommend(&metrics, &sources.spec, &sources.targets),
    })
}

/// A worker's row, with what its process published when it did.
fn row(worker: &WorkerView, sample: Option<&published::ProcessSample>) -> WorkerRow {
    WorkerRow {
        id: worker.info.id.clone(),
        state: worker.state,
        capabilities: worker.info.capabilities.to_string(),
        last_beat_seconds: worker.age_ms as f64 / 1000.0,
        tasks_done: worker.beat.processed,
        in_hand: count(worker.beat.current.len()),
        slots: count(worker.info.concurrency),
        cpu_percent: sample.map(|s| s.cpu_percent),
        memory_bytes: sample.map(|s| s.memory_bytes),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use session03_workers::{Capabilities, TaskId};
    use session05_distributed::WorkerInfo;
    use session05_distributed::registry::Beat;

    use super::*;

    /// A worker with `slots` slots holding `tasks` tasks, in `state`.
    fn worker(slots: usize, tasks: usize, state: WorkerState) -> WorkerView {
        WorkerView {
            info: WorkerInfo {
                id: format!("w-{slots}-{tasks}"),
                host: "here".to_owned(),
                pid: 1,
                capabilities: Capabilities::default(),
                concurrency: slots,
                version: "0".to_owned(),
                started_at: Utc::now(),
                heartbeat_ms: 250,
                ttl_ms: 2000,
            },
            beat: Beat {
                current: (0..tasks).map(|_| TaskId::new()).collect(),
                ..Beat::default()
            },
            last_beat: Utc::now(),
            age_ms: 100,
            state,
        }
    }

    #[test]
    fn utilisation_is_busy_slots_over_the_live_workers_slots() {
        let none = summarise(&[]);
        assert_eq!((none.total_slots, none.utilisation_percent), (0, 0.0));
        let workers = [
            worker(1, 1, WorkerState::Busy),
            worker(4, 2, WorkerState::Busy),
            worker(1, 0, WorkerState::Idle),
            // Gone: neither its slots nor its tasks count.
            worker(8, 8, WorkerState::Gone),
        ];
        let summary = summarise(&workers);
        assert_eq!((summary.active, summary.busy), (3, 2));
        assert_eq!((summary.busy_slots, summary.total_slots), (3, 6));
        assert_eq!(summary.utilisation_percent, 50.0);
        // Three single-slot workers with a task each: 100 %.
        let full = summarise(&[1, 2, 3].map(|_| worker(1, 1, WorkerState::Busy)));
        assert_eq!(full.utilisation_percent, 100.0);
    }
}
