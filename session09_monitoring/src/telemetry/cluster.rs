//! The queue's and the workers' gauges, for the API's `/metrics`: read from Redis when
//! Prometheus scrapes, so they are as fresh as the scrape and cost nothing in between.
//!
//! One process (the API) reports them for the whole system: every worker reporting the
//! queue's depth would make as many copies of one number as there are workers.
//!
//! Only a fresh reading is served. When the last one failed (Redis gone, hung past the
//! deadline, or not connected yet), the Redis-derived series are absent, not frozen at
//! their last values: an alert on "no live worker" then sees none, and a graph shows a gap.
//! `imgproc_redis_up` says why: 0 when Redis does not answer (not even a PING), 1 when it
//! answers but the queue could not be read (a corrupt record; logged as a warning).
//!
//! Two words sound alike. `imgproc_queue_pending` counts Redis's pending entries: tasks
//! delivered to a worker and not acknowledged yet. The task state `pending`
//! (`imgproc_queue_tasks{state="pending"}`, `imgproc_queue_oldest_pending_age_seconds`) is
//! the opposite: waiting, not yet taken.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::{Registry, Unit};
use session03_workers::TaskState;
use session04_redis::RedisQueue;
use session05_distributed::registry::{Registry as Workers, WorkerState, WorkerView};

/// A gauge holding a float.
type FloatGauge = Gauge<f64, std::sync::atomic::AtomicU64>;

/// How long a reading serves the scrapes that follow it: several Prometheus servers (or
/// a person with `curl`) scraping at once cost one reading, and with Redis hung they wait
/// for one deadline, not one each.
pub const REUSE: Duration = Duration::from_secs(1);

/// The label of the per-state gauges.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct StateLabels {
    /// A task state, or a worker state.
    pub state: &'static str,
}

/// The label of the per-worker gauge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct WorkerLabels {
    /// The worker's id, while it is registered.
    pub worker: String,
}

/// One reading of the queue and the registry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterReading {
    /// Tasks waiting to be taken, or waiting for a retry.
    pub waiting: u64,
    /// Stream entries no worker has taken yet.
    pub lag: u64,
    /// Redis's pending entries: tasks delivered to a worker and not acknowledged yet.
    pub pending: u64,
    /// How long the oldest task in state `pending` (waiting, not yet taken) has waited, in
    /// seconds (0 when none).
    pub oldest_pending_age_seconds: f64,
    /// Entries of the dead-letter stream.
    pub dead_letters: u64,
    /// Tasks in each state.
    pub states: BTreeMap<TaskState, u64>,
    /// The registered workers.
    pub workers: Vec<WorkerView>,
}

/// Reads the queue and the registry (a few round trips to Redis).
pub async fn read(queue: &RedisQueue, workers: &Workers) -> Result<ClusterReading> {
    let signals = session08_scaling::metrics::queue_signals(queue).await?;
    let states = queue.counts().await.context("cannot count the tasks")?;
    let dead_letters = queue
        .dead_letter_count()
        .await
        .context("cannot count the dead letters")?;
    let oldest_pending_age_seconds = oldest_age(queue, TaskState::Pending).await?;
    let workers = workers
        .list()
        .await
        .context("cannot read the worker registry")?;
    Ok(ClusterReading {
        waiting: signals.waiting,
        lag: signals.lag,
        pending: signals.pending,
        oldest_pending_age_seconds,
        dead_letters,
        states,
        workers,
    })
}

/// How long the oldest task in `state` has been in it, in seconds, by Redis's clock: the
/// state's index is scored by the millisecond each task entered it.
async fn oldest_age(queue: &RedisQueue, state: TaskState) -> Result<f64> {
    let mut conn = queue.connection();
    let ((seconds, micros), oldest): ((u64, u64), Vec<(String, f64)>) = redis::pipe()
        .cmd("TIME")
        .zrange_withscores(queue.keys().state(state), 0, 0)
        .query_async(&mut conn)
        .await
        .with_context(|| format!("cannot read the oldest {state} task"))?;
    let now_ms = seconds as f64 * 1000.0 + micros as f64 / 1000.0;
    Ok(oldest.first().map_or(0.0, |(_, entered_ms)| {
        ((now_ms - entered_ms) / 1000.0).max(0.0)
    }))
}

/// Whether Redis answers a PING within `deadline`.
async fn answers(queue: &RedisQueue, deadline: Duration) -> bool {
    let mut conn = queue.connection();
    let ping = redis::cmd("PING");
    let answer = tokio::time::timeout(deadline, ping.query_async::<String>(&mut conn));
    matches!(answer.await, Ok(Ok(_)))
}

/// A reading within `deadline`, or why there is none: Redis unreachable (no answer, or
/// an error and no answer to a PING either), or Redis answering but the queue unreadable.
async fn read_within(
    queue: &RedisQueue,
    workers: &Workers,
    deadline: Duration,
) -> (Option<ClusterReading>, Health) {
    match tokio::time::timeout(deadline, read(queue, workers)).await {
        Ok(Ok(reading)) => (Some(reading), Health::Up),
        Ok(Err(error)) if answers(queue, deadline).await => {
            (None, Health::Unreadable(format!("{error:#}")))
        }
        Ok(Err(error)) => (None, Health::Down(format!("{error:#}"))),
        Err(_) => {
            let seconds = deadline.as_secs_f64();
            (None, Health::Down(format!("no answer within {seconds} s")))
        }
    }
}

/// What the last refresh found.
#[derive(Debug, Clone, PartialEq)]
enum Health {
    /// No connection yet.
    NotConnected,
    /// Read.
    Up,
    /// Redis answers, the queue could not be read: why.
    Unreadable(String),
    /// Redis does not answer: why.
    Down(String),
}

/// What the scrapes share.
#[derive(Debug)]
struct Shared {
    /// The last reading, `None` when it failed.
    reading: Mutex<Option<ClusterReading>>,
    /// What the last refresh found, and when it ended.
    last: Mutex<(Health, Option<Instant>)>,
    /// One refresh at a time: the others wait for it, then reuse its reading.
    refreshing: tokio::sync::Mutex<()>,
}

/// The API's gauges; clones share them. `imgproc_redis_up` and
/// `imgproc_scrape_duration_seconds` are always served, the rest only from a fresh reading.
#[derive(Debug, Clone)]
pub struct ClusterMetrics {
    shared: Arc<Shared>,
    redis_up: Gauge,
    scrape_duration: FloatGauge,
}

impl ClusterMetrics {
    /// The gauges, registered in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self {
            shared: Arc::new(Shared {
                reading: Mutex::new(None),
                last: Mutex::new((Health::NotConnected, None)),
                refreshing: tokio::sync::Mutex::new(()),
            }),
            redis_up: Gauge::default(),
            scrape_duration: FloatGauge::default(),
        };
        registry.register(
            "imgproc_redis_up",
            "1 when Redis answered the last reading within its deadline (even if the queue \
             could not be read), 0 when not",
            m.redis_up.clone(),
        );
        registry.register_with_unit(
            "imgproc_scrape_duration",
            "How long the last reading of Redis took",
            Unit::Seconds,
            m.scrape_duration.clone(),
        );
        registry.register_collector(Box::new(ReadingCollector(Arc::clone(&m.shared))));
        m
    }

    // ANCHOR: scrape
    /// Reads Redis within `deadline` and keeps the reading (`None` when it failed);
    /// `queue` is `None` while the API has not connected yet. A reading younger than
    /// [`REUSE`] serves again. Never fails: Redis down is `imgproc_redis_up 0`.
    pub async fn refresh(&self, queue: Option<(&RedisQueue, &Workers)>, deadline: Duration) {
        let _one = self.shared.refreshing.lock().await;
        let ended = lock(&self.shared.last).1;
        if ended.is_some_and(|at| at.elapsed() < REUSE) {
            return;
        }
        let started = Instant::now();
        let (reading, health) = match queue {
            None => (None, Health::NotConnected),
            Some((queue, workers)) => read_within(queue, workers, deadline).await,
        };
        let up = matches!(health, Health::Up | Health::Unreadable(_));
        self.redis_up.set(i64::from(up));
        *lock(&self.shared.reading) = reading;
        self.scrape_duration.set(started.elapsed().as_secs_f64());
        let mut last = lock(&self.shared.last);
        report(&last.0, &health);
        *last = (health, Some(Instant::now()));
    }
    // ANCHOR_END: scrape

    /// Serves `reading` as the last one (`None`: the last one failed).
    pub fn set(&self, reading: Option<ClusterReading>) {
        *lock(&self.shared.reading) = reading;
    }
}

/// Logs a change of health: a warning when reading stops, a note when it resumes.
fn report(previous: &Health, now: &Health) {
    let same = std::mem::discriminant(previous) == std::mem::discriminant(now);
    match now {
        Health::Down(why) if !same => tracing::warn!(why = %why, "Redis unreachable"),
        Health::Unreadable(why) if !same => {
            tracing::warn!(why = %why, "Redis answers but the queue cannot be read");
        }
        Health::Down(why) | Health::Unreadable(why) => tracing::debug!(why = %why, "no reading"),
        Health::Up if !same && *previous != Health::NotConnected => {
            tracing::info!("Redis read again");
        }
        Health::Up | Health::NotConnected => {}
    }
}

/// `mutex`'s value, even if a panic poisoned it (every value written is whole).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes the last reading's series, or none when it failed.
#[derive(Debug)]
struct ReadingCollector(Arc<Shared>);

/// A count as a gauge's value.
fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Writes one metric without labels.
fn write(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    metric: impl EncodeMetric,
) -> Result<(), std::fmt::Error> {
    metric.encode(encoder.encode_descriptor(name, help, unit, metric.metric_type())?)
}

impl Collector for ReadingCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let Some(reading) = lock(&self.0.reading).clone() else {
            return Ok(());
        };
        let live = reading.workers.iter().filter(|w| w.state.is_live());
        let (slots, busy) = live.fold((0u64, 0u64), |(slots, busy), w| {
            (
                slots.saturating_add(w.info.concurrency as u64),
                busy.saturating_add(w.beat.current.len() as u64),
            )
        });
        let counts: [(&str, &str, u64); 6] = [
            (
                "imgproc_queue_depth",
                "Tasks waiting to be taken or retried",
                reading.waiting,
            ),
            (
                "imgproc_queue_lag",
                "Stream entries no worker has taken yet",
                reading.lag,
            ),
            (
                "imgproc_queue_pending",
                "Tasks delivered to a worker and not acknowledged yet (Redis's pending \
                 entries list), not the tasks in state pending",
                reading.pending,
            ),
            (
                "imgproc_dead_letters",
                "Entries of the dead-letter stream",
                reading.dead_letters,
            ),
            ("imgproc_slots", "Task slots of the live workers", slots),
            ("imgproc_busy_slots", "Tasks the live workers hold", busy),
        ];
        for (name, help, value) in counts {
            write(
                &mut encoder,
                name,
                help,
                None,
                ConstGauge::new(gauge(value)),
            )?;
        }
        write(
            &mut encoder,
            "imgproc_queue_oldest_pending_age",
            "How long the oldest task in state pending (waiting to be taken, not delivered \
             yet) has waited",
            Some(&Unit::Seconds),
            ConstGauge::new(reading.oldest_pending_age_seconds),
        )?;
        let mut tasks = encoder.encode_descriptor(
            "imgproc_queue_tasks",
            "Tasks by state (state pending: waiting to be taken, not imgproc_queue_pending)",
            None,
            MetricType::Gauge,
        )?;
        for state in TaskState::ALL {
            let count = reading.states.get(&state).copied().unwrap_or(0);
            let labels = StateLabels {
                state: state.name(),
            };
            ConstGauge::new(gauge(count)).encode(tasks.encode_family(&labels)?)?;
        }
        let mut workers = encoder.encode_descriptor(
            "imgproc_workers",
            "Registered workers by state",
            None,
            MetricType::Gauge,
        )?;
        let states = [
            WorkerState::Busy,
            WorkerState::Idle,
            WorkerState::Stale,
            WorkerState::Gone,
        ];
        for state in states {
            let count = reading.workers.iter().filter(|w| w.state == state).count();
            let labels = StateLabels {
                state: state.name(),
            };
            ConstGauge::new(gauge(count as u64)).encode(workers.encode_family(&labels)?)?;
        }
        // One series per registered worker: those gone from the registry lose theirs, so
        // the series stay as many as the workers.
        let mut ages = encoder.encode_descriptor(
            "imgproc_worker_heartbeat_age",
            "Time since each registered worker's last heartbeat",
            Some(&Unit::Seconds),
            MetricType::Gauge,
        )?;
        for worker in &reading.workers {
            let labels = WorkerLabels {
                worker: worker.info.id.clone(),
            };
            let age = ConstGauge::new(worker.age_ms as f64 / 1000.0);
            age.encode(ages.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use session03_workers::Capabilities;
    use session05_distributed::registry::{Beat, WorkerInfo};

    use super::*;

    fn worker(id: &str, state: WorkerState, in_hand: usize) -> WorkerView {
        WorkerView {
            info: WorkerInfo {
                id: id.to_owned(),
                host: "h".to_owned(),
                pid: 1,
                capabilities: Capabilities::default(),
                concurrency: 2,
                version: "0".to_owned(),
                started_at: Utc::now(),
                heartbeat_ms: 500,
                ttl_ms: 2000,
            },
            beat: Beat {
                current: (0..in_hand)
                    .map(|_| session03_workers::TaskId::new())
                    .collect(),
                ..Beat::default()
            },
            last_beat: Utc::now(),
            age_ms: 1500,
            state,
        }
    }

    #[test]
    fn a_worker_no_longer_registered_loses_its_series_and_gone_ones_hold_no_slots() {
        let mut registry = Registry::default();
        let metrics = ClusterMetrics::register(&mut registry);
        let mut reading = ClusterReading {
            workers: vec![
                worker("a", WorkerState::Busy, 1),
                worker("b", WorkerState::Gone, 2),
            ],
            ..ClusterReading::default()
        };
        metrics.set(Some(reading.clone()));
        let text = crate::telemetry::encode(&registry);
        assert!(
            text.contains("imgproc_worker_heartbeat_age_seconds{worker=\"a\"} 1.5"),
            "{text}"
        );
        assert!(
            text.contains("imgproc_worker_heartbeat_age_seconds{worker=\"b\"}"),
            "{text}"
        );
        assert!(text.contains("imgproc_slots 2\n") && text.contains("imgproc_busy_slots 1\n"));
        reading.workers.remove(0);
        metrics.set(Some(reading.clone()));
        let text = crate::telemetry::encode(&registry);
        assert!(!text.contains("worker=\"a\""), "{text}");
        assert!(text.contains("imgproc_workers{state=\"gone\"} 1"), "{text}");
        // A failed reading: no Redis-derived series at all, not the last values.
        metrics.set(None);
        let text = crate::telemetry::encode(&registry);
        assert!(!text.contains("imgproc_workers"), "{text}");
        assert!(!text.contains("imgproc_queue_depth"), "{text}");
        assert!(text.contains("imgproc_redis_up 0"), "{text}");
    }
}
