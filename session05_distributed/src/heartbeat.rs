//! The heartbeat: a worker registers in the [`Registry`], rewrites its record every
//! interval with the pool's counters and the tasks in hand, and marks it stopped on a
//! clean exit. A worker that dies without a word simply stops beating: readers see it turn
//! stale, then gone, and its leases run out so other workers take its tasks.
//!
//! It is two additions to session 04's worker [`Runtime`], composed by [`attach`]: a layer
//! around the task runner that notes which tasks are in hand, and a side task that beats.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use session03_workers::{Capabilities, Task, TaskError, TaskId, Worker};
use session04_redis::queue::host_name;
use session04_redis::{Context, Runtime};
use tracing::{info, warn};

use crate::registry::{Beat, Registry, RegistryConfig, WorkerInfo};

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
/// Registers the worker of `runtime` and keeps its record fresh while it runs.
pub fn attach(runtime: Runtime, config: RegistryConfig) -> Runtime {
    let in_hand = Arc::<InHand>::default();
    let tracked = Arc::clone(&in_hand);
    runtime
        .wrap(move |inner, _| {
            Arc::new(Tracked {
                inner,
                in_hand: tracked,
            })
        })
        .beside(move |context, stats, done| async move {
            let registry = Registry::new(context.queue.connection(), context.queue.keys(), config);
            let info = worker_info(&context, &config);
            // ANCHOR: beat_loop
            let mut ticks = tokio::time::interval(config.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = done.cancelled() => break,
                }
                let beat =
                    Beat::from_stats(&stats.snapshot(), in_hand.ids(), stats.is_shutting_down());
                // Bounded by the interval: a beat that hangs must not delay the next one,
                // nor the last word at shutdown.
                let written =
                    tokio::time::timeout(config.interval, registry.beat(&info, &beat, false))
                        .await
                        .map_err(|_| "no answer within the interval".to_owned())
                        .and_then(|beat| beat.map_err(|error| error.to_string()));
                // ANCHOR_END: beat_loop
                match written {
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
            // A last word, bounded: a worker whose Redis is gone still exits.
            let beat = Beat::from_stats(&stats.snapshot(), Vec::new(), true);
            let said =
                tokio::time::timeout(Duration::from_secs(2), registry.beat(&info, &beat, true))
                    .await;
            if !matches!(said, Ok(Ok(()))) {
                warn!("could not mark this worker stopped; readers will see it gone after the TTL");
            }
        })
}
// ANCHOR_END: heartbeat

/// What the registry shows of the worker of `context`.
fn worker_info(context: &Context, config: &RegistryConfig) -> WorkerInfo {
    WorkerInfo {
        id: context.id().to_owned(),
        host: host_name(),
        pid: std::process::id(),
        capabilities: context.capabilities.clone(),
        concurrency: context.concurrency,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at: Utc::now(),
        heartbeat_ms: u64::try_from(config.interval.as_millis()).unwrap_or(u64::MAX),
        ttl_ms: u64::try_from(config.ttl.as_millis()).unwrap_or(u64::MAX),
    }
}
