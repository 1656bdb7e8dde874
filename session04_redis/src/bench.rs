//! The throughput benchmark: no-op tasks through a real redis-server and worker processes,
//! end to end (enqueue, deliver, acknowledge), with the same at-least-once machinery as
//! real work: every task gets a record, a lease, and an acknowledgement.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use session02_pipelines::PipelineSpec;
use session03_workers::{BlobKey, Queue, Task};

use crate::cli::QueueArgs;
use crate::server::{Children, RedisServer};
use crate::submit::enqueue_all;

/// What to measure.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// No-op tasks to push through.
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    pub tasks: usize,
    /// Worker processes.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub workers: usize,
    /// Tasks each worker process runs at once.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub concurrency: usize,
    /// Use this Redis instead of starting one.
    #[arg(long, value_name = "URL", env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// As JSON, for programs.
    #[arg(long)]
    pub json: bool,
}

/// What the benchmark measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Tasks pushed through.
    pub tasks: usize,
    /// Worker processes.
    pub workers: usize,
    /// Slots per worker process.
    pub concurrency: usize,
    /// From the first enqueue to the last acknowledgement.
    pub seconds: f64,
    /// Tasks per second, end to end.
    pub tasks_per_second: f64,
    /// Enqueueing alone (the workers run meanwhile), tasks per second.
    pub enqueue_per_second: f64,
}

// ANCHOR: bench
/// How long the benchmark waits for the next task to finish before it gives up.
const STALLED: Duration = Duration::from_secs(60);

/// Starts redis-server (unless given one) and `workers` worker processes of `program`
/// (this binary's `worker` command), enqueues the tasks in batches of 500, one call each,
/// and measures until the queue has acknowledged every one.
pub async fn run(args: &BenchArgs, program: &Path) -> Result<BenchReport> {
    anyhow::ensure!(
        args.tasks > 0 && args.workers > 0,
        "--tasks and --workers must be positive"
    );
    let server = match &args.redis_url {
        Some(_) => None,
        None => Some(RedisServer::start_async().await?),
    };
    let url = args
        .redis_url
        .clone()
        .or_else(|| server.as_ref().map(RedisServer::url))
        .context("no Redis")?;
    let namespace = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut flags = QueueArgs::for_url(&url);
    flags.namespace = namespace.clone();
    flags.capacity = 0;
    let (queue, _) = flags.open().await?;

    let mut workers = Children::default();
    for _ in 0..args.workers {
        let child = Command::new(program)
            .args(["worker", "--kind", "noop", "--redis-url", &url])
            .args(["--namespace", &namespace])
            .args(["--concurrency", &args.concurrency.to_string()])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        workers.0.push(child);
    }

    let spec = PipelineSpec::parse("grayscale")?;
    let input = BlobKey::new("bench/input.png")?;
    let output = BlobKey::new("bench/output.png")?;
    let tasks: Vec<Task> = (0..args.tasks)
        .map(|_| Task::new(spec.clone(), input.clone(), output.clone()))
        .collect();

    let started = Instant::now();
    enqueue_all(&queue, &tasks).await?;
    let enqueued = started.elapsed();
    let (mut done, mut progressed) = (0, Instant::now());
    loop {
        let stats = queue.stats().await?;
        if stats.succeeded >= args.tasks as u64 {
            break;
        }
        if stats.succeeded > done {
            (done, progressed) = (stats.succeeded, Instant::now());
        } else if progressed.elapsed() > STALLED {
            bail!(
                "no task finished for {} s ({done} of {} done)",
                STALLED.as_secs(),
                args.tasks
            );
        }
        for child in &mut workers.0 {
            if let Some(status) = child.try_wait()? {
                bail!("a worker process exited early ({status})");
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(BenchReport {
        tasks: args.tasks,
        workers: args.workers,
        concurrency: args.concurrency,
        seconds,
        tasks_per_second: args.tasks as f64 / seconds,
        enqueue_per_second: args.tasks as f64 / enqueued.as_secs_f64(),
    })
}
// ANCHOR_END: bench
