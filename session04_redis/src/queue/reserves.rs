//! Reservations in groups ([`group`](super::group)): the slots that ask for a task while
//! one `imgq_reserve_many` call is under way get theirs together from the next, one
//! `XREADGROUP` for all of them.

use std::sync::Arc;

use redis::Value;
use redis::aio::ConnectionManager;
use session03_workers::{QueueError, WorkerId};
use tracing::warn;

use super::group::Grouped;
use super::{RedisQueue, millis, unavailable};
use crate::functions::{self, QUEUE};

/// What one slot asks: a task for `worker` from `classes`, looking for expired leases
/// first when `sweep` is set.
pub(super) struct Request {
    pub(super) worker: WorkerId,
    pub(super) classes: Arc<Vec<String>>,
    pub(super) sweep: bool,
}

/// What a slot gets.
#[derive(Debug)]
pub(super) enum Reserved {
    /// An attempt started for it: the fields of `imgq_reserve_many`'s reply.
    Started(Vec<Value>),
    /// No task waiting in its classes.
    Nothing,
    /// One of its classes' streams is gone: read the classes again.
    StreamGone,
}

/// `imgq_reserve_many` for many slots at once.
pub(super) struct Reserves {
    conn: ConnectionManager,
    namespace: String,
    consumer: Arc<str>,
    lease_ms: u64,
    max_attempts: u32,
    retention_ms: u64,
    class_idle_ms: u64,
}

impl Reserves {
    /// One call for the `slots` that read the same classes.
    async fn reserve(&self, slots: &[Request]) -> Result<Vec<Reserved>, QueueError> {
        let mut cmd = QUEUE.call("imgq_reserve_many", &[]);
        let sweep = slots.iter().any(|slot| slot.sweep);
        cmd.arg(&self.namespace)
            .arg(&*self.consumer)
            .arg(self.lease_ms)
            .arg(self.max_attempts)
            .arg(self.retention_ms)
            .arg(if sweep { "1" } else { "0" })
            .arg(self.class_idle_ms)
            .arg(slots.len());
        for slot in slots {
            cmd.arg(slot.worker.as_str());
        }
        cmd.arg(&*slots[0].classes);
        let started: Vec<Value> = match QUEUE.run(&self.conn, &cmd).await {
            Err(error) if functions::is_stream_gone(&error) => {
                return Ok(slots.iter().map(|_| Reserved::StreamGone).collect());
            }
            other => other.map_err(unavailable)?,
        };
        if started.len() > slots.len() {
            return Err(QueueError::Malformed(format!(
                "{} attempts started for {} slots",
                started.len(),
                slots.len()
            )));
        }
        let mut answers: Vec<Reserved> = started
            .into_iter()
            .map(|attempt| match attempt {
                Value::Array(fields) => Ok(Reserved::Started(fields)),
                other => Err(QueueError::Malformed(format!(
                    "a started attempt's reply: {other:?}"
                ))),
            })
            .collect::<Result<_, _>>()?;
        answers.resize_with(slots.len(), || Reserved::Nothing);
        Ok(answers)
    }
}

impl Grouped for Reserves {
    type Request = Request;
    type Answer = Result<Reserved, QueueError>;

    async fn call(&self, requests: Vec<Request>) -> Vec<Self::Answer> {
        // One call per set of classes (a process's slots usually share one; each request
        // lists them in its own turn, and the first request's order is the call's), the
        // answers put back in the order of the requests.
        let set = |classes: &[String]| {
            let mut set = classes.to_vec();
            set.sort_unstable();
            set
        };
        let mut answers: Vec<Option<Self::Answer>> = requests.iter().map(|_| None).collect();
        let mut rest: Vec<(usize, Request)> = requests.into_iter().enumerate().collect();
        while !rest.is_empty() {
            let classes = set(&rest[0].1.classes);
            let (same, other): (Vec<_>, Vec<_>) = rest
                .into_iter()
                .partition(|(_, r)| set(&r.classes) == classes);
            rest = other;
            let (places, slots): (Vec<usize>, Vec<Request>) = same.into_iter().unzip();
            match self.reserve(&slots).await {
                Ok(reserved) => {
                    for (place, answer) in places.into_iter().zip(reserved) {
                        answers[place] = Some(Ok(answer));
                    }
                }
                Err(error) => {
                    for place in places {
                        answers[place] = Some(Err(error.clone()));
                    }
                }
            }
        }
        answers
            .into_iter()
            .map(|answer| answer.unwrap_or(Ok(Reserved::Nothing)))
            .collect()
    }

    /// A slot that stopped waiting: the task it was given goes back to the queue at once,
    /// as a worker shutting down releases it (otherwise it waits for its lease to run out).
    async fn unanswered(&self, answer: Self::Answer) {
        let Ok(Reserved::Started(fields)) = answer else {
            return;
        };
        let (id, receipt) = match (fields.get(3), fields.get(5)) {
            (Some(id), Some(receipt)) => (
                redis::from_redis_value_ref::<String>(id),
                redis::from_redis_value_ref::<String>(receipt),
            ),
            _ => return,
        };
        let (Ok(id), Ok(receipt)) = (id, receipt) else {
            return;
        };
        let mut cmd = QUEUE.call("imgq_release", &[]);
        cmd.arg(&self.namespace)
            .arg(&id)
            .arg(&receipt)
            .arg(&*self.consumer)
            .arg(self.lease_ms);
        if let Err(error) = QUEUE.run::<Value>(&self.conn, &cmd).await {
            warn!(%error, task = %id, "could not give back a task nobody waited for");
        }
    }
}

impl RedisQueue {
    fn reserves(&self) -> Reserves {
        Reserves {
            conn: self.conn.clone(),
            namespace: self.config.namespace.clone(),
            consumer: Arc::clone(&self.consumer),
            lease_ms: self.lease_ms(),
            max_attempts: self.config.queue.max_attempts,
            retention_ms: self.retention_ms(),
            class_idle_ms: millis(self.config.class_idle),
        }
    }

    /// One try at a task for `worker` from `classes`, in the next group's call.
    pub(super) async fn reserve_grouped(
        &self,
        worker: &WorkerId,
        classes: Arc<Vec<String>>,
        sweep: bool,
    ) -> Result<Reserved, QueueError> {
        let request = || Request {
            worker: worker.clone(),
            classes: Arc::clone(&classes),
            sweep,
        };
        if let Some(answer) = self.local.reserves.ask(request(), || self.reserves()).await {
            return answer;
        }
        // The reserving task is gone (the runtime that ran it ended): ask alone.
        let mut answers = self.reserves().reserve(&[request()]).await?;
        Ok(answers.remove(0))
    }
}
