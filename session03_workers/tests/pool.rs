//! The worker pool with real workers on a real runtime: exactly-once completion under load,
//! panics, timeouts, graceful shutdown, health and statistics, and real images end to end.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::put;
use session02_pipelines::PipelineSpec;
use session03_workers::queue::wait_idle;
use session03_workers::{
    Ack, Backpressure, BlobKey, BlobStore, Capabilities, FailureKind, ImageWorker, Lease,
    MemoryBlobStore, MemoryQueue, PoolConfig, Queue, QueueConfig, QueueError, QueueStats, Task,
    TaskError, TaskId, TaskRecord, TaskState, Worker, WorkerId, WorkerPool, worker::run_blocking,
};

fn pool_config(workers: usize) -> PoolConfig {
    PoolConfig {
        workers,
        task_timeout: Duration::from_secs(30),
        poll: Duration::from_millis(50),
    }
}

fn queue_with(lease: Duration, max_attempts: u32) -> Arc<MemoryQueue> {
    Arc::new(MemoryQueue::new(QueueConfig {
        lease,
        max_attempts,
        capacity: None,
    }))
}

/// Counts how many times each task ran, and can be told to misbehave.
#[derive(Default)]
struct Counting {
    runs: Mutex<HashMap<TaskId, usize>>,
    sleep: Duration,
}

#[async_trait]
impl Worker for Counting {
    async fn process(&self, task: &Task) -> Result<(), TaskError> {
        if !self.sleep.is_zero() {
            tokio::time::sleep(self.sleep).await;
        }
        *self.runs.lock().unwrap().entry(task.id).or_default() += 1;
        match task.filters().next() {
            Some("invert") => panic!("the invert stage exploded"),
            // A panic in CPU work on a blocking thread, as in a filter of `ImageWorker`.
            Some("grayscale") => {
                run_blocking(|| -> Result<(), TaskError> {
                    panic!("a filter panicked on its blocking thread")
                })
                .await
            }
            Some("threshold") => Err(TaskError::job("threshold refused this image")),
            Some("median") => {
                // Hangs far beyond any timeout; only the pool's timeout ends it.
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_tasks_through_eight_workers_each_complete_exactly_once() {
    let queue = Arc::new(MemoryQueue::new(QueueConfig {
        capacity: Some(500),
        ..QueueConfig::default()
    }));
    let worker = Arc::new(Counting::default());
    let pool = WorkerPool::start(queue.clone(), worker.clone(), pool_config(8));
    let mut ids = Vec::new();
    for _ in 0..10_000 {
        ids.push(put(&*queue, "").await);
    }
    wait_idle(&*queue, Duration::from_millis(5)).await.unwrap();
    let report = pool.shutdown(Duration::from_secs(5)).await;
    assert!(report.clean);

    {
        let runs = worker.runs.lock().unwrap();
        assert_eq!(runs.len(), 10_000, "every task ran");
        assert!(runs.values().all(|&n| n == 1), "no task ran twice");
        assert!(ids.iter().all(|id| runs.contains_key(id)));
    }
    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.succeeded, stats.enqueued), (10_000, 10_000));
    assert_eq!(report.stats.succeeded, 10_000);
    assert_eq!(report.stats.processed, 10_000);
    assert_eq!(report.stats.workers, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_task_does_not_kill_the_pool_and_ends_with_the_panic_as_reason() {
    let queue = queue_with(Duration::from_secs(30), 2);
    let worker = Arc::new(Counting::default());
    let pool = WorkerPool::start(queue.clone(), worker.clone(), pool_config(2));
    let doomed = put(&*queue, "invert").await;
    let blocking = put(&*queue, "grayscale").await;
    let mut fine = Vec::new();
    for _ in 0..20 {
        fine.push(put(&*queue, "blur").await);
    }
    wait_idle(&*queue, Duration::from_millis(5)).await.unwrap();

    let record = queue.status(doomed).await.unwrap().unwrap();
    assert_eq!(
        record.state,
        TaskState::Dead,
        "retried, then dead: {record:?}"
    );
    assert_eq!(record.attempts, 2);
    let error = record.error.unwrap();
    assert_eq!(error.kind, FailureKind::Worker);
    assert!(
        error.message.contains("the invert stage exploded"),
        "{}",
        error.message
    );
    let record = queue.status(blocking).await.unwrap().unwrap();
    assert_eq!((record.state, record.attempts), (TaskState::Dead, 2));
    let message = record.error.unwrap().message;
    assert!(
        message.contains("panicked on its blocking thread"),
        "{message}"
    );
    for id in fine {
        let state = queue.status(id).await.unwrap().unwrap().state;
        assert_eq!(state, TaskState::Succeeded);
    }
    until_processed(&pool, 24).await;
    let stats = pool.stats();
    assert_eq!((stats.succeeded, stats.retried, stats.dead), (20, 2, 2));
    assert_eq!(stats.replaced, 4, "each panicking worker is replaced");
    let health = pool.health();
    assert!(health.live && health.ready, "{health:?}");

    // The pool still works after the panics.
    let later = put(&*queue, "").await;
    wait_idle(&*queue, Duration::from_millis(5)).await.unwrap();
    let state = queue.status(later).await.unwrap().unwrap().state;
    assert_eq!(state, TaskState::Succeeded);
    pool.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_failures_fail_once_and_timeouts_are_worker_failures() {
    let queue = queue_with(Duration::from_secs(30), 2);
    let worker = Arc::new(Counting::default());
    let config = PoolConfig {
        task_timeout: Duration::from_millis(200),
        ..pool_config(2)
    };
    let pool = WorkerPool::start(queue.clone(), worker.clone(), config);
    let refused = put(&*queue, "threshold").await;
    let hanging = put(&*queue, "median").await;
    wait_idle(&*queue, Duration::from_millis(5)).await.unwrap();

    let record = queue.status(refused).await.unwrap().unwrap();
    assert_eq!((record.state, record.attempts), (TaskState::Failed, 1));
    assert_eq!(
        record.error.unwrap().message,
        "threshold refused this image"
    );
    let record = queue.status(hanging).await.unwrap().unwrap();
    assert_eq!((record.state, record.attempts), (TaskState::Dead, 2));
    let error = record.error.unwrap();
    assert!(
        error.message.contains("timed out after 200ms"),
        "{}",
        error.message
    );
    assert_eq!(error.kind, FailureKind::Worker);
    pool.shutdown(Duration::from_secs(5)).await;
}

/// Waits until the pool has recorded `n` finished attempts: the queue goes idle at the
/// acknowledgement, a moment before the pool counts it.
async fn until_processed(pool: &WorkerPool, n: u64) {
    while pool.stats().processed < n {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until `n` tasks are running.
async fn until_in_flight(queue: &MemoryQueue, n: usize) {
    while queue.stats().await.unwrap().in_flight < n {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_or_returns_every_task() {
    let queue = queue_with(Duration::from_secs(30), 3);
    let slow = Arc::new(Counting {
        sleep: Duration::from_secs(1),
        ..Counting::default()
    });
    let pool = WorkerPool::start(queue.clone(), slow.clone(), pool_config(4));
    let mut ids = Vec::new();
    for _ in 0..40 {
        ids.push(put(&*queue, "").await);
    }
    until_in_flight(&queue, 4).await;

    // A grace long enough: the four running tasks finish, nothing else starts.
    let report = pool.shutdown(Duration::from_secs(10)).await;
    assert!(report.clean);
    assert_eq!(report.released, 0);
    let stats = queue.stats().await.unwrap();
    assert_eq!(
        (stats.succeeded, stats.in_flight, stats.waiting),
        (4, 0, 36)
    );

    // A grace too short: the running tasks go back to the queue, with no failure.
    let pool = WorkerPool::start(queue.clone(), slow.clone(), pool_config(4));
    until_in_flight(&queue, 4).await;
    let report = pool.shutdown(Duration::from_millis(50)).await;
    assert!(!report.clean);
    assert_eq!(report.released, 4);
    let stats = queue.stats().await.unwrap();
    assert_eq!(
        (stats.succeeded, stats.in_flight, stats.waiting),
        (4, 0, 36)
    );
    assert_eq!((stats.retried, stats.dead), (0, 0));

    // A new pool finishes everything: nothing was lost, nothing ran twice to completion.
    let pool = WorkerPool::start(queue.clone(), Arc::new(Counting::default()), pool_config(4));
    wait_idle(&*queue, Duration::from_millis(5)).await.unwrap();
    pool.shutdown(Duration::from_secs(5)).await;
    for id in &ids {
        let state = queue.status(*id).await.unwrap().unwrap().state;
        assert_eq!(state, TaskState::Succeeded);
    }
    assert_eq!(queue.stats().await.unwrap().succeeded, 40);
}

// Paused time: renewals come on the clock the lease runs on, whatever the machine's load.
#[tokio::test(start_paused = true)]
async fn long_tasks_keep_their_lease_by_renewing_it() {
    // A 600 ms lease and a 2-second task: without renewals the task would be handed out
    // again.
    let queue = queue_with(Duration::from_millis(600), 3);
    let slow = Arc::new(Counting {
        sleep: Duration::from_secs(2),
        ..Counting::default()
    });
    let pool = WorkerPool::start(queue.clone(), slow.clone(), pool_config(2));
    let id = put(&*queue, "").await;
    wait_idle(&*queue, Duration::from_millis(5)).await.unwrap();
    pool.shutdown(Duration::from_secs(5)).await;
    let record = queue.status(id).await.unwrap().unwrap();
    assert_eq!((record.state, record.attempts), (TaskState::Succeeded, 1));
    assert_eq!(queue.stats().await.unwrap().expired_leases, 0);
    assert_eq!(slow.runs.lock().unwrap()[&id], 1);
}

/// Fails with a queue error on its first calls, as an unreachable backend would, and
/// answers a reserve after `reply_delay`, as a remote backend does.
#[derive(Debug)]
struct Flaky {
    inner: MemoryQueue,
    failures_left: AtomicUsize,
    reply_delay: Duration,
}

#[async_trait]
impl Queue for Flaky {
    async fn enqueue(&self, task: Task, b: Backpressure) -> Result<TaskId, QueueError> {
        self.inner.enqueue(task, b).await
    }
    async fn reserve(
        &self,
        worker: &WorkerId,
        capabilities: &Capabilities,
        wait: Duration,
    ) -> Result<Option<Lease>, QueueError> {
        let left = self.failures_left.load(Ordering::SeqCst);
        if left > 0 {
            self.failures_left.store(left - 1, Ordering::SeqCst);
            return Err(QueueError::Unavailable("connection refused".into()));
        }
        let reserved = self.inner.reserve(worker, capabilities, wait).await;
        // The backend has handed the task over; the answer is still on its way.
        tokio::time::sleep(self.reply_delay).await;
        reserved
    }
    async fn renew(&self, lease: &Lease) -> Result<DateTime<Utc>, QueueError> {
        self.inner.renew(lease).await
    }
    async fn ack(&self, lease: &Lease) -> Result<Ack, QueueError> {
        self.inner.ack(lease).await
    }
    async fn nack(&self, lease: &Lease, error: TaskError) -> Result<TaskState, QueueError> {
        self.inner.nack(lease, error).await
    }
    async fn release(&self, lease: &Lease) -> Result<(), QueueError> {
        self.inner.release(lease).await
    }
    async fn status(&self, id: TaskId) -> Result<Option<TaskRecord>, QueueError> {
        self.inner.status(id).await
    }
    async fn stats(&self) -> Result<QueueStats, QueueError> {
        self.inner.stats().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_handed_over_while_shutting_down_goes_back_at_once() {
    let queue = Arc::new(Flaky {
        inner: MemoryQueue::new(QueueConfig::default()),
        failures_left: AtomicUsize::new(0),
        reply_delay: Duration::from_millis(300),
    });
    let id = put(&*queue, "").await;
    let worker = Arc::new(Counting::default());
    let pool = WorkerPool::start(queue.clone(), worker.clone(), pool_config(1));
    tokio::time::sleep(Duration::from_millis(100)).await; // the reply is on its way
    pool.shutdown(Duration::from_secs(5)).await;
    let record = queue.status(id).await.unwrap().unwrap();
    assert_eq!(
        (record.state, record.attempts),
        (TaskState::Pending, 0),
        "not left running until its lease runs out"
    );
    assert!(
        worker.runs.lock().unwrap().is_empty(),
        "nor run after shutdown began"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_a_failing_queue_and_recovers() {
    let queue = Arc::new(Flaky {
        inner: MemoryQueue::new(QueueConfig::default()),
        failures_left: AtomicUsize::new(usize::MAX),
        reply_delay: Duration::ZERO,
    });
    let pool = WorkerPool::start(queue.clone(), Arc::new(Counting::default()), pool_config(1));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let health = pool.health();
    assert!(health.live && !health.ready, "{health:?}");
    assert!(
        health
            .reasons
            .iter()
            .any(|r| r.contains("connection refused")),
        "{health:?}"
    );

    queue.failures_left.store(0, Ordering::SeqCst);
    let id = put(&*queue, "").await;
    wait_idle(&*queue, Duration::from_millis(5)).await.unwrap();
    assert_eq!(
        queue.status(id).await.unwrap().unwrap().state,
        TaskState::Succeeded
    );
    let health = pool.health();
    assert!(health.ready, "{health:?}");

    pool.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_durations_throughput_and_utilisation() {
    let queue = queue_with(Duration::from_secs(30), 3);
    let worker = Arc::new(Counting {
        sleep: Duration::from_millis(20),
        ..Counting::default()
    });
    let pool = WorkerPool::start(queue.clone(), worker, pool_config(2));
    for _ in 0..20 {
        put(&*queue, "").await;
    }
    put(&*queue, "threshold").await;
    wait_idle(&*queue, Duration::from_millis(5)).await.unwrap();
    until_processed(&pool, 21).await;
    let stats = pool.stats();
    assert_eq!(
        (stats.processed, stats.succeeded, stats.failed),
        (21, 20, 1)
    );
    assert_eq!(stats.in_flight, 0);
    assert!(stats.p50_seconds >= 0.019, "tasks sleep 20 ms: {stats:?}");
    assert!(stats.p95_seconds >= stats.p50_seconds, "{stats:?}");
    assert!(stats.mean_seconds > 0.015, "{stats:?}");
    assert!(stats.throughput_per_second > 0.0, "{stats:?}");
    assert!(
        stats.utilisation > 0.0 && stats.utilisation <= 1.0,
        "{stats:?}"
    );
    let json = serde_json::to_value(&stats).unwrap();
    assert_eq!(json["succeeded"], 20);
    pool.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_workers_run_pipelines_and_fail_bad_input_as_job_failures() {
    let blobs = Arc::new(MemoryBlobStore::new());
    let photo = std::fs::read(session01_image_basics::samples::path("chelsea.png")).unwrap();
    let input = BlobKey::new("inputs/chelsea.png").unwrap();
    blobs.put(&input, photo.clone().into()).await.unwrap();
    let truncated = BlobKey::new("inputs/truncated.png").unwrap();
    blobs
        .put(&truncated, photo[..photo.len() / 3].to_vec().into())
        .await
        .unwrap();

    let queue = queue_with(Duration::from_secs(30), 3);
    let worker = Arc::new(ImageWorker::new(blobs.clone(), Default::default()));
    let pool = WorkerPool::start(queue.clone(), worker, pool_config(2));
    let spec = |text: &str| PipelineSpec::parse(text).unwrap();
    let out = |name: &str| BlobKey::new(format!("results/{name}")).unwrap();
    let cases = [
        (
            Task::new(spec("blur:sigma=2|edges"), input.clone(), out("ok.png")),
            None,
        ),
        (
            Task::new(spec("blur"), truncated, out("truncated.png")),
            Some("truncated"),
        ),
        (
            Task::new(spec("blur:sigma=999"), input.clone(), out("param.png")),
            Some("sigma"),
        ),
        (
            Task::new(
                spec("blur"),
                BlobKey::new("inputs/none.png").unwrap(),
                out("none.png"),
            ),
            Some("no blob inputs/none.png"),
        ),
        (
            Task::new(spec("blur"), input.clone(), out("result.bmp")),
            Some("bmp"),
        ),
    ];
    let mut ids = Vec::new();
    for (task, _) in &cases {
        ids.push(
            queue
                .enqueue(task.clone(), Backpressure::Wait)
                .await
                .unwrap(),
        );
    }
    wait_idle(&*queue, Duration::from_millis(5)).await.unwrap();
    pool.shutdown(Duration::from_secs(5)).await;

    for ((task, expected), id) in cases.iter().zip(ids) {
        let record = queue.status(id).await.unwrap().unwrap();
        match expected {
            None => {
                assert_eq!(record.state, TaskState::Succeeded, "{record:?}");
                let bytes = blobs.get(&task.output).await.unwrap();
                let image = image::load_from_memory(&bytes).unwrap();
                let original = image::load_from_memory(&photo).unwrap();
                assert_eq!(
                    (image.width(), image.height()),
                    (original.width(), original.height())
                );
            }
            Some(needle) => {
                assert_eq!(record.state, TaskState::Failed, "{record:?}");
                assert_eq!(record.attempts, 1, "job failures are not retried");
                let error = record.error.unwrap();
                assert_eq!(error.kind, FailureKind::Job);
                assert!(
                    error.message.to_lowercase().contains(needle),
                    "{needle:?} not in {:?}",
                    error.message
                );
                assert!(
                    blobs.get(&task.output).await.is_err(),
                    "no result for a failure"
                );
            }
        }
    }
}
