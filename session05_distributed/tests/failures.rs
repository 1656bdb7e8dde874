//! Failure handling on a real redis-server: worker failures wait out a growing backoff,
//! job failures are final, a task out of attempts becomes a dead letter with its history,
//! and `requeue` sends it back.

mod common;

use std::time::Duration;

use common::run;
use common::session04::{flags, task};
use redis::AsyncCommands;
use session03_workers::{
    Backoff, Backpressure, BlobKey, Capabilities, Lease, Queue, TaskError, TaskState, WorkerId,
};
use session04_redis::cli::QueueArgs;
use session04_redis::{RedisQueue, RedisServer};

/// The queue's flags in namespace `failures`, with a backoff short enough to wait out.
fn backoff_flags(server: &RedisServer) -> QueueArgs {
    let mut flags = flags(server, "failures");
    flags.retry.retry_backoff = 0.4;
    flags.retry.retry_backoff_max = 10.0;
    flags.max_attempts = 3;
    flags
}

async fn take(queue: &RedisQueue, wait: Duration) -> Option<Lease> {
    queue
        .reserve(&WorkerId::named("w"), &Capabilities::All, wait)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_failures_back_off_then_dead_letter_with_history_and_requeue() {
    let server = RedisServer::start().unwrap();
    let args = backoff_flags(&server);
    let (queue, _) = args.open().await.unwrap();
    assert_eq!(
        queue.config().queue.retry_backoff,
        Backoff {
            base: Duration::from_millis(400),
            max: Duration::from_secs(10)
        }
    );
    let input = BlobKey::new("in/x.png").unwrap();
    let id = queue
        .enqueue(task("blur", &input), Backpressure::Reject)
        .await
        .unwrap();

    // When the task may run again, by Redis's clock, in ms.
    let mut retry_at: Option<i64> = None;
    for attempt in 1..=3 {
        let lease = take(&queue, Duration::from_secs(10))
            .await
            .expect("the task comes back after its backoff");
        assert_eq!(lease.attempt, attempt);
        if let Some(retry_at) = retry_at {
            let started = queue.status(id).await.unwrap().unwrap().started_at.unwrap();
            assert!(
                started.timestamp_millis() >= retry_at,
                "retried before its backoff: started at {started}, not before {retry_at} ms"
            );
        }
        let state = queue
            .nack(&lease, TaskError::worker(format!("store down ({attempt})")))
            .await
            .unwrap();
        if attempt < 3 {
            assert_eq!(state, TaskState::Retrying);
            let at: Option<i64> = queue
                .connection()
                .hget(format!("failures:task:{id}"), "retry_at")
                .await
                .unwrap();
            retry_at = Some(at.expect("a task waiting out its backoff has a retry time"));
            // Half of 0.4 s to all of it, doubled per failure.
            let history = queue.history(id).await.unwrap();
            let line = history.last().unwrap();
            let delay: u64 = line
                .rsplit_once("retry in ")
                .and_then(|(_, ms)| ms.strip_suffix(" ms")?.parse().ok())
                .unwrap_or_else(|| panic!("no delay in {line:?}"));
            let full = 400 << (attempt - 1);
            assert!((full / 2..=full).contains(&delay), "{line}");
        } else {
            assert_eq!(state, TaskState::Dead);
        }
    }

    let letters = queue.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter.task, id.to_string());
    assert!(
        letter.reason.contains("no attempts left"),
        "{}",
        letter.reason
    );
    assert_eq!(letter.history.len(), 3, "{:?}", letter.history);
    for (n, line) in letter.history.iter().enumerate() {
        assert!(
            line.starts_with(&format!("attempt {} by w@", n + 1))
                && line.contains(&format!("store down ({})", n + 1)),
            "{line}"
        );
    }
    assert!(
        letter.history[0].contains("retry in "),
        "{}",
        letter.history[0]
    );

    // `requeue` sends it back with fresh attempts; its history stays.
    let url = server.url();
    let (ok, stdout, _) = run(&[
        "requeue",
        "--all",
        "--redis-url",
        &url,
        "--namespace",
        "failures",
    ]);
    assert!(ok, "{stdout}");
    assert!(
        stdout.contains(&format!("{id}: back in the queue")),
        "{stdout}"
    );
    let lease = take(&queue, Duration::from_secs(10)).await.unwrap();
    assert_eq!(lease.attempt, 1);
    let history = queue.history(id).await.unwrap();
    assert!(
        history.last().unwrap().starts_with("requeued"),
        "{history:?}"
    );

    // A job failure is final at once, whatever attempts are left.
    assert_eq!(
        queue
            .nack(&lease, TaskError::job("not an image"))
            .await
            .unwrap(),
        TaskState::Failed
    );
    assert!(take(&queue, Duration::from_millis(700)).await.is_none());

    // Requeueing a task that is not dead says so and fails.
    let dead = id.to_string();
    let (ok, _, stderr) = run(&[
        "requeue",
        &dead,
        "--redis-url",
        &url,
        "--namespace",
        "failures",
    ]);
    assert!(!ok);
    assert!(stderr.contains("failed"), "{stderr}");
}
