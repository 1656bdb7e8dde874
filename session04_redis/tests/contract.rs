//! The Redis queue against session 03's queue contract (`session03_workers::contract`), the
//! suite the in-memory queue passes too: a test per case, each on a redis-server of its
//! own, so a case where Redis differs can be ignored with the reason.

mod common;

use std::time::Duration;

use async_trait::async_trait;
use session03_workers::contract::{Case, QueueAdmin, check};
use session03_workers::{QueueConfig, QueueError, TaskId};
use session04_redis::{RedisOptions, RedisQueue, RedisQueueConfig, RedisServer};

/// How many of the newest dead letters the check reads: more than a case makes.
const DEAD_LETTERS_READ: usize = 100;

/// The Redis queue with the admin calls the contract needs. A wrapper of this test's own:
/// a crate may implement a trait only for its own types or its own traits, and
/// `QueueAdmin` and `RedisQueue` are both another crate's.
struct Admin(RedisQueue);

#[async_trait]
impl QueueAdmin for Admin {
    type Queue = RedisQueue;

    fn queue(&self) -> &RedisQueue {
        &self.0
    }

    async fn requeue(&self, id: TaskId) -> Result<(), QueueError> {
        self.0.requeue(id).await
    }

    async fn is_dead_letter(&self, id: TaskId) -> Result<bool, QueueError> {
        let letters = self.0.dead_letters(DEAD_LETTERS_READ).await?;
        Ok(letters.iter().any(|letter| letter.task == id.to_string()))
    }
}

/// A fresh queue with `config` on the server at `url`.
async fn queue_at(url: &str, config: QueueConfig) -> Admin {
    let config = RedisQueueConfig {
        queue: config,
        namespace: common::namespace(),
        retention: Duration::from_secs(3600),
        // Expired leases are looked for often, so they come back soon after they run out.
        sweep_every: Duration::from_millis(100),
        ..RedisQueueConfig::default()
    };
    let queue = RedisQueue::connect(&RedisOptions::new(url), config)
        .await
        .unwrap();
    Admin(queue)
}

/// Runs `case` on a redis-server of its own.
async fn check_on_redis(case: Case) {
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let url = url.as_str();
    check(case, move |config| queue_at(url, config)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo() {
    check_on_redis(Case::Fifo).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_expiry() {
    check_on_redis(Case::LeaseExpiry).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal() {
    check_on_redis(Case::Renewal).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_ack() {
    check_on_redis(Case::LateAck).await;
}

// A sweep once dropped the class of a task in its backoff (its stream was empty), and a
// worker with no class never called `imgq_reserve_many`, the only caller of `promote`: this
// case found it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_backoff() {
    check_on_redis(Case::RetryBackoff).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters() {
    check_on_redis(Case::DeadLetters).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_failure() {
    check_on_redis(Case::JobFailure).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requeue() {
    check_on_redis(Case::Requeue).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing() {
    check_on_redis(Case::Routing).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release() {
    check_on_redis(Case::Release).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure() {
    check_on_redis(Case::Backpressure).await;
}
