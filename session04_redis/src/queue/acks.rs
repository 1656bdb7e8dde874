//! Acknowledgements in groups ([`group`](super::group)): the slots that finished while one
//! `imgq_ack_many` call was under way are acknowledged together in the next.

use redis::aio::ConnectionManager;
use session03_workers::{QueueError, TaskId};

use super::group::Grouped;
use super::{RedisQueue, unavailable};
use crate::functions::QUEUE;

/// `imgq_ack_many` for many tasks at once.
pub(super) struct Acks {
    conn: ConnectionManager,
    namespace: String,
    retention_ms: u64,
}

impl Acks {
    /// Runs `imgq_ack_many` for `ids`; a reply word per id, in order.
    async fn ack_all(&self, ids: &[TaskId]) -> Result<Vec<String>, QueueError> {
        let mut cmd = QUEUE.call("imgq_ack_many", &[]);
        cmd.arg(&self.namespace).arg(self.retention_ms);
        for id in ids {
            cmd.arg(id.to_string());
        }
        let words: Vec<String> = QUEUE.run(&self.conn, &cmd).await.map_err(unavailable)?;
        if words.len() != ids.len() {
            return Err(QueueError::Malformed(format!(
                "{} replies to {} acknowledgements",
                words.len(),
                ids.len()
            )));
        }
        Ok(words)
    }
}

impl Grouped for Acks {
    type Request = TaskId;
    type Answer = Result<String, QueueError>;

    async fn call(&self, ids: Vec<TaskId>) -> Vec<Self::Answer> {
        match self.ack_all(&ids).await {
            Ok(words) => words.into_iter().map(Ok).collect(),
            Err(error) => vec![Err(error); ids.len()],
        }
    }

    /// A caller that stopped waiting needs no answer: its task is acknowledged.
    async fn unanswered(&self, _: Self::Answer) {}
}

impl RedisQueue {
    fn acks(&self) -> Acks {
        Acks {
            conn: self.conn.clone(),
            namespace: self.config.namespace.clone(),
            retention_ms: self.retention_ms(),
        }
    }

    /// Acknowledges task `id` in the next group; the reply word of `imgq_ack_many`.
    pub(super) async fn ack_grouped(&self, id: TaskId) -> Result<String, QueueError> {
        if let Some(word) = self.local.acks.ask(id, || self.acks()).await {
            return word;
        }
        // The acknowledging task is gone (the runtime that ran it ended): send it alone.
        self.acks()
            .ack_all(&[id])
            .await
            .map(|mut words| words.remove(0))
    }
}
