//! [`WorkerPool`]: N workers taking tasks from a [`Queue`] on tokio, and everything around
//! the work that no single worker should have to get right.
//!
//! Each worker slot is a loop: reserve a task, run it, acknowledge it. Around the run:
//!
//! - the task runs in a task of its own, so a **panic** is caught as a `JoinError` instead
//!   of killing the loop; the task is reported as a worker failure (and retried), and the
//!   slot goes on under a new worker id: the worker that panicked is *replaced*;
//! - a **timeout** per task ends a run that takes too long (a worker failure);
//! - the **lease** is renewed at a third of its length while the task runs, so a long task
//!   keeps it and a dead worker's task comes back soon;
//! - **graceful shutdown**: [`WorkerPool::shutdown`] stops reserving, lets running tasks
//!   finish until a deadline, then *releases* those still running back to the queue, so
//!   nothing is lost either way.
//!
//! A supervisor watches the slots: should a slot's loop itself panic (a bug in the pool or
//! the queue), it logs it and starts a new one in its place.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::{JoinHandle, JoinSet};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info, info_span, warn};

use crate::health::Health;
use crate::queue::{Ack, Backoff, Lease, Queue, QueueError, Retry};
use crate::stats::{Outcome, PoolStats, StatsRecorder};
use crate::task::{TaskError, TaskState};
use crate::worker::{Worker, WorkerId};

/// How a pool runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Worker slots: tasks run at once.
    pub workers: usize,
    /// The longest a task may run before it counts as a worker failure.
    pub task_timeout: Duration,
    /// How long one `reserve` call waits for a task before the loop checks for shutdown.
    pub poll: Duration,
}

impl Default for PoolConfig {
    /// As many workers as CPUs, a 5-minute timeout, 1-second polls.
    fn default() -> Self {
        Self {
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            task_timeout: Duration::from_secs(300),
            poll: Duration::from_secs(1),
        }
    }
}

/// How a shutdown went.
#[derive(Debug, Clone, PartialEq)]
pub struct ShutdownReport {
    /// Every running task finished before the deadline.
    pub clean: bool,
    /// Tasks given back to the queue because the deadline came first.
    pub released: u64,
    /// The pool's final statistics.
    pub stats: PoolStats,
}

/// What the slots share with the pool's handle.
#[derive(Debug)]
struct Shared {
    config: PoolConfig,
    /// Cancelled when shutdown starts: reserve no more.
    stop_taking: CancellationToken,
    /// Cancelled when the shutdown deadline passes: release what still runs.
    abandon: CancellationToken,
    stats: StatsRecorder,
    /// The supervisor runs: set at the start, cleared when it ends (even by a panic).
    supervising: AtomicBool,
    /// Slots whose loop is running.
    alive: AtomicUsize,
    /// The queue's last error, until a call succeeds again.
    queue_error: Mutex<Option<String>>,
}

impl Shared {
    fn set_queue_error(&self, error: Option<String>) {
        *self.queue_error.lock().unwrap_or_else(|p| p.into_inner()) = error;
    }

    /// The pool's health, from what the slots and the supervisor share: the pool and every
    /// [`StatsHandle`] answer with it.
    // ANCHOR: health
    fn health(&self) -> Health {
        let stopping = self.stop_taking.is_cancelled();
        let live = self.supervising.load(Ordering::Acquire) || stopping;
        let mut reasons = Vec::new();
        if !live {
            reasons.push("the pool's supervisor stopped".to_owned());
        }
        if stopping {
            reasons.push("shutting down: taking no new tasks".to_owned());
        }
        let alive = self.alive.load(Ordering::Relaxed);
        if alive < self.config.workers {
            reasons.push(format!(
                "{alive} of {} workers running",
                self.config.workers
            ));
        }
        let queue_error = self.queue_error.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(error) = &*queue_error {
            reasons.push(format!("the queue fails: {error}"));
        }
        Health::from_reasons(live, reasons)
    }
    // ANCHOR_END: health
}

/// Marks the supervisor as ended when dropped: when it returns, panics or is dropped unrun.
#[derive(Debug)]
struct Supervising(Arc<Shared>);

impl Drop for Supervising {
    fn drop(&mut self) {
        self.0.supervising.store(false, Ordering::Release);
    }
}

/// A cheap, cloneable view of a pool's statistics, for a task that reports them while the
/// pool runs (a heartbeat, a metrics endpoint) without owning the pool.
#[derive(Debug, Clone)]
pub struct StatsHandle(Arc<Shared>);

impl StatsHandle {
    /// The pool's statistics now.
    pub fn snapshot(&self) -> PoolStats {
        self.0.stats.snapshot()
    }

    /// Whether the pool has begun shutting down.
    pub fn is_shutting_down(&self) -> bool {
        self.0.stop_taking.is_cancelled()
    }

    /// Whether the pool is alive and ready for work, and if not, why: the same answer as
    /// [`WorkerPool::health`].
    pub fn health(&self) -> Health {
        self.0.health()
    }
}

/// A running pool of workers.
#[derive(Debug)]
pub struct WorkerPool {
    shared: Arc<Shared>,
    supervisor: JoinHandle<()>,
}

impl WorkerPool {
    /// Starts `config.workers` workers taking tasks from `queue` and running them with
    /// `worker`. Must be called inside a tokio runtime.
    pub fn start(queue: Arc<dyn Queue>, worker: Arc<dyn Worker>, config: PoolConfig) -> Self {
        let config = PoolConfig {
            workers: config.workers.max(1),
            ..config
        };
        let shared = Arc::new(Shared {
            config,
            stop_taking: CancellationToken::new(),
            abandon: CancellationToken::new(),
            stats: StatsRecorder::new(config.workers),
            supervising: AtomicBool::new(true),
            alive: AtomicUsize::new(0),
            queue_error: Mutex::new(None),
        });
        let guard = Supervising(Arc::clone(&shared));
        let supervisor = tokio::spawn({
            let shared = Arc::clone(&shared);
            async move {
                let _guard = guard;
                supervise(shared, queue, worker).await;
            }
        });
        Self { shared, supervisor }
    }

    /// The pool's statistics now.
    pub fn stats(&self) -> PoolStats {
        self.shared.stats.snapshot()
    }

    /// A handle that reads the statistics from elsewhere while the pool runs.
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle(Arc::clone(&self.shared))
    }

    /// Whether the pool is alive and ready for work, and if not, why.
    pub fn health(&self) -> Health {
        self.shared.health()
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.shared.stop_taking.is_cancelled()
    }

    /// Stops taking tasks, waits up to `grace` for running ones to finish, then releases
    /// the rest back to the queue and waits for the workers to stop.
    // ANCHOR: shutdown
    pub async fn shutdown(mut self, grace: Duration) -> ShutdownReport {
        let released_before = self.shared.stats.snapshot().released;
        self.shared.stop_taking.cancel();
        let clean = tokio::time::timeout(grace, &mut self.supervisor)
            .await
            .is_ok();
        if !clean {
            warn!(
                grace_seconds = grace.as_secs_f64(),
                "tasks still running at the shutdown deadline: releasing them to the queue"
            );
            self.shared.abandon.cancel();
            let _ = (&mut self.supervisor).await;
        }
        let stats = self.shared.stats.snapshot();
        ShutdownReport {
            clean,
            released: stats.released - released_before,
            stats,
        }
    }
    // ANCHOR_END: shutdown
}

impl Drop for WorkerPool {
    /// A pool dropped without [`shutdown`](WorkerPool::shutdown) stops taking tasks; the
    /// running ones finish in the background.
    fn drop(&mut self) {
        self.shared.stop_taking.cancel();
    }
}

/// Starts the slots and replaces any whose loop panics, until shutdown.
async fn supervise(shared: Arc<Shared>, queue: Arc<dyn Queue>, worker: Arc<dyn Worker>) {
    let mut slots = JoinSet::new();
    let mut slot_of = HashMap::new();
    let spawn = |slots: &mut JoinSet<()>, slot_of: &mut HashMap<tokio::task::Id, usize>, slot| {
        let handle = slots.spawn(run_slot(
            slot,
            Arc::clone(&shared),
            Arc::clone(&queue),
            Arc::clone(&worker),
        ));
        slot_of.insert(handle.id(), slot);
    };
    for slot in 0..shared.config.workers {
        spawn(&mut slots, &mut slot_of, slot);
    }
    while let Some(joined) = slots.join_next_with_id().await {
        let Err(failure) = joined else { continue };
        let Some(slot) = slot_of.remove(&failure.id()) else {
            continue;
        };
        shared.alive.fetch_sub(1, Ordering::Relaxed);
        if failure.is_panic() && !shared.stop_taking.is_cancelled() {
            error!(
                slot,
                panic = panic_message(failure.into_panic()),
                "a worker loop panicked; starting another in its place"
            );
            shared.stats.replaced();
            spawn(&mut slots, &mut slot_of, slot);
        }
    }
}

/// One worker slot: reserve, run, report, until shutdown.
// ANCHOR: slot
async fn run_slot(
    slot: usize,
    shared: Arc<Shared>,
    queue: Arc<dyn Queue>,
    worker: Arc<dyn Worker>,
) {
    shared.alive.fetch_add(1, Ordering::Relaxed);
    let capabilities = worker.capabilities();
    let mut id = WorkerId::generate(slot);
    // A queue that fails (Redis down, say) is asked again, less and less often.
    let mut retry = Retry::new(Backoff {
        base: Duration::from_millis(50),
        max: Duration::from_secs(5),
    });
    info!(worker.id = %id, %capabilities, "worker started");
    // ANCHOR: slot_reserve
    loop {
        if shared.stop_taking.is_cancelled() {
            break;
        }
        // A reserve is never abandoned halfway: a queue in another process may already have
        // handed the task over, so shutdown waits for the call (at most `poll`) instead.
        let reserved = queue.reserve(&id, &capabilities, shared.config.poll).await;
        match reserved {
            Ok(Some(lease)) if shared.stop_taking.is_cancelled() => {
                // Shutdown began while the call waited: give the task straight back.
                if let Err(error) = queue.release(&lease).await {
                    warn!(worker.id = %id, %error, "could not release a task at shutdown; its lease will run out");
                }
                break;
            }
            Ok(Some(lease)) => {
                shared.set_queue_error(None);
                retry.succeeded();
                if run_task(slot, &id, lease, &shared, &*queue, &worker).await {
                    let replacement = WorkerId::generate(slot);
                    warn!(worker.id = %id, replacement = %replacement, "worker panicked; replaced");
                    shared.stats.replaced();
                    id = replacement;
                }
            }
            // ANCHOR_END: slot_reserve
            Ok(None) => {
                retry.succeeded();
                shared.set_queue_error(None);
            }
            Err(error) => {
                let wait = retry.failed();
                warn!(worker.id = %id, %error, retry_in = ?wait, "cannot reserve a task");
                shared.set_queue_error(Some(error.to_string()));
                tokio::select! {
                    () = shared.stop_taking.cancelled() => break,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
    info!(worker.id = %id, "worker stopped");
    shared.alive.fetch_sub(1, Ordering::Relaxed);
}
// ANCHOR_END: slot

/// Runs one leased task to its end and reports it to the queue; `true` when it panicked.
// ANCHOR: run_task
async fn run_task(
    slot: usize,
    id: &WorkerId,
    lease: Lease,
    shared: &Shared,
    queue: &dyn Queue,
    worker: &Arc<dyn Worker>,
) -> bool {
    // ANCHOR: task_span
    let span = info_span!(
        "task",
        task.id = %lease.task.id,
        worker.id = %id,
        filters = %lease.task.pipeline,
        attempt = lease.attempt,
    );
    // ANCHOR_END: task_span
    async {
        shared.stats.started(slot);
        let started = Instant::now();
        // ANCHOR: run_setup
        let (task, worker) = (Arc::clone(&lease.task), Arc::clone(worker));
        let mut run = tokio::spawn(async move { worker.process(&task).await }.in_current_span());
        let timeout = tokio::time::sleep(shared.config.task_timeout);
        tokio::pin!(timeout);
        let renew_every = lease_time_left(&lease) / 3;
        let mut renew =
            tokio::time::interval_at(tokio::time::Instant::now() + renew_every, renew_every);
        renew.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // ANCHOR_END: run_setup
        let mut panicked = false;
        let result = loop {
            tokio::select! {
                // ANCHOR: run_race
                joined = &mut run => break match joined {
                    Ok(result) => result,
                    Err(failure) if failure.is_panic() => {
                        panicked = true;
                        Err(TaskError::worker(format!(
                            "panicked: {}",
                            panic_message(failure.into_panic())
                        )))
                    }
                    Err(failure) => Err(TaskError::worker(failure)),
                },
                () = &mut timeout => {
                    run.abort();
                    break Err(TaskError::worker(format!(
                        "timed out after {:?}",
                        shared.config.task_timeout
                    )));
                }
                // ANCHOR_END: run_race
                () = shared.abandon.cancelled() => {
                    run.abort();
                    let outcome = match queue.release(&lease).await {
                        Ok(()) => {
                            info!("released unfinished at shutdown");
                            Outcome::Released
                        }
                        Err(error) => {
                            warn!(%error, "could not release the task; its lease will run out");
                            Outcome::Lost
                        }
                    };
                    shared.stats.finished(slot, started.elapsed(), outcome);
                    return false;
                }
                _ = renew.tick() => {
                    if let Err(error) = queue.renew(&lease).await {
                        warn!(%error, "could not renew the lease");
                    }
                }
            }
        };
        let took = started.elapsed();
        let outcome = report(queue, &lease, result, took).await;
        shared.stats.finished(slot, took, outcome);
        panicked
    }
    .instrument(span)
    .await
}
// ANCHOR_END: run_task

/// Tells the queue how the attempt ended, logs it, and says how it counts.
async fn report(
    queue: &dyn Queue,
    lease: &Lease,
    result: Result<(), TaskError>,
    took: Duration,
) -> Outcome {
    let ms = (took.as_secs_f64() * 1e4).round() / 10.0;
    match result {
        Ok(()) => match queue.ack(lease).await {
            Ok(Ack::Completed) => {
                info!(duration_ms = ms, "task succeeded");
                Outcome::Succeeded
            }
            Ok(Ack::Duplicate) => {
                info!(duration_ms = ms, "task had already succeeded elsewhere");
                Outcome::Succeeded
            }
            Err(error) => lost(error),
        },
        Err(task_error) => match queue.nack(lease, task_error.clone()).await {
            Ok(TaskState::Retrying) => {
                warn!(duration_ms = ms, error = %task_error.message, "attempt failed; will retry");
                Outcome::Retried
            }
            Ok(TaskState::Dead) => {
                error!(duration_ms = ms, error = %task_error.message, "task dead: no attempts left");
                Outcome::Dead
            }
            Ok(_) => {
                warn!(duration_ms = ms, error = %task_error.message, "task failed");
                Outcome::Failed
            }
            Err(error) => lost(error),
        },
    }
}

fn lost(error: QueueError) -> Outcome {
    warn!(%error, "the queue refused the outcome; the task runs again elsewhere");
    Outcome::Lost
}

/// How long the lease has left, at least 30 ms so renewals never spin.
fn lease_time_left(lease: &Lease) -> Duration {
    (lease.expires_at - chrono::Utc::now())
        .to_std()
        .unwrap_or_default()
        .max(Duration::from_millis(30))
}

/// The text a panic was raised with.
pub fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map_or_else(|| "(no message)".to_owned(), |text| (*text).to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryQueue;
    use crate::queue::QueueConfig;
    use crate::worker::NoopWorker;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stats_handle_tells_the_pools_health() {
        let queue = Arc::new(MemoryQueue::new(QueueConfig::default()));
        let config = PoolConfig {
            workers: 2,
            poll: Duration::from_millis(20),
            ..PoolConfig::default()
        };
        let pool = WorkerPool::start(queue, Arc::new(NoopWorker), config);
        let handle = pool.stats_handle();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !handle.health().ready {
            assert!(
                Instant::now() < deadline,
                "never ready: {:?}",
                handle.health()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(handle.health(), pool.health());

        let report = pool.shutdown(Duration::from_secs(5)).await;
        assert!(report.clean);
        let health = handle.health();
        assert!(health.live && !health.ready, "{health:?}");
        assert!(
            health
                .reasons
                .iter()
                .any(|r| r.starts_with("shutting down")),
            "{health:?}"
        );
        assert!(
            !handle.0.supervising.load(Ordering::Acquire),
            "the supervisor ended"
        );
    }
}
