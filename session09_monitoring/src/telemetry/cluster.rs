//! The queue's and the workers' gauges, for the API's `/metrics`: read from Redis when
//! Prometheus scrapes, so they are as fresh as the scrape and cost nothing in between.
//!
//! One process (the API) reports them for the whole system: every worker reporting the
//! queue's depth would make as many copies of one number as there are workers.
//!
//! When Redis does not answer within the deadline, `imgproc_redis_up` is 0 and the other
//! gauges keep their last reading: an alert on `imgproc_redis_up == 0` says why they stand
//! still.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use session03_workers::TaskState;
use session04_redis::RedisQueue;
use session05_distributed::registry::{Registry as Workers, WorkerState, WorkerView};

/// A gauge holding a float.
type FloatGauge = Gauge<f64, AtomicU64>;

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
    /// Tasks leased by a worker now.
    pub pending: u64,
    /// How long the oldest task in state `pending` has waited, in seconds (0 when none).
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

/// The API's gauges; clones share them.
#[derive(Debug, Clone, Default)]
pub struct ClusterMetrics {
    queue_depth: Gauge,
    queue_lag: Gauge,
    queue_pending: Gauge,
    oldest_pending_age: FloatGauge,
    dead_letters: Gauge,
    queue_tasks: Family<StateLabels, Gauge>,
    workers: Family<StateLabels, Gauge>,
    slots: Gauge,
    busy_slots: Gauge,
    heartbeat_age: Family<WorkerLabels, FloatGauge>,
    redis_up: Gauge,
    scrape_duration: FloatGauge,
}

impl ClusterMetrics {
    /// The gauges, registered in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        let gauges: [(&str, &str, &Gauge); 6] = [
            (
                "imgproc_queue_depth",
                "Tasks waiting to be taken or retried",
                &m.queue_depth,
            ),
            (
                "imgproc_queue_lag",
                "Stream entries no worker has taken yet",
                &m.queue_lag,
            ),
            (
                "imgproc_queue_pending",
                "Tasks leased by a worker now",
                &m.queue_pending,
            ),
            (
                "imgproc_dead_letters",
                "Entries of the dead-letter stream",
                &m.dead_letters,
            ),
            ("imgproc_slots", "Task slots of the live workers", &m.slots),
            (
                "imgproc_busy_slots",
                "Tasks the live workers hold",
                &m.busy_slots,
            ),
        ];
        for (name, help, gauge) in gauges {
            registry.register(name, help, gauge.clone());
        }
        registry.register(
            "imgproc_redis_up",
            "1 when Redis answered the last scrape within its deadline, 0 when not",
            m.redis_up.clone(),
        );
        registry.register_with_unit(
            "imgproc_queue_oldest_pending_age",
            "How long the oldest task waiting to be taken has waited",
            Unit::Seconds,
            m.oldest_pending_age.clone(),
        );
        registry.register(
            "imgproc_queue_tasks",
            "Tasks by state",
            m.queue_tasks.clone(),
        );
        registry.register(
            "imgproc_workers",
            "Registered workers by state",
            m.workers.clone(),
        );
        registry.register_with_unit(
            "imgproc_worker_heartbeat_age",
            "Time since each registered worker's last heartbeat",
            Unit::Seconds,
            m.heartbeat_age.clone(),
        );
        registry.register_with_unit(
            "imgproc_scrape_duration",
            "How long the last scrape's Redis reading took",
            Unit::Seconds,
            m.scrape_duration.clone(),
        );
        m
    }

    // ANCHOR: scrape
    /// Reads Redis within `deadline` and sets the gauges; `queue` is `None` while the API
    /// has not connected yet. Never fails: Redis down is `imgproc_redis_up 0`.
    pub async fn refresh(&self, queue: Option<(&RedisQueue, &Workers)>, deadline: Duration) {
        let started = Instant::now();
        let reading = match queue {
            None => None,
            Some((queue, workers)) => {
                match tokio::time::timeout(deadline, read(queue, workers)).await {
                    Ok(Ok(reading)) => Some(reading),
                    Ok(Err(error)) => {
                        tracing::debug!(error = format!("{error:#}"), "cannot read Redis");
                        None
                    }
                    Err(_) => {
                        tracing::debug!(?deadline, "Redis did not answer the scrape in time");
                        None
                    }
                }
            }
        };
        self.redis_up.set(i64::from(reading.is_some()));
        if let Some(reading) = &reading {
            self.set(reading);
        }
        self.scrape_duration.set(started.elapsed().as_secs_f64());
    }
    // ANCHOR_END: scrape

    /// Sets the gauges from `reading`.
    pub fn set(&self, reading: &ClusterReading) {
        self.queue_depth.set(gauge(reading.waiting));
        self.queue_lag.set(gauge(reading.lag));
        self.queue_pending.set(gauge(reading.pending));
        self.dead_letters.set(gauge(reading.dead_letters));
        self.oldest_pending_age
            .set(reading.oldest_pending_age_seconds);
        for state in TaskState::ALL {
            let count = reading.states.get(&state).copied().unwrap_or(0);
            self.queue_tasks
                .get_or_create(&StateLabels {
                    state: state.name(),
                })
                .set(gauge(count));
        }
        let states = [
            WorkerState::Busy,
            WorkerState::Idle,
            WorkerState::Stale,
            WorkerState::Gone,
        ];
        for state in states {
            let count = reading.workers.iter().filter(|w| w.state == state).count();
            self.workers
                .get_or_create(&StateLabels {
                    state: state.name(),
                })
                .set(gauge(count as u64));
        }
        let live = reading.workers.iter().filter(|w| w.state.is_live());
        let (slots, busy) = live.fold((0u64, 0u64), |(slots, busy), w| {
            (
                slots.saturating_add(w.info.concurrency as u64),
                busy.saturating_add(w.beat.current.len() as u64),
            )
        });
        self.slots.set(gauge(slots));
        self.busy_slots.set(gauge(busy));
        // One series per registered worker: those gone from the registry lose theirs, so
        // the series stay as many as the workers.
        self.heartbeat_age.clear();
        for worker in &reading.workers {
            self.heartbeat_age
                .get_or_create(&WorkerLabels {
                    worker: worker.info.id.clone(),
                })
                .set(worker.age_ms as f64 / 1000.0);
        }
    }
}

/// A count as a gauge's value.
fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
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
        metrics.set(&reading);
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
        metrics.set(&reading);
        let text = crate::telemetry::encode(&registry);
        assert!(!text.contains("worker=\"a\""), "{text}");
        assert!(text.contains("imgproc_workers{state=\"gone\"} 1"), "{text}");
    }
}
