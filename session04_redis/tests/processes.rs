//! Worker *processes* against a real redis-server, and the failures a queue exists for: a
//! worker killed mid-task, Redis restarting, a poison message, Redis not there yet, and a
//! load of 5 000 tasks across three processes.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use common::{blobs, eventually, exit_status, namespace, queue, sigterm, task, tiny_png};
use redis::AsyncCommands;
use session03_workers::{BlobKey, BlobStore, Queue, TaskId, TaskState};
use session04_redis::server::{Children, free_port};
use session04_redis::submit::enqueue_all;
use session04_redis::{RedisQueue, RedisServer, ServerOptions};

const LEASE: Duration = Duration::from_secs(1);

/// Starts the `worker` binary on `url`, namespace `ns`, with extra flags, its output
/// discarded.
fn spawn_worker(url: &str, ns: &str, extra: &[&str]) -> Child {
    worker_command(url, ns, extra)
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// As [`spawn_worker`], with its log on a pipe: the caller must keep reading it, or the
/// worker blocks once the pipe is full.
fn spawn_logged_worker(url: &str, ns: &str, extra: &[&str]) -> Child {
    worker_command(url, ns, extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn worker_command(url: &str, ns: &str, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_worker"));
    command
        .args(["--redis-url", url, "--namespace", ns])
        .args(extra)
        .env("RUST_LOG", "info")
        .env_remove("REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

/// Uploads a tiny image and returns its key.
async fn upload(queue: &RedisQueue, ns: &str) -> BlobKey {
    let key = BlobKey::new("inputs/tiny.png").unwrap();
    blobs(queue, ns)
        .put(&key, Bytes::from(tiny_png()))
        .await
        .unwrap();
    key
}

async fn all_succeeded(queue: &RedisQueue, ids: &[TaskId], limit: Duration) {
    eventually(limit, "every task to succeed", || async {
        // Right after a Redis restart a call may fail once before the reconnection.
        let states = queue.states(ids.iter().copied()).await.ok()?;
        states
            .iter()
            .all(|s| *s == Some(TaskState::Succeeded))
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_held_by_a_killed_worker_completes_on_another() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let queue = queue(&server, &ns, LEASE).await;
    let input = upload(&queue, &ns).await;
    let mut workers = Children(vec![spawn_worker(
        &server.url(),
        &ns,
        &["--delay", "60", "--concurrency", "1", "--lease", "1"],
    )]);
    let id = enqueue_all(&queue, &[task("grayscale", &input)])
        .await
        .unwrap()[0];
    let first = eventually(
        Duration::from_secs(20),
        "the slow worker to take it",
        || async {
            queue
                .status(id)
                .await
                .unwrap()
                .filter(|r| r.state == TaskState::Running)
                .and_then(|r| r.worker)
        },
    )
    .await;
    workers.0[0].kill().unwrap(); // SIGKILL: no shutdown, no release
    workers.0[0].wait().unwrap();
    workers.0.push(spawn_worker(
        &server.url(),
        &ns,
        &["--concurrency", "1", "--lease", "1"],
    ));

    all_succeeded(&queue, &[id], Duration::from_secs(30)).await;
    let record = queue.status(id).await.unwrap().unwrap();
    assert_eq!(record.attempts, 2, "the killed attempt counts");
    assert_ne!(record.worker, Some(first), "another worker finished it");
    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.succeeded, stats.expired_leases), (1, 1));
    let result = blobs(&queue, &ns).get(&record.task.output).await.unwrap();
    assert!(image::load_from_memory(&result).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_with_aof_loses_nothing() {
    let mut server = RedisServer::start_with(ServerOptions {
        aof: true,
        ..ServerOptions::default()
    })
    .unwrap();
    let ns = namespace();
    let queue = queue(&server, &ns, LEASE).await;
    let input = upload(&queue, &ns).await;
    let _workers = Children(vec![spawn_worker(
        &server.url(),
        &ns,
        &["--delay", "0.1", "--concurrency", "4", "--lease", "2"],
    )]);
    let tasks: Vec<_> = (0..60).map(|_| task("grayscale", &input)).collect();
    let ids = enqueue_all(&queue, &tasks).await.unwrap();
    // Restart while some are done, some in flight and most still queued.
    eventually(Duration::from_secs(20), "the first results", || async {
        let stats = queue.stats().await.unwrap();
        (stats.succeeded >= 4 && stats.in_flight > 0).then_some(())
    })
    .await;
    server.restart().unwrap();

    all_succeeded(&queue, &ids, Duration::from_secs(60)).await;
    let stats = queue.stats().await.unwrap();
    assert_eq!(stats.enqueued, 60);
    assert_eq!(stats.succeeded, 60, "each task counted once");
    let store = blobs(&queue, &ns);
    for task in &tasks {
        assert!(
            store.get(&task.output).await.is_ok(),
            "result of {}",
            task.id
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_dead_lettered_and_the_worker_lives() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let queue = queue(&server, &ns, LEASE).await;
    let input = upload(&queue, &ns).await;
    let mut workers = Children(vec![spawn_worker(
        &server.url(),
        &ns,
        &["--concurrency", "2"],
    )]);
    let first = enqueue_all(&queue, &[task("grayscale", &input)])
        .await
        .unwrap();
    all_succeeded(&queue, &first, Duration::from_secs(20)).await;

    let mut conn = queue.connection();
    let _: String = conn
        .xadd(
            format!("{ns}:stream:grayscale"),
            "*",
            &[("task", "\u{0}\u{ff} definitely not a task")],
        )
        .await
        .unwrap();
    let after = enqueue_all(&queue, &[task("grayscale", &input)])
        .await
        .unwrap();
    all_succeeded(&queue, &after, Duration::from_secs(20)).await;

    assert!(
        workers.0[0].try_wait().unwrap().is_none(),
        "the worker is still running"
    );
    let letters = queue.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert!(
        letters[0].reason.contains("no task record"),
        "{}",
        letters[0].reason
    );
    assert!(letters[0].payload.contains("definitely not a task"));

    // SIGTERM: the worker finishes and exits cleanly.
    sigterm(&mut workers.0[0]);
    let status = exit_status(&mut workers.0[0], Duration::from_secs(30));
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_tasks_through_three_processes_each_counted_once() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let queue = queue(&server, &ns, LEASE).await;
    let input = upload(&queue, &ns).await;
    let _workers = Children(
        (0..3)
            .map(|_| spawn_worker(&server.url(), &ns, &["--concurrency", "4", "--lease", "10"]))
            .collect(),
    );
    let tasks: Vec<_> = (0..5000).map(|_| task("invert", &input)).collect();
    let ids = enqueue_all(&queue, &tasks).await.unwrap();
    assert_eq!(ids.len(), 5000);
    all_succeeded(&queue, &ids, Duration::from_secs(240)).await;

    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.enqueued, stats.succeeded), (5000, 5000));
    assert_eq!(
        (stats.waiting, stats.in_flight, stats.failed, stats.dead),
        (0, 0, 0, 0)
    );
    // Every result is there, and the work was shared.
    let mut conn = queue.connection();
    let mut pipe = redis::pipe();
    for task in &tasks {
        pipe.exists(format!("{ns}:blob:{}", task.output));
    }
    let present: Vec<bool> = pipe.query_async(&mut conn).await.unwrap();
    assert!(present.iter().all(|p| *p), "every result is stored");
    let mut consumers = std::collections::HashSet::new();
    for id in ids.iter().step_by(50) {
        let record = queue.status(*id).await.unwrap().unwrap();
        assert_eq!(record.attempts, 1);
        consumers.insert(record.worker.unwrap());
    }
    assert!(
        consumers.len() > 3,
        "slots of several processes took part: {consumers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_started_before_redis_waits_for_it() {
    let port = free_port().unwrap();
    let url = format!("redis://127.0.0.1:{port}");
    let ns = namespace();
    let mut workers = Children(vec![spawn_logged_worker(
        &url,
        &ns,
        &["--concurrency", "1"],
    )]);
    let stderr = workers.0[0].stderr.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let line = lines_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("a log line about Redis");
    assert!(line.contains("Redis is unreachable"), "{line}");
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
    assert!(
        workers.0[0].try_wait().unwrap().is_none(),
        "it waits, it does not exit"
    );

    let server = RedisServer::start_with(ServerOptions {
        port: Some(port),
        ..ServerOptions::default()
    })
    .unwrap();
    let queue = queue(&server, &ns, LEASE).await;
    let input = upload(&queue, &ns).await;
    let ids = enqueue_all(&queue, &[task("grayscale", &input)])
        .await
        .unwrap();
    all_succeeded(&queue, &ids, Duration::from_secs(30)).await;
    let seen: Vec<String> = lines_rx.try_iter().collect();
    assert!(
        seen.iter().any(|l| l.contains("connected to Redis")),
        "{seen:?}"
    );
}
