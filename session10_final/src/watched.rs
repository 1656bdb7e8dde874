//! A queue that says when a task's state changes: session 03's [`Queue`] wrapped, every
//! call passed through, and a counter bumped after each call that changes a state (a
//! task queued, taken, finished, failed or given back).
//!
//! A job's event stream waits on the counter instead of a timer, so in the embedded mode
//! it sees a job finish the moment a worker reports it. A `watch` channel remembers what
//! each reader has seen: a change between reading the job and starting to wait is not
//! lost. The changes the queue makes as time passes (a lease that ran out, a retry's
//! wait that ended) come with no call to count: a stream sees those when its wait of
//! at most [`POLL`](crate::events::POLL) ends.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use session03_workers::{
    Ack, Backpressure, Capabilities, Lease, Queue, QueueError, QueueStats, Task, TaskError, TaskId,
    TaskRecord, TaskState, WorkerId,
};
use tokio::sync::watch;

/// `Q`, with a counter of its changes.
#[derive(Debug)]
pub struct Watched<Q> {
    inner: Q,
    changes: watch::Sender<u64>,
}

impl<Q: Queue> Watched<Q> {
    /// Wraps `inner`.
    pub fn new(inner: Q) -> Self {
        Self {
            inner,
            changes: watch::Sender::new(0),
        }
    }

    /// A reader of the counter: its `changed()` wakes after the next change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Passes `result` on, counting a change when it is `Ok`.
    fn changed<T>(&self, result: Result<T, QueueError>) -> Result<T, QueueError> {
        if result.is_ok() {
            self.changes
                .send_modify(|count| *count = count.wrapping_add(1));
        }
        result
    }
}

#[async_trait]
impl<Q: Queue> Queue for Watched<Q> {
    async fn enqueue(&self, task: Task, backpressure: Backpressure) -> Result<TaskId, QueueError> {
        self.changed(self.inner.enqueue(task, backpressure).await)
    }

    async fn reserve(
        &self,
        worker: &WorkerId,
        capabilities: &Capabilities,
        wait: Duration,
    ) -> Result<Option<Lease>, QueueError> {
        let lease = self.inner.reserve(worker, capabilities, wait).await;
        if matches!(lease, Ok(Some(_))) {
            self.changes
                .send_modify(|count| *count = count.wrapping_add(1));
        }
        lease
    }

    async fn renew(&self, lease: &Lease) -> Result<DateTime<Utc>, QueueError> {
        self.inner.renew(lease).await
    }

    async fn ack(&self, lease: &Lease) -> Result<Ack, QueueError> {
        self.changed(self.inner.ack(lease).await)
    }

    async fn nack(&self, lease: &Lease, error: TaskError) -> Result<TaskState, QueueError> {
        self.changed(self.inner.nack(lease, error).await)
    }

    async fn release(&self, lease: &Lease) -> Result<(), QueueError> {
        self.changed(self.inner.release(lease).await)
    }

    async fn status(&self, id: TaskId) -> Result<Option<TaskRecord>, QueueError> {
        self.inner.status(id).await
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        self.inner.stats().await
    }
}

#[cfg(test)]
mod tests {
    use session02_pipelines::PipelineSpec;
    use session03_workers::{BlobKey, MemoryQueue, QueueConfig};

    use super::*;

    #[tokio::test]
    async fn each_call_that_changes_a_state_moves_the_counter_and_a_reading_does_not() {
        let queue = Watched::new(MemoryQueue::new(QueueConfig::default()));
        let mut changes = queue.subscribe();
        let worker = WorkerId::named("w");
        let all = Capabilities::All;
        let task = Task::new(
            "invert".parse::<PipelineSpec>().unwrap(),
            BlobKey::new("in.png").unwrap(),
            BlobKey::new("out.png").unwrap(),
        );

        let id = queue.enqueue(task, Backpressure::Reject).await.unwrap();
        assert!(changes.has_changed().unwrap(), "enqueue is a change");
        changes.borrow_and_update();

        queue.status(id).await.unwrap();
        queue.stats().await.unwrap();
        assert!(!changes.has_changed().unwrap(), "readings are not");

        let lease = queue
            .reserve(&worker, &all, Duration::ZERO)
            .await
            .unwrap()
            .unwrap();
        assert!(changes.has_changed().unwrap(), "a task taken is a change");
        changes.borrow_and_update();

        // Nothing left to take: no change.
        assert!(
            queue
                .reserve(&worker, &all, Duration::ZERO)
                .await
                .unwrap()
                .is_none()
        );
        assert!(!changes.has_changed().unwrap());

        queue.ack(&lease).await.unwrap();
        assert!(
            changes.has_changed().unwrap(),
            "a task finished is a change"
        );
        assert_eq!(
            queue.status(id).await.unwrap().unwrap().state,
            TaskState::Succeeded
        );
    }
}
