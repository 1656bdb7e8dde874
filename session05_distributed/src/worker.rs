//! The `worker` command: session 04's worker, registered in the [`Registry`] and beating,
//! and able to run the tiles of a tiled job and assemble it ([`jobs`](crate::jobs)).
//!
//! Nothing about taking, running or acknowledging tasks changes: the worker is session
//! 04's, and a [`Heartbeat`] rides along as its [`Companion`]. It wraps the task runner to
//! know which tasks are in hand, writes the worker's record at start, rewrites it every
//! interval with the pool's counters, and marks it stopped on a clean exit. A worker that
//! dies without a word simply stops beating: readers see it turn stale, then gone, and its
//! leases run out so other workers take its tasks.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use async_trait::async_trait;
use chrono::Utc;
use session01_image_basics::Limits;
use session03_workers::cli::seconds;
use session03_workers::{Capabilities, StatsHandle, Task, TaskError, TaskId, Worker};
use session04_redis::queue::host_name;
use session04_redis::worker::{Companion, WorkerArgs};
use session04_redis::{RedisBlobStore, RedisQueue};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::jobs::{Jobs, TileAware};
use crate::registry::{Beat, Registry, RegistryConfig, WorkerInfo};

/// How often to beat, and when readers give up on a silent worker.
#[derive(Debug, Clone, clap::Args)]
pub struct HeartbeatArgs {
    /// Seconds between two heartbeats.
    #[arg(
        long = "heartbeat",
        value_name = "SECONDS",
        env = "WORKER_HEARTBEAT",
        default_value_t = 2.0
    )]
    pub interval: f64,
    /// Seconds of silence after which readers count a worker as gone.
    #[arg(
        long = "heartbeat-ttl",
        value_name = "SECONDS",
        env = "WORKER_HEARTBEAT_TTL",
        default_value_t = 10.0
    )]
    pub ttl: f64,
}

impl HeartbeatArgs {
    /// The registry's timing; the TTL must leave room for a few beats.
    pub fn config(&self) -> Result<RegistryConfig> {
        let interval = seconds("heartbeat", self.interval)?;
        let ttl = seconds("heartbeat-ttl", self.ttl)?;
        anyhow::ensure!(
            ttl >= interval * 2,
            "--heartbeat-ttl ({}s) must be at least twice --heartbeat ({}s), or one late beat \
             would count a live worker as gone",
            self.ttl,
            self.interval
        );
        Ok(RegistryConfig {
            interval,
            ttl,
            ..RegistryConfig::default()
        })
    }
}

/// Runs tasks from Redis, registered and beating, until SIGTERM or Ctrl-C.
#[derive(Debug, Clone, clap::Args)]
pub struct DistributedWorkerArgs {
    /// Session 04's worker options.
    #[command(flatten)]
    pub worker: WorkerArgs,
    /// The heartbeat.
    #[command(flatten)]
    pub heartbeat: HeartbeatArgs,
}

/// The tasks a worker holds now, shared by the runner and the heartbeat: a count per
/// task, since one process may hold two deliveries of a task at once.
#[derive(Debug, Default)]
struct InHand(Mutex<BTreeMap<TaskId, usize>>);

impl InHand {
    fn ids(&self) -> Vec<TaskId> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .copied()
            .collect()
    }

    /// Notes `id` as held until the returned guard is dropped: when the task ends, however
    /// it ends (a timeout drops the future, a panic unwinds it).
    fn hold(self: &Arc<Self>, id: TaskId) -> Holding {
        *self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id)
            .or_default() += 1;
        Holding {
            in_hand: Arc::clone(self),
            id,
        }
    }
}

/// A task held: released from [`InHand`] on drop.
struct Holding {
    in_hand: Arc<InHand>,
    id: TaskId,
}

impl Drop for Holding {
    fn drop(&mut self) {
        let mut held = self.in_hand.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = held.get_mut(&self.id) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.id);
            }
        }
    }
}

/// A task runner that notes which tasks are in hand.
struct Tracked {
    inner: Arc<dyn Worker>,
    in_hand: Arc<InHand>,
}

#[async_trait]
impl Worker for Tracked {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn process(&self, task: &Task) -> Result<(), TaskError> {
        let _holding = self.in_hand.hold(task.id);
        self.inner.process(task).await
    }
}

// ANCHOR: heartbeat
/// The companion that registers a worker, keeps its record fresh, and makes it run tiles
/// and assemble tiled jobs.
#[derive(Debug)]
pub struct Heartbeat {
    config: RegistryConfig,
    limits: Limits,
    capabilities: Capabilities,
    concurrency: usize,
    in_hand: Arc<InHand>,
    last: Option<(Registry, WorkerInfo, StatsHandle)>,
}

impl Heartbeat {
    /// A heartbeat for a worker with `concurrency` slots that decodes tiles under `limits`.
    pub fn new(config: RegistryConfig, concurrency: usize, limits: Limits) -> Self {
        Self {
            config,
            limits,
            capabilities: Capabilities::All,
            concurrency,
            in_hand: Arc::default(),
            last: None,
        }
    }
}

impl Companion for Heartbeat {
    fn wrap(
        &mut self,
        worker: Arc<dyn Worker>,
        queue: &Arc<RedisQueue>,
        blobs: &Arc<RedisBlobStore>,
    ) -> Arc<dyn Worker> {
        // Register what the queue will route by: the runner's own capabilities.
        self.capabilities = worker.capabilities();
        let jobs = Jobs::new(queue, Arc::clone(blobs), self.limits);
        Arc::new(Tracked {
            inner: Arc::new(TileAware::new(worker, Arc::clone(queue), jobs)),
            in_hand: Arc::clone(&self.in_hand),
        })
    }

    fn start(&mut self, queue: Arc<RedisQueue>, stats: StatsHandle) -> JoinHandle<()> {
        let registry = Registry::new(queue.connection(), &queue.config().namespace, self.config);
        let info = WorkerInfo {
            id: queue.consumer().to_owned(),
            host: host_name(),
            pid: std::process::id(),
            capabilities: self.capabilities.clone(),
            concurrency: self.concurrency,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at: Utc::now(),
            heartbeat_ms: u64::try_from(self.config.interval.as_millis()).unwrap_or(u64::MAX),
            ttl_ms: u64::try_from(self.config.ttl.as_millis()).unwrap_or(u64::MAX),
        };
        self.last = Some((registry.clone(), info.clone(), stats.clone()));
        let in_hand = Arc::clone(&self.in_hand);
        let interval = self.config.interval;
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                ticks.tick().await;
                let beat =
                    Beat::from_stats(&stats.snapshot(), in_hand.ids(), stats.is_shutting_down());
                match registry.beat(&info, &beat, false).await {
                    Ok(()) if failing => {
                        info!("heartbeats reach Redis again");
                        failing = false;
                    }
                    Ok(()) => {}
                    Err(error) if !failing => {
                        warn!(%error, "a heartbeat failed; retrying every beat");
                        failing = true;
                    }
                    Err(_) => {}
                }
            }
        })
    }

    fn stopped(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let last = self.last.take();
        Box::pin(async move {
            let Some((registry, info, stats)) = last else {
                return;
            };
            let beat = Beat::from_stats(&stats.snapshot(), Vec::new(), true);
            // A last word, bounded: a worker whose Redis is gone still exits.
            let said =
                tokio::time::timeout(Duration::from_secs(2), registry.beat(&info, &beat, true))
                    .await;
            if !matches!(said, Ok(Ok(()))) {
                warn!("could not mark this worker stopped; readers will see it gone after the TTL");
            }
        })
    }
}
// ANCHOR_END: heartbeat

/// Runs a registered worker until a shutdown signal.
pub async fn run(args: DistributedWorkerArgs) -> Result<String> {
    let config = args.heartbeat.config()?;
    let concurrency = args
        .worker
        .concurrency
        .unwrap_or_else(|| session03_workers::PoolConfig::default().workers)
        .max(1);
    let limits = session01_image_basics::cli::limits(args.worker.max_megapixels)?;
    let heartbeat = Heartbeat::new(config, concurrency, limits);
    session04_redis::worker::run_with(args.worker, Some(Box::new(heartbeat))).await
}
