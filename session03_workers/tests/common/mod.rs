//! What the queue and pool tests share: small tasks, and one-line queue calls.
#![allow(dead_code)] // each test binary uses its own share of these

use std::time::Duration;

use session02_pipelines::PipelineSpec;
use session03_workers::{
    Backpressure, BlobKey, Capabilities, Lease, Queue, Task, TaskId, WorkerId,
};

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
