//! [`MemoryQueue`]: the [`Queue`] trait in one process, with everything a real queue owes
//! its workers: FIFO order, a bound with backpressure, leases that run out, retries and
//! dead tasks, idempotent completion.
//!
//! All state sits behind one mutex, held for microseconds and never across an `.await`.
//! Waiting (for a task, or for room) uses [`tokio::sync::Notify`]: a waiter registers
//! *before* it lets go of the lock, so a wake-up between its check and its sleep is not
//! lost. Time passes without a background task: every call first *sweeps*, returning the
//! tasks whose lease has passed and those whose retry backoff is over, and a waiting
//! worker sleeps no longer than the next of those moments.
//!
//! After a worker failure ([`nack`](Queue::nack) with [`FailureKind::Worker`]) a task with
//! attempts left is Retrying, and waits out [`QueueConfig::retry_backoff`] before it joins
//! the end of the queue again; with [`Backoff::NONE`](crate::queue::Backoff::NONE) it
//! joins at once. A task whose lease ran out is retried at once: the lease was its wait.
//!
//! Records of finished tasks are kept for [`status`](Queue::status) up to a number
//! ([`MemoryQueue::with_retention`]), oldest forgotten first, so memory stays bounded
//! however many tasks pass through.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::queue::{Ack, Backpressure, Lease, Queue, QueueConfig, QueueError, QueueStats};
use crate::task::{FailureKind, Task, TaskError, TaskId, TaskRecord, TaskState};
use crate::worker::{Capabilities, WorkerId};

/// How many finished records a queue keeps by default.
pub const DEFAULT_RETENTION: usize = 10_000;

/// A task queue in this process's memory.
#[derive(Debug)]
pub struct MemoryQueue {
    config: QueueConfig,
    retention: usize,
    inner: Mutex<Inner>,
    /// Signalled when a task becomes available.
    task_ready: Notify,
    /// Signalled when a waiting task leaves, making room.
    room: Notify,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<TaskId, Entry>,
    /// Tasks waiting to be reserved, oldest first.
    waiting: VecDeque<TaskId>,
    /// Retrying tasks waiting out their backoff, by when they may run again.
    delayed: BTreeSet<(Instant, TaskId)>,
    /// Leases by expiry; the receipt number keeps keys unique.
    expiries: BTreeMap<(Instant, u64), TaskId>,
    /// Finished tasks, oldest first, for forgetting.
    finished: VecDeque<TaskId>,
    next_receipt: u64,
    stats: QueueStats,
}

#[derive(Debug)]
struct Entry {
    record: TaskRecord,
    /// The current delivery: its receipt number and expiry.
    lease: Option<(u64, Instant)>,
}

impl MemoryQueue {
    /// A queue with `config`, keeping [`DEFAULT_RETENTION`] finished records.
    pub fn new(config: QueueConfig) -> Self {
        Self::with_retention(config, DEFAULT_RETENTION)
    }

    /// A queue that remembers the last `retention` finished tasks.
    pub fn with_retention(config: QueueConfig, retention: usize) -> Self {
        let stats = QueueStats {
            capacity: config.capacity,
            ..QueueStats::default()
        };
        Self {
            config,
            retention,
            inner: Mutex::new(Inner {
                stats,
                ..Inner::default()
            }),
            task_ready: Notify::new(),
            room: Notify::new(),
        }
    }

    /// The queue's settings.
    pub fn config(&self) -> QueueConfig {
        self.config
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every method leaves `Inner` consistent before anything that could panic, so the
        // data behind a poisoned lock is sound.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends a dead task back to the queue with its attempts reset.
    pub fn requeue(&self, id: TaskId) -> Result<(), QueueError> {
        let mut inner = self.lock();
        let entry = inner.entries.get_mut(&id).ok_or(QueueError::NotFound(id))?;
        entry.record.requeue(Utc::now())?;
        inner.finished.retain(|t| *t != id);
        inner.waiting.push_back(id);
        inner.stats.waiting += 1;
        drop(inner);
        self.task_ready.notify_waiters();
        Ok(())
    }
}

impl Inner {
    /// Brings the queue up to `now`: expired leases and finished backoffs. Whether a task
    /// became available.
    fn sweep(&mut self, now: Instant, config: &QueueConfig) -> bool {
        let expired = self.expire_leases(now, config);
        let promoted = self.promote(now);
        expired || promoted
    }

    /// Moves every retrying task whose backoff is over to the end of the queue.
    fn promote(&mut self, now: Instant) -> bool {
        let mut promoted = false;
        while let Some(&(due, id)) = self.delayed.first() {
            if due > now {
                break;
            }
            self.delayed.pop_first();
            self.waiting.push_back(id);
            promoted = true;
        }
        promoted
    }

    /// When the next lease runs out or the next backoff ends, if ever.
    fn next_due(&self) -> Option<Instant> {
        let expiry = self.expiries.first_key_value().map(|(&(at, _), _)| at);
        let retry = self.delayed.first().map(|&(at, _)| at);
        expiry.into_iter().chain(retry).min()
    }

    /// Returns to the queue every task whose lease has passed.
    fn expire_leases(&mut self, now: Instant, config: &QueueConfig) -> bool {
        let mut returned = false;
        while let Some((&(expiry, receipt), &id)) = self.expiries.first_key_value() {
            if expiry > now {
                break;
            }
            self.expiries.pop_first();
            let Some(entry) = self.entries.get_mut(&id) else {
                continue;
            };
            if entry.lease.map(|(r, _)| r) != Some(receipt) {
                continue;
            }
            entry.lease = None;
            let holder = entry
                .record
                .worker
                .as_ref()
                .map_or_else(|| "?".to_owned(), ToString::to_string);
            let error = TaskError::worker(format!(
                "lease expired: worker {holder} did not finish within {:?}",
                config.lease
            ));
            self.stats.expired_leases += 1;
            // No backoff: the lease already made the task wait.
            let state = self.after_failure(id, error, config.max_attempts, now, Duration::ZERO);
            returned |= state == TaskState::Retrying;
        }
        returned
    }

    /// Applies a failed attempt to a task that holds no lease any more; a retry waits
    /// `backoff` before it joins the queue again.
    fn after_failure(
        &mut self,
        id: TaskId,
        error: TaskError,
        max_attempts: u32,
        now: Instant,
        backoff: Duration,
    ) -> TaskState {
        let Some(entry) = self.entries.get_mut(&id) else {
            return TaskState::Dead;
        };
        self.stats.in_flight -= 1;
        let state = match entry.record.fail(error, max_attempts, Utc::now()) {
            Ok(state) => state,
            Err(_) => return entry.record.state,
        };
        match state {
            TaskState::Retrying => {
                self.stats.retried += 1;
                self.stats.waiting += 1;
                if backoff.is_zero() {
                    self.waiting.push_back(id);
                } else {
                    self.delayed.insert((later(now, backoff), id));
                }
            }
            TaskState::Failed => self.stats.failed += 1,
            _ => self.stats.dead += 1,
        }
        if state.is_final() {
            self.finished.push_back(id);
        }
        state
    }

    /// Takes the oldest waiting task `capabilities` allows, if any.
    fn take(
        &mut self,
        worker: &WorkerId,
        capabilities: &Capabilities,
        now: Instant,
        config: &QueueConfig,
    ) -> Option<Lease> {
        let position = match capabilities {
            Capabilities::All => (!self.waiting.is_empty()).then_some(0),
            _ => self.waiting.iter().position(|id| {
                self.entries
                    .get(id)
                    .is_some_and(|e| capabilities.can_run(&e.record.task.pipeline))
            }),
        }?;
        let expiry = later(now, config.lease);
        let id = self.waiting.remove(position)?;
        self.stats.waiting -= 1;
        // Every waiting id has a pending or retrying record, so neither `?` below returns.
        let entry = self.entries.get_mut(&id)?;
        entry.record.start(worker, Utc::now()).ok()?;
        self.next_receipt += 1;
        let receipt = self.next_receipt;
        entry.lease = Some((receipt, expiry));
        self.expiries.insert((expiry, receipt), id);
        self.stats.in_flight += 1;
        Some(Lease {
            task: Arc::clone(&entry.record.task),
            attempt: entry.record.attempts,
            worker: worker.clone(),
            receipt: receipt.to_string(),
            expires_at: wall_clock(now, expiry),
        })
    }

    /// The entry of `lease`'s task, its receipt number and expiry, when the lease is still
    /// the current one.
    fn current(&mut self, lease: &Lease) -> Result<(&mut Entry, u64, Instant), QueueError> {
        let lost = || QueueError::LeaseLost {
            task: lease.task.id,
            receipt: lease.receipt.clone(),
        };
        let entry = self.entries.get_mut(&lease.task.id).ok_or_else(lost)?;
        match entry.lease {
            Some((receipt, expiry)) if lease.receipt.parse() == Ok(receipt) => {
                Ok((entry, receipt, expiry))
            }
            _ => Err(lost()),
        }
    }

    /// Forgets the oldest finished records beyond `retention`.
    fn forget_old(&mut self, retention: usize) {
        while self.finished.len() > retention {
            if let Some(id) = self.finished.pop_front() {
                self.entries.remove(&id);
            }
        }
    }
}

/// `now + duration`, or a year from now when that is further than the clock can count.
fn later(now: Instant, duration: Duration) -> Instant {
    now.checked_add(duration)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600))
}

/// The wall-clock time of a monotonic instant.
fn wall_clock(now: Instant, then: Instant) -> DateTime<Utc> {
    let ahead = chrono::Duration::from_std(then.saturating_duration_since(now))
        .unwrap_or(chrono::Duration::MAX);
    Utc::now()
        .checked_add_signed(ahead)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[async_trait]
impl Queue for MemoryQueue {
    // ANCHOR: enqueue
    async fn enqueue(&self, task: Task, backpressure: Backpressure) -> Result<TaskId, QueueError> {
        let id = task.id;
        let task = Arc::new(task);
        loop {
            let room = self.room.notified();
            tokio::pin!(room);
            {
                let mut inner = self.lock();
                if inner.entries.contains_key(&id) {
                    return Err(QueueError::Duplicate(id));
                }
                let full = self
                    .config
                    .capacity
                    .is_some_and(|capacity| inner.stats.waiting >= capacity);
                if !full {
                    let record = TaskRecord::new(Arc::clone(&task), Utc::now());
                    inner.entries.insert(
                        id,
                        Entry {
                            record,
                            lease: None,
                        },
                    );
                    inner.waiting.push_back(id);
                    inner.stats.waiting += 1;
                    inner.stats.enqueued += 1;
                    drop(inner);
                    self.task_ready.notify_waiters();
                    return Ok(id);
                }
                if backpressure == Backpressure::Reject {
                    return Err(QueueError::Full {
                        capacity: self.config.capacity.unwrap_or_default(),
                    });
                }
                // Registered while the lock is held: room made after this wakes us.
                room.as_mut().enable();
            }
            room.await;
        }
    }
    // ANCHOR_END: enqueue

    // ANCHOR: reserve
    async fn reserve(
        &self,
        worker: &WorkerId,
        capabilities: &Capabilities,
        wait: Duration,
    ) -> Result<Option<Lease>, QueueError> {
        let deadline = later(Instant::now(), wait);
        loop {
            let ready = self.task_ready.notified();
            tokio::pin!(ready);
            let wake_at = {
                let mut inner = self.lock();
                let now = Instant::now();
                let returned = inner.sweep(now, &self.config);
                let lease = inner.take(worker, capabilities, now, &self.config);
                inner.forget_old(self.retention);
                if let Some(lease) = lease {
                    drop(inner);
                    self.room.notify_waiters();
                    if returned {
                        // Other workers may run the tasks the sweep brought back.
                        self.task_ready.notify_waiters();
                    }
                    return Ok(Some(lease));
                }
                if returned {
                    // This worker cannot run them, but another may.
                    self.task_ready.notify_waiters();
                }
                if now >= deadline {
                    return Ok(None);
                }
                ready.as_mut().enable();
                // Sleep until a task comes, the wait ends, a lease runs out or a backoff ends.
                inner.next_due().map_or(deadline, |due| due.min(deadline))
            };
            let _ = tokio::time::timeout_at(wake_at, ready).await;
        }
    }
    // ANCHOR_END: reserve

    async fn renew(&self, lease: &Lease) -> Result<DateTime<Utc>, QueueError> {
        let mut inner = self.lock();
        let now = Instant::now();
        // A lease that has already run out cannot be renewed.
        if inner.sweep(now, &self.config) {
            self.task_ready.notify_waiters();
        }
        let expiry = later(now, self.config.lease);
        let (entry, receipt, old) = inner.current(lease)?;
        entry.lease = Some((receipt, expiry));
        inner.expiries.remove(&(old, receipt));
        inner.expiries.insert((expiry, receipt), lease.task.id);
        Ok(wall_clock(now, expiry))
    }

    async fn ack(&self, lease: &Lease) -> Result<Ack, QueueError> {
        let mut inner = self.lock();
        let id = lease.task.id;
        let lost = || QueueError::LeaseLost {
            task: id,
            receipt: lease.receipt.clone(),
        };
        let entry = inner.entries.get_mut(&id).ok_or_else(lost)?;
        match entry.record.state {
            TaskState::Succeeded => return Ok(Ack::Duplicate),
            // Running under this lease, or under a later one after this one ran out: the
            // result is the same either way, so the first to finish completes the task.
            TaskState::Running => {}
            _ => return Err(lost()),
        }
        entry.record.succeed(Utc::now())?;
        if let Some((receipt, expiry)) = entry.lease.take() {
            inner.expiries.remove(&(expiry, receipt));
        }
        inner.stats.in_flight -= 1;
        inner.stats.succeeded += 1;
        inner.finished.push_back(id);
        Ok(Ack::Completed)
    }

    async fn nack(&self, lease: &Lease, error: TaskError) -> Result<TaskState, QueueError> {
        let backoff = match error.kind {
            FailureKind::Worker => self
                .config
                .retry_backoff
                .delay(lease.attempt, fastrand::f64()),
            FailureKind::Job => Duration::ZERO, // final: never retried
        };
        let state = {
            let mut inner = self.lock();
            let (entry, receipt, expiry) = inner.current(lease)?;
            entry.lease = None;
            inner.expiries.remove(&(expiry, receipt));
            let max_attempts = self.config.max_attempts;
            inner.after_failure(lease.task.id, error, max_attempts, Instant::now(), backoff)
        };
        // Waiting workers wake to take the retry now, or to sleep until its backoff ends.
        if state == TaskState::Retrying {
            self.task_ready.notify_waiters();
        }
        Ok(state)
    }

    async fn release(&self, lease: &Lease) -> Result<(), QueueError> {
        {
            let mut inner = self.lock();
            let (entry, receipt, expiry) = inner.current(lease)?;
            entry.record.release()?;
            entry.lease = None;
            inner.expiries.remove(&(expiry, receipt));
            inner.waiting.push_front(lease.task.id);
            inner.stats.waiting += 1;
            inner.stats.in_flight -= 1;
        }
        self.task_ready.notify_waiters();
        Ok(())
    }

    async fn status(&self, id: TaskId) -> Result<Option<TaskRecord>, QueueError> {
        let mut inner = self.lock();
        if inner.sweep(Instant::now(), &self.config) {
            drop(inner);
            self.task_ready.notify_waiters();
            inner = self.lock();
        }
        Ok(inner.entries.get(&id).map(|e| e.record.clone()))
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        let mut inner = self.lock();
        if inner.sweep(Instant::now(), &self.config) {
            drop(inner);
            self.task_ready.notify_waiters();
            inner = self.lock();
        }
        Ok(inner.stats.clone())
    }
}
