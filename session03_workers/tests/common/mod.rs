//! What the queue and pool tests share: small tasks, one-line queue calls, and waits that
//! fail the test at a deadline instead of hanging it.
#![allow(dead_code)] // each test binary uses its own share of these

use std::future::Future;
use std::time::Duration;

use session02_pipelines::PipelineSpec;
use session03_workers::queue::wait_idle;
use session03_workers::{
    Backpressure, BlobKey, Capabilities, Lease, Queue, Task, TaskId, WorkerId,
};

/// The longest a test waits for something that should happen: far beyond what a loaded
/// machine needs, so only a regression reaches it, and then the test fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// A task running `pipeline` (text; empty for no filter) on a blob that need not exist.
pub fn task(pipeline: &str) -> Task {
    let spec = if pipeline.is_empty() {
        PipelineSpec {
            filters: Vec::new(),
        }
    } else {
        PipelineSpec::parse(pipeline).unwrap()
    };
    let key = BlobKey::new("in/x.png").unwrap();
    Task::new(spec, key.clone(), key)
}

/// Enqueues a task for `pipeline`, waiting for room.
pub async fn put(queue: &impl Queue, pipeline: &str) -> TaskId {
    queue
        .enqueue(task(pipeline), Backpressure::Wait)
        .await
        .unwrap()
}

/// The task `worker` (able to run anything) gets now, if any.
pub async fn take(queue: &impl Queue, worker: &WorkerId) -> Option<Lease> {
    queue
        .reserve(worker, &Capabilities::All, Duration::ZERO)
        .await
        .unwrap()
}

/// Waits until `queue` has nothing waiting or running, failing the test at [`DEADLINE`].
pub async fn idle<Q: Queue + ?Sized>(queue: &Q) {
    tokio::time::timeout(DEADLINE, wait_idle(queue, Duration::from_millis(5)))
        .await
        .expect("the queue did not go idle before the deadline")
        .unwrap();
}

/// Polls `check` until it holds, failing the test at [`DEADLINE`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let polls = async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    if tokio::time::timeout(DEADLINE, polls).await.is_err() {
        panic!("timed out waiting until {what}");
    }
}
