//! The `submit` command: puts images in the blob store and their tasks in the queue.
//!
//! Each input is uploaded once, however many tasks use it; tasks go to Redis in pipelined
//! batches, so a load test of a hundred thousand tasks takes seconds. With `--wait`, it
//! follows the tasks to their final states and prints where each result is.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use session01_image_basics::samples;
use session02_pipelines::{PipelineSpec, batch};
use session03_workers::cli::unique_key;
use session03_workers::logging::LogFormat;
use session03_workers::{
    Backoff, BlobKey, BlobStore, Queue, QueueError, Retry, Task, TaskId, TaskState,
};
use tracing::info;

use crate::cli::{QueueArgs, optional_seconds};
use crate::queue::RedisQueue;

/// Tasks sent to Redis per round trip.
const BATCH: usize = 500;

/// Submits images (or folders of them) to the Redis queue and prints the task ids.
// ANCHOR: submit_args
#[derive(Debug, Clone, clap::Args)]
pub struct SubmitArgs {
    /// The queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// Image files or folders [default: the bundled photos].
    #[arg(value_name = "PATH")]
    pub inputs: Vec<PathBuf>,
    /// The pipeline each image goes through, as text or JSON.
    #[arg(long, value_name = "SPEC", env = "PIPELINE", default_value = DEFAULT_PIPELINE)]
    pub pipeline: String,
    /// Submit each input this many times (for load tests).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub count: usize,
    /// Wait for every task to finish, and print its final state and where its result is.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this many seconds (0: wait for ever).
    #[arg(long, value_name = "SECONDS", default_value_t = 600.0)]
    pub timeout: f64,
    /// The results' format, by extension: png, jpg or webp.
    #[arg(long, value_name = "EXT", default_value = "png")]
    pub format: String,
    /// Log lines as text for people or JSON for machines.
    #[arg(long, value_enum, env = "LOG_FORMAT", default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}
// ANCHOR_END: submit_args

/// The pipeline when none is given: a size every photo shares, a blur, and edges.
pub const DEFAULT_PIPELINE: &str = "resize:width=800|blur:sigma=2|edges";

/// Uploads the inputs, enqueues `count` tasks per input, and prints one task id per line;
/// with `--wait`, then one line per task: id, final state, result or error.
pub async fn run(args: SubmitArgs) -> Result<String> {
    anyhow::ensure!(args.count > 0, "--count must be at least 1");
    let format = args.format.to_ascii_lowercase();
    anyhow::ensure!(
        ["png", "jpg", "jpeg", "webp"].contains(&format.as_str()),
        "--format must be png, jpg or webp, got {:?}",
        args.format
    );
    let spec = PipelineSpec::parse_any(&args.pipeline)?;
    spec.build()?; // refuse a bad pipeline before anything is uploaded
    let wait_for = optional_seconds("timeout", args.timeout)?;
    let paths = if args.inputs.is_empty() {
        batch::collect_inputs(&[samples::dir()])?
    } else {
        batch::collect_inputs(&args.inputs)?
    };
    // Every input is checked before anything is uploaded.
    for path in &paths {
        let size = std::fs::metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .len();
        if size > args.queue.max_blob_bytes {
            bail!(
                "{} is {size} bytes; the store takes at most {} (--max-blob-bytes)",
                path.display(),
                args.queue.max_blob_bytes
            );
        }
    }
    let (queue, blobs) = args.queue.open().await?;

    // One upload per input, under a prefix of its own so runs never overwrite each other.
    let run_id = uuid::Uuid::now_v7().simple().to_string();
    let prefix = format!("inputs/{}", &run_id[..16]);
    let mut used = HashSet::new();
    let mut inputs = Vec::new();
    for path in &paths {
        let bytes = tokio::fs::read(path)
            .await
            .with_context(|| format!("cannot read {}", path.display()))?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("image");
        let extension = path.extension().and_then(|s| s.to_str()).unwrap_or("bin");
        let key = unique_key(&prefix, stem, extension, &mut used)?;
        blobs.put(&key, bytes.into()).await?;
        inputs.push(key);
    }

    let mut tasks = Vec::with_capacity(inputs.len() * args.count);
    for _ in 0..args.count {
        for input in &inputs {
            let id = TaskId::new();
            let output = BlobKey::new(format!("results/{id}.{format}"))?;
            let mut task = Task::new(spec.clone(), input.clone(), output);
            task.id = id;
            tasks.push(task);
        }
    }
    let ids = enqueue_all(&queue, &tasks).await?;
    info!(tasks = ids.len(), "submitted");
    let mut report = String::new();
    for id in &ids {
        writeln!(report, "{id}")?;
    }
    if args.wait {
        report.clear();
        report.push_str(&wait(&queue, &*blobs, &tasks, wait_for).await?);
    }
    Ok(report)
}

// ANCHOR: enqueue_all
/// Enqueues `tasks` in pipelined batches; a full queue is waited out, batch by batch.
pub async fn enqueue_all(queue: &RedisQueue, tasks: &[Task]) -> Result<Vec<TaskId>> {
    let mut ids = Vec::with_capacity(tasks.len());
    let mut retry = Retry::new(Backoff {
        base: Duration::from_millis(20),
        max: Duration::from_secs(1),
    });
    let mut rest = tasks;
    while !rest.is_empty() {
        let (batch, after) = rest.split_at(rest.len().min(BATCH));
        let results = queue.enqueue_many(batch).await?;
        let accepted = results.iter().take_while(|r| r.is_ok()).count();
        for result in &results[..accepted] {
            ids.push(*result.as_ref().map_err(Clone::clone)?);
        }
        match results.get(accepted) {
            None => {
                rest = after;
                retry.succeeded();
            }
            Some(Err(QueueError::Full { .. })) => {
                // The queue is full: try the rest again once workers have made room. Tasks
                // the queue took after a refusal come back as duplicates, so skip those.
                rest = &rest[accepted..];
                tokio::time::sleep(retry.failed()).await;
            }
            Some(Err(QueueError::Duplicate(_))) => {
                ids.push(batch[accepted].id);
                rest = &rest[accepted + 1..];
            }
            Some(Err(error)) => return Err(error.clone().into()),
            Some(Ok(_)) => unreachable!("accepted counts every leading Ok"),
        }
    }
    Ok(ids)
}
// ANCHOR_END: enqueue_all

/// Follows `tasks` until each is final (or `limit` passes), and reports each one.
async fn wait(
    queue: &RedisQueue,
    blobs: &dyn BlobStore,
    tasks: &[Task],
    limit: Option<Duration>,
) -> Result<String> {
    let started = Instant::now();
    let mut open: Vec<&Task> = tasks.iter().collect();
    let mut report = String::new();
    let mut failures = 0;
    while !open.is_empty() {
        if limit.is_some_and(|limit| started.elapsed() > limit) {
            bail!(
                "{} of {} tasks still unfinished after {:?}",
                open.len(),
                tasks.len(),
                limit.unwrap_or_default()
            );
        }
        let states = queue.states(open.iter().map(|t| t.id)).await?;
        let mut still = Vec::new();
        for (task, state) in open.into_iter().zip(states) {
            match state {
                Some(state) if state.is_final() => {
                    let detail = if state == TaskState::Succeeded {
                        blobs.locate(&task.output)
                    } else {
                        failures += 1;
                        queue
                            .status(task.id)
                            .await?
                            .and_then(|r| r.error)
                            .map_or_else(String::new, |e| e.message)
                    };
                    writeln!(report, "{}\t{state}\t{detail}", task.id)?;
                }
                Some(_) => still.push(task),
                None => {
                    failures += 1;
                    writeln!(report, "{}\tunknown\tno record (expired?)", task.id)?;
                }
            }
        }
        open = still;
        if !open.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    if failures > 0 {
        bail!(
            "{failures} of {} tasks did not succeed:\n{report}",
            tasks.len()
        );
    }
    Ok(report)
}
