//! What the Redis tests share: a queue on a real redis-server, tasks, waiting for processes.
//! Session 05's tests compile this file too, so it names none of this package's binaries.
#![allow(dead_code)] // each test binary uses its own share of these

use std::future::Future;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use session01_image_basics::{encode, samples};
use session02_pipelines::PipelineSpec;
use session03_workers::{Backoff, BlobKey, QueueConfig, Task};
use session04_redis::cli::QueueArgs;
use session04_redis::{RedisBlobStore, RedisOptions, RedisQueue, RedisQueueConfig, RedisServer};

/// A fresh namespace, so tests sharing a server never see each other's keys.
pub fn namespace() -> String {
    format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

/// A queue on `server` with `lease` and three attempts, in namespace `ns`.
pub async fn queue(server: &RedisServer, ns: &str, lease: Duration) -> RedisQueue {
    queue_at(&server.url(), ns, lease).await
}

/// A queue (a consumer of its own) at `url`.
pub async fn queue_at(url: &str, ns: &str, lease: Duration) -> RedisQueue {
    let config = RedisQueueConfig {
        queue: QueueConfig {
            lease,
            max_attempts: 3,
            capacity: Some(10_000),
            // Retries at once, so tests see them without waiting out a backoff.
            retry_backoff: Backoff::NONE,
        },
        namespace: ns.to_owned(),
        retention: Duration::from_secs(3600),
        sweep_every: Duration::from_millis(100),
        class_idle: Duration::from_secs(300),
    };
    RedisQueue::connect(&RedisOptions::new(url), config)
        .await
        .unwrap()
}

/// The blob store the binaries use for namespace `ns` on `queue`'s Redis.
pub fn blobs(queue: &RedisQueue, ns: &str) -> RedisBlobStore {
    RedisBlobStore::new(queue.connection(), ns, Duration::from_secs(3600), 32 << 20)
}

/// A task running `pipeline` from `input` to `results/<id>.png`.
pub fn task(pipeline: &str, input: &BlobKey) -> Task {
    let mut task = Task::new(
        PipelineSpec::parse(pipeline).unwrap(),
        input.clone(),
        input.clone(),
    );
    task.output = BlobKey::new(format!("results/{}.png", task.id)).unwrap();
    task
}

/// A small generated PNG.
pub fn tiny_png() -> Vec<u8> {
    let image = image::DynamicImage::ImageRgb8(samples::generate(24, 16));
    encode(&image, image::ImageFormat::Png).unwrap()
}

/// Polls `check` until it returns `Some`, failing the test after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits for `child` to exit, failing the test after `limit`.
pub fn exit_status(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "process {} did not exit within {limit:?}",
            child.id()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends SIGTERM to `child`, as `docker stop` does.
pub fn sigterm(child: &mut Child) {
    session04_redis::server::terminate(child).unwrap();
}

/// Flags for the binaries on `server`, namespace `ns`.
pub fn flags(server: &RedisServer, ns: &str) -> QueueArgs {
    let mut flags = QueueArgs::for_url(&server.url());
    flags.namespace = ns.to_owned();
    flags
}
