//! What tools read and do beside the workers: counts per state and class, task lists,
//! dead letters, history, requeue, expiring a demo's namespace, and purging one.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::AsyncCommands;
use serde::Serialize;
use session03_workers::{QueueError, TaskId, TaskState};

use super::reply::{lines, time_of};
use super::{GROUP, RedisQueue, millis, record, unavailable};
use crate::functions::QUEUE;

/// Keys asked for per `SCAN` step, and deleted per `UNLINK`.
const PURGE_BATCH: usize = 500;

/// An entry that went to the dead letters, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    /// Its id in the dead-letter stream.
    pub entry: String,
    /// The task's id, when it had one.
    pub task: String,
    /// Why no worker could finish it.
    pub reason: String,
    /// What the entry held, as written.
    pub payload: String,
    /// When it was buried.
    pub at: Option<DateTime<Utc>>,
    /// Its attempts that did not succeed, oldest first: who held each and how it ended.
    pub history: Vec<String>,
}

impl RedisQueue {
    /// How many tasks are in each state (finished ones while their records are kept).
    pub async fn counts(&self) -> Result<BTreeMap<TaskState, u64>, QueueError> {
        let mut pipe = self.trim_finished();
        for state in TaskState::ALL {
            pipe.zcard(self.keys.state(state));
        }
        let counts: Vec<u64> = QUEUE
            .run_pipeline(&self.conn, &pipe)
            .await
            .map_err(unavailable)?;
        Ok(TaskState::ALL.into_iter().zip(counts).collect())
    }

    /// For each capability class with a stream, how many of its tasks no worker has taken
    /// yet; a class is its distinct filter names joined by `+` (see
    /// [`class_of`](super::class_of)).
    pub async fn waiting_by_class(&self) -> Result<BTreeMap<String, u64>, QueueError> {
        let mut conn = self.conn.clone();
        let classes: Vec<String> = conn
            .zrange(self.keys.classes(), 0, -1)
            .await
            .map_err(unavailable)?;
        if classes.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut pipe = redis::pipe();
        // A class whose group is not there yet answers XPENDING with an error: per command.
        pipe.ignore_errors();
        for class in &classes {
            let stream = self.keys.stream(class);
            pipe.xlen(&stream);
            pipe.cmd("XPENDING").arg(&stream).arg(GROUP);
        }
        let replies: Vec<redis::Value> = pipe.query_async(&mut conn).await.map_err(unavailable)?;
        let mut waiting = BTreeMap::new();
        for (class, pair) in classes.into_iter().zip(replies.chunks_exact(2)) {
            let length: u64 = redis::from_redis_value(pair[0].clone()).unwrap_or(0);
            // XPENDING's summary starts with the number of pending entries (or an error
            // when the group is not created yet: nothing is pending then).
            let pending: u64 = match &pair[1] {
                redis::Value::Array(summary) => summary
                    .first()
                    .and_then(|v| redis::from_redis_value(v.clone()).ok())
                    .unwrap_or(0),
                _ => 0,
            };
            waiting.insert(class, length.saturating_sub(pending));
        }
        Ok(waiting)
    }

    /// The state of each task of `ids` (`None` for an unknown one), in one round trip.
    pub async fn states(
        &self,
        ids: impl IntoIterator<Item = TaskId>,
    ) -> Result<Vec<Option<TaskState>>, QueueError> {
        let ids: Vec<TaskId> = ids.into_iter().collect();
        // Redis refuses an empty pipeline: no ids, no round trip.
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for &id in &ids {
            pipe.hget(self.keys.task(id), "state");
        }
        let mut conn = self.conn.clone();
        let states: Vec<Option<String>> = pipe.query_async(&mut conn).await.map_err(unavailable)?;
        ids.iter()
            .zip(states)
            .map(|(id, state)| {
                state
                    .map(|state| {
                        state
                            .parse()
                            .map_err(|_| record::malformed(*id, "state", &state))
                    })
                    .transpose()
            })
            .collect()
    }

    /// A pipeline that starts by trimming the final states' indexes to the retention. A
    /// task only trims the index of the state it enters (cheap on the hot path), so another
    /// index can hold ids whose records expired until a reader trims it here, in Redis, by
    /// the clock that scored the indexes.
    fn trim_finished(&self) -> redis::Pipeline {
        let mut pipe = redis::pipe();
        pipe.add_command(
            QUEUE
                .call("imgq_trim", &[])
                .arg(&self.config.namespace)
                .arg(self.retention_ms())
                .to_owned(),
        )
        .ignore();
        pipe
    }

    /// Up to `limit` task ids in `state`, oldest first.
    pub async fn list(&self, state: TaskState, limit: usize) -> Result<Vec<TaskId>, QueueError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut pipe = self.trim_finished();
        let stop = isize::try_from(limit).unwrap_or(isize::MAX) - 1;
        pipe.zrange(self.keys.state(state), 0, stop);
        let (ids,): (Vec<String>,) = QUEUE
            .run_pipeline(&self.conn, &pipe)
            .await
            .map_err(unavailable)?;
        ids.iter()
            .map(|id| {
                id.parse().map_err(|_| {
                    QueueError::Malformed(format!("the {state} index holds {id:?}, not a task id"))
                })
            })
            .collect()
    }

    /// How many entries the dead-letter stream holds.
    pub async fn dead_letter_count(&self) -> Result<u64, QueueError> {
        let mut conn = self.conn.clone();
        conn.xlen(self.keys.dead()).await.map_err(unavailable)
    }

    /// The `limit` newest dead letters, newest first.
    pub async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, QueueError> {
        let mut conn = self.conn.clone();
        let reply: redis::streams::StreamRangeReply = conn
            .xrevrange_count(self.keys.dead(), "+", "-", limit)
            .await
            .map_err(unavailable)?;
        Ok(reply
            .ids
            .into_iter()
            .map(|entry| {
                let get = |name: &str| entry.get::<String>(name).unwrap_or_default();
                DeadLetter {
                    task: get("id"),
                    reason: get("reason"),
                    payload: get("payload"),
                    at: get("at").parse().ok().and_then(time_of),
                    history: lines(&get("history")),
                    entry: entry.id.clone(),
                }
            })
            .collect())
    }

    /// The consumer (worker process) that ran each task of `ids` last, in one round trip.
    pub async fn consumers(&self, ids: &[TaskId]) -> Result<Vec<Option<String>>, QueueError> {
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.hget(self.keys.task(*id), "consumer");
        }
        let mut conn = self.conn.clone();
        pipe.query_async(&mut conn).await.map_err(unavailable)
    }

    /// A task's attempts that did not succeed, oldest first (the last 20).
    pub async fn history(&self, id: TaskId) -> Result<Vec<String>, QueueError> {
        let mut conn = self.conn.clone();
        let text: Option<String> = conn
            .hget(self.keys.task(id), "history")
            .await
            .map_err(unavailable)?;
        Ok(lines(&text.unwrap_or_default()))
    }

    /// Sends a dead task back to the queue, with its attempts reset.
    pub async fn requeue(&self, id: TaskId) -> Result<(), QueueError> {
        let reply: String = self
            .run(
                QUEUE
                    .call("imgq_requeue", &[])
                    .arg(&self.config.namespace)
                    .arg(id.to_string()),
            )
            .await?;
        match reply.as_str() {
            "ok" => Ok(()),
            "not_found" => Err(QueueError::NotFound(id)),
            state => Err(QueueError::Illegal(
                session03_workers::task::IllegalTransition {
                    task: id,
                    from: state
                        .parse()
                        .map_err(|_| record::malformed(id, "state", state))?,
                    to: TaskState::Pending,
                },
            )),
        }
    }

    /// Makes every key of the namespace expire after `ttl`: for a demo that ran on
    /// someone's Redis, so it leaves nothing behind for long.
    pub async fn expire_namespace(&self, ttl: Duration) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let pattern = self.keys.everything();
        let keys: Vec<String> = {
            let mut iter = conn
                .scan_match::<_, String>(&pattern)
                .await
                .map_err(unavailable)?;
            let mut keys = Vec::new();
            while let Some(key) = iter.next_item().await {
                keys.push(key.map_err(unavailable)?);
            }
            keys
        };
        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.pexpire(key, i64::try_from(millis(ttl)).unwrap_or(i64::MAX))
                .ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await.map_err(unavailable)
    }

    // ANCHOR: purge
    /// Deletes every key of the namespace (tasks, streams, results, images, and what later
    /// sessions keep there) and returns how many went. Keys are found with `SCAN`, a step
    /// at a time, never `KEYS`, which would stall Redis for everyone while it walks the
    /// whole keyspace; they go with `UNLINK`, which frees their memory in the background.
    /// Workers still running may write new keys as it goes: stop them first.
    pub async fn purge(&self) -> Result<u64, QueueError> {
        let mut conn = self.conn.clone();
        let pattern = self.keys.everything();
        let mut cursor = 0_u64;
        let mut deleted = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(PURGE_BATCH)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            if !keys.is_empty() {
                let gone: u64 = conn.unlink(&keys).await.map_err(unavailable)?;
                deleted += gone;
            }
            if next == 0 {
                self.forget_classes();
                return Ok(deleted);
            }
            cursor = next;
        }
    }
    // ANCHOR_END: purge
}
