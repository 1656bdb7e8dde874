//! The registry and capability routing with real worker processes on a real redis-server:
//! workers register and beat, tasks go only to workers that can run them, a task nobody
//! can run waits and says why, and a killed worker turns gone while its tasks finish
//! elsewhere.

mod common;

use std::process::Child;
use std::sync::Arc;
use std::time::Duration;

use common::session04::{eventually, exit_status, flags, namespace, sigterm, task, tiny_png};
use common::spawn_worker;
use session03_workers::{Backpressure, BlobKey, BlobStore, Queue, TaskId, TaskState};
use session04_redis::cli::QueueArgs;
use session04_redis::server::Children;
use session04_redis::{RedisBlobStore, RedisQueue, RedisServer};
use session05_distributed::registry::{WorkerState, WorkerView};
use session05_distributed::worker::HeartbeatArgs;
use session05_distributed::workers::{Report, WorkersArgs, report};

/// Beats every 0.2 s, gone after 1 s of silence, leases of 1 s: drills in seconds.
const FAST: &[&str] = &["--heartbeat", "0.2", "--heartbeat-ttl", "1", "--lease", "1"];

struct Lab {
    server: RedisServer,
    flags: QueueArgs,
    queue: RedisQueue,
    blobs: Arc<RedisBlobStore>,
    input: BlobKey,
}

impl Lab {
    async fn start() -> Self {
        let server = RedisServer::start().unwrap();
        let mut flags = flags(&server, &namespace());
        flags.lease = 1.0;
        let (queue, blobs) = flags.open().await.unwrap();
        let input = BlobKey::new("inputs/tiny.png").unwrap();
        blobs.put(&input, tiny_png().into()).await.unwrap();
        Self {
            server,
            flags,
            queue,
            blobs,
            input,
        }
    }

    fn worker(&self, capabilities: &str, extra: &[&str]) -> Child {
        let args = [&["--capabilities", capabilities], FAST, extra].concat();
        spawn_worker(&self.server.url(), &self.flags.namespace, &args)
    }

    async fn submit(&self, pipeline: &str) -> TaskId {
        let task = task(pipeline, &self.input);
        let id = task.id;
        self.queue
            .enqueue(task, Backpressure::Reject)
            .await
            .unwrap();
        id
    }

    async fn report(&self) -> Report {
        let args = WorkersArgs {
            queue: self.flags.clone(),
            heartbeat: HeartbeatArgs {
                interval: 0.2,
                ttl: 1.0,
            },
            json: false,
        };
        report(&args).await.unwrap()
    }

    async fn state(&self, id: TaskId) -> TaskState {
        self.queue.status(id).await.unwrap().unwrap().state
    }

    /// Polls the registry report until `check` holds, for at most `limit`.
    async fn until(&self, limit: Duration, what: &str, check: impl Fn(&Report) -> bool) -> Report {
        eventually(limit, what, || async {
            let report = self.report().await;
            check(&report).then_some(report)
        })
        .await
    }

    async fn until_state(&self, id: TaskId, want: TaskState, limit: Duration) {
        let what = format!("task {id} to be {want:?}");
        eventually(limit, &what, || async {
            (self.state(id).await == want).then_some(())
        })
        .await;
    }
}

fn by_pid(report: &Report, child: &Child) -> Option<WorkerView> {
    report
        .workers
        .iter()
        .find(|w| w.info.pid == child.id())
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_go_to_capable_workers_and_the_rest_wait_with_a_reason() {
    let lab = Lab::start().await;
    let mut children = Children(Vec::new());
    children.0.push(lab.worker("resize,blur,brightness", &[]));
    children.0.push(lab.worker("sharpen,edges", &[]));
    let report = lab
        .until(Duration::from_secs(20), "two live workers", |r| {
            r.workers.iter().filter(|w| w.state.is_live()).count() == 2
        })
        .await;
    for w in &report.workers {
        assert_eq!(w.info.version, env!("CARGO_PKG_VERSION"));
        assert!(w.info.concurrency >= 1 && !w.info.host.is_empty());
    }

    let blur = lab.submit("blur:sigma=1|brightness:factor=1.2").await;
    let edges = lab.submit("edges").await;
    let median = lab.submit("median").await;
    let both = lab.submit("blur|sharpen").await;
    lab.until_state(blur, TaskState::Succeeded, Duration::from_secs(20))
        .await;
    lab.until_state(edges, TaskState::Succeeded, Duration::from_secs(20))
        .await;

    // Each finished task was done by the worker that can run it, and by no other.
    let report = lab
        .until(Duration::from_secs(5), "both counters in a beat", |r| {
            r.workers.iter().map(|w| w.beat.succeeded).sum::<u64>() == 2
        })
        .await;
    let resizer = by_pid(&report, &children.0[0]).unwrap();
    let sharpener = by_pid(&report, &children.0[1]).unwrap();
    assert_eq!((resizer.beat.succeeded, sharpener.beat.succeeded), (1, 1));
    assert_eq!(resizer.beat.failed + sharpener.beat.failed, 0);

    // The other two wait, each with its reason, and stay queued.
    let reasons: Vec<(String, Option<String>)> = report
        .waiting
        .iter()
        .map(|w| (w.class.clone(), w.reason.clone()))
        .collect();
    assert!(
        reasons.contains(&(
            "median".to_owned(),
            Some("no live worker can run median".to_owned())
        )),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&(
            "blur+sharpen".to_owned(),
            Some("no live worker can run blur and sharpen together".to_owned())
        )),
        "{reasons:?}"
    );
    assert_eq!(lab.state(median).await, TaskState::Pending);
    assert_eq!(lab.state(both).await, TaskState::Pending);
    let rendered = session05_distributed::workers::render(&report);
    assert!(
        rendered.contains("1 tasks of class median wait: no live worker can run median"),
        "{rendered}"
    );

    // A worker that can run everything arrives: the waiting tasks run, nothing waits.
    children.0.push(lab.worker("all", &[]));
    lab.until_state(median, TaskState::Succeeded, Duration::from_secs(20))
        .await;
    lab.until_state(both, TaskState::Succeeded, Duration::from_secs(20))
        .await;
    let report = lab
        .until(Duration::from_secs(5), "no waiting class", |r| {
            r.waiting.is_empty()
        })
        .await;
    assert_eq!(report.workers.len(), 3);
    assert!(
        lab.blobs
            .get(&BlobKey::new(format!("results/{both}.png")).unwrap())
            .await
            .is_ok()
    );

    // A clean stop shows as gone at once, with no wait for the TTL.
    sigterm(&mut children.0[1]);
    assert!(exit_status(&mut children.0[1], Duration::from_secs(30)).success());
    let report = lab.report().await;
    assert_eq!(
        by_pid(&report, &children.0[1]).unwrap().state,
        WorkerState::Gone
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_tasks_finish_elsewhere_and_it_turns_gone() {
    let lab = Lab::start().await;
    let mut children = Children(Vec::new());
    // Slow work on purpose, so the worker is killed holding both tasks.
    children
        .0
        .push(lab.worker("all", &["--concurrency", "2", "--delay", "30"]));
    let first = lab.submit("blur").await;
    let second = lab.submit("sharpen").await;
    let report = lab
        .until(
            Duration::from_secs(20),
            "the slow worker holding both",
            |r| {
                r.workers
                    .first()
                    .is_some_and(|w| w.state == WorkerState::Busy && w.beat.current.len() == 2)
            },
        )
        .await;
    let mut held = report.workers[0].beat.current.clone();
    held.sort();
    let mut submitted = vec![first, second];
    submitted.sort();
    assert_eq!(held, submitted);

    children.0[0].kill().unwrap();
    children.0[0].wait().unwrap();
    let dead = children.0[0].id();
    // Silent: stale first, then gone past the TTL.
    lab.until(Duration::from_secs(10), "the killed worker gone", |r| {
        r.workers
            .iter()
            .any(|w| w.info.pid == dead && w.state == WorkerState::Gone)
    })
    .await;

    children.0.push(lab.worker("all", &[]));
    for id in [first, second] {
        lab.until_state(id, TaskState::Succeeded, Duration::from_secs(20))
            .await;
        let record = lab.queue.status(id).await.unwrap().unwrap();
        assert_eq!(record.attempts, 2, "{id} ran again after the kill");
    }
    let report = lab.report().await;
    let survivor = by_pid(&report, &children.0[1]).unwrap();
    assert!(survivor.state.is_live());
    let survivor = lab
        .until(Duration::from_secs(5), "the survivor's counters", |r| {
            by_pid(r, &children.0[1]).is_some_and(|w| w.beat.succeeded == 2)
        })
        .await;
    assert!(by_pid(&survivor, &children.0[1]).is_some());
}
