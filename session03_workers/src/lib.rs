//! # Session 03: tasks, a queue and a pool of workers
//!
//! Session 02 ran a pipeline over a folder in one call. A service gets its work as a stream
//! of requests instead, from many clients, and must survive the work going wrong. This
//! session builds the worker architecture the rest of the course runs on, in one process:
//!
//! | file | teaches |
//! |---|---|
//! | [`task`] | the task, its record, and a lifecycle that refuses illegal moves; job vs worker failures |
//! | [`blob`] | where the pixels are: the [`BlobStore`] trait, in memory and on a filesystem |
//! | [`queue`] | the [`Queue`] trait: enqueue with backpressure, reserve under a lease, ack, nack |
//! | [`memory`] | [`MemoryQueue`]: the trait in memory, FIFO, bounded, leases that run out, retries after a backoff |
//! | `contract` | the queue contract as a test kit for any [`Queue`] (cargo feature `contract`) |
//! | [`worker`] | the [`Worker`] trait, capabilities, [`ImageWorker`] running session 02's pipelines |
//! | [`pool`] | [`WorkerPool`]: N workers on tokio, timeouts, panics caught, graceful shutdown |
//! | [`logging`] | structured logs: a span per task, human or JSON lines |
//! | [`stats`] | counts, durations (p50, p95), throughput, utilisation |
//! | [`health`] | liveness and readiness with reasons |
//! | [`cli`] | the command line, and what the binaries share: durations from flags, result keys, shutdown signals |
//! | [`demo`] | what runs without a command: the pool over the sample photos, its report as tables or JSON |
//! | [`bench`](mod@bench) | the no-op throughput benchmark of the queue and pool |
//! | [`exercises`] | the graded exercises: a bounded fan-out, retries with timeouts, percentiles, single-flight loading; your code goes in `src/exercises/` |
//!
//! Sessions 04 to 10 reuse all of it: session 04 implements [`Queue`] and [`BlobStore`] on
//! Redis, and the same [`WorkerPool`] runs on it.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use session03_workers::{
//!     Backpressure, BlobKey, BlobStore, ImageWorker, MemoryBlobStore, MemoryQueue, PoolConfig,
//!     Queue, QueueConfig, Task, TaskState, WorkerPool,
//! };
//! use session02_pipelines::PipelineSpec;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! let blobs = Arc::new(MemoryBlobStore::new());
//! let photo = std::fs::read(session01_image_basics::samples::path("chelsea.png"))?;
//! let input = BlobKey::new("inputs/chelsea.png")?;
//! blobs.put(&input, photo.into()).await?;
//!
//! let queue = Arc::new(MemoryQueue::new(QueueConfig::default()));
//! let worker = Arc::new(ImageWorker::new(blobs.clone(), Default::default()));
//! let pool = WorkerPool::start(queue.clone(), worker, PoolConfig { workers: 2, ..Default::default() });
//!
//! let output = BlobKey::new("outputs/chelsea.png")?;
//! let task = Task::new(PipelineSpec::parse("blur:sigma=2|edges")?, input, output.clone());
//! let id = queue.enqueue(task, Backpressure::Wait).await?;
//! session03_workers::queue::wait_idle(&*queue, Duration::from_millis(10)).await?;
//!
//! assert_eq!(queue.status(id).await?.unwrap().state, TaskState::Succeeded);
//! assert!(!blobs.get(&output).await?.is_empty());
//! pool.shutdown(Duration::from_secs(5)).await;
//! # Ok(())
//! # }
//! ```

pub mod bench;
pub mod blob;
pub mod cli;
#[cfg(feature = "contract")]
pub mod contract;
pub mod demo;
pub mod exercises;
pub mod health;
pub mod logging;
pub mod memory;
pub mod pool;
pub mod queue;
pub mod stats;
pub mod task;
pub mod worker;

pub use blob::{BlobError, BlobKey, BlobStore, FsBlobStore, MemoryBlobStore};
pub use health::Health;
pub use memory::MemoryQueue;
pub use pool::{PoolConfig, ShutdownReport, StatsHandle, WorkerPool};
pub use queue::{
    Ack, Backoff, Backpressure, Lease, Queue, QueueConfig, QueueError, QueueStats, Retry,
};
pub use stats::PoolStats;
pub use task::{FailureKind, Task, TaskError, TaskId, TaskRecord, TaskState};
pub use worker::{Capabilities, ImageWorker, NoopWorker, Worker, WorkerId};

/// Chapter 3 of the book, whose Rust examples run as this crate's doctests.
#[cfg(doctest)]
#[doc = include_str!("../../book/src/session03.md")]
pub struct BookChapter;

/// The book's chapter "Primer: async, Arc and Mutex": its examples run as this crate's doctests.
#[cfg(doctest)]
#[doc = include_str!("../../book/src/primer-async.md")]
pub struct PrimerAsync;
