//! What a pool has done, as numbers: counts, task durations (mean, p50, p95), throughput and
//! utilisation.
//!
//! [`StatsRecorder`] is written to by the pool's workers as tasks finish; [`PoolStats`] is
//! a snapshot of it, a plain serialisable struct that the HTTP API and the dashboard of
//! later sessions show as they are. Durations go into an HDR histogram: percentiles to 3
//! significant digits in a few kilobytes, however many tasks are recorded.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// The longest duration the histogram tells apart: one hour, in microseconds.
const MAX_MICROS: u64 = 3_600_000_000;

/// How one attempt ended, from the pool's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Acknowledged.
    Succeeded,
    /// A job failure: final.
    Failed,
    /// A worker failure; the task will run again.
    Retried,
    /// A worker failure on its last attempt.
    Dead,
    /// Given back unfinished at shutdown.
    Released,
    /// The queue refused the result (the lease had passed to another worker).
    Lost,
}

/// A snapshot of a pool's statistics.
// ANCHOR: pool_stats
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolStats {
    /// Worker slots.
    pub workers: usize,
    /// Attempts finished, however they ended.
    pub processed: u64,
    /// Tasks that succeeded.
    pub succeeded: u64,
    /// Tasks that ended with a job failure.
    pub failed: u64,
    /// Attempts that ended with a worker failure and will be retried.
    pub retried: u64,
    /// Tasks whose last attempt failed.
    pub dead: u64,
    /// Tasks given back unfinished at shutdown.
    pub released: u64,
    /// Tasks running now.
    pub in_flight: usize,
    /// Workers replaced after a panic.
    pub replaced: u64,
    /// Mean task duration, in seconds.
    pub mean_seconds: f64,
    /// Median task duration, in seconds.
    pub p50_seconds: f64,
    /// 95th percentile of task duration, in seconds.
    pub p95_seconds: f64,
    /// Attempts finished per second since the pool started.
    pub throughput_per_second: f64,
    /// The share of worker time spent running tasks, 0 to 1.
    pub utilisation: f64,
    /// Seconds since the pool started.
    pub uptime_seconds: f64,
}
// ANCHOR_END: pool_stats

/// Collects a pool's statistics as its workers report.
#[derive(Debug)]
pub struct StatsRecorder {
    started: Instant,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    durations: Histogram<u64>,
    counts: [u64; 6],
    /// When each slot's current task started.
    running: Vec<Option<Instant>>,
    busy: Duration,
    replaced: u64,
}

impl StatsRecorder {
    /// A recorder for a pool of `workers` slots, its clock starting now.
    pub fn new(workers: usize) -> Self {
        let durations =
            Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("1 µs to 1 h at 3 digits is valid");
        Self {
            started: Instant::now(),
            inner: Mutex::new(Inner {
                durations,
                counts: [0; 6],
                running: vec![None; workers],
                busy: Duration::ZERO,
                replaced: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Counters stay meaningful after a panic elsewhere; keep counting.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Slot `slot` started a task.
    pub fn started(&self, slot: usize) {
        if let Some(running) = self.lock().running.get_mut(slot) {
            *running = Some(Instant::now());
        }
    }

    /// Slot `slot` finished its task after `took`, with `outcome`.
    pub fn finished(&self, slot: usize, took: Duration, outcome: Outcome) {
        let mut inner = self.lock();
        if let Some(running) = inner.running.get_mut(slot) {
            *running = None;
        }
        inner.busy += took;
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        inner
            .durations
            .saturating_record(micros.clamp(1, MAX_MICROS));
        inner.counts[outcome as usize] += 1;
    }

    /// A worker was replaced after a panic.
    pub fn replaced(&self) {
        self.lock().replaced += 1;
    }

    /// The numbers as they are now.
    pub fn snapshot(&self) -> PoolStats {
        let inner = self.lock();
        let now = Instant::now();
        let uptime = now.duration_since(self.started).as_secs_f64();
        let running: Duration = inner
            .running
            .iter()
            .flatten()
            .map(|since| now.duration_since(*since))
            .sum();
        let count = |outcome: Outcome| inner.counts[outcome as usize];
        let processed: u64 = inner.counts.iter().sum();
        let seconds = |micros: u64| micros as f64 / 1e6;
        let recorded = !inner.durations.is_empty();
        let workers = inner.running.len();
        PoolStats {
            workers,
            processed,
            succeeded: count(Outcome::Succeeded),
            failed: count(Outcome::Failed),
            retried: count(Outcome::Retried),
            dead: count(Outcome::Dead),
            released: count(Outcome::Released),
            in_flight: inner.running.iter().flatten().count(),
            replaced: inner.replaced,
            mean_seconds: if recorded {
                inner.durations.mean() / 1e6
            } else {
                0.0
            },
            p50_seconds: seconds(inner.durations.value_at_quantile(0.5)),
            p95_seconds: seconds(inner.durations.value_at_quantile(0.95)),
            throughput_per_second: if uptime > 0.0 {
                processed as f64 / uptime
            } else {
                0.0
            },
            utilisation: if uptime > 0.0 && workers > 0 {
                ((inner.busy + running).as_secs_f64() / (uptime * workers as f64)).min(1.0)
            } else {
                0.0
            },
            uptime_seconds: uptime,
        }
    }
}
