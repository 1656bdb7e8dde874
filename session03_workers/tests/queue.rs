//! The in-memory queue against the `Queue` contract: FIFO, backpressure, leases that run
//! out, retries, idempotent completion, routing by capability, bounded memory.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{put, take, task};
use session03_workers::{
    Ack, Backoff, Backpressure, Capabilities, FailureKind, MemoryQueue, Queue, QueueConfig,
    QueueError, TaskError, TaskState, WorkerId,
};

fn queue(lease_ms: u64, max_attempts: u32, capacity: Option<usize>) -> Arc<MemoryQueue> {
    Arc::new(MemoryQueue::new(QueueConfig {
        lease: Duration::from_millis(lease_ms),
        max_attempts,
        capacity,
        // Retries at once, so tests see them without waiting out a backoff.
        retry_backoff: Backoff::NONE,
    }))
}

const NOW: Duration = Duration::ZERO;

#[tokio::test]
async fn first_in_first_out() {
    let queue = queue(10_000, 3, None);
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            queue
                .enqueue(task("invert"), Backpressure::Reject)
                .await
                .unwrap(),
        );
    }
    let worker = WorkerId::named("w");
    for id in ids {
        let lease = take(&*queue, &worker).await.unwrap();
        assert_eq!(lease.task.id, id);
        assert_eq!(lease.attempt, 1);
    }
    assert!(take(&*queue, &worker).await.is_none());
}

/// Lets every spawned task run until it blocks. Under paused time the clock moves only
/// when no task can run, so this sleep ends once every other task is waiting.
async fn until_all_wait() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_refuses_or_makes_the_producer_wait() {
    let queue = queue(10_000, 3, Some(2));
    queue.enqueue(task(""), Backpressure::Reject).await.unwrap();
    put(&*queue, "").await;
    let refused = queue.enqueue(task(""), Backpressure::Reject).await;
    assert_eq!(refused, Err(QueueError::Full { capacity: 2 }));

    let third = task("");
    let third_id = third.id;
    let producer = {
        let queue = Arc::clone(&queue);
        tokio::spawn(async move { queue.enqueue(third, Backpressure::Wait).await })
    };
    until_all_wait().await;
    assert!(
        !producer.is_finished(),
        "the producer waits while the queue is full"
    );
    assert_eq!(queue.stats().await.unwrap().waiting, 2);

    // Reserving a task makes room: the producer goes on.
    let worker = WorkerId::named("w");
    take(&*queue, &worker).await.unwrap();
    let id = tokio::time::timeout(Duration::from_secs(5), producer)
        .await
        .expect("the producer is woken when there is room")
        .unwrap()
        .unwrap();
    assert_eq!(id, third_id);
    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.waiting, stats.in_flight, stats.enqueued), (2, 1, 3));
}

// Paused time: the clock moves only when every task waits, so no delay on a busy machine
// can make a lease run out early.
#[tokio::test(start_paused = true)]
async fn an_expired_lease_returns_the_task_to_another_worker() {
    let queue = queue(100, 3, None);
    let id = put(&*queue, "blur").await;
    let stuck = WorkerId::named("stuck");
    let first = take(&*queue, &stuck).await.unwrap();
    assert!(
        queue
            .reserve(&WorkerId::named("other"), &Capabilities::All, NOW)
            .await
            .unwrap()
            .is_none()
    );

    // The other worker waits, and gets the task as soon as the stuck worker's lease ends.
    let other = WorkerId::named("other");
    let second = queue
        .reserve(&other, &Capabilities::All, Duration::from_secs(5))
        .await
        .unwrap()
        .expect("the task comes back when the lease runs out");
    assert_eq!(second.task.id, id);
    assert_eq!(second.attempt, 2);
    let record = queue.status(id).await.unwrap().unwrap();
    assert_eq!(record.state, TaskState::Running);
    assert_eq!(record.worker.as_ref(), Some(&other));
    assert_eq!(queue.stats().await.unwrap().expired_leases, 1);

    // The stuck worker's lease is gone: it can no longer renew or fail the task.
    assert!(matches!(
        queue.renew(&first).await,
        Err(QueueError::LeaseLost { .. })
    ));
    assert!(matches!(
        queue.nack(&first, TaskError::worker("late")).await,
        Err(QueueError::LeaseLost { .. })
    ));
    // Completion is idempotent: whichever finishes first completes it, once.
    assert_eq!(queue.ack(&second).await.unwrap(), Ack::Completed);
    assert_eq!(queue.ack(&first).await.unwrap(), Ack::Duplicate);
    assert_eq!(queue.ack(&second).await.unwrap(), Ack::Duplicate);
    assert_eq!(queue.stats().await.unwrap().succeeded, 1);
}

#[tokio::test(start_paused = true)]
async fn a_renewed_lease_keeps_the_task() {
    // Five renewals 300 ms apart outlive a 1-second lease several times over.
    let queue = queue(1000, 3, None);
    let id = put(&*queue, "").await;
    let worker = WorkerId::named("w");
    let lease = take(&*queue, &worker).await.unwrap();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let expires = queue.renew(&lease).await.unwrap();
        assert!(expires > chrono::Utc::now());
    }
    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.in_flight, stats.expired_leases), (1, 0));
    assert_eq!(queue.status(id).await.unwrap().unwrap().attempts, 1);
    assert_eq!(queue.ack(&lease).await.unwrap(), Ack::Completed);
}

#[tokio::test]
async fn worker_failures_retry_then_die_and_job_failures_do_not_retry() {
    let queue = queue(10_000, 2, None);
    let worker = WorkerId::named("w");
    let flaky = put(&*queue, "edges").await;
    let lease = take(&*queue, &worker).await.unwrap();
    let state = queue
        .nack(&lease, TaskError::worker("crashed"))
        .await
        .unwrap();
    assert_eq!(state, TaskState::Retrying);
    let lease = take(&*queue, &worker).await.unwrap();
    assert_eq!((lease.task.id, lease.attempt), (flaky, 2));
    let state = queue
        .nack(&lease, TaskError::worker("crashed again"))
        .await
        .unwrap();
    assert_eq!(state, TaskState::Dead);
    let record = queue.status(flaky).await.unwrap().unwrap();
    assert_eq!(record.error.unwrap().message, "crashed again");

    let bad = put(&*queue, "edges").await;
    let lease = take(&*queue, &worker).await.unwrap();
    let state = queue
        .nack(&lease, TaskError::job("not an image"))
        .await
        .unwrap();
    assert_eq!(state, TaskState::Failed);
    assert!(take(&*queue, &worker).await.is_none());
    let record = queue.status(bad).await.unwrap().unwrap();
    assert_eq!(
        (record.attempts, record.error.unwrap().kind),
        (1, FailureKind::Job)
    );

    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.retried, stats.dead, stats.failed), (1, 1, 1));
    assert!(stats.is_idle());

    // A person sends the dead task back.
    queue.requeue(flaky).unwrap();
    let lease = take(&*queue, &worker).await.unwrap();
    assert_eq!((lease.task.id, lease.attempt), (flaky, 1));
    assert!(queue.requeue(bad).is_err(), "only dead tasks go back");
}

// Paused time: the clock jumps to the next timer, so the waits below are exact.
#[tokio::test(start_paused = true)]
async fn a_retry_waits_out_its_backoff_and_an_expired_lease_does_not() {
    let backoff = Backoff {
        base: Duration::from_millis(200),
        max: Duration::from_secs(10),
    };
    let lease_time = Duration::from_secs(1);
    let queue = Arc::new(MemoryQueue::new(QueueConfig {
        lease: lease_time,
        max_attempts: 3,
        capacity: None,
        retry_backoff: backoff,
    }));
    let id = put(&*queue, "blur").await;
    let lease = take(&*queue, &WorkerId::named("w1")).await.unwrap();

    // A worker already waiting when the attempt fails wakes when the backoff ends.
    let waiter = {
        let queue = Arc::clone(&queue);
        tokio::spawn(async move {
            queue
                .reserve(
                    &WorkerId::named("w2"),
                    &Capabilities::All,
                    Duration::from_secs(30),
                )
                .await
        })
    };
    until_all_wait().await;
    let failed = tokio::time::Instant::now();
    let state = queue
        .nack(&lease, TaskError::worker("crashed"))
        .await
        .unwrap();
    assert_eq!(state, TaskState::Retrying);
    assert!(
        take(&*queue, &WorkerId::named("w3")).await.is_none(),
        "not before its backoff"
    );
    assert_eq!(queue.stats().await.unwrap().waiting, 1);
    let second = waiter.await.unwrap().unwrap().expect("the retry comes");
    let waited = failed.elapsed();
    assert_eq!((second.task.id, second.attempt), (id, 2));
    assert!(
        (backoff.delay(1, 0.0)..=backoff.delay(1, 1.0)).contains(&waited),
        "retried after {waited:?}"
    );

    // Its lease runs out: the lease was the wait, so the task is there at once.
    let taken = tokio::time::Instant::now();
    let third = queue
        .reserve(
            &WorkerId::named("w3"),
            &Capabilities::All,
            Duration::from_secs(30),
        )
        .await
        .unwrap()
        .expect("the task comes back when the lease runs out");
    assert_eq!((third.task.id, third.attempt), (id, 3));
    assert_eq!(taken.elapsed(), lease_time);
}

#[tokio::test]
async fn tasks_go_only_to_workers_that_can_run_them() {
    let queue = queue(10_000, 3, None);
    let sharpen = put(&*queue, "sharpen|edges").await;
    let resize = put(&*queue, "resize:width=10|blur").await;
    let resizer: Capabilities = "resize,blur,brightness".parse().unwrap();
    let lease = queue
        .reserve(&WorkerId::named("resizer"), &resizer, NOW)
        .await
        .unwrap()
        .expect("the resize task, though it is not the oldest");
    assert_eq!(lease.task.id, resize);
    assert!(
        queue
            .reserve(&WorkerId::named("resizer"), &resizer, NOW)
            .await
            .unwrap()
            .is_none(),
        "the sharpen task waits for a worker that can run it"
    );
    let edges: Capabilities = "sharpen,edges".parse().unwrap();
    let lease = queue
        .reserve(&WorkerId::named("edges"), &edges, NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lease.task.id, sharpen);

    let error = "blur,sharpn".parse::<Capabilities>().unwrap_err();
    assert!(error.contains("unknown filter \"sharpn\""), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_waiting_worker_wakes_when_a_task_arrives() {
    let queue = queue(10_000, 3, None);
    let waiter = {
        let queue = Arc::clone(&queue);
        tokio::spawn(async move {
            queue
                .reserve(
                    &WorkerId::named("w"),
                    &Capabilities::All,
                    Duration::from_secs(30),
                )
                .await
        })
    };
    until_all_wait().await;
    assert!(!waiter.is_finished(), "the worker waits for a task");
    let arrived = tokio::time::Instant::now();
    let id = put(&*queue, "").await;
    let lease = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("woken well before its 30 s wait ends")
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(lease.task.id, id);
    assert_eq!(
        tokio::time::Instant::now(),
        arrived,
        "woken by the task, not by a timer"
    );
}

#[tokio::test]
async fn released_tasks_wait_at_the_front_without_a_failure() {
    let queue = queue(10_000, 1, None);
    let first = put(&*queue, "").await;
    put(&*queue, "").await;
    let worker = WorkerId::named("w");
    let lease = take(&*queue, &worker).await.unwrap();
    queue.release(&lease).await.unwrap();
    let record = queue.status(first).await.unwrap().unwrap();
    assert_eq!((record.state, record.error), (TaskState::Pending, None));
    let again = take(&*queue, &worker).await.unwrap();
    assert_eq!(again.task.id, first, "released tasks go first");
    assert_eq!(again.attempt, 1, "a released attempt does not count");
    assert!(
        queue.release(&lease).await.is_err(),
        "an old lease cannot release"
    );
}

#[tokio::test]
async fn duplicate_ids_are_refused() {
    let queue = queue(10_000, 3, None);
    let task = task("");
    queue
        .enqueue(task.clone(), Backpressure::Wait)
        .await
        .unwrap();
    let error = queue
        .enqueue(task.clone(), Backpressure::Wait)
        .await
        .unwrap_err();
    assert_eq!(error, QueueError::Duplicate(task.id));
}

#[tokio::test]
async fn finished_records_are_forgotten_oldest_first() {
    let queue = Arc::new(MemoryQueue::with_retention(
        QueueConfig {
            capacity: None,
            ..QueueConfig::default()
        },
        100,
    ));
    let worker = WorkerId::named("w");
    let mut ids = Vec::new();
    for _ in 0..300 {
        ids.push(put(&*queue, "").await);
        let lease = take(&*queue, &worker).await.unwrap();
        queue.ack(&lease).await.unwrap();
    }
    assert!(
        queue.status(ids[0]).await.unwrap().is_none(),
        "the oldest is forgotten"
    );
    assert!(
        queue.status(ids[299]).await.unwrap().is_some(),
        "the newest is kept"
    );
    let kept = kept_records(&queue, &ids).await;
    assert!((100..=101).contains(&kept), "{kept} records kept");
    assert_eq!(
        queue.stats().await.unwrap().succeeded,
        300,
        "counts survive forgetting"
    );
}

async fn kept_records(queue: &MemoryQueue, ids: &[session03_workers::TaskId]) -> usize {
    let mut kept = 0;
    for id in ids {
        kept += usize::from(queue.status(*id).await.unwrap().is_some());
    }
    kept
}
