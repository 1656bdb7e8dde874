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
//! A worker failure with a backoff waits in a sorted set (`NS:delayed`) instead of its
//! stream; every `reserve` first moves the retries whose wait is over back to their
//! streams. A sweep drops the classes whose streams hold nothing, streams and all, and the
//! next task of such a class makes them again.
//!
//! Each row is one function of the Lua library ([`functions`](crate::functions)), so it is
//! atomic and one round trip. Tasks go into one stream per *capability class* (the sorted
//! set of filters they use: `blur+edges`), and a worker reads only the streams of classes
//! it can run, so no task is delivered to a worker that would have to fail it.
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | [`RedisQueue`] and session 03's [`Queue`] on it |
//! | `classes.rs` | capability classes: which streams a worker reads |
//! | `consumer.rs` | a worker process's consumer name: readable, and unique per start |
//! | `reply.rs` | the Lua functions' replies, decoded into leases |
//! | `group.rs` | calls in groups: one call for the requests of all the slots waiting |
//! | `acks.rs`, `reserves.rs` | acknowledgements and reservations in groups |
//! | `blocking.rs` | waiting for a task with `XREADGROUP ... BLOCK`, on connections of its own |
//! | `admin.rs` | what tools read and do: counts, lists, dead letters, requeue, expiry, purge |
//! | `record.rs` | a task's hash read back as a [`TaskRecord`], malformed fields named |

mod acks;
mod admin;
mod blocking;
mod classes;
mod consumer;
mod group;
mod record;
mod reply;
mod reserves;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Value};
use session03_workers::{
    Ack, Backoff, Backpressure, Capabilities, FailureKind, Lease, Queue, QueueConfig, QueueError,
    QueueStats, Retry, Task, TaskError, TaskId, TaskRecord, TaskState, WorkerId,
};

use crate::connect::{self, MAX_BLOCK, RedisOptions};
use crate::encoding;
use crate::functions::QUEUE;
use crate::keys::Keys;

pub use admin::DeadLetter;
pub use classes::{class_of, filters_of_class};
pub use consumer::{InvalidWorkerName, MAX_WORKER_NAME, WorkerName, consumer_name, host_name};

/// The consumer group every worker reads in.
pub const GROUP: &str = "workers";

/// The most tasks one `imgq_enqueue_many` call adds.
pub const ENQUEUE_AT_ONCE: usize = 500;

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
    /// How long a capability class stays listed, once its stream is empty, after its last
    /// task went in: a sweep then drops it, so sweeps walk the classes in use.
    pub class_idle: Duration,
}

impl Default for RedisQueueConfig {
    /// Session 03's defaults, namespace `imgq`, records kept a day, a sweep every second,
    /// classes unused for five minutes dropped.
    fn default() -> Self {
        Self {
            queue: QueueConfig::default(),
            namespace: "imgq".to_owned(),
            retention: Duration::from_secs(24 * 3600),
            sweep_every: Duration::from_secs(1),
            class_idle: Duration::from_secs(300),
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
    keys: Arc<Keys>,
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
    /// Acknowledgements on their way, sent in groups.
    acks: group::Group<acks::Acks>,
    /// Reservations on their way, sent in groups.
    reserves: group::Group<reserves::Reserves>,
}

impl std::fmt::Debug for RedisQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisQueue")
            .field("namespace", &self.config.namespace)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

/// A Redis error as a queue error.
fn unavailable(error: redis::RedisError) -> QueueError {
    QueueError::Unavailable(format!("Redis: {error}"))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl RedisQueue {
    /// Connects (waiting for Redis as long as it takes, see [`connect::connect`]), loads
    /// the queue's functions, and returns the queue, its consumer named after the host and
    /// the process.
    pub async fn connect(options: &RedisOptions, config: RedisQueueConfig) -> anyhow::Result<Self> {
        Self::connect_as(options, config, None).await
    }

    /// [`connect`](Self::connect), the consumer's name starting with `name` when given
    /// (`NAME-random`, see [`consumer_name`]).
    pub async fn connect_as(
        options: &RedisOptions,
        config: RedisQueueConfig,
        name: Option<&WorkerName>,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !config.namespace.is_empty() && !config.namespace.contains(char::is_whitespace),
            "the namespace must be a non-empty word, got {:?}",
            config.namespace
        );
        let mut conn = connect::connect(options).await?;
        QUEUE.load(&mut conn).await.map_err(|error| {
            anyhow::anyhow!("cannot load the queue's functions into Redis: {error}")
        })?;
        Ok(Self {
            conn,
            client: options.client()?,
            options: Arc::new(options.clone()),
            keys: Arc::new(Keys::new(&config.namespace)),
            config: Arc::new(config),
            consumer: consumer_name(name).into(),
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

    /// How to reach Redis: for a tool that needs a connection of its own (a blocking read
    /// holds its connection until it returns).
    pub fn options(&self) -> &RedisOptions {
        &self.options
    }

    /// The keys of this queue's namespace.
    pub fn keys(&self) -> &Keys {
        &self.keys
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
        QUEUE.run(&self.conn, cmd).await.map_err(unavailable)
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

    /// Adds many tasks in one call, refusing them when the queue is full. For bulk
    /// submitters and benchmarks.
    pub async fn enqueue_many(
        &self,
        tasks: &[Task],
    ) -> Result<Vec<Result<TaskId, QueueError>>, QueueError> {
        self.enqueue_bounded(tasks, self.config.queue.capacity)
            .await
    }

    /// Adds a task that continues work the queue already took in (a tiled job's assembly,
    /// say), whatever the count: refusing it would fail that work, and waiting for room
    /// would hold a worker that may be the one to make it. A duplicate is still refused.
    pub async fn enqueue_continuation(&self, task: &Task) -> Result<TaskId, QueueError> {
        self.enqueue_bounded(std::slice::from_ref(task), None)
            .await?
            .remove(0)
    }

    /// `imgq_enqueue_many` for `tasks` with the given bound: a result per task, in order. A
    /// call carries up to [`ENQUEUE_AT_ONCE`] tasks, so no call holds Redis for long;
    /// the calls go in one round trip.
    async fn enqueue_bounded(
        &self,
        tasks: &[Task],
        capacity: Option<usize>,
    ) -> Result<Vec<Result<TaskId, QueueError>>, QueueError> {
        if tasks.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for chunk in tasks.chunks(ENQUEUE_AT_ONCE) {
            let mut cmd = QUEUE.call("imgq_enqueue_many", &[]);
            cmd.arg(&self.config.namespace)
                // -1: no bound.
                .arg(capacity.map_or(-1, |c| i64::try_from(c).unwrap_or(i64::MAX)));
            for task in chunk {
                cmd.arg(task.id.to_string())
                    .arg(encoding::encode(task))
                    .arg(class_of(task));
            }
            pipe.add_command(cmd);
        }
        let replies: Vec<Vec<String>> = QUEUE
            .run_pipeline(&self.conn, &pipe)
            .await
            .map_err(unavailable)?;
        let replies: Vec<String> = replies.into_iter().flatten().collect();
        if replies.len() != tasks.len() {
            return Err(QueueError::Malformed(format!(
                "{} replies to {} tasks enqueued",
                replies.len(),
                tasks.len()
            )));
        }
        Ok(tasks
            .iter()
            .zip(replies)
            .map(|(task, reply)| self.enqueued(task.id, &reply))
            .collect())
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

    /// Removes this process's consumer from the group where it holds nothing: call it after
    /// the worker pool has shut down. Returns how many groups it left.
    pub async fn retire(&self) -> Result<u64, QueueError> {
        self.run(
            QUEUE
                .call("imgq_retire", &[])
                .arg(&self.config.namespace)
                .arg(&*self.consumer),
        )
        .await
    }

    /// A call by the holder of `lease`: namespace, task, receipt, consumer, lease time.
    fn holder_call(&self, name: &str, lease: &Lease) -> redis::Cmd {
        let mut cmd = QUEUE.call(name, &[]);
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

#[async_trait]
impl Queue for RedisQueue {
    async fn enqueue(&self, task: Task, backpressure: Backpressure) -> Result<TaskId, QueueError> {
        let mut retry = Retry::new(Backoff {
            base: Duration::from_millis(20),
            max: Duration::from_millis(500),
        });
        loop {
            match self
                .enqueue_many(std::slice::from_ref(&task))
                .await?
                .remove(0)
            {
                Err(QueueError::Full { .. }) if backpressure == Backpressure::Wait => {
                    // Redis cannot wake us when room appears: look again, less often.
                    tokio::time::sleep(retry.failed()).await;
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
                // `imgq_reserve_many` for this slot, in one call with the other slots' waiting.
                let classes = Arc::new(classes.clone());
                match self
                    .reserve_grouped(worker, classes, self.sweep_due())
                    .await?
                {
                    reserves::Reserved::Started(attempt) => {
                        if let Some(lease) = self.lease_from(attempt, worker).await? {
                            return Ok(Some(lease));
                        }
                        continue; // that entry was dead-lettered: try the next one
                    }
                    reserves::Reserved::StreamGone => self.forget_classes(),
                    reserves::Reserved::Nothing => {}
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
        reply::int(&reply)
            .map(|_| self.expiry())
            .ok_or_else(|| Self::lost(lease))
    }

    // ANCHOR: ack
    async fn ack(&self, lease: &Lease) -> Result<Ack, QueueError> {
        // `imgq_ack_many` with this task's id, in one call with the other slots' (`acks.rs`).
        let reply = self.ack_grouped(lease.task.id).await?;
        match reply.as_str() {
            "completed" => Ok(Ack::Completed),
            "duplicate" => Ok(Ack::Duplicate),
            _ => Err(Self::lost(lease)),
        }
    }
    // ANCHOR_END: ack

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
                QUEUE
                    .call("imgq_nack", &[])
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
            .hgetall(self.keys.task(id))
            .await
            .map_err(unavailable)?;
        if fields.is_empty() {
            return Ok(None);
        }
        record::record_from(id, &fields).map(Some)
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        let mut pipe = redis::pipe();
        pipe.hgetall(self.keys.stats());
        for state in [TaskState::Pending, TaskState::Retrying, TaskState::Running] {
            pipe.zcard(self.keys.state(state));
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
