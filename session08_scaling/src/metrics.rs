//! The signals an autoscaler reads: from Redis, the queue's lag and what the workers hold;
//! from the operating system, the machine's CPU and memory and the workers' own CPU.
//!
//! Kubernetes gets the same numbers from elsewhere (the metrics server for CPU, KEDA for
//! the stream's lag); here each is one call, so the autoscaler and the recommender can
//! read them on a laptop:
//!
//! | signal | where it comes from |
//! |---|---|
//! | lag | the entries of each capability stream that no worker has taken yet |
//! | pending | the tasks leased by a worker now (the queue's in-flight count) |
//! | workers, busy | the registry's live workers, and those with a task in hand |
//! | CPU, memory | the machine, through `sysinfo` |
//! | a worker's CPU | its process, through `sysinfo`: 100 % is one core |
//!
//! CPU use is a rate: `sysinfo` measures it between two refreshes, so a [`Host`] is kept
//! from one reading to the next, and the first reading waits
//! [`sysinfo::MINIMUM_CPU_UPDATE_INTERVAL`] after the first refresh.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use session03_workers::Queue as _;
use session04_redis::RedisQueue;
use session05_distributed::{Registry, WorkerView};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use crate::recommend::SystemMetrics;

/// What the queue says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueSignals {
    /// Stream entries no worker has taken yet, over every capability class.
    pub lag: u64,
    /// Tasks leased by a worker now.
    pub pending: u64,
    /// Tasks waiting to be taken, or waiting for a retry.
    pub waiting: u64,
    /// Tasks that succeeded, ever.
    pub succeeded: u64,
    /// Tasks that ended with a job failure, ever.
    pub failed: u64,
    /// Tasks whose attempts ran out, ever.
    pub dead: u64,
}

// ANCHOR: queue_signals
/// Reads the queue's signals: three round trips to Redis.
pub async fn queue_signals(queue: &RedisQueue) -> Result<QueueSignals> {
    let lag = queue
        .waiting_by_class()
        .await
        .context("cannot read the streams' lag")?
        .into_values()
        // Numbers read from Redis: a sum that cannot overflow.
        .fold(0, u64::saturating_add);
    let stats = queue
        .stats()
        .await
        .context("cannot read the queue's counts")?;
    Ok(QueueSignals {
        lag,
        pending: count(stats.in_flight),
        waiting: count(stats.waiting),
        succeeded: stats.succeeded,
        failed: stats.failed,
        dead: stats.dead,
    })
}
// ANCHOR_END: queue_signals

/// A count of tasks as `u64` (a `usize` always fits on the machines Rust runs on).
fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// What the registry says about the workers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WorkerSignals {
    /// Live workers (busy, idle or stale).
    pub total: u32,
    /// Live workers with at least one task in hand.
    pub busy: u32,
}

/// Reads the workers' signals from the registry.
pub async fn worker_signals(registry: &Registry) -> Result<WorkerSignals> {
    let workers = registry
        .list()
        .await
        .context("cannot read the worker registry")?;
    Ok(worker_signals_of(&workers))
}

/// The workers' signals in a listing of the registry.
pub fn worker_signals_of(workers: &[WorkerView]) -> WorkerSignals {
    let live: Vec<&WorkerView> = workers.iter().filter(|w| w.state.is_live()).collect();
    let busy = live.iter().filter(|w| !w.beat.current.is_empty()).count();
    WorkerSignals {
        total: u32::try_from(live.len()).unwrap_or(u32::MAX),
        busy: u32::try_from(busy).unwrap_or(u32::MAX),
    }
}

/// How many tasks each live worker holds by its last beat, by process id: who to drain
/// first is the one that holds the least.
pub fn in_hand_by_pid(workers: &[WorkerView]) -> BTreeMap<u32, usize> {
    workers
        .iter()
        .filter(|w| w.state.is_live())
        .map(|w| (w.info.pid, w.beat.current.len()))
        .collect()
}

/// What the machine says.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct HostSignals {
    /// CPU use over every core, 0 to 100 %.
    pub cpu_percent: f64,
    /// Memory in use (not available), 0 to 100 %.
    pub memory_percent: f64,
    /// Memory available to new work, in bytes.
    pub memory_available_bytes: u64,
}

/// The CPU of some processes, over those that could be measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct ProcessesCpu {
    /// Their CPU use, summed, in percent of one core (two busy cores are 200 %).
    pub percent: f64,
    /// How many processes the sum is over: those read before, and still running.
    pub measured: u32,
}

impl ProcessesCpu {
    /// Their average, in percent of one core; `None` when none could be measured yet.
    pub fn average(&self) -> Option<f64> {
        (self.measured > 0).then(|| self.percent / f64::from(self.measured))
    }
}

/// The machine as `sysinfo` sees it, kept between readings (CPU use is measured between
/// two refreshes).
///
/// Two `System`s: a process's CPU is its time over the machine's time since the last
/// refresh of *that* `System`, so a machine reading between two process readings would
/// skew the second.
pub struct Host {
    machine: System,
    processes: System,
    /// The processes of the last reading: their CPU use can be measured now.
    last: BTreeSet<Pid>,
    /// When the machine's CPU use was last refreshed.
    refreshed: Instant,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("refreshed", &self.refreshed)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// Starts measuring: a first refresh, the one later readings are compared with.
    pub fn new() -> Result<Self> {
        let unreadable = "cannot read this machine's CPU and memory";
        let mut machine = System::new().context(unreadable)?;
        machine.refresh_cpu_usage();
        Ok(Self {
            machine,
            processes: System::new().context(unreadable)?,
            last: BTreeSet::new(),
            refreshed: Instant::now(),
        })
    }

    /// How long until a CPU reading means something: `sysinfo` needs a short time between
    /// two refreshes (zero once that time has passed).
    pub fn until_ready(&self) -> Duration {
        sysinfo::MINIMUM_CPU_UPDATE_INTERVAL.saturating_sub(self.refreshed.elapsed())
    }

    /// The machine's CPU (since the last reading) and memory now.
    pub fn machine(&mut self) -> HostSignals {
        self.machine.refresh_cpu_usage();
        self.machine.refresh_memory();
        self.refreshed = Instant::now();
        let total = self.machine.total_memory();
        let available = self.machine.available_memory();
        let memory_percent = if total == 0 {
            0.0
        } else {
            100.0 * total.saturating_sub(available) as f64 / total as f64
        };
        HostSignals {
            cpu_percent: f64::from(self.machine.global_cpu_usage()),
            memory_percent,
            memory_available_bytes: available,
        }
    }

    // ANCHOR: processes_cpu
    /// The CPU the processes `pids` used since the last reading. A process read for the
    /// first time has nothing to compare with, so it is left out, as is one that is gone.
    pub fn processes_cpu(&mut self, pids: &[u32]) -> ProcessesCpu {
        let now: BTreeSet<Pid> = pids.iter().copied().map(Pid::from_u32).collect();
        // The last reading's processes too: refreshing a dead one removes it from the table.
        let refresh: Vec<Pid> = self.last.union(&now).copied().collect();
        self.processes.refresh_processes_specifics(
            ProcessesToUpdate::Some(&refresh),
            true,
            ProcessRefreshKind::nothing().with_cpu(),
        );
        let mut cpu = ProcessesCpu::default();
        for pid in now.intersection(&self.last) {
            if let Some(process) = self.processes.process(*pid) {
                cpu.percent += f64::from(process.cpu_usage());
                cpu.measured += 1;
            }
        }
        self.last = now;
        cpu
    }
    // ANCHOR_END: processes_cpu
}

/// Everything the recommender reads, from Redis and from this machine.
pub async fn read_system(
    queue: &RedisQueue,
    registry: &Registry,
    host: &mut Host,
) -> Result<SystemMetrics> {
    let signals = queue_signals(queue).await?;
    let workers = worker_signals(registry).await?;
    tokio::time::sleep(host.until_ready()).await;
    let machine = host.machine();
    Ok(system_metrics(&signals, &workers, &machine))
}

/// The recommender's view of the three kinds of signals.
pub fn system_metrics(
    queue: &QueueSignals,
    workers: &WorkerSignals,
    machine: &HostSignals,
) -> SystemMetrics {
    let finished = [queue.succeeded, queue.failed, queue.dead]
        .into_iter()
        .fold(0, u64::saturating_add);
    SystemMetrics {
        cpu_percent: machine.cpu_percent,
        memory_percent: machine.memory_percent,
        queue_depth: queue.waiting,
        queue_lag: queue.lag,
        pending: queue.pending,
        busy_workers: workers.busy,
        total_workers: workers.total,
        success_rate: (finished > 0).then(|| queue.succeeded as f64 / finished as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_success_rate_needs_something_finished() {
        let none = system_metrics(
            &QueueSignals::default(),
            &WorkerSignals::default(),
            &HostSignals::default(),
        );
        assert_eq!(none.success_rate, None);
        let some = system_metrics(
            &QueueSignals {
                lag: 7,
                waiting: 9,
                pending: 2,
                succeeded: 3,
                failed: 1,
                ..QueueSignals::default()
            },
            &WorkerSignals { total: 2, busy: 1 },
            &HostSignals::default(),
        );
        assert_eq!(some.success_rate, Some(0.75));
        assert_eq!((some.queue_lag, some.queue_depth, some.pending), (7, 9, 2));
        assert_eq!((some.total_workers, some.busy_workers), (2, 1));
    }

    /// Keeps this thread busy for a while, so the process has CPU time to measure.
    fn spin(time: Duration) -> u64 {
        let start = Instant::now();
        let mut turns = 0u64;
        while start.elapsed() < time {
            turns = turns.wrapping_add(1);
        }
        turns
    }

    #[test]
    fn this_process_uses_some_cpu_and_the_machine_has_memory() {
        let mut host = Host::new().unwrap();
        let me = std::process::id();
        // Read for the first time: nothing to compare with, so not measured.
        assert!(spin(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL * 2) > 0);
        assert_eq!(host.processes_cpu(&[me]).measured, 0);
        // sysinfo takes a process with no CPU time yet for one it has never seen: spin
        // once more before the reading that must find some.
        let mut cpu = ProcessesCpu::default();
        for _ in 0..2 {
            assert!(spin(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL * 2) > 0);
            cpu = host.processes_cpu(&[me]);
            assert_eq!(cpu.measured, 1);
        }
        assert!(cpu.percent > 0.0);
        assert_eq!(cpu.average(), Some(cpu.percent));
        let machine = host.machine();
        assert!(machine.memory_available_bytes > 0);
        assert!((0.0..=100.0).contains(&machine.memory_percent));
        assert!((0.0..=100.0).contains(&machine.cpu_percent));
        let nobody = host.processes_cpu(&[u32::MAX - 1]);
        assert_eq!((nobody.measured, nobody.average()), (0, None));
    }

    #[test]
    fn a_process_that_exits_leaves_the_table() {
        let mut host = Host::new().unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        host.processes_cpu(&[pid]);
        assert!(host.processes.process(Pid::from_u32(pid)).is_some());
        child.kill().unwrap();
        child.wait().unwrap();
        // Not asked about any more, yet refreshed once more: gone from the table.
        assert_eq!(host.processes_cpu(&[]).measured, 0);
        assert!(host.processes.process(Pid::from_u32(pid)).is_none());
    }
}
