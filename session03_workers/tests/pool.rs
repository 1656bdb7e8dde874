//! The worker pool with real workers on a real runtime: exactly-once completion under load,
//! panics, timeouts, graceful shutdown, health and statistics, and real images end to end.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::{DEADLINE, eventually, idle, put};
use session02_pipelines::PipelineSpec;
use session03_workers::{
    Ack, Backoff, Backpressure, BlobKey, BlobStore, Capabilities, FailureKind, ImageWorker, Lease,
    MemoryBlobStore, MemoryQueue, PoolConfig, Queue, QueueConfig, QueueError, QueueStats,
    ShutdownReport, Task, TaskError, TaskId, TaskRecord, TaskState, Worker, WorkerId, WorkerPool,
    worker::run_blocking,
};
use tokio::sync::watch;

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
        // Retries at once, so tests see them without waiting out a backoff.
        retry_backoff: Backoff::NONE,
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
    idle(&*queue).await;
    // Nothing runs any more: only a stuck worker could outlast this grace.
    let report = stop(pool, Duration::from_secs(30)).await;
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
    idle(&*queue).await;

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
    idle(&*queue).await;
    let state = queue.status(later).await.unwrap().unwrap().state;
    assert_eq!(state, TaskState::Succeeded);
    stop(pool, Duration::from_secs(5)).await;
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
    idle(&*queue).await;

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
    stop(pool, Duration::from_secs(5)).await;
}

/// Shuts `pool` down with `grace`, failing the test should the pool not stop soon after.
async fn stop(pool: WorkerPool, grace: Duration) -> ShutdownReport {
    tokio::time::timeout(grace + DEADLINE, pool.shutdown(grace))
        .await
        .expect("the pool stops soon after its grace")
}

/// Waits until the pool has recorded `n` finished attempts: the queue goes idle at the
/// acknowledgement, a moment before the pool counts it.
async fn until_processed(pool: &WorkerPool, n: u64) {
    eventually(&format!("{n} attempts are counted"), || async {
        pool.stats().processed >= n
    })
    .await;
}

/// Waits until `n` tasks are running.
async fn until_in_flight(queue: &MemoryQueue, n: usize) {
    eventually(&format!("{n} tasks run"), || async {
        queue.stats().await.unwrap().in_flight >= n
    })
    .await;
}

// Paused time: the tasks' work and the shutdown's grace run on one clock, so which ends
// first is decided by their lengths, not by how busy the machine is.
#[tokio::test(start_paused = true)]
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
    let report = stop(pool, Duration::from_secs(10)).await;
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
    let report = stop(pool, Duration::from_millis(50)).await;
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
    idle(&*queue).await;
    stop(pool, Duration::from_secs(5)).await;
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
    idle(&*queue).await;
    stop(pool, Duration::from_secs(5)).await;
    let record = queue.status(id).await.unwrap().unwrap();
    assert_eq!((record.state, record.attempts), (TaskState::Succeeded, 1));
    assert_eq!(queue.stats().await.unwrap().expired_leases, 0);
    assert_eq!(slow.runs.lock().unwrap()[&id], 1);
}

/// Fails with a queue error on its first calls, as an unreachable backend would. A
/// reserve hands the task over, then holds its answer back, as if still on the network,
/// until `reply` is true.
#[derive(Debug)]
struct Flaky {
    inner: MemoryQueue,
    failures_left: AtomicUsize,
    reply: watch::Sender<bool>,
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
        // The sender lives in `self`, so this ends only when `reply` turns true.
        let _ = self.reply.subscribe().wait_for(|&sent| sent).await;
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
        reply: watch::Sender::new(false),
    });
    let id = put(&*queue, "").await;
    let worker = Arc::new(Counting::default());
    let pool = WorkerPool::start(queue.clone(), worker.clone(), pool_config(1));
    eventually("the queue hands the task over", || async {
        queue.inner.stats().await.unwrap().in_flight == 1
    })
    .await;

    // Shutdown begins while the answer is on its way; only then does it arrive.
    let handle = pool.stats_handle();
    let shutdown = tokio::spawn(stop(pool, Duration::from_secs(5)));
    eventually("shutdown begins", || async { handle.is_shutting_down() }).await;
    queue.reply.send_replace(true);
    shutdown.await.unwrap();

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
        reply: watch::Sender::new(true),
    });
    let pool = WorkerPool::start(queue.clone(), Arc::new(Counting::default()), pool_config(1));
    eventually("the health names the queue's failure", || async {
        let health = pool.health();
        health
            .reasons
            .iter()
            .any(|r| r.contains("connection refused"))
    })
    .await;
    let health = pool.health();
    assert!(health.live && !health.ready, "{health:?}");

    queue.failures_left.store(0, Ordering::SeqCst);
    let id = put(&*queue, "").await;
    idle(&*queue).await;
    assert_eq!(
        queue.status(id).await.unwrap().unwrap().state,
        TaskState::Succeeded
    );
    let health = pool.health();
    assert!(health.ready, "{health:?}");

    stop(pool, Duration::from_secs(5)).await;
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
    idle(&*queue).await;
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
    stop(pool, Duration::from_secs(5)).await;
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
    idle(&*queue).await;
    stop(pool, Duration::from_secs(5)).await;

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
