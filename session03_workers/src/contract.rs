//! The queue contract as a test kit: one behavioural suite that any [`Queue`] must pass,
//! so the in-memory queue of this session and the Redis queue of session 04 keep the same
//! promises to the worker pool. Built with the cargo feature `contract`.
//!
//! # Running it against a queue
//!
//! 1. Give the suite the two calls a person makes that the [`Queue`] trait has no room
//!    for, by implementing [`QueueAdmin`]: `requeue` a dead task, and say whether a task
//!    is among the dead letters. [`MemoryQueue`] implements it here. A queue from another
//!    crate needs a small wrapper struct in the test, because Rust lets a crate implement
//!    a trait only when the trait or the type is its own (the *orphan rule*).
//! 2. In a test, call [`check_all`] with a function that builds a fresh, empty queue from
//!    a [`QueueConfig`]. Each case builds its own queue with the settings it needs (a
//!    short lease, two attempts, a capacity of two ...), so no case sees another's tasks.
//!
//! ```no_run
//! use session03_workers::MemoryQueue;
//! use session03_workers::contract::check_all;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // In a `#[tokio::test]`:
//! check_all(|config| async move { MemoryQueue::new(config) }).await;
//! # }
//! ```
//!
//! [`check`] runs one [`Case`]: with a test per case, a queue known to differ on one can
//! mark that test `#[ignore = "why"]` rather than weaken the suite for every queue.
//!
//! # The cases
//!
//! | case | promise |
//! |---|---|
//! | [`Fifo`](Case::Fifo) | tasks come out in the order they went in; an id already queued is refused |
//! | [`LeaseExpiry`](Case::LeaseExpiry) | a lease nobody renews runs out, and the task comes back with one more attempt |
//! | [`Renewal`](Case::Renewal) | renewing a lease keeps the task from other workers beyond the lease time |
//! | [`LateAck`](Case::LateAck) | a result that comes after the lease ran out counts once; the next is a duplicate |
//! | [`RetryBackoff`](Case::RetryBackoff) | after a worker failure the task waits out its backoff, and does not hold up others |
//! | [`DeadLetters`](Case::DeadLetters) | when worker failures or expired leases use up the attempts, the task is dead |
//! | [`JobFailure`](Case::JobFailure) | a job failure is final: never retried, not a dead letter |
//! | [`Requeue`](Case::Requeue) | a person sends a dead task back, and it runs again from its first attempt |
//! | [`Routing`](Case::Routing) | a task goes only to a worker that can run its every filter |
//! | [`Release`](Case::Release) | a released task waits at the front, its attempt given back |
//! | [`Backpressure`](Case::Backpressure) | a full queue refuses new tasks (`Reject`), never retries |
//!
//! Throughout, every state the suite reads through [`status`](Queue::status) must be one
//! the task's previous state [can become](TaskState::can_become).
//!
//! # How it waits
//!
//! Short leases last 400 or 500 ms and backoffs 150 to 600 ms, so the suite runs in a
//! few seconds. It never sleeps to let something happen: every wait is a `reserve` with a
//! wait, or a poll that fails at a [`DEADLINE`]. Timings are asserted only as "not before
//! the lease or the minimum backoff" and "within the deadline", so a slow machine makes the
//! suite slower; only a stall of most of a lease, between two calls of a lease case, could
//! turn it red. A failure panics with the case's name and what went wrong.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use session02_pipelines::PipelineSpec;
use tokio::time::Instant;

use crate::blob::BlobKey;
use crate::memory::MemoryQueue;
use crate::queue::{Ack, Backoff, Backpressure, Lease, Queue, QueueConfig, QueueError, QueueStats};
use crate::task::{FailureKind, Task, TaskError, TaskId, TaskRecord, TaskState};
use crate::worker::{Capabilities, WorkerId};

/// The longest the suite waits for something that should happen: far beyond what a loaded
/// machine needs, so only a broken queue reaches it.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// How much earlier than asked a wait may end on a clock that counts whole milliseconds
/// (Redis's does).
const CLOCK_SLACK: Duration = Duration::from_millis(10);

/// What the contract needs beyond [`Queue`]: the calls a person makes on dead tasks.
#[async_trait]
pub trait QueueAdmin: Send + Sync {
    /// The queue under test.
    type Queue: Queue;

    /// The queue itself, for the [`Queue`] calls.
    fn queue(&self) -> &Self::Queue;

    /// Sends a dead task back to the queue, pending, with its attempts reset; any other
    /// task is refused ([`QueueError::NotFound`] or [`QueueError::Illegal`]).
    async fn requeue(&self, id: TaskId) -> Result<(), QueueError>;

    /// Whether the task is kept aside among the dead letters, for a person to look at.
    async fn is_dead_letter(&self, id: TaskId) -> Result<bool, QueueError>;
}

#[async_trait]
impl QueueAdmin for MemoryQueue {
    type Queue = Self;

    fn queue(&self) -> &Self {
        self
    }

    async fn requeue(&self, id: TaskId) -> Result<(), QueueError> {
        MemoryQueue::requeue(self, id)
    }

    /// The in-memory queue keeps its dead letters as the records of its dead tasks.
    async fn is_dead_letter(&self, id: TaskId) -> Result<bool, QueueError> {
        let record = self.status(id).await?;
        Ok(record.is_some_and(|r| r.state == TaskState::Dead))
    }
}

/// One behaviour of the contract, checked on a queue of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Case {
    /// First in, first out; duplicate ids refused.
    Fifo,
    /// An unrenewed lease runs out and the task is delivered again.
    LeaseExpiry,
    /// Renewals keep a lease beyond its time.
    Renewal,
    /// A late acknowledgement counts once.
    LateAck,
    /// Worker failures wait out the retry backoff.
    RetryBackoff,
    /// Attempts that run out make the task dead.
    DeadLetters,
    /// Job failures are final.
    JobFailure,
    /// A dead task sent back runs again.
    Requeue,
    /// Tasks go only to workers that can run them.
    Routing,
    /// Released tasks go first, their attempt given back.
    Release,
    /// A full queue refuses new tasks.
    Backpressure,
}

impl Case {
    /// Every case, in the order [`check_all`] runs them.
    pub const ALL: [Case; 11] = [
        Case::Fifo,
        Case::LeaseExpiry,
        Case::Renewal,
        Case::LateAck,
        Case::RetryBackoff,
        Case::DeadLetters,
        Case::JobFailure,
        Case::Requeue,
        Case::Routing,
        Case::Release,
        Case::Backpressure,
    ];

    /// The case's name, as in failure messages.
    pub fn name(self) -> &'static str {
        match self {
            Case::Fifo => "fifo",
            Case::LeaseExpiry => "lease expiry",
            Case::Renewal => "renewal",
            Case::LateAck => "late ack",
            Case::RetryBackoff => "retry backoff",
            Case::DeadLetters => "dead letters",
            Case::JobFailure => "job failure",
            Case::Requeue => "requeue",
            Case::Routing => "routing",
            Case::Release => "release",
            Case::Backpressure => "backpressure",
        }
    }

    /// The settings of the case's queue.
    pub fn config(self) -> QueueConfig {
        let base = QueueConfig {
            lease: Duration::from_secs(30),
            max_attempts: 3,
            capacity: None,
            retry_backoff: Backoff::NONE,
        };
        let short_lease = Duration::from_millis(400);
        match self {
            Case::LeaseExpiry | Case::LateAck => QueueConfig {
                lease: short_lease,
                ..base
            },
            Case::Renewal => QueueConfig {
                lease: Duration::from_millis(500),
                ..base
            },
            Case::RetryBackoff => QueueConfig {
                // Waits of 150-300 ms after the first failure, 300-600 ms after the second.
                retry_backoff: Backoff {
                    base: Duration::from_millis(300),
                    max: Duration::from_secs(10),
                },
                ..base
            },
            Case::DeadLetters => QueueConfig {
                lease: short_lease,
                max_attempts: 2,
                ..base
            },
            Case::Requeue => QueueConfig {
                max_attempts: 1,
                ..base
            },
            Case::Backpressure => QueueConfig {
                capacity: Some(2),
                ..base
            },
            Case::Fifo | Case::JobFailure | Case::Routing | Case::Release => base,
        }
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "contract case `{}`", self.name())
    }
}

/// Runs every case, each on a fresh queue from `make`, and panics at the first that fails.
pub async fn check_all<F, Fut, A>(make: F)
where
    F: Fn(QueueConfig) -> Fut,
    Fut: Future<Output = A>,
    A: QueueAdmin,
{
    for case in Case::ALL {
        check(case, &make).await;
    }
}

/// Runs one case on a fresh queue from `make`, built with [`Case::config`].
pub async fn check<F, Fut, A>(case: Case, make: F)
where
    F: Fn(QueueConfig) -> Fut,
    Fut: Future<Output = A>,
    A: QueueAdmin,
{
    let config = case.config();
    let checker = Checker {
        case,
        config,
        admin: make(config).await,
        seen: HashMap::new(),
    };
    match case {
        Case::Fifo => fifo(checker).await,
        Case::LeaseExpiry => lease_expiry(checker).await,
        Case::Renewal => renewal(checker).await,
        Case::LateAck => late_ack(checker).await,
        Case::RetryBackoff => retry_backoff(checker).await,
        Case::DeadLetters => dead_letters(checker).await,
        Case::JobFailure => job_failure(checker).await,
        Case::Requeue => requeue(checker).await,
        Case::Routing => routing(checker).await,
        Case::Release => release(checker).await,
        Case::Backpressure => backpressure(checker).await,
    }
}

/// A task running `pipeline` on a blob that need not exist: the queue never reads it.
fn task(pipeline: &str) -> Task {
    let spec = PipelineSpec::parse(pipeline).expect("the suite's pipelines are valid");
    let key = BlobKey::new("contract/in.png").expect("the suite's key is valid");
    Task::new(spec, key.clone(), key)
}

fn is_lease_lost<T>(result: &Result<T, QueueError>) -> bool {
    matches!(result, Err(QueueError::LeaseLost { .. }))
}

/// One case's queue, and the last state the case saw of each task.
struct Checker<A> {
    case: Case,
    config: QueueConfig,
    admin: A,
    seen: HashMap<TaskId, TaskState>,
}

impl<A: QueueAdmin> Checker<A> {
    fn queue(&self) -> &A::Queue {
        self.admin.queue()
    }

    /// The value of a queue call that must succeed.
    fn ok<T>(&self, what: &str, result: Result<T, QueueError>) -> T {
        result.unwrap_or_else(|error| panic!("{}: {what} failed: {error}", self.case))
    }

    /// The task's record, checking that its state is one the last state seen can become.
    async fn observe(&mut self, id: TaskId) -> TaskRecord {
        let case = self.case;
        let record = self
            .ok("status", self.queue().status(id).await)
            .unwrap_or_else(|| panic!("{case}: task {id} has no record"));
        let now = record.state;
        if let Some(before) = self.seen.insert(id, now) {
            assert!(
                before == now || before.can_become(now),
                "{case}: task {id} went from {before} to {now}, a move its lifecycle forbids"
            );
        }
        record
    }

    /// The task's record, which must be in `state`.
    async fn expect(&mut self, id: TaskId, state: TaskState, why: &str) -> TaskRecord {
        let record = self.observe(id).await;
        assert_eq!(record.state, state, "{}: {why}: {record:?}", self.case);
        record
    }

    async fn stats(&self) -> QueueStats {
        self.ok("stats", self.queue().stats().await)
    }

    /// Enqueues a task for `pipeline`; it is pending.
    async fn put(&mut self, pipeline: &str) -> TaskId {
        let result = self
            .queue()
            .enqueue(task(pipeline), Backpressure::Reject)
            .await;
        let id = self.ok("enqueue", result);
        self.expect(id, TaskState::Pending, "a new task is pending")
            .await;
        id
    }

    /// What `reserve` gives `worker` within `wait`; a task it gives is running, with its
    /// attempts counting this one.
    async fn reserve(
        &mut self,
        worker: &str,
        capabilities: &Capabilities,
        wait: Duration,
    ) -> Option<Lease> {
        let case = self.case;
        let id = WorkerId::named(worker);
        let call = self.queue().reserve(&id, capabilities, wait);
        let result = tokio::time::timeout(wait.saturating_add(DEADLINE), call)
            .await
            .unwrap_or_else(|_| panic!("{case}: reserve by {worker} outlasted its {wait:?} wait"));
        let lease = self.ok(&format!("reserve by {worker}"), result)?;
        let record = self.observe(lease.task.id).await;
        assert_eq!(
            (record.state, record.attempts, record.worker.as_ref()),
            (TaskState::Running, lease.attempt, Some(&lease.worker)),
            "{case}: a reserved task runs, held by its worker, its attempts counting this one"
        );
        Some(lease)
    }

    /// The task waiting for `worker`, who can run anything; there must be one.
    async fn take(&mut self, worker: &str) -> Lease {
        self.reserve(worker, &Capabilities::All, DEADLINE)
            .await
            .unwrap_or_else(|| panic!("{}: no task came to {worker}", self.case))
    }

    /// Fails if `reserve` gives `worker` a task within `wait`.
    async fn nothing_for(&mut self, worker: &str, capabilities: &Capabilities, wait: Duration) {
        if let Some(lease) = self.reserve(worker, capabilities, wait).await {
            panic!(
                "{}: {worker} got task {} (attempt {}), but no task should reach it now",
                self.case, lease.task.id, lease.attempt
            );
        }
    }

    /// The task that becomes free for `worker` once `min` has passed since `since`: a short
    /// look first, which must find nothing, then one that must find it within the deadline.
    /// Either fails if the task comes before `min`.
    async fn reserve_after(&mut self, worker: &str, since: Instant, min: Duration) -> Lease {
        let case = self.case;
        let short = min.saturating_sub(since.elapsed()) / 2;
        let lease = match self.reserve(worker, &Capabilities::All, short).await {
            Some(lease) => lease, // only a very slow machine gets here; checked below
            None => self
                .reserve(worker, &Capabilities::All, DEADLINE)
                .await
                .unwrap_or_else(|| {
                    panic!("{case}: the task did not come back to {worker} once {min:?} had passed")
                }),
        };
        let after = since.elapsed();
        assert!(
            after + CLOCK_SLACK >= min,
            "{case}: task {} came back to {worker} after {after:?}, before the {min:?} it must wait",
            lease.task.id
        );
        lease
    }

    /// Acknowledges `lease`; the task has succeeded.
    async fn ack(&mut self, lease: &Lease) -> Ack {
        let ack = self.ok("ack", self.queue().ack(lease).await);
        self.expect(
            lease.task.id,
            TaskState::Succeeded,
            "an acknowledged task succeeded",
        )
        .await;
        ack
    }

    /// Reports a failed attempt; the record agrees with the state `nack` returns.
    async fn nack(&mut self, lease: &Lease, error: TaskError) -> TaskState {
        let state = self.ok("nack", self.queue().nack(lease, error).await);
        self.expect(lease.task.id, state, "the record agrees with nack")
            .await;
        state
    }
}

async fn fifo<A: QueueAdmin>(mut check: Checker<A>) {
    let case = check.case;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(check.put("invert").await);
    }
    let again = Task {
        id: ids[0],
        ..task("invert")
    };
    let refused = check.queue().enqueue(again, Backpressure::Reject).await;
    assert_eq!(
        refused,
        Err(QueueError::Duplicate(ids[0])),
        "{case}: an id already queued is refused"
    );

    let mut leases = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        let lease = check.take("w").await;
        assert_eq!(
            (lease.task.id, lease.attempt),
            (*id, 1),
            "{case}: the task enqueued {n}th comes out {n}th, on its first attempt"
        );
        leases.push(lease);
    }
    check
        .nothing_for("w", &Capabilities::All, Duration::ZERO)
        .await;
    for lease in &leases {
        assert_eq!(check.ack(lease).await, Ack::Completed, "{case}: first ack");
    }
    let stats = check.stats().await;
    assert_eq!(
        (stats.enqueued, stats.succeeded),
        (5, 5),
        "{case}: {stats:?}"
    );
    assert!(stats.is_idle(), "{case}: nothing left: {stats:?}");
}

async fn lease_expiry<A: QueueAdmin>(mut check: Checker<A>) {
    let case = check.case;
    let id = check.put("blur").await;
    let since = Instant::now();
    let first = check.take("stuck").await;

    // The stuck worker never renews: the task comes back to another once the lease is over.
    let second = check
        .reserve_after("other", since, check.config.lease)
        .await;
    assert_eq!(
        (second.task.id, second.attempt),
        (id, 2),
        "{case}: the task comes back with one more attempt"
    );
    assert_eq!(check.stats().await.expired_leases, 1, "{case}: one expiry");

    // The stuck worker's lease is gone: it can no longer renew, fail or release the task.
    assert!(
        is_lease_lost(&check.queue().renew(&first).await),
        "{case}: renewing an expired lease is refused"
    );
    let late = check.queue().nack(&first, TaskError::worker("late")).await;
    assert!(
        is_lease_lost(&late),
        "{case}: failing with an expired lease is refused"
    );
    assert!(
        is_lease_lost(&check.queue().release(&first).await),
        "{case}: releasing with an expired lease is refused"
    );
    check
        .expect(id, TaskState::Running, "the other worker still holds it")
        .await;
    assert_eq!(check.ack(&second).await, Ack::Completed, "{case}");
    assert!(check.stats().await.is_idle(), "{case}: nothing left");
}

async fn renewal<A: QueueAdmin>(mut check: Checker<A>) {
    let case = check.case;
    let lease_time = check.config.lease;
    let id = check.put("invert").await;
    let since = Instant::now();
    let lease = check.take("w").await;

    // Renewed every quarter lease, the task stays with its worker for twice the lease
    // time; the other worker's waits are the clock.
    while since.elapsed() < lease_time * 2 {
        check
            .nothing_for("other", &Capabilities::All, lease_time / 4)
            .await;
        let expires = check.ok("renew", check.queue().renew(&lease).await);
        assert!(
            expires > Utc::now(),
            "{case}: a renewed lease ends in the future"
        );
    }
    let stats = check.stats().await;
    assert_eq!(
        (stats.in_flight, stats.expired_leases),
        (1, 0),
        "{case}: {stats:?}"
    );
    let record = check
        .expect(id, TaskState::Running, "still held by its worker")
        .await;
    assert_eq!(record.attempts, 1, "{case}: still the first attempt");
    assert_eq!(check.ack(&lease).await, Ack::Completed, "{case}");
}

async fn late_ack<A: QueueAdmin>(mut check: Checker<A>) {
    let case = check.case;
    let id = check.put("edges").await;
    let since = Instant::now();
    let slow = check.take("slow").await;
    let fast = check.reserve_after("fast", since, check.config.lease).await;
    assert_eq!((fast.task.id, fast.attempt), (id, 2), "{case}");

    // The slow worker finishes first, after its lease ran out: its result counts.
    assert_eq!(
        check.ack(&slow).await,
        Ack::Completed,
        "{case}: a late result counts while another worker runs the task"
    );
    assert_eq!(
        check.ack(&fast).await,
        Ack::Duplicate,
        "{case}: the second result is a duplicate"
    );
    assert_eq!(
        check.ack(&slow).await,
        Ack::Duplicate,
        "{case}: so is a repeated one"
    );
    assert!(
        is_lease_lost(&check.queue().renew(&fast).await),
        "{case}: a finished task's lease cannot be renewed"
    );
    let stats = check.stats().await;
    assert_eq!(stats.succeeded, 1, "{case}: counted once: {stats:?}");
    assert!(stats.is_idle(), "{case}: nothing left: {stats:?}");
}

async fn retry_backoff<A: QueueAdmin>(mut check: Checker<A>) {
    let case = check.case;
    let backoff = check.config.retry_backoff;
    let id = check.put("sharpen").await;
    let first = check.take("w").await;
    // Enqueued before the failure, so its place ahead of the retry does not depend on how
    // long the test takes.
    let other = check.put("sharpen").await;
    let since = Instant::now();
    let state = check.nack(&first, TaskError::worker("crashed")).await;
    assert_eq!(state, TaskState::Retrying, "{case}: attempts are left");
    let stats = check.stats().await;
    assert_eq!(
        (stats.waiting, stats.in_flight, stats.retried),
        (2, 0, 1),
        "{case}: a retrying task counts as waiting: {stats:?}"
    );

    // The waiting task does not wait behind the one in its backoff.
    let lease = check.take("w").await;
    assert_eq!(lease.task.id, other, "{case}: the waiting task goes first");
    check.ack(&lease).await;

    let second = check.reserve_after("w", since, backoff.delay(1, 0.0)).await;
    assert_eq!((second.task.id, second.attempt), (id, 2), "{case}");
    let since = Instant::now();
    check
        .nack(&second, TaskError::worker("crashed again"))
        .await;
    // The second wait is twice the first.
    let third = check.reserve_after("w", since, backoff.delay(2, 0.0)).await;
    assert_eq!((third.task.id, third.attempt), (id, 3), "{case}");
    assert_eq!(check.ack(&third).await, Ack::Completed, "{case}");
    let stats = check.stats().await;
    assert_eq!(
        (stats.retried, stats.succeeded),
        (2, 2),
        "{case}: {stats:?}"
    );
    assert!(stats.is_idle(), "{case}: nothing left: {stats:?}");
}

async fn dead_letters<A: QueueAdmin>(mut check: Checker<A>) {
    let case = check.case;
    // Two worker failures use up the two attempts.
    let crashing = check.put("median").await;
    let lease = check.take("w").await;
    check.nack(&lease, TaskError::worker("crashed")).await;
    // Without a backoff the retry is there at once.
    let lease = check
        .reserve("w", &Capabilities::All, Duration::ZERO)
        .await
        .unwrap_or_else(|| panic!("{case}: with Backoff::NONE a retry is there at once"));
    assert_eq!((lease.task.id, lease.attempt), (crashing, 2), "{case}");
    let state = check.nack(&lease, TaskError::worker("crashed again")).await;
    assert_eq!(state, TaskState::Dead, "{case}: no attempts left");
    let record = check.observe(crashing).await;
    let error = record.error.as_ref();
    assert_eq!(
        (
            record.attempts,
            error.map(|e| e.kind),
            error.map(|e| e.message.as_str())
        ),
        (2, Some(FailureKind::Worker), Some("crashed again")),
        "{case}: a dead task keeps its last error"
    );
    check
        .nothing_for("w", &Capabilities::All, Duration::ZERO)
        .await;
    let dead = check.ok("is_dead_letter", check.admin.is_dead_letter(crashing).await);
    assert!(dead, "{case}: the dead task is among the dead letters");

    // Two leases that run out use them up too.
    let hanging = check.put("median").await;
    let since = Instant::now();
    check.take("stuck").await;
    let lease = check
        .reserve_after("stuck", since, check.config.lease)
        .await;
    assert_eq!((lease.task.id, lease.attempt), (hanging, 2), "{case}");
    // Polls (each a short reserve, which must find nothing) until the last lease is over.
    let deadline = Instant::now() + DEADLINE;
    loop {
        check
            .nothing_for("other", &Capabilities::All, Duration::from_millis(50))
            .await;
        if check.observe(hanging).await.state == TaskState::Dead {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{case}: a task whose last lease ran out did not die within {DEADLINE:?}"
        );
    }
    let record = check.observe(hanging).await;
    assert_eq!(
        (record.attempts, record.error.map(|e| e.kind)),
        (2, Some(FailureKind::Worker)),
        "{case}: a lost lease is a worker failure"
    );
    let dead = check.ok("is_dead_letter", check.admin.is_dead_letter(hanging).await);
    assert!(dead, "{case}: the dead task is among the dead letters");

    let stats = check.stats().await;
    assert_eq!(
        (stats.dead, stats.retried, stats.expired_leases),
        (2, 2, 2),
        "{case}: {stats:?}"
    );
    assert!(stats.is_idle(), "{case}: nothing left: {stats:?}");
}

async fn job_failure<A: QueueAdmin>(mut check: Checker<A>) {
    let case = check.case;
    let id = check.put("edges").await;
    let lease = check.take("w").await;
    let state = check.nack(&lease, TaskError::job("not an image")).await;
    assert_eq!(state, TaskState::Failed, "{case}: a job failure is final");
    let record = check.observe(id).await;
    assert_eq!(
        (record.attempts, record.error.map(|e| e.kind)),
        (1, Some(FailureKind::Job)),
        "{case}: one attempt, and why it failed"
    );
    check
        .nothing_for("w", &Capabilities::All, Duration::from_millis(100))
        .await;
    let dead = check.ok("is_dead_letter", check.admin.is_dead_letter(id).await);
    assert!(!dead, "{case}: a failed task is not a dead letter");
    let again = check.queue().nack(&lease, TaskError::job("twice")).await;
    assert!(
        is_lease_lost(&again),
        "{case}: a finished attempt cannot fail again"
    );
    let stats = check.stats().await;
    assert_eq!(
        (stats.failed, stats.retried, stats.dead),
        (1, 0, 0),
        "{case}: {stats:?}"
    );
    assert!(stats.is_idle(), "{case}: nothing left: {stats:?}");
}

async fn requeue<A: QueueAdmin>(mut check: Checker<A>) {
    let case = check.case;
    let id = check.put("grayscale").await;
    let lease = check.take("w").await;
    let state = check.nack(&lease, TaskError::worker("out of memory")).await;
    assert_eq!(state, TaskState::Dead, "{case}: its only attempt failed");

    let unknown = TaskId::new();
    assert_eq!(
        check.admin.requeue(unknown).await,
        Err(QueueError::NotFound(unknown)),
        "{case}: an unknown task cannot be requeued"
    );
    check.ok("requeue", check.admin.requeue(id).await);
    let record = check
        .expect(id, TaskState::Pending, "a requeued task is pending")
        .await;
    assert_eq!(
        (record.attempts, record.error),
        (0, None),
        "{case}: its attempts and error are reset"
    );
    let lease = check.take("w").await;
    assert_eq!(
        (lease.task.id, lease.attempt),
        (id, 1),
        "{case}: it runs again from its first attempt"
    );
    assert_eq!(check.ack(&lease).await, Ack::Completed, "{case}");

    let refused = check.admin.requeue(id).await;
    assert!(
        matches!(refused, Err(QueueError::Illegal(_))),
        "{case}: only a dead task goes back, not a succeeded one: {refused:?}"
    );
    check
        .expect(
            id,
            TaskState::Succeeded,
            "a refused requeue changes nothing",
        )
        .await;
}

async fn routing<A: QueueAdmin>(mut check: Checker<A>) {
    let case = check.case;
    let sharpen = check.put("sharpen|edges").await;
    let resize = check.put("resize:width=10|blur").await;
    let resizer: Capabilities = "resize,blur,brightness".parse().expect("known filters");
    let lease = check
        .reserve("resizer", &resizer, DEADLINE)
        .await
        .unwrap_or_else(|| panic!("{case}: the resizer gets the task it can run"));
    assert_eq!(
        lease.task.id, resize,
        "{case}: the resizer gets the resize task, though it is not the oldest"
    );
    check.ack(&lease).await;
    check
        .nothing_for("resizer", &resizer, Duration::from_millis(200))
        .await;
    check
        .expect(sharpen, TaskState::Pending, "it waits for a capable worker")
        .await;

    let edges: Capabilities = "sharpen,edges".parse().expect("known filters");
    let lease = check
        .reserve("edges", &edges, DEADLINE)
        .await
        .unwrap_or_else(|| panic!("{case}: a worker that can run it gets it"));
    assert_eq!(lease.task.id, sharpen, "{case}");
    check.ack(&lease).await;
    assert!(check.stats().await.is_idle(), "{case}: nothing left");
}

async fn release<A: QueueAdmin>(mut check: Checker<A>) {
    let case = check.case;
    let first = check.put("invert").await;
    let second = check.put("invert").await;
    let lease = check.take("w").await;
    assert_eq!(lease.task.id, first, "{case}");
    check.ok("release", check.queue().release(&lease).await);
    let record = check
        .expect(first, TaskState::Pending, "a released task waits again")
        .await;
    assert_eq!(
        (record.attempts, record.error),
        (0, None),
        "{case}: without a failure, its attempt given back"
    );

    let again = check.take("w2").await;
    assert_eq!(
        (again.task.id, again.attempt),
        (first, 1),
        "{case}: a released task goes first, and its attempt did not count"
    );
    assert!(
        is_lease_lost(&check.queue().release(&lease).await),
        "{case}: an old lease cannot release the task"
    );
    check.ack(&again).await;
    let lease = check.take("w").await;
    assert_eq!(lease.task.id, second, "{case}");
    check.ack(&lease).await;
    let stats = check.stats().await;
    assert_eq!(
        (stats.succeeded, stats.retried, stats.expired_leases),
        (2, 0, 0),
        "{case}: {stats:?}"
    );
}

async fn backpressure<A: QueueAdmin>(mut check: Checker<A>) {
    let case = check.case;
    check.put("blur").await;
    check.put("blur").await;
    let refused = task("blur");
    let refused_id = refused.id;
    assert_eq!(
        check.queue().enqueue(refused, Backpressure::Reject).await,
        Err(QueueError::Full { capacity: 2 }),
        "{case}: a full queue refuses a new task"
    );
    let record = check.ok("status", check.queue().status(refused_id).await);
    assert!(record.is_none(), "{case}: a refused task leaves no record");
    assert_eq!(check.stats().await.capacity, Some(2), "{case}");

    // A reserved task makes room.
    let lease = check.take("w").await;
    check.put("blur").await;
    // A retry goes back whatever the count: refusing it would lose it.
    let state = check.nack(&lease, TaskError::worker("crashed")).await;
    assert_eq!(state, TaskState::Retrying, "{case}");
    let stats = check.stats().await;
    assert_eq!(
        (stats.waiting, stats.in_flight),
        (3, 0),
        "{case}: {stats:?}"
    );
    let full = check
        .queue()
        .enqueue(task("blur"), Backpressure::Reject)
        .await;
    assert_eq!(
        full,
        Err(QueueError::Full { capacity: 2 }),
        "{case}: still full"
    );

    for _ in 0..3 {
        let lease = check.take("w").await;
        check.ack(&lease).await;
    }
    let stats = check.stats().await;
    assert_eq!(
        (stats.enqueued, stats.succeeded),
        (3, 3),
        "{case}: {stats:?}"
    );
    assert!(stats.is_idle(), "{case}: nothing left: {stats:?}");
}
