//! The queue's own cost: no-op tasks through a [`MemoryQueue`] and a [`WorkerPool`].
//!
//! A producer enqueues `tasks` empty tasks (with backpressure, into a bounded queue) while
//! the pool's workers reserve, "run" and acknowledge them; the clock stops when the last one
//! has succeeded. What is measured is everything a real task pays besides its pixels: task
//! creation, the lock, the lease, the spawned run, the acknowledgement, the statistics.
//! `cargo run --release -p session03_workers -- bench` runs it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use serde::Serialize;
use session02_pipelines::PipelineSpec;

use crate::blob::BlobKey;
use crate::memory::MemoryQueue;
use crate::pool::{PoolConfig, WorkerPool};
use crate::queue::{Backpressure, Queue, QueueConfig};
use crate::task::Task;
use crate::worker::NoopWorker;

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchOptions {
    /// No-op tasks to push through.
    pub tasks: usize,
    /// Worker slots in the pool.
    pub workers: usize,
    /// Threads of the tokio runtime.
    pub threads: usize,
    /// The queue's bound.
    pub capacity: usize,
}

impl Default for BenchOptions {
    /// 200 000 tasks, 2 workers on 2 runtime threads, 10 000 waiting at most.
    fn default() -> Self {
        Self {
            tasks: 200_000,
            workers: 2,
            threads: 2,
            capacity: 10_000,
        }
    }
}

/// What was measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchResult {
    /// Tasks pushed through.
    pub tasks: usize,
    /// Worker slots.
    pub workers: usize,
    /// Runtime threads.
    pub threads: usize,
    /// From the first enqueue to the last acknowledgement.
    pub seconds: f64,
    /// Tasks per second, end to end.
    pub tasks_per_second: f64,
    /// Median time a worker held a task, in microseconds.
    pub p50_micros: f64,
}

/// Runs the benchmark on a runtime of its own.
// ANCHOR: bench
pub fn run(options: BenchOptions) -> Result<BenchResult> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.threads.max(1))
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(async {
        let queue = Arc::new(MemoryQueue::new(QueueConfig {
            capacity: Some(options.capacity.max(1)),
            ..QueueConfig::default()
        }));
        let config = PoolConfig {
            workers: options.workers,
            poll: Duration::from_millis(100),
            ..PoolConfig::default()
        };
        let key = BlobKey::new("bench/none.png")?;
        let started = Instant::now();
        let pool = WorkerPool::start(queue.clone(), Arc::new(NoopWorker), config);
        let producer = {
            let queue = Arc::clone(&queue);
            tokio::spawn(async move {
                for _ in 0..options.tasks {
                    let task = Task::new(
                        PipelineSpec {
                            filters: Vec::new(),
                        },
                        key.clone(),
                        key.clone(),
                    );
                    queue.enqueue(task, Backpressure::Wait).await?;
                }
                anyhow::Ok(())
            })
        };
        producer.await.context("the producer panicked")??;
        while queue.stats().await?.succeeded < options.tasks as u64 {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        let seconds = started.elapsed().as_secs_f64();
        let stats = pool.stats();
        pool.shutdown(Duration::from_secs(5)).await;
        let queued = queue.stats().await?;
        ensure!(
            queued.succeeded == options.tasks as u64 && queued.is_idle(),
            "not every task completed exactly once: {queued:?}"
        );
        Ok(BenchResult {
            tasks: options.tasks,
            workers: config.workers,
            threads: options.threads,
            seconds,
            tasks_per_second: options.tasks as f64 / seconds,
            p50_micros: stats.p50_seconds * 1e6,
        })
    })
}
// ANCHOR_END: bench
