//! [`RedisQueue`]: session 03's [`Queue`] on Redis Streams, at-least-once.
//!
//! The original course popped tasks with `BRPOP`: the moment a worker popped a task, Redis
//! forgot it, so a worker that died mid-task took the task with it. A stream with a
//! consumer group remembers instead. `XREADGROUP` hands an entry to a worker *and* records
//! it in the group's pending entries list (PEL); the entry leaves the PEL only when the
//! worker acknowledges it (`XACK`). An entry that stays pending longer than the lease
//! belongs to a worker that died, hung or lost its network, and `XAUTOCLAIM` gives it to
//! another. Nothing is lost between the two: the task is always in Redis.
//!
//! | queue call | Redis |
//! |---|---|
//! | enqueue | `XADD` to the stream of the task's capability class; the task's hash, `pending` |
//! | reserve | `XAUTOCLAIM` of an expired lease first, else `XREADGROUP >`; then `BLOCK` to wait |
//! | renew | `XCLAIM ... JUSTID` by the holder: the entry's idle time starts again |
//! | ack | `XACK` + `XDEL`; the hash `succeeded`, once (a second ack is a duplicate) |
//! | nack | `XACK` + `XDEL`; a worker failure is `XADD`ed again, or dead-lettered after the last attempt |
//! | release | the entry made to look long idle, so the next sweep's `XAUTOCLAIM` takes it |
//!
//! Each row is one function of the Lua library ([`functions`]), so it is
//! atomic and one round trip. Tasks go into one stream per *capability class* (the sorted
//! set of filters they use: `blur+edges`), and a worker reads only the streams of classes
//! it can run, so no task is delivered to a worker that would have to fail it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use redis::aio::ConnectionManager;
use redis::streams::{StreamReadOptions, StreamReadReply};
use redis::{AsyncCommands, Value};
use serde::Serialize;
use session03_workers::{
    Ack, Backpressure, Capabilities, FailureKind, Lease, Queue, QueueConfig, QueueError,
    QueueStats, Task, TaskError, TaskId, TaskRecord, TaskState, WorkerId,
};
use tracing::warn;

use crate::connect::{self, MAX_BLOCK, RedisOptions};
use crate::encoding;
use crate::functions::{self, fcall};

/// The consumer group every worker reads in.
pub const GROUP: &str = "workers";

/// The class of a task with no filter.
const NO_FILTER: &str = "copy";

/// Settings of a Redis queue beyond session 03's [`QueueConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisQueueConfig {
    /// Lease, attempts and capacity, as for every queue.
    pub queue: QueueConfig,
    /// The prefix of every key, so several queues (or courses) share one Redis.
    pub namespace: String,
    /// How long a finished task's record stays (its hash expires after it).
    pub retention: Duration,
    /// How often a worker looks for expired leases, and for new capability classes.
    pub sweep_every: Duration,
}

impl Default for RedisQueueConfig {
    /// Session 03's defaults, namespace `imgq`, records kept a day, a sweep every second.
    fn default() -> Self {
        Self {
            queue: QueueConfig::default(),
            namespace: "imgq".to_owned(),
            retention: Duration::from_secs(24 * 3600),
            sweep_every: Duration::from_secs(1),
        }
    }
}

/// A task queue in Redis; clone it freely (clones share the connection and the consumer).
#[derive(Clone)]
pub struct RedisQueue {
    conn: ConnectionManager,
    /// Opens the connections for blocking reads.
    client: redis::Client,
    options: Arc<RedisOptions>,
    config: Arc<RedisQueueConfig>,
    /// This process's consumer in the group: unique per start, never reused.
    consumer: Arc<str>,
    local: Arc<Local>,
}

/// What one process remembers between calls.
#[derive(Debug, Default)]
struct Local {
    /// When the next sweep for expired leases is due.
    next_sweep: Mutex<Option<Instant>>,
    /// The known capability classes, and when they were read.
    classes: Mutex<Option<(Instant, Arc<Vec<String>>)>>,
    /// Rotates the order classes are read in, so no class starves another.
    turn: AtomicUsize,
    /// Connections for blocking reads, not in use now.
    idle: Mutex<Vec<ConnectionManager>>,
}

impl std::fmt::Debug for RedisQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisQueue")
            .field("namespace", &self.config.namespace)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

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

/// A Redis error as a queue error.
fn unavailable(error: redis::RedisError) -> QueueError {
    QueueError::Unavailable(format!("Redis: {error}"))
}

/// The capability class of a pipeline: its distinct filter names, sorted, joined by `+`.
pub fn class_of(task: &Task) -> String {
    let mut names: Vec<&str> = task.filters().collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        NO_FILTER.to_owned()
    } else {
        names.join("+")
    }
}

/// The filter names of a capability class (none for the class of filterless tasks).
pub fn filters_of_class(class: &str) -> impl Iterator<Item = &str> {
    class
        .split('+')
        .filter(|name| *name != NO_FILTER && !name.is_empty())
}

/// Whether a worker with `capabilities` runs every filter of `class`.
fn can_run(capabilities: &Capabilities, class: &str) -> bool {
    filters_of_class(class).all(|name| capabilities.allows(name))
}

/// This machine's name (in a container, the container's), for ids people can trace.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|host| host.trim().to_owned())
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "host".to_owned())
}

/// A name for this process's consumer: `host-pid-random`.
fn consumer_name() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}-{}", host_name(), std::process::id(), &random[..8])
}

/// The non-empty lines of `text`.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn time_of(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

/// A reply's text, for replies that are a status or a string.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::SimpleString(s) => Some(s.clone()),
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::Okay => Some("OK".to_owned()),
        _ => None,
    }
}

fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Int(n) => Some(*n),
        other => text(other)?.parse().ok(),
    }
}

impl RedisQueue {
    /// Connects (waiting for Redis as long as it takes, see [`connect::connect`]), loads
    /// the queue's functions, and returns the queue.
    pub async fn connect(options: &RedisOptions, config: RedisQueueConfig) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !config.namespace.is_empty() && !config.namespace.contains(char::is_whitespace),
            "the namespace must be a non-empty word, got {:?}",
            config.namespace
        );
        let mut conn = connect::connect(options).await?;
        functions::load(&mut conn).await.map_err(|error| {
            anyhow::anyhow!("cannot load the queue's functions into Redis: {error}")
        })?;
        Ok(Self {
            conn,
            client: options.client()?,
            options: Arc::new(options.clone()),
            config: Arc::new(config),
            consumer: consumer_name().into(),
            local: Arc::default(),
        })
    }

    /// The connection, for the blob store and for tools.
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// The settings.
    pub fn config(&self) -> &RedisQueueConfig {
        &self.config
    }

    /// This process's consumer name in the group.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    fn key(&self, parts: &[&str]) -> String {
        let mut key = self.config.namespace.clone();
        for part in parts {
            key.push(':');
            key.push_str(part);
        }
        key
    }

    fn lease_ms(&self) -> u64 {
        millis(self.config.queue.lease).max(1)
    }

    /// When a lease taken or renewed now runs out, by this machine's clock: the pool
    /// schedules renewals with it, so a clock that differs from Redis's cannot skew them.
    fn expiry(&self) -> DateTime<Utc> {
        chrono::Duration::from_std(self.config.queue.lease)
            .ok()
            .and_then(|lease| Utc::now().checked_add_signed(lease))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    fn retention_ms(&self) -> u64 {
        millis(self.config.retention).max(1)
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, QueueError> {
        functions::run(&self.conn, cmd).await.map_err(unavailable)
    }

    /// The classes a worker with `capabilities` reads, in this call's turn.
    async fn classes_for(&self, capabilities: &Capabilities) -> Result<Vec<String>, QueueError> {
        let cached = self
            .local
            .classes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            // An empty list is read again each time: the first task must not wait a sweep.
            .filter(|(read, classes)| {
                !classes.is_empty() && read.elapsed() < self.config.sweep_every
            });
        let all = match cached {
            Some((_, classes)) => classes,
            None => {
                let mut conn = self.conn.clone();
                let mut classes: Vec<String> = conn
                    .smembers(self.key(&["classes"]))
                    .await
                    .map_err(unavailable)?;
                classes.sort_unstable();
                let classes = Arc::new(classes);
                *self.local.classes.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((Instant::now(), Arc::clone(&classes)));
                classes
            }
        };
        let mut mine: Vec<String> = all
            .iter()
            .filter(|class| can_run(capabilities, class))
            .cloned()
            .collect();
        if !mine.is_empty() {
            let turn = self.local.turn.fetch_add(1, Ordering::Relaxed) % mine.len();
            mine.rotate_left(turn);
        }
        Ok(mine)
    }

    fn forget_classes(&self) {
        *self.local.classes.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Whether this call should look for expired leases.
    fn sweep_due(&self) -> bool {
        let mut next = self
            .local
            .next_sweep
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if next.is_some_and(|at| at > now) {
            return false;
        }
        *next = Some(now + self.config.sweep_every);
        true
    }

    fn sweep_soon(&self) {
        *self
            .local
            .next_sweep
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Turns the reply of `imgq_reserve` or `imgq_start` into a lease. A payload this
    /// worker cannot read is buried in the dead letters with the reason, and gives `None`.
    async fn lease_from(
        &self,
        reply: Vec<Value>,
        worker: &WorkerId,
    ) -> Result<Option<Lease>, QueueError> {
        let [how, class, entry, id, attempt, receipt, _expires, payload] = reply.as_slice() else {
            return Ok(None);
        };
        let field = |v: &Value| text(v).unwrap_or_default();
        let (class, entry, id) = (field(class), field(entry), field(id));
        if field(how) == "claimed" {
            self.sweep_soon(); // there may be more
        }
        let task = encoding::decode(&field(payload)).and_then(|task| {
            if task.id.to_string() == id {
                Ok(task)
            } else {
                Err(encoding::Malformed(format!(
                    "the entry names task {id} but carries task {}",
                    task.id
                )))
            }
        });
        let task = match task {
            Ok(task) => task,
            Err(malformed) => {
                warn!(%id, %entry, reason = %malformed, "dead-lettering an entry no worker can read");
                self.run::<String>(
                    fcall("imgq_bury")
                        .arg(&self.config.namespace)
                        .arg(&class)
                        .arg(&entry)
                        .arg(&id)
                        .arg(&malformed.0)
                        .arg(self.retention_ms()),
                )
                .await?;
                return Ok(None);
            }
        };
        Ok(Some(Lease {
            task: Arc::new(task),
            attempt: int(attempt)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(1),
            worker: worker.clone(),
            receipt: field(receipt),
            expires_at: self.expiry(),
        }))
    }

    /// Waits up to `block` for a new entry in `classes`, with `XREADGROUP ... BLOCK`, and
    /// starts an attempt on it.
    async fn read_blocking(
        &self,
        worker: &WorkerId,
        classes: &[String],
        block: Duration,
    ) -> Result<Option<Lease>, QueueError> {
        let keys: Vec<String> = classes.iter().map(|c| self.key(&["stream", c])).collect();
        let ids = vec![">"; keys.len()];
        let options = StreamReadOptions::default()
            .group(GROUP, &*self.consumer)
            .count(1)
            .block(
                usize::try_from(block.as_millis())
                    .unwrap_or(usize::MAX)
                    .max(1),
            );
        // A blocked connection answers nothing else until the block ends, so blocking reads
        // never use the shared connection: each takes one of its own, kept for reuse.
        let idle = self
            .local
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => ConnectionManager::new_with_config(
                self.client.clone(),
                connect::manager_config(&self.options),
            )
            .await
            .map_err(unavailable)?,
        };
        let read = conn.xread_options(&keys, &ids, &options).await;
        if read.is_ok() {
            self.local
                .idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(conn);
        }
        let reply: Option<StreamReadReply> = match read {
            Ok(reply) => reply,
            Err(error) if error.to_string().contains("NOGROUP") => {
                // Redis lost the stream (restarted without persistence): read the classes again.
                self.forget_classes();
                return Ok(None);
            }
            Err(error) => return Err(unavailable(error)),
        };
        let mut lease = None;
        for stream in reply.into_iter().flat_map(|r| r.keys) {
            let Some((_, class)) = stream.key.rsplit_once(":stream:") else {
                continue;
            };
            for entry in stream.ids {
                if lease.is_some() {
                    // One per call: make the extra one the next sweep's first. Should that
                    // fail, the entry still comes back when its lease runs out.
                    if let Err(error) = self.give_back(class, &entry.id).await {
                        warn!(%error, entry = %entry.id, "could not give back an extra entry");
                    }
                    continue;
                }
                let id: String = entry.get("id").unwrap_or_default();
                let reply: Vec<Value> = self
                    .run(
                        fcall("imgq_start")
                            .arg(&self.config.namespace)
                            .arg(worker.as_str())
                            .arg(self.lease_ms())
                            .arg(self.config.queue.max_attempts)
                            .arg(self.retention_ms())
                            .arg(class)
                            .arg(&entry.id)
                            .arg(id)
                            .arg(&*self.consumer),
                    )
                    .await?;
                lease = self.lease_from(reply, worker).await?;
            }
        }
        Ok(lease)
    }

    /// Makes a delivered entry look long idle, so the next sweep hands it out.
    async fn give_back(&self, class: &str, entry: &str) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        redis::cmd("XCLAIM")
            .arg(self.key(&["stream", class]))
            .arg(GROUP)
            .arg(&*self.consumer)
            .arg(0)
            .arg(entry)
            .arg("IDLE")
            .arg(self.lease_ms() + 1000)
            .arg("JUSTID")
            .query_async::<Value>(&mut conn)
            .await
            .map_err(unavailable)?;
        self.sweep_soon();
        Ok(())
    }

    /// Adds many tasks in one round trip (a pipeline of enqueues), refusing them when the
    /// queue is full. For bulk submitters and benchmarks.
    pub async fn enqueue_many(
        &self,
        tasks: &[Task],
    ) -> Result<Vec<Result<TaskId, QueueError>>, QueueError> {
        let mut pipe = redis::pipe();
        for task in tasks {
            pipe.add_command(self.enqueue_cmd(task));
        }
        let mut conn = self.conn.clone();
        let replies: Vec<String> = match pipe.query_async(&mut conn).await {
            Err(error) if error.to_string().contains("Function not found") => {
                functions::load(&mut conn).await.map_err(unavailable)?;
                pipe.query_async(&mut conn).await.map_err(unavailable)?
            }
            other => other.map_err(unavailable)?,
        };
        Ok(tasks
            .iter()
            .zip(replies)
            .map(|(task, reply)| self.enqueued(task.id, &reply))
            .collect())
    }

    fn enqueue_cmd(&self, task: &Task) -> redis::Cmd {
        let mut cmd = fcall("imgq_enqueue");
        cmd.arg(&self.config.namespace)
            .arg(task.id.to_string())
            .arg(encoding::encode(task))
            .arg(class_of(task))
            // -1: no bound.
            .arg(
                self.config
                    .queue
                    .capacity
                    .map_or(-1, |c| i64::try_from(c).unwrap_or(i64::MAX)),
            );
        cmd
    }

    fn enqueued(&self, id: TaskId, reply: &str) -> Result<TaskId, QueueError> {
        match reply {
            "ok" => Ok(id),
            "duplicate" => Err(QueueError::Duplicate(id)),
            _ => Err(QueueError::Full {
                capacity: self.config.queue.capacity.unwrap_or_default(),
            }),
        }
    }

    /// How many tasks are in each state (finished ones while their records are kept).
    pub async fn counts(&self) -> Result<BTreeMap<TaskState, u64>, QueueError> {
        let mut pipe = redis::pipe();
        self.trim_finished(&mut pipe);
        for state in TaskState::ALL {
            pipe.zcard(self.key(&["state", state.name()]));
        }
        let mut conn = self.conn.clone();
        let counts: Vec<u64> = pipe.query_async(&mut conn).await.map_err(unavailable)?;
        Ok(TaskState::ALL.into_iter().zip(counts).collect())
    }

    /// For each capability class with a stream, how many of its tasks no worker has taken
    /// yet; a class is its distinct filter names joined by `+` (see [`class_of`]).
    pub async fn waiting_by_class(&self) -> Result<BTreeMap<String, u64>, QueueError> {
        let mut conn = self.conn.clone();
        let classes: Vec<String> = conn
            .smembers(self.key(&["classes"]))
            .await
            .map_err(unavailable)?;
        if classes.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut pipe = redis::pipe();
        // A class whose group is not there yet answers XPENDING with an error: per command.
        pipe.ignore_errors();
        for class in &classes {
            let stream = self.key(&["stream", class]);
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
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.hget(self.key(&["task", &id.to_string()]), "state");
        }
        let mut conn = self.conn.clone();
        let states: Vec<Option<String>> = pipe.query_async(&mut conn).await.map_err(unavailable)?;
        Ok(states
            .into_iter()
            .map(|s| s.and_then(|s| s.parse().ok()))
            .collect())
    }

    /// Adds to `pipe` the trimming of the final states' indexes to the retention. A task
    /// only trims the index of the state it enters (cheap on the hot path), so another
    /// index can hold ids whose records expired until a reader trims it here.
    fn trim_finished(&self, pipe: &mut redis::Pipeline) {
        let cutoff =
            Utc::now().timestamp_millis() - i64::try_from(self.retention_ms()).unwrap_or(i64::MAX);
        for state in [TaskState::Succeeded, TaskState::Failed, TaskState::Dead] {
            pipe.zrembyscore(self.key(&["state", state.name()]), "-inf", cutoff)
                .ignore();
        }
    }

    /// Up to `limit` task ids in `state`, oldest first.
    pub async fn list(&self, state: TaskState, limit: usize) -> Result<Vec<TaskId>, QueueError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        self.trim_finished(&mut pipe);
        let stop = isize::try_from(limit).unwrap_or(isize::MAX) - 1;
        pipe.zrange(self.key(&["state", state.name()]), 0, stop);
        let mut conn = self.conn.clone();
        let (ids,): (Vec<String>,) = pipe.query_async(&mut conn).await.map_err(unavailable)?;
        Ok(ids.iter().filter_map(|id| id.parse().ok()).collect())
    }

    /// How many entries the dead-letter stream holds.
    pub async fn dead_letter_count(&self) -> Result<u64, QueueError> {
        let mut conn = self.conn.clone();
        conn.xlen(self.key(&["dead"])).await.map_err(unavailable)
    }

    /// The `limit` newest dead letters, newest first.
    pub async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, QueueError> {
        let mut conn = self.conn.clone();
        let reply: redis::streams::StreamRangeReply = conn
            .xrevrange_count(self.key(&["dead"]), "+", "-", limit)
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
            pipe.hget(self.key(&["task", &id.to_string()]), "consumer");
        }
        let mut conn = self.conn.clone();
        pipe.query_async(&mut conn).await.map_err(unavailable)
    }

    /// A task's attempts that did not succeed, oldest first (the last 20).
    pub async fn history(&self, id: TaskId) -> Result<Vec<String>, QueueError> {
        let mut conn = self.conn.clone();
        let text: Option<String> = conn
            .hget(self.key(&["task", &id.to_string()]), "history")
            .await
            .map_err(unavailable)?;
        Ok(lines(&text.unwrap_or_default()))
    }

    /// Sends a dead task back to the queue, with its attempts reset.
    pub async fn requeue(&self, id: TaskId) -> Result<(), QueueError> {
        let reply: String = self
            .run(
                fcall("imgq_requeue")
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
                    from: state.parse().unwrap_or(TaskState::Pending),
                    to: TaskState::Pending,
                },
            )),
        }
    }

    /// Makes every key of the namespace expire after `ttl`: for a demo that ran on
    /// someone's Redis, so it leaves nothing behind for long.
    pub async fn expire_namespace(&self, ttl: Duration) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let pattern = format!("{}:*", self.config.namespace);
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

    /// Removes this process's consumer from the group where it holds nothing: call it after
    /// the worker pool has shut down. Returns how many groups it left.
    pub async fn retire(&self) -> Result<u64, QueueError> {
        self.run(
            fcall("imgq_retire")
                .arg(&self.config.namespace)
                .arg(&*self.consumer),
        )
        .await
    }

    /// A call by the holder of `lease`: namespace, task, receipt, consumer, lease time.
    fn holder_call(&self, name: &str, lease: &Lease) -> redis::Cmd {
        let mut cmd = fcall(name);
        cmd.arg(&self.config.namespace)
            .arg(lease.task.id.to_string())
            .arg(&lease.receipt)
            .arg(&*self.consumer)
            .arg(self.lease_ms());
        cmd
    }

    fn lost(lease: &Lease) -> QueueError {
        QueueError::LeaseLost {
            task: lease.task.id,
            receipt: lease.receipt.clone(),
        }
    }
}

/// A task record from its hash's fields.
fn record_from(id: TaskId, fields: &BTreeMap<String, String>) -> Result<TaskRecord, QueueError> {
    let task = encoding::decode(fields.get("task").map_or("", String::as_str))
        .map_err(|error| QueueError::Unavailable(format!("task {id}: {error}")))?;
    let time = |name: &str| {
        fields
            .get(name)
            .and_then(|v| v.parse().ok())
            .and_then(time_of)
    };
    let error = match (fields.get("error_kind"), fields.get("error_message")) {
        (Some(kind), Some(message)) => Some(TaskError {
            kind: if kind == "job" {
                FailureKind::Job
            } else {
                FailureKind::Worker
            },
            message: message.clone(),
        }),
        _ => None,
    };
    Ok(TaskRecord {
        task: Arc::new(task),
        state: fields
            .get("state")
            .and_then(|s| s.parse().ok())
            .unwrap_or(TaskState::Pending),
        attempts: fields
            .get("attempts")
            .and_then(|a| a.parse().ok())
            .unwrap_or(0),
        worker: fields.get("worker").map(WorkerId::named),
        enqueued_at: time("enqueued_at").unwrap_or_else(Utc::now),
        started_at: time("started_at"),
        finished_at: time("finished_at"),
        duration_seconds: fields
            .get("duration_ms")
            .and_then(|d| d.parse::<f64>().ok())
            .map(|ms| ms / 1000.0),
        error,
    })
}

#[async_trait]
impl Queue for RedisQueue {
    async fn enqueue(&self, task: Task, backpressure: Backpressure) -> Result<TaskId, QueueError> {
        let cmd = self.enqueue_cmd(&task);
        let mut pause = Duration::from_millis(20);
        loop {
            let reply: String = self.run(&cmd).await?;
            match self.enqueued(task.id, &reply) {
                Err(QueueError::Full { .. }) if backpressure == Backpressure::Wait => {
                    // Redis cannot wake us when room appears: look again, less often.
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
                result => return result,
            }
        }
    }

    // ANCHOR: reserve
    async fn reserve(
        &self,
        worker: &WorkerId,
        capabilities: &Capabilities,
        wait: Duration,
    ) -> Result<Option<Lease>, QueueError> {
        let now = Instant::now();
        let deadline = now
            .checked_add(wait)
            .unwrap_or(now + session03_workers::queue::MAX_LEASE);
        loop {
            let classes = self.classes_for(capabilities).await?;
            if !classes.is_empty() {
                let sweep = if self.sweep_due() { "1" } else { "0" };
                let mut cmd = fcall("imgq_reserve");
                cmd.arg(&self.config.namespace)
                    .arg(&*self.consumer)
                    .arg(worker.as_str())
                    .arg(self.lease_ms())
                    .arg(self.config.queue.max_attempts)
                    .arg(self.retention_ms())
                    .arg(sweep)
                    .arg(&classes);
                let reply: Vec<Value> = match self.run(&cmd).await {
                    Err(QueueError::Unavailable(error)) if error.contains("NOGROUP") => {
                        self.forget_classes();
                        Vec::new()
                    }
                    other => other?,
                };
                let got_one = !reply.is_empty();
                if let Some(lease) = self.lease_from(reply, worker).await? {
                    return Ok(Some(lease));
                }
                if got_one {
                    continue; // that entry was dead-lettered: try the next one
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            // Wake at least once a sweep interval, to look for expired leases.
            let block = left.min(MAX_BLOCK).min(self.config.sweep_every);
            if classes.is_empty() {
                tokio::time::sleep(block.min(Duration::from_millis(100))).await;
            } else if let Some(lease) = self.read_blocking(worker, &classes, block).await? {
                return Ok(Some(lease));
            }
        }
    }
    // ANCHOR_END: reserve

    async fn renew(&self, lease: &Lease) -> Result<DateTime<Utc>, QueueError> {
        let reply: Value = self.run(&self.holder_call("imgq_renew", lease)).await?;
        int(&reply)
            .map(|_| self.expiry())
            .ok_or_else(|| Self::lost(lease))
    }

    async fn ack(&self, lease: &Lease) -> Result<Ack, QueueError> {
        let reply: String = self
            .run(
                fcall("imgq_ack")
                    .arg(&self.config.namespace)
                    .arg(lease.task.id.to_string())
                    .arg(self.retention_ms()),
            )
            .await?;
        match reply.as_str() {
            "completed" => Ok(Ack::Completed),
            "duplicate" => Ok(Ack::Duplicate),
            _ => Err(Self::lost(lease)),
        }
    }

    async fn nack(&self, lease: &Lease, error: TaskError) -> Result<TaskState, QueueError> {
        let (kind, delay) = match error.kind {
            FailureKind::Job => ("job", Duration::ZERO),
            FailureKind::Worker => (
                "worker",
                self.config
                    .queue
                    .retry_backoff
                    .delay(lease.attempt, fastrand::f64()),
            ),
        };
        let reply: String = self
            .run(
                fcall("imgq_nack")
                    .arg(&self.config.namespace)
                    .arg(lease.task.id.to_string())
                    .arg(&lease.receipt)
                    .arg(kind)
                    .arg(&error.message)
                    .arg(self.config.queue.max_attempts)
                    .arg(self.retention_ms())
                    .arg(millis(delay)),
            )
            .await?;
        reply.parse().map_err(|_| Self::lost(lease))
    }

    async fn release(&self, lease: &Lease) -> Result<(), QueueError> {
        let reply: String = self.run(&self.holder_call("imgq_release", lease)).await?;
        self.sweep_soon();
        if reply == "ok" {
            Ok(())
        } else {
            Err(Self::lost(lease))
        }
    }

    async fn status(&self, id: TaskId) -> Result<Option<TaskRecord>, QueueError> {
        let mut conn = self.conn.clone();
        let fields: BTreeMap<String, String> = conn
            .hgetall(self.key(&["task", &id.to_string()]))
            .await
            .map_err(unavailable)?;
        if fields.is_empty() {
            return Ok(None);
        }
        record_from(id, &fields).map(Some)
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        let mut pipe = redis::pipe();
        pipe.hgetall(self.key(&["stats"]));
        for state in ["pending", "retrying", "running"] {
            pipe.zcard(self.key(&["state", state]));
        }
        let mut conn = self.conn.clone();
        let (counters, pending, retrying, running): (BTreeMap<String, u64>, usize, usize, usize) =
            pipe.query_async(&mut conn).await.map_err(unavailable)?;
        let counter = |name: &str| counters.get(name).copied().unwrap_or(0);
        Ok(QueueStats {
            waiting: pending + retrying,
            in_flight: running,
            capacity: self.config.queue.capacity,
            enqueued: counter("enqueued"),
            succeeded: counter("succeeded"),
            failed: counter("failed"),
            retried: counter("retried"),
            dead: counter("dead"),
            expired_leases: counter("expired_leases"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use session02_pipelines::PipelineSpec;
    use session03_workers::BlobKey;

    fn task(pipeline: &str) -> Task {
        let key = BlobKey::new("in/x.png").unwrap();
        Task::new(PipelineSpec::parse(pipeline).unwrap(), key.clone(), key)
    }

    #[test]
    fn a_class_is_the_sorted_set_of_filters() {
        assert_eq!(
            class_of(&task("resize:width=8|blur:sigma=2|edges|blur:sigma=1")),
            "blur+edges+resize"
        );
        assert_eq!(class_of(&task("invert")), "invert");
        let empty = Task {
            pipeline: PipelineSpec {
                filters: Vec::new(),
            },
            ..task("invert")
        };
        assert_eq!(class_of(&empty), NO_FILTER);
    }

    #[test]
    fn a_worker_reads_the_classes_it_can_run_whole() {
        let some: Capabilities = "blur,resize".parse().unwrap();
        assert!(can_run(&some, "blur+resize"));
        assert!(can_run(&some, "blur"));
        assert!(!can_run(&some, "blur+edges"));
        assert!(can_run(&some, NO_FILTER));
        assert!(can_run(&Capabilities::All, "sharpen+edges"));
    }

    #[test]
    fn consumer_names_are_unique_per_start() {
        let (a, b) = (consumer_name(), consumer_name());
        assert_ne!(a, b);
        assert!(a.contains(&std::process::id().to_string()));
    }
}
