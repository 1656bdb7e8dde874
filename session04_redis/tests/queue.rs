//! The Redis queue and blob store against a real redis-server: the queue contract of
//! session 03, leases that run out, routing, dead letters, connections.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{blobs, eventually, namespace, queue, task};
use redis::AsyncCommands;
use session03_workers::{
    Ack, Backpressure, BlobError, BlobKey, BlobStore, Capabilities, FailureKind, ImageWorker,
    PoolConfig, Queue, QueueError, TaskError, TaskId, TaskState, WorkerId, WorkerPool,
};
use session04_redis::queue::GROUP;
use session04_redis::{RedisOptions, RedisQueue, RedisServer, ServerOptions, encoding};

const LEASE: Duration = Duration::from_secs(30);

fn worker(name: &str) -> WorkerId {
    WorkerId::named(name)
}

async fn reserve(queue: &RedisQueue, name: &str) -> Option<session03_workers::Lease> {
    queue
        .reserve(
            &worker(name),
            &Capabilities::All,
            Duration::from_millis(200),
        )
        .await
        .unwrap()
}

/// The stream and entry that deliver task `id`.
async fn entry_of(queue: &RedisQueue, ns: &str, id: TaskId) -> (String, String) {
    let (class, entry): (String, String) = queue
        .connection()
        .hmget(format!("{ns}:task:{id}"), &["class", "entry"])
        .await
        .unwrap();
    (format!("{ns}:stream:{class}"), entry)
}

/// Makes the delivery of task `id`, held by `holder`, look idle for `idle`, as if its
/// worker had gone that long without a renewal: Redis times a lease by that idle time.
async fn age(holder: &RedisQueue, ns: &str, id: TaskId, idle: Duration) {
    let (stream, entry) = entry_of(holder, ns, id).await;
    let claimed: Vec<String> = redis::cmd("XCLAIM")
        .arg(&stream)
        .arg(GROUP)
        .arg(holder.consumer())
        .arg(0)
        .arg(&entry)
        .arg("IDLE")
        .arg(u64::try_from(idle.as_millis()).unwrap())
        .arg("JUSTID")
        .query_async(&mut holder.connection())
        .await
        .unwrap();
    assert_eq!(claimed, [entry], "the delivery is pending");
}

/// How long the delivery of task `id` has been idle, by Redis's clock.
async fn idle_of(queue: &RedisQueue, ns: &str, id: TaskId) -> Duration {
    let (stream, entry) = entry_of(queue, ns, id).await;
    let pending: Vec<(String, String, u64, u64)> = redis::cmd("XPENDING")
        .arg(&stream)
        .arg(GROUP)
        .arg(&entry)
        .arg(&entry)
        .arg(1)
        .query_async(&mut queue.connection())
        .await
        .unwrap();
    Duration::from_millis(pending[0].2)
}

/// How many function calls Redis has run: each queue call is one.
async fn function_calls(queue: &RedisQueue) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut queue.connection())
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("cmdstat_fcall:calls="))
        .and_then(|rest| rest.split(',').next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_goes_round_trip_through_redis() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let queue = queue(&server, &ns, LEASE).await;
    let store = Arc::new(blobs(&queue, &ns));
    let input = BlobKey::new("inputs/chelsea.png").unwrap();
    let photo = std::fs::read(session01_image_basics::samples::path("chelsea.png")).unwrap();
    store.put(&input, photo.into()).await.unwrap();

    let pool = WorkerPool::start(
        Arc::new(queue.clone()),
        Arc::new(ImageWorker::new(store.clone(), Default::default())),
        PoolConfig {
            workers: 2,
            ..PoolConfig::default()
        },
    );
    let task = task("blur:sigma=2|edges", &input);
    let id = queue
        .enqueue(task.clone(), Backpressure::Wait)
        .await
        .unwrap();
    let record = eventually(Duration::from_secs(20), "the task to finish", || async {
        queue
            .status(id)
            .await
            .unwrap()
            .filter(|r| r.state.is_final())
    })
    .await;
    pool.shutdown(Duration::from_secs(5)).await;

    assert_eq!(record.state, TaskState::Succeeded, "{:?}", record.error);
    assert_eq!(record.attempts, 1);
    assert_eq!(*record.task, task, "the task comes back as it went in");
    assert!(record.started_at.is_some() && record.finished_at >= record.started_at);
    let result = store.get(&task.output).await.unwrap();
    let image = image::load_from_memory(&result).unwrap();
    assert_eq!((image.width(), image.height()), (451, 300));
    let stats = queue.stats().await.unwrap();
    assert_eq!(
        (
            stats.enqueued,
            stats.succeeded,
            stats.waiting,
            stats.in_flight
        ),
        (1, 1, 0, 0)
    );
    assert_eq!(
        queue.list(TaskState::Succeeded, 10).await.unwrap(),
        vec![id]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_is_idempotent_and_counted_once() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let queue = queue(&server, &ns, LEASE).await;
    let input = BlobKey::new("in/x.png").unwrap();
    let id = queue
        .enqueue(task("grayscale", &input), Backpressure::Wait)
        .await
        .unwrap();
    assert_eq!(
        queue
            .enqueue(
                queue
                    .status(id)
                    .await
                    .unwrap()
                    .unwrap()
                    .task
                    .as_ref()
                    .clone(),
                Backpressure::Wait
            )
            .await,
        Err(QueueError::Duplicate(id))
    );
    let lease = reserve(&queue, "a").await.unwrap();
    assert_eq!((lease.task.id, lease.attempt), (id, 1));
    assert_eq!(queue.ack(&lease).await, Ok(Ack::Completed));
    assert_eq!(queue.ack(&lease).await, Ok(Ack::Duplicate));
    assert_eq!(queue.stats().await.unwrap().succeeded, 1);
    assert!(
        reserve(&queue, "a").await.is_none(),
        "nothing is left to deliver"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_failures_retry_then_dead_letter_and_job_failures_do_not() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let queue = queue(&server, &ns, LEASE).await;
    let input = BlobKey::new("in/x.png").unwrap();
    let flaky = queue
        .enqueue(task("grayscale", &input), Backpressure::Wait)
        .await
        .unwrap();
    for attempt in 1..=3 {
        let lease = reserve(&queue, "a").await.unwrap();
        assert_eq!((lease.task.id, lease.attempt), (flaky, attempt));
        let state = queue
            .nack(&lease, TaskError::worker("disk full"))
            .await
            .unwrap();
        let expected = if attempt < 3 {
            TaskState::Retrying
        } else {
            TaskState::Dead
        };
        assert_eq!(state, expected);
        // The old receipt is spent.
        assert!(matches!(
            queue.renew(&lease).await,
            Err(QueueError::LeaseLost { .. })
        ));
    }
    let record = queue.status(flaky).await.unwrap().unwrap();
    assert_eq!((record.state, record.attempts), (TaskState::Dead, 3));
    assert_eq!(record.error.unwrap().message, "disk full");
    let letters = queue.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].task, flaky.to_string());
    assert!(
        letters[0].reason.contains("disk full"),
        "{}",
        letters[0].reason
    );

    let bad = queue
        .enqueue(task("grayscale", &input), Backpressure::Wait)
        .await
        .unwrap();
    let lease = reserve(&queue, "a").await.unwrap();
    assert_eq!(
        queue.nack(&lease, TaskError::job("not an image")).await,
        Ok(TaskState::Failed)
    );
    let record = queue.status(bad).await.unwrap().unwrap();
    assert_eq!(record.error.unwrap().kind, FailureKind::Job);
    assert!(
        reserve(&queue, "a").await.is_none(),
        "a job failure is not retried"
    );

    // A person sends the dead task back.
    queue.requeue(flaky).await.unwrap();
    let lease = reserve(&queue, "a").await.unwrap();
    assert_eq!((lease.task.id, lease.attempt), (flaky, 1));
    assert!(
        queue.requeue(bad).await.is_err(),
        "only dead tasks can be requeued"
    );
    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.retried, stats.dead, stats.failed), (2, 1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_goes_to_another_worker_and_a_late_ack_counts_once() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let lease_time = Duration::from_millis(300);
    let (first, second) = (
        queue(&server, &ns, lease_time).await,
        queue(&server, &ns, lease_time).await,
    );
    let input = BlobKey::new("in/x.png").unwrap();
    let id = first
        .enqueue(task("grayscale", &input), Backpressure::Wait)
        .await
        .unwrap();
    // Real time runs this lease out; that it holds until then is checked, on a clock the
    // test moves, in `a_renewed_lease_keeps_its_task`.
    let held = reserve(&first, "a").await.unwrap();
    let taken = eventually(Duration::from_secs(10), "the lease to run out", || async {
        reserve(&second, "b").await
    })
    .await;
    assert_eq!((taken.task.id, taken.attempt), (id, 2));
    let record = second.status(id).await.unwrap().unwrap();
    assert_eq!(record.worker, Some(worker("b")));
    assert!(record.error.unwrap().message.contains("lease expired"));
    // The first worker's renewal is refused: the task is someone else's now.
    assert!(matches!(
        first.renew(&held).await,
        Err(QueueError::LeaseLost { .. })
    ));
    // Its late result still counts, once; the second worker's is a duplicate.
    assert_eq!(first.ack(&held).await, Ok(Ack::Completed));
    assert_eq!(second.ack(&taken).await, Ok(Ack::Duplicate));
    let stats = second.stats().await.unwrap();
    assert_eq!(
        (stats.succeeded, stats.expired_leases, stats.in_flight),
        (1, 1, 0)
    );
}

// Each lease is made to look run out (`age`) rather than waited out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_that_runs_out_on_the_last_attempt_makes_the_task_dead() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let mut holder = queue(&server, &ns, LEASE).await;
    let input = BlobKey::new("in/x.png").unwrap();
    let id = holder
        .enqueue(task("grayscale", &input), Backpressure::Wait)
        .await
        .unwrap();
    let mut receipts = Vec::new();
    // Three attempts (the tests' maximum), each taken over by a new worker's sweep.
    for attempt in 1..=3 {
        let lease = reserve(&holder, &format!("w{attempt}")).await.unwrap();
        assert_eq!((lease.task.id, lease.attempt), (id, attempt));
        receipts.push(lease.receipt.clone());
        age(&holder, &ns, id, LEASE + Duration::from_secs(1)).await;
        holder = queue(&server, &ns, LEASE).await;
    }
    let unique: std::collections::BTreeSet<_> = receipts.iter().collect();
    assert_eq!(
        unique.len(),
        3,
        "each delivery has a receipt of its own: {receipts:?}"
    );

    assert!(reserve(&holder, "w4").await.is_none(), "no fourth attempt");
    let record = holder.status(id).await.unwrap().unwrap();
    assert_eq!((record.state, record.attempts), (TaskState::Dead, 3));
    let stats = holder.stats().await.unwrap();
    assert_eq!((stats.expired_leases, stats.retried, stats.dead), (3, 2, 1));
    let letters = holder.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].task, id.to_string());
    assert!(
        letters[0].reason.contains("its last lease expired"),
        "{letters:?}"
    );
    assert_eq!(letters[0].history.len(), 3, "{letters:?}");
    assert!(
        letters[0].history[2].starts_with("attempt 3 by w3@"),
        "{letters:?}"
    );
}

// The test moves Redis's clock for the lease (`age`) instead of waiting for it, so a
// busy machine cannot stretch the time between two renewals past the lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_lease_keeps_its_task() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let first = queue(&server, &ns, LEASE).await;
    let input = BlobKey::new("in/x.png").unwrap();
    let id = first
        .enqueue(task("grayscale", &input), Backpressure::Wait)
        .await
        .unwrap();
    let held = reserve(&first, "a").await.unwrap();
    // A queue that has just connected looks for expired leases on its first reserve.
    let sweeper = || queue(&server, &ns, LEASE);
    assert!(
        reserve(&sweeper().await, "b").await.is_none(),
        "the lease holds"
    );

    // Three times the lease nearly runs out, and is renewed: the task is held for more
    // than twice the lease.
    let nearly = LEASE - Duration::from_secs(5);
    for _ in 0..3 {
        age(&first, &ns, id, nearly).await;
        let expiry = first.renew(&held).await.unwrap();
        assert!(expiry > chrono::Utc::now());
        assert!(
            idle_of(&first, &ns, id).await < nearly,
            "the renewal starts the lease again"
        );
        assert!(
            reserve(&sweeper().await, "b").await.is_none(),
            "a renewed lease is not taken"
        );
    }

    // Without a renewal, the lease runs out and the task goes to another worker.
    age(&first, &ns, id, LEASE + Duration::from_secs(1)).await;
    let taken = reserve(&sweeper().await, "b")
        .await
        .expect("an expired lease is taken");
    assert_eq!((taken.task.id, taken.attempt), (id, 2));
    assert!(matches!(
        first.renew(&held).await,
        Err(QueueError::LeaseLost { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_task_comes_back_first_with_its_attempt_given_back() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let queue = queue(&server, &ns, LEASE).await;
    let input = BlobKey::new("in/x.png").unwrap();
    let first = queue
        .enqueue(task("grayscale", &input), Backpressure::Wait)
        .await
        .unwrap();
    let second = queue
        .enqueue(task("grayscale", &input), Backpressure::Wait)
        .await
        .unwrap();
    let lease = reserve(&queue, "a").await.unwrap();
    assert_eq!(lease.task.id, first);
    queue.release(&lease).await.unwrap();
    assert_eq!(
        queue.status(first).await.unwrap().unwrap().state,
        TaskState::Pending
    );
    let again = reserve(&queue, "b").await.unwrap();
    assert_eq!((again.task.id, again.attempt), (first, 1));
    assert_eq!(reserve(&queue, "b").await.unwrap().task.id, second);
    assert!(
        queue.release(&lease).await.is_err(),
        "an old receipt cannot release"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_go_only_to_workers_that_can_run_every_filter() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let queue = queue(&server, &ns, LEASE).await;
    let input = BlobKey::new("in/x.png").unwrap();
    let sharp = queue
        .enqueue(task("sharpen|blur:sigma=1", &input), Backpressure::Wait)
        .await
        .unwrap();
    let blur = queue
        .enqueue(task("blur:sigma=2", &input), Backpressure::Wait)
        .await
        .unwrap();
    let blur_only: Capabilities = "blur,resize".parse().unwrap();
    let lease = queue
        .reserve(&worker("b"), &blur_only, Duration::from_millis(300))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lease.task.id, blur);
    assert!(
        queue
            .reserve(&worker("b"), &blur_only, Duration::from_millis(300))
            .await
            .unwrap()
            .is_none(),
        "the sharpen task waits for a worker that can sharpen"
    );
    let all = queue
        .reserve(&worker("c"), &Capabilities::All, Duration::from_millis(300))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all.task.id, sharp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_or_waits() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let options = RedisOptions::new(server.url());
    let mut config = session04_redis::RedisQueueConfig {
        namespace: ns,
        ..Default::default()
    };
    config.queue.capacity = Some(2);
    let queue = RedisQueue::connect(&options, config).await.unwrap();
    let input = BlobKey::new("in/x.png").unwrap();
    for _ in 0..2 {
        queue
            .enqueue(task("grayscale", &input), Backpressure::Reject)
            .await
            .unwrap();
    }
    assert_eq!(
        queue
            .enqueue(task("grayscale", &input), Backpressure::Reject)
            .await,
        Err(QueueError::Full { capacity: 2 })
    );
    // Each try of the producer is one function call; nothing else calls one meanwhile.
    let before = function_calls(&queue).await;
    let waiting = tokio::spawn({
        let queue = queue.clone();
        let task = task("grayscale", &input);
        async move { queue.enqueue(task, Backpressure::Wait).await }
    });
    eventually(
        Duration::from_secs(10),
        "the producer to find the queue full twice",
        || async { (function_calls(&queue).await >= before + 2).then_some(()) },
    )
    .await;
    assert!(!waiting.is_finished(), "the producer waits for room");
    let lease = reserve(&queue, "a").await.unwrap();
    queue.ack(&lease).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the producer goes on once there is room")
        .unwrap()
        .unwrap();
    assert_eq!(queue.stats().await.unwrap().waiting, 2);
}

/// Adds a raw entry to the stream of class `grayscale`, as a buggy or old producer would.
async fn add_raw(queue: &RedisQueue, ns: &str, fields: &[(&str, &str)]) {
    let mut conn = queue.connection();
    let _: String = conn
        .xadd(format!("{ns}:stream:grayscale"), "*", fields)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_entries_go_to_the_dead_letters_with_the_reason() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let queue = queue(&server, &ns, LEASE).await;
    let input = BlobKey::new("in/x.png").unwrap();
    // A good task first, so the stream and its group exist.
    let good = queue
        .enqueue(task("grayscale", &input), Backpressure::Wait)
        .await
        .unwrap();
    let lease = reserve(&queue, "a").await.unwrap();
    queue.ack(&lease).await.unwrap();

    add_raw(&queue, &ns, &[("task", "{not json")]).await;
    add_raw(
        &queue,
        &ns,
        &[
            ("id", "01a2127f-908e-76bf-b6c7-40d5ad223b1a"),
            ("task", "{}"),
        ],
    )
    .await;
    let next = queue
        .enqueue(task("grayscale", &input), Backpressure::Wait)
        .await
        .unwrap();

    // The worker skips what it cannot read and goes on with the good task.
    let lease = reserve(&queue, "a").await.unwrap();
    assert_eq!(lease.task.id, next);
    assert_ne!(good, next);
    let letters = queue.dead_letters(10).await.unwrap();
    let reasons: Vec<&str> = letters.iter().map(|l| l.reason.as_str()).collect();
    assert_eq!(letters.len(), 2, "{reasons:?}");
    assert!(
        reasons.iter().all(|r| r.contains("no task record")),
        "{reasons:?}"
    );
    assert!(letters.iter().any(|l| l.payload == "{not json"));
    assert_eq!(queue.dead_letter_count().await.unwrap(), 2);
    let mut conn = queue.connection();
    let left: u64 = conn.xlen(format!("{ns}:stream:grayscale")).await.unwrap();
    assert_eq!(
        left, 1,
        "buried entries leave the stream; the leased one stays until acked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_task_is_dead_with_the_decoder_s_reason() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let queue = queue(&server, &ns, LEASE).await;
    let input = BlobKey::new("in/x.png").unwrap();
    let known = task("grayscale", &input);
    let id = queue
        .enqueue(known.clone(), Backpressure::Wait)
        .await
        .unwrap();
    // A newer submitter wrote version 7: the hash and the entry both carry it.
    let mut conn = queue.connection();
    let newer = encoding::encode(&known).replace("\"v\":1", "\"v\":7");
    let _: () = conn
        .hset(format!("{ns}:task:{id}"), "task", &newer)
        .await
        .unwrap();
    let next = queue
        .enqueue(task("grayscale", &input), Backpressure::Wait)
        .await
        .unwrap();

    let lease = reserve(&queue, "a").await.unwrap();
    assert_eq!(
        lease.task.id, next,
        "the worker goes on past the unreadable task"
    );
    let letters = queue.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].task, id.to_string());
    assert!(
        letters[0].reason.contains("unknown version 7"),
        "{}",
        letters[0].reason
    );
    let dead = queue.counts().await.unwrap()[&TaskState::Dead];
    assert_eq!(dead, 1);
    let mut conn = queue.connection();
    let state: String = conn.hget(format!("{ns}:task:{id}"), "state").await.unwrap();
    assert_eq!(state, "dead");
}

#[test]
fn the_decoder_names_what_is_wrong() {
    let cases = [
        ("{not json", "not JSON"),
        ("[1,2]", "not a JSON object"),
        (r#"{"task":{}}"#, "no version"),
        (r#"{"v":"1","task":{}}"#, "not a whole number"),
        (r#"{"v":3,"task":{}}"#, "unknown version 3"),
        (r#"{"v":1}"#, "no `task`"),
        (
            r#"{"v":1,"task":{"id":"01a2127f-908e-76bf-b6c7-40d5ad223b1a"}}"#,
            "missing field",
        ),
    ];
    for (text, expected) in cases {
        let error = encoding::decode(text).unwrap_err().to_string();
        assert!(error.contains(expected), "{text}: {error}");
    }
    let input = BlobKey::new("in/x.png").unwrap();
    let mut task = task("blur:sigma=2|edges", &input);
    let plain = encoding::encode(&task);
    assert!(plain.starts_with(r#"{"v":1,"#), "{plain}");
    assert_eq!(encoding::decode(&plain).unwrap(), task);
    // Headers make it version 2, which workers from before headers refuse by name; a
    // version 1 entry that carries headers is malformed.
    task.headers.insert("tiled-job".into(), "{}".into());
    let headed = encoding::encode(&task);
    assert!(headed.starts_with(r#"{"v":2,"#), "{headed}");
    assert_eq!(encoding::decode(&headed).unwrap(), task);
    let mislabelled = headed.replacen(r#""v":2"#, r#""v":1"#, 1);
    let error = encoding::decode(&mislabelled).unwrap_err().to_string();
    assert!(error.contains("version 1 has no headers"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_have_a_ttl_and_a_size_cap() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let queue = queue(&server, &ns, LEASE).await;
    let store = session04_redis::RedisBlobStore::new(
        queue.connection(),
        &ns,
        Duration::from_secs(60),
        1000,
    );
    let key = BlobKey::new("results/a.png").unwrap();
    store.put(&key, Bytes::from_static(b"small")).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), Bytes::from_static(b"small"));
    let ttl = store.ttl(&key).await.unwrap().unwrap();
    assert!(ttl > Duration::from_secs(50) && ttl <= Duration::from_secs(60));
    let big = Bytes::from(vec![0u8; 1001]);
    let error = store.put(&key, big.clone()).await.unwrap_err();
    assert!(
        matches!(
            error,
            BlobError::TooLarge {
                size: 1001,
                max: 1000,
                ..
            }
        ),
        "{error}"
    );
    // Written behind the store's back, a huge value is refused before it is sent.
    let mut conn = queue.connection();
    let _: () = conn
        .set(format!("{ns}:blob:results/b.png"), big.as_ref())
        .await
        .unwrap();
    let b = BlobKey::new("results/b.png").unwrap();
    assert!(matches!(
        store.get(&b).await,
        Err(BlobError::TooLarge { size: 1001, .. })
    ));
    assert!(store.delete(&key).await.unwrap());
    assert!(!store.delete(&key).await.unwrap());
    assert!(matches!(store.get(&key).await, Err(BlobError::NotFound(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_over_a_unix_socket_and_with_acl_users() {
    let server = RedisServer::start_with(ServerOptions {
        password: Some("s3cret".into()),
        ..ServerOptions::default()
    })
    .unwrap();
    let ns = namespace();
    // The password from the URL, over the Unix socket.
    let url = format!("unix://{}?pass=s3cret", server.socket().display());
    let queue = common::queue_at(&url, &ns, LEASE).await;
    let mut conn = queue.connection();
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "worker", "on", ">w0rker", "~*", "&*", "+@all"])
        .query_async(&mut conn)
        .await
        .unwrap();

    // An ACL user from the options, as REDIS_USERNAME and REDIS_PASSWORD set them.
    let mut options = RedisOptions::new(server.url());
    options.username = Some("worker".into());
    options.password = Some("w0rker".into());
    let config = session04_redis::RedisQueueConfig {
        namespace: ns.clone(),
        ..Default::default()
    };
    let other = RedisQueue::connect(&options, config.clone()).await.unwrap();
    let input = BlobKey::new("in/x.png").unwrap();
    let id = other
        .enqueue(task("grayscale", &input), Backpressure::Wait)
        .await
        .unwrap();
    assert_eq!(
        queue.status(id).await.unwrap().unwrap().state,
        TaskState::Pending
    );
    assert!(
        !format!("{options:?}").contains("w0rker"),
        "the password stays out of logs"
    );

    // A wrong password fails at once, naming the problem, instead of retrying for ever.
    options.password = Some("wrong".into());
    let error = tokio::time::timeout(
        Duration::from_secs(10),
        RedisQueue::connect(&options, config),
    )
    .await
    .expect("a refused login does not retry")
    .unwrap_err();
    assert!(error.to_string().contains("refused"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_restarted_empty_gets_its_functions_back() {
    let mut server = RedisServer::start().unwrap();
    let ns = namespace();
    let queue = queue(&server, &ns, LEASE).await;
    server.restart().unwrap(); // no persistence: the library and all keys are gone
    let input = BlobKey::new("in/x.png").unwrap();
    let id = eventually(Duration::from_secs(10), "a reconnection", || async {
        queue
            .enqueue(task("grayscale", &input), Backpressure::Wait)
            .await
            .ok()
    })
    .await;
    let lease = eventually(Duration::from_secs(10), "a delivery", || async {
        queue
            .reserve(&worker("a"), &Capabilities::All, Duration::from_millis(200))
            .await
            .ok()
            .flatten()
    })
    .await;
    assert_eq!(lease.task.id, id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_records_are_forgotten_after_the_retention() {
    let server = RedisServer::start().unwrap();
    let config = session04_redis::RedisQueueConfig {
        namespace: namespace(),
        retention: Duration::from_millis(300),
        ..Default::default()
    };
    let queue = RedisQueue::connect(&RedisOptions::new(server.url()), config)
        .await
        .unwrap();
    let input = BlobKey::new("in/x.png").unwrap();
    let done = queue
        .enqueue(task("grayscale", &input), Backpressure::Wait)
        .await
        .unwrap();
    let lease = reserve(&queue, "a").await.unwrap();
    queue.ack(&lease).await.unwrap();
    let failed = queue
        .enqueue(task("grayscale", &input), Backpressure::Wait)
        .await
        .unwrap();
    let lease = reserve(&queue, "a").await.unwrap();
    queue.nack(&lease, TaskError::job("bad")).await.unwrap();
    assert_eq!(queue.counts().await.unwrap()[&TaskState::Succeeded], 1);

    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        queue.status(done).await.unwrap(),
        None,
        "the record expired"
    );
    assert_eq!(queue.status(failed).await.unwrap(), None);
    let counts = queue.counts().await.unwrap();
    assert_eq!(
        (counts[&TaskState::Succeeded], counts[&TaskState::Failed]),
        (0, 0)
    );
    assert!(
        queue
            .list(TaskState::Succeeded, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // The counters are history, and stay.
    assert_eq!(queue.stats().await.unwrap().succeeded, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_this_version_cannot_read_is_named_malformed() {
    let server = RedisServer::start_async().await.unwrap();
    let ns = namespace();
    let queue = queue(&server, &ns, LEASE).await;
    let input = BlobKey::new("in/a.png").unwrap();
    let id = queue
        .enqueue(task("invert", &input), Backpressure::Reject)
        .await
        .unwrap();
    let mut conn = queue.connection();
    let hash = queue.keys().task(id);
    let _: () = conn.hset(&hash, "state", "paused").await.unwrap();
    let error = queue.status(id).await.unwrap_err();
    assert!(
        matches!(&error, QueueError::Malformed(m) if m.contains("`state`") && m.contains("paused")),
        "{error}"
    );
    let error = queue.states([id]).await.unwrap_err();
    assert!(matches!(error, QueueError::Malformed(_)), "{error}");
    let _: () = conn
        .hset_multiple(
            &hash,
            &[
                ("state", "failed"),
                ("error_kind", "cosmic"),
                ("error_message", "ray"),
            ],
        )
        .await
        .unwrap();
    let error = queue.status(id).await.unwrap_err();
    assert!(
        matches!(&error, QueueError::Malformed(m) if m.contains("`error_kind`")),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emptied_classes_leave_the_list_and_come_back_when_needed() {
    let server = RedisServer::start_async().await.unwrap();
    let ns = namespace();
    let mut config = common::queue(&server, &ns, LEASE).await.config().clone();
    config.class_idle = Duration::ZERO;
    let queue = RedisQueue::connect(&RedisOptions::new(server.url()), config)
        .await
        .unwrap();
    let input = BlobKey::new("in/a.png").unwrap();
    let pipelines = [
        "invert",
        "grayscale",
        "flip",
        "edges",
        "blur",
        "invert|flip",
        "grayscale|edges",
        "sharpen",
    ];
    for pipeline in pipelines {
        queue
            .enqueue(task(pipeline, &input), Backpressure::Reject)
            .await
            .unwrap();
    }
    let mut conn = queue.connection();
    let classes: u64 = conn.zcard(queue.keys().classes()).await.unwrap();
    assert_eq!(classes, pipelines.len() as u64);
    for _ in pipelines {
        let lease = reserve(&queue, "w").await.expect("a task for every class");
        queue.ack(&lease).await.unwrap();
    }
    // Nothing waits or runs, and (with no idle time allowed) no class is in use: the next
    // sweep (one at least every 100 ms while a worker waits) forgets every class and its
    // stream.
    let none = queue
        .reserve(&worker("w"), &Capabilities::All, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(none.is_none());
    let classes: u64 = conn.zcard(queue.keys().classes()).await.unwrap();
    assert_eq!(
        classes, 0,
        "emptied classes stay listed, and every sweep walks them"
    );
    let streams: u64 = conn.exists(queue.keys().stream("invert")).await.unwrap();
    assert_eq!(streams, 0);
    // A new task of a forgotten class brings it back, and a worker gets it.
    let id = queue
        .enqueue(task("invert", &input), Backpressure::Reject)
        .await
        .unwrap();
    let lease = queue
        .reserve(&worker("w"), &Capabilities::All, Duration::from_secs(10))
        .await
        .unwrap()
        .expect("the task of a class that came back");
    assert_eq!(lease.task.id, id);
}

/// `FCALL name 0 args...` straight to Redis.
async fn fcall<T: redis::FromRedisValue>(queue: &RedisQueue, name: &str, args: &[String]) -> T {
    redis::cmd("FCALL")
        .arg(name)
        .arg(0)
        .arg(args)
        .query_async(&mut queue.connection())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_call_enqueues_reserves_and_acknowledges_many_tasks_each_with_its_own_reply() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let options = RedisOptions::new(server.url());
    let mut config = session04_redis::RedisQueueConfig {
        namespace: ns.clone(),
        ..Default::default()
    };
    config.queue.capacity = Some(3);
    let queue = RedisQueue::connect(&options, config).await.unwrap();
    let input = BlobKey::new("in/x.png").unwrap();
    let first = task("grayscale", &input);
    let batch = [first.clone(), first.clone()]
        .into_iter()
        .chain((0..3).map(|_| task("grayscale", &input)))
        .collect::<Vec<_>>();
    let before = function_calls(&queue).await;
    let results = queue.enqueue_many(&batch).await.unwrap();
    assert_eq!(
        function_calls(&queue).await,
        before + 1,
        "one call for five tasks"
    );
    // In order: added, a duplicate of it, two more up to the capacity of 3, one refused.
    assert_eq!(
        results,
        [
            Ok(first.id),
            Err(QueueError::Duplicate(first.id)),
            Ok(batch[2].id),
            Ok(batch[3].id),
            Err(QueueError::Full { capacity: 3 }),
        ]
    );
    assert_eq!(queue.stats().await.unwrap().enqueued, 3);

    // Four workers ask in one call; the three tasks go to the first three, in order.
    let workers: Vec<String> = (1..=4).map(|i| format!("w{i}")).collect();
    let mut args: Vec<String> = [&ns, "consumer-1", "30000", "3", "60000", "0", "60000", "4"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    args.extend(workers.iter().cloned());
    args.push("grayscale".to_owned());
    let started: Vec<Vec<redis::Value>> = fcall(&queue, "imgq_reserve_many", &args).await;
    assert_eq!(
        started.len(),
        3,
        "a task for each of three workers, none for the fourth"
    );
    let mut ids = Vec::new();
    for (attempt, worker) in started.iter().zip(&workers) {
        let id: String = redis::from_redis_value_ref(&attempt[3]).unwrap();
        let id: TaskId = id.parse().unwrap();
        let held: String = queue
            .connection()
            .hget(format!("{ns}:task:{id}"), "worker")
            .await
            .unwrap();
        assert_eq!(&held, worker, "the i-th attempt is the i-th worker's");
        ids.push(id);
    }
    assert_eq!(ids, [first.id, batch[2].id, batch[3].id], "oldest first");
    let stats = queue.stats().await.unwrap();
    assert_eq!(
        (stats.in_flight, stats.waiting),
        (3, 0),
        "moved to the running index"
    );

    // One acknowledgement call: a task twice, and one that is not running.
    let mut args = vec![ns.clone(), "60000".to_owned()];
    args.extend([ids[0], ids[0], ids[1]].map(|id| id.to_string()));
    args.push(TaskId::new().to_string());
    let words: Vec<String> = fcall(&queue, "imgq_ack_many", &args).await;
    assert_eq!(words, ["completed", "duplicate", "completed", "lost"]);
    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.succeeded, stats.in_flight), (2, 1));
    let mut listed = queue.list(TaskState::Succeeded, 10).await.unwrap();
    listed.sort();
    let mut expected = vec![ids[0], ids[1]];
    expected.sort();
    assert_eq!(listed, expected);
    let length: usize = queue
        .connection()
        .xlen(format!("{ns}:stream:grayscale"))
        .await
        .unwrap();
    assert_eq!(
        length, 1,
        "acknowledged entries leave the stream; one is running"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slots_asking_at_once_each_get_their_own_task_and_acknowledgement() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let queue = queue(&server, &ns, LEASE).await;
    let input = BlobKey::new("in/x.png").unwrap();
    let tasks: Vec<_> = (0..100).map(|_| task("grayscale", &input)).collect();
    queue.enqueue_many(&tasks).await.unwrap();

    let mut slots = tokio::task::JoinSet::new();
    for slot in 0..64 {
        let queue = queue.clone();
        slots.spawn(async move {
            let name = format!("slot-{slot}");
            let lease = reserve(&queue, &name).await.expect("a task for every slot");
            // Redis started the attempt for this slot, not for another in the same call.
            let held: String = queue
                .connection()
                .hget(
                    format!("{}:task:{}", queue.config().namespace, lease.task.id),
                    "worker",
                )
                .await
                .unwrap();
            assert_eq!(
                (held.as_str(), &lease.worker),
                (name.as_str(), &worker(&name))
            );
            let acked = queue.ack(&lease).await.unwrap();
            (lease.task.id, acked)
        });
    }
    let mut done = Vec::new();
    while let Some(result) = slots.join_next().await {
        done.push(result.unwrap());
    }
    assert!(done.iter().all(|(_, acked)| *acked == Ack::Completed));
    let mut ids: Vec<TaskId> = done.iter().map(|(id, _)| *id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 64, "no task went to two slots");
    let stats = queue.stats().await.unwrap();
    assert_eq!(
        (stats.succeeded, stats.in_flight, stats.waiting),
        (64, 0, 36)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_previous_version_s_one_task_calls_still_work_during_a_rolling_update() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let queue = queue(&server, &ns, LEASE).await;
    let task = task("grayscale", &BlobKey::new("in/x.png").unwrap());
    let id = task.id.to_string();
    let text = |items: &[&str]| items.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let payload = encoding::encode(&task);
    let added: String = fcall(
        &queue,
        "imgq_enqueue",
        &text(&[&ns, &id, &payload, "grayscale", "-1"]),
    )
    .await;
    assert_eq!(added, "ok");
    let args = [
        &ns,
        "old-1",
        "old-worker",
        "30000",
        "3",
        "60000",
        "0",
        "60000",
    ];
    let started: Vec<redis::Value> = fcall(
        &queue,
        "imgq_reserve",
        &text(&[&args[..], &["grayscale"]].concat()),
    )
    .await;
    let how: String = redis::from_redis_value_ref(&started[0]).unwrap();
    let reserved: String = redis::from_redis_value_ref(&started[3]).unwrap();
    assert_eq!((how.as_str(), reserved.as_str()), ("read", id.as_str()));
    let (holder, consumer, started_at): (String, String, i64) = queue
        .connection()
        .hmget(
            format!("{ns}:task:{id}"),
            &["worker", "consumer", "started_at"],
        )
        .await
        .unwrap();
    assert_eq!(
        (holder.as_str(), consumer.as_str()),
        ("old-worker", "old-1")
    );
    let expiry: i64 = redis::from_redis_value_ref(&started[6]).unwrap();
    assert_eq!(
        expiry - started_at,
        30_000,
        "the lease argument is the lease"
    );
    let acked: String = fcall(&queue, "imgq_ack", &text(&[&ns, &id, "60000"])).await;
    assert_eq!(acked, "completed");
    let stats = queue.stats().await.unwrap();
    assert_eq!(
        (stats.enqueued, stats.succeeded, stats.in_flight),
        (1, 1, 0)
    );
    let nothing: Vec<redis::Value> = fcall(
        &queue,
        "imgq_reserve",
        &text(&[&args[..], &["grayscale"]].concat()),
    )
    .await;
    assert!(nothing.is_empty(), "nothing left: {nothing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_buried_in_a_grouped_reserve_gives_its_place_to_the_next_task() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let queue = queue(&server, &ns, LEASE).await;
    let input = BlobKey::new("in/x.png").unwrap();
    let first = queue
        .enqueue(task("grayscale", &input), Backpressure::Wait)
        .await
        .unwrap();
    add_raw(&queue, &ns, &[("id", "not-a-task")]).await;
    let second = queue
        .enqueue(task("grayscale", &input), Backpressure::Wait)
        .await
        .unwrap();
    let args: Vec<String> = [
        ns.as_str(),
        "consumer-1",
        "30000",
        "3",
        "60000",
        "0",
        "60000",
        "3",
        "w1",
        "w2",
        "w3",
        "grayscale",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    let started: Vec<Vec<redis::Value>> = fcall(&queue, "imgq_reserve_many", &args).await;
    let ids: Vec<String> = started
        .iter()
        .map(|attempt| redis::from_redis_value_ref(&attempt[3]).unwrap())
        .collect();
    assert_eq!(
        ids,
        [first.to_string(), second.to_string()],
        "the raw entry between them was buried, not handed out"
    );
    for (id, worker) in [(first, "w1"), (second, "w2")] {
        let recorded: String = queue
            .connection()
            .hget(format!("{ns}:task:{id}"), "worker")
            .await
            .unwrap();
        assert_eq!(
            recorded, worker,
            "the second task goes to the second worker"
        );
    }
    assert_eq!(queue.dead_letter_count().await.unwrap(), 1);
    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.in_flight, stats.waiting), (2, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_and_a_stream_without_its_group_are_errors_that_write_nothing() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let queue = queue(&server, &ns, LEASE).await;
    let text = |items: &[&str]| items.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let call = |name: &'static str, args: Vec<String>| {
        let mut conn = queue.connection();
        async move {
            redis::cmd("FCALL")
                .arg(name)
                .arg(0)
                .arg(args)
                .query_async::<redis::Value>(&mut conn)
                .await
        }
    };
    let reserve_args = |lease: &str, classes: &[&str]| {
        let mut args = text(&[
            &ns, "c-1", lease, "3", "60000", "0", "60000", "2", "w1", "w2",
        ]);
        args.extend(text(classes));
        args
    };
    for (name, args) in [
        ("imgq_reserve_many", reserve_args("soon", &["grayscale"])),
        (
            "imgq_enqueue_many",
            text(&[&ns, "-1", "an-id", "a-payload"]),
        ),
        ("imgq_ack_many", text(&[&ns, "a-day", "an-id"])),
    ] {
        let error = call(name, args).await.unwrap_err();
        assert_eq!(error.code(), Some("ERR"), "{name}: {error}");
    }
    let written: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{ns}:*"))
        .query_async(&mut queue.connection())
        .await
        .unwrap();
    assert!(written.is_empty(), "nothing written: {written:?}");

    // A stream whose group is gone: the call reads the other class, and names the missing
    // group only when no class had a task.
    let id = queue
        .enqueue(
            task("grayscale", &BlobKey::new("in/x.png").unwrap()),
            Backpressure::Wait,
        )
        .await
        .unwrap();
    let _: String = queue
        .connection()
        .xadd(format!("{ns}:stream:blur"), "*", &[("id", "x")])
        .await
        .unwrap();
    let started = call(
        "imgq_reserve_many",
        reserve_args("30000", &["blur", "grayscale"]),
    )
    .await
    .unwrap();
    let redis::Value::Array(started) = started else {
        panic!("an array of attempts: {started:?}");
    };
    let redis::Value::Array(attempt) = &started[0] else {
        panic!("an attempt: {started:?}");
    };
    let reserved: String = redis::from_redis_value_ref(&attempt[3]).unwrap();
    assert_eq!((started.len(), reserved), (1, id.to_string()));
    let error = call("imgq_reserve_many", reserve_args("30000", &["blur"]))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("NOGROUP"), "{error}");
}
