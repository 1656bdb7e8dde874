//! The [`Queue`] trait: what every task queue of the course does, in memory (this session)
//! or in Redis (session 04), so the worker pool runs on either unchanged.
//!
//! A worker does not *pop* a task, it *reserves* it: the queue hands out a [`Lease`] and
//! keeps the task until the worker acknowledges it. A worker that dies, hangs or loses its
//! network never acknowledges, its lease runs out, and the task goes back to the queue. So
//! a task can run more than once (at-least-once delivery), and never zero times; completion
//! is idempotent, so a second acknowledgement of a finished task changes nothing.
//!
//! | call | what it does |
//! |---|---|
//! | [`enqueue`](Queue::enqueue) | adds a task; on a full queue waits or refuses ([`Backpressure`]) |
//! | [`reserve`](Queue::reserve) | the oldest task this worker can run, under a lease; waits up to a limit |
//! | [`renew`](Queue::renew) | extends a lease while a long task runs |
//! | [`ack`](Queue::ack) | the task succeeded |
//! | [`nack`](Queue::nack) | the attempt failed: retry, fail, or dead-letter, by the error's kind |
//! | [`release`](Queue::release) | gives the task back unfinished, at the front (a worker shutting down) |
//! | [`status`](Queue::status), [`stats`](Queue::stats) | one task's record; counts for dashboards |

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::task::{Task, TaskError, TaskId, TaskRecord, TaskState};
use crate::worker::{Capabilities, WorkerId};

/// What `enqueue` does when the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backpressure {
    /// Wait until there is room: the producer slows to the workers' pace.
    #[default]
    Wait,
    /// Return [`QueueError::Full`] at once: the caller decides (an HTTP API answers 503).
    Reject,
}

/// A task held by one worker until it acknowledges it or the lease runs out.
// ANCHOR: lease
#[derive(Debug, Clone)]
pub struct Lease {
    /// The task to run.
    pub task: Arc<Task>,
    /// Which attempt this is, from 1.
    pub attempt: u32,
    /// The worker holding it.
    pub worker: WorkerId,
    /// Names this delivery: a lease renewed or released with an old receipt is refused.
    pub receipt: String,
    /// When the task returns to the queue unless the lease is renewed.
    pub expires_at: DateTime<Utc>,
}
// ANCHOR_END: lease

/// What an acknowledgement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// The task is now succeeded.
    Completed,
    /// It had already succeeded (another delivery finished first): nothing changed.
    Duplicate,
}

/// Counts over the whole queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    /// Waiting to be reserved (pending or retrying).
    pub waiting: usize,
    /// Reserved by a worker, under a lease.
    pub in_flight: usize,
    /// The most tasks that may wait; `None` when unbounded.
    pub capacity: Option<usize>,
    /// Tasks ever enqueued.
    pub enqueued: u64,
    /// Tasks that succeeded, each counted once.
    pub succeeded: u64,
    /// Tasks that ended with a job failure.
    pub failed: u64,
    /// Attempts that ended with a worker failure and were retried.
    pub retried: u64,
    /// Tasks whose attempts ran out, kept aside.
    pub dead: u64,
    /// Leases that ran out (their worker vanished or hung).
    pub expired_leases: u64,
}

impl QueueStats {
    /// Whether nothing is waiting or running.
    pub fn is_idle(&self) -> bool {
        self.waiting == 0 && self.in_flight == 0
    }
}

/// What can go wrong with a queue call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The queue is full and the caller asked not to wait.
    #[error("the queue is full ({capacity} tasks waiting)")]
    Full {
        /// The queue's capacity.
        capacity: usize,
    },
    /// No task has this id (or it was finished long ago and forgotten).
    #[error("no task {0}")]
    NotFound(TaskId),
    /// A task with this id is already queued.
    #[error("task {0} is already in the queue")]
    Duplicate(TaskId),
    /// The lease is no longer this worker's: it ran out and the task went back to the
    /// queue, or another delivery finished it.
    #[error("task {task}: the lease {receipt} is no longer valid")]
    LeaseLost {
        /// The task.
        task: TaskId,
        /// The receipt that was refused.
        receipt: String,
    },
    /// The task's state does not allow the call.
    #[error(transparent)]
    Illegal(#[from] crate::task::IllegalTransition),
    /// The queue's backing service failed (Redis from session 04 on).
    #[error("the queue is unavailable: {0}")]
    Unavailable(String),
    /// What the queue stored cannot be read back (written by another version, or edited
    /// by hand): named, never guessed at.
    #[error("malformed queue data: {0}")]
    Malformed(String),
}

/// The longest lease a queue accepts: one day. A longer one would keep a dead worker's
/// task out of reach for longer than anyone waits for it.
pub const MAX_LEASE: Duration = Duration::from_secs(24 * 3600);

/// Settings every queue takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// How long a reserved task stays with its worker without a renewal.
    pub lease: Duration,
    /// How many times a task is started before worker failures make it dead.
    pub max_attempts: u32,
    /// The most new tasks that may wait; `None` for no bound. Retried and released tasks
    /// go back whatever the count: refusing them would lose them.
    pub capacity: Option<usize>,
    /// How long a task waits after a worker failure before it can be taken again.
    pub retry_backoff: Backoff,
}

impl Default for QueueConfig {
    /// A 30-second lease, 3 attempts, 10 000 waiting tasks at most, retries after half a
    /// second doubling up to 30 seconds.
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(30),
            max_attempts: 3,
            capacity: Some(10_000),
            retry_backoff: Backoff::default(),
        }
    }
}

/// How long a task waits before its next attempt after a worker failure: exponential in
/// the attempts so far, capped, with jitter.
///
/// Retrying at once hammers whatever failed (a store that is down, a node short of memory)
/// and makes every task that failed together retry together. Doubling the wait spreads the
/// load over time; the jitter spreads the tasks apart.
// ANCHOR: backoff
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failed attempt, before jitter.
    pub base: Duration,
    /// The longest wait, before jitter.
    pub max: Duration,
}

impl Backoff {
    /// Retry at once.
    pub const NONE: Backoff = Backoff {
        base: Duration::ZERO,
        max: Duration::ZERO,
    };

    /// The wait after attempt `failed` (from 1) failed; `unit`, in `0.0..1.0`, draws the
    /// jitter. "Equal jitter": half the wait is fixed, half random, so a retry never comes
    /// at once and never later than the cap.
    pub fn delay(&self, failed: u32, unit: f64) -> Duration {
        let doubled = self
            .base
            .saturating_mul(2u32.saturating_pow(failed.saturating_sub(1).min(31)));
        let cap = doubled.min(self.max);
        cap / 2 + cap.mul_f64(unit.clamp(0.0, 1.0) / 2.0)
    }
}
// ANCHOR_END: backoff

/// A [`Backoff`] applied to a call that is tried again until it works (connecting,
/// reserving, enqueueing into a full queue): each failure in a row waits longer, and a
/// success starts over. Every retrying loop of the course waits this one way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    backoff: Backoff,
    failures: u32,
}

impl Retry {
    /// No failure yet.
    pub const fn new(backoff: Backoff) -> Self {
        Self {
            backoff,
            failures: 0,
        }
    }

    /// Notes one more failure; returns how long to wait before the next try.
    pub fn failed(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.backoff.delay(self.failures, fastrand::f64())
    }

    /// Notes a success: the next failure waits the least again.
    pub fn succeeded(&mut self) {
        self.failures = 0;
    }
}

impl Default for Backoff {
    /// Half a second, doubling up to 30 seconds.
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

/// A task queue with leases: the contract the worker pool relies on.
// ANCHOR: queue
#[async_trait]
pub trait Queue: Send + Sync + fmt::Debug {
    /// Adds a task in state pending. On a full queue, waits for room or fails with
    /// [`QueueError::Full`], as `backpressure` says.
    async fn enqueue(&self, task: Task, backpressure: Backpressure) -> Result<TaskId, QueueError>;

    // ANCHOR: reserve_signature
    /// The oldest waiting task that `capabilities` can run, now Running under a lease for
    /// `worker`; waits up to `wait` for one, then returns `None`.
    async fn reserve(
        &self,
        worker: &WorkerId,
        capabilities: &Capabilities,
        wait: Duration,
    ) -> Result<Option<Lease>, QueueError>;
    // ANCHOR_END: reserve_signature

    /// Extends a lease by the queue's lease time; the new expiry.
    async fn renew(&self, lease: &Lease) -> Result<DateTime<Utc>, QueueError>;

    /// Marks the task succeeded. Idempotent: a task that already succeeded stays so
    /// ([`Ack::Duplicate`]). A result delivered after its lease ran out still counts while
    /// the task runs under another worker's lease; once the task is back in the queue it is
    /// [`QueueError::LeaseLost`], and the task runs again.
    async fn ack(&self, lease: &Lease) -> Result<Ack, QueueError>;

    /// Reports a failed attempt; the task becomes Failed, Retrying or Dead by
    /// [`TaskRecord::fail`]'s rule. Returns the new state.
    async fn nack(&self, lease: &Lease, error: TaskError) -> Result<TaskState, QueueError>;

    /// Gives the task back unfinished, without a failure: it waits again at the front of
    /// the queue. For a worker that is shutting down.
    async fn release(&self, lease: &Lease) -> Result<(), QueueError>;

    /// The task's record, or `None` for an unknown (or long-forgotten) id.
    async fn status(&self, id: TaskId) -> Result<Option<TaskRecord>, QueueError>;

    /// Counts over the queue.
    async fn stats(&self) -> Result<QueueStats, QueueError>;
}
// ANCHOR_END: queue

/// Waits until `queue` has nothing waiting or running, checking every `every`.
pub async fn wait_idle<Q: Queue + ?Sized>(queue: &Q, every: Duration) -> Result<(), QueueError> {
    loop {
        if queue.stats().await?.is_idle() {
            return Ok(());
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_half_of_it_jittered() {
        let backoff = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        let ms = |failed, unit| backoff.delay(failed, unit).as_millis();
        assert_eq!((ms(1, 0.0), ms(1, 1.0)), (50, 100));
        assert_eq!((ms(2, 0.0), ms(3, 0.5)), (100, 300));
        assert_eq!((ms(5, 0.0), ms(5, 1.0)), (500, 1000));
        assert_eq!(ms(u32::MAX, 1.0), 1000);
        assert_eq!(Backoff::NONE.delay(3, 0.7), Duration::ZERO);
    }

    #[test]
    fn a_retry_waits_longer_after_each_failure_and_starts_over_after_a_success() {
        let mut retry = Retry::new(Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        });
        let waits: Vec<u128> = (0..5).map(|_| retry.failed().as_millis()).collect();
        let floors = [50, 100, 200, 400, 500];
        for (wait, floor) in waits.iter().zip(floors) {
            assert!((floor..=floor * 2).contains(wait), "{waits:?}");
        }
        retry.succeeded();
        assert!(retry.failed() <= Duration::from_millis(100));
    }
}
