//! What the `send` and `full-test` demos share: photos from an input folder (bad ones
//! reported and skipped), named tasks sent to the queue, a bounded wait for them, and their
//! results written as files into an output folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use session01_image_basics::{Limits, load_with, samples};
use session02_pipelines::{PipelineSpec, batch};
use session03_workers::{BlobKey, BlobStore, Queue, Task, TaskId, TaskRecord, TaskState};
use session04_redis::cli::QueueArgs;
use session04_redis::submit::{ResultFile, enqueue_all, prepare_output, write_results};
use session04_redis::{RedisBlobStore, RedisQueue};
use tracing::warn;

/// Where the demos read their photos and write their results.
#[derive(Debug, Clone, clap::Args)]
pub struct FoldersArgs {
    /// The folder of photos to process [default: the bundled photos].
    #[arg(long, value_name = "DIR", env = "INPUT_DIR")]
    pub input: Option<PathBuf>,
    /// The folder the results are written to (created when missing).
    #[arg(long, value_name = "DIR", env = "OUTPUT_DIR", default_value = "output")]
    pub output: PathBuf,
    /// Seconds to wait for the tasks before giving up.
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0)]
    pub timeout: f64,
}

/// One task of a demo: a name (its result's file name), a pipeline and a photo.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The result's file name without extension, e.g. `blur`.
    pub name: String,
    /// The pipeline, as text.
    pub pipeline: String,
    /// The photo.
    pub input: PathBuf,
}

/// A task of a demo once it is final.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Its name.
    pub name: String,
    /// Its record: state, attempts, error.
    pub record: TaskRecord,
    /// The worker process (the queue's consumer) that ran it last.
    pub consumer: Option<String>,
    /// The file its result was written to, when it succeeded.
    pub file: Option<PathBuf>,
}

/// The photos in `folder` (or the bundled ones) that decode within `limits`; each one that
/// does not is reported on standard error and skipped.
pub fn photos(folder: Option<&Path>, limits: &Limits) -> Result<Vec<PathBuf>> {
    let folder = folder.map_or_else(samples::dir, Path::to_path_buf);
    anyhow::ensure!(
        folder.is_dir(),
        "the input folder {} does not exist (--input, INPUT_DIR)",
        folder.display()
    );
    let mut good = Vec::new();
    for path in batch::collect_inputs(&[folder])? {
        match load_with(&path, limits) {
            Ok(_) => good.push(path),
            Err(error) => eprintln!("skipping {}: {error}", path.display()),
        }
    }
    anyhow::ensure!(!good.is_empty(), "no photo in the input folder decodes");
    Ok(good)
}

/// Opens the queue, giving up after `timeout` with an error that names the URL.
pub async fn open(
    queue: &QueueArgs,
    timeout: Duration,
) -> Result<(RedisQueue, std::sync::Arc<RedisBlobStore>)> {
    tokio::time::timeout(timeout, queue.open())
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "Redis at {} did not answer within {:.0}s (--redis-url, REDIS_URL)",
                queue.redis.display_url(),
                timeout.as_secs_f64()
            )
        })?
}

/// Sends `planned` to the queue (each photo uploaded once), waits at most `timeout` for
/// every task to be final, and writes each result to `output/<name>.png`.
pub async fn run(
    queue: &RedisQueue,
    blobs: &RedisBlobStore,
    planned: &[Planned],
    output: &Path,
    timeout: Duration,
) -> Result<Vec<Finished>> {
    prepare_output(output)?;
    let run = uuid_prefix();
    let mut uploaded: HashMap<&Path, BlobKey> = HashMap::new();
    let mut tasks = Vec::with_capacity(planned.len());
    for plan in planned {
        let spec = PipelineSpec::parse_any(&plan.pipeline)
            .with_context(|| format!("the pipeline of {}", plan.name))?;
        let input = match uploaded.get(plan.input.as_path()) {
            Some(key) => key.clone(),
            None => {
                let bytes = tokio::fs::read(&plan.input)
                    .await
                    .with_context(|| format!("cannot read {}", plan.input.display()))?;
                let key = BlobKey::new(format!("inputs/{run}/{}", uploaded.len()))?;
                blobs.put(&key, bytes.into()).await?;
                uploaded.insert(&plan.input, key.clone());
                key
            }
        };
        let output = BlobKey::new(format!("results/{run}/{}.png", plan.name))?;
        tasks.push(Task::new(spec, input, output));
    }
    let ids = enqueue_all(queue, &tasks).await?;
    let records = wait(queue, &ids, timeout).await?;
    let consumers = queue.consumers(&ids).await?;
    // Only the results that exist are copied out, each under its task's name.
    let succeeded: Vec<ResultFile> = planned
        .iter()
        .zip(&tasks)
        .zip(&records)
        .filter(|(_, record)| record.state == TaskState::Succeeded)
        .map(|((plan, task), _)| ResultFile::of(task, &plan.name))
        .collect();
    let mut files = write_results(blobs, output, &succeeded).await?.into_iter();
    let mut finished = Vec::with_capacity(planned.len());
    for ((plan, record), consumer) in planned.iter().zip(records).zip(consumers) {
        let file = if record.state == TaskState::Succeeded {
            files.next()
        } else {
            None
        };
        finished.push(Finished {
            name: plan.name.clone(),
            record,
            consumer,
            file,
        });
    }
    Ok(finished)
}

/// Polls the tasks' states until every one is final, then reads their records.
async fn wait(queue: &RedisQueue, ids: &[TaskId], timeout: Duration) -> Result<Vec<TaskRecord>> {
    let deadline = Instant::now() + timeout;
    loop {
        let states = queue.states(ids.iter().copied()).await?;
        if let Some((id, _)) = ids.iter().zip(&states).find(|(_, state)| state.is_none()) {
            bail!("the record of task {id} is gone: purged (`reset`, `full-test`) or expired");
        }
        let open = states
            .iter()
            .filter(|state| !state.is_some_and(|s| s.is_final()))
            .count();
        if open == 0 {
            break;
        }
        if Instant::now() >= deadline {
            bail!(
                "{open} of {} tasks unfinished after {:.0}s: are workers running? (`workers`)",
                ids.len(),
                timeout.as_secs_f64()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut records = Vec::with_capacity(ids.len());
    for id in ids {
        match queue.status(*id).await? {
            Some(record) => records.push(record),
            None => {
                warn!(%id, "the task's record expired");
                bail!("the record of task {id} is gone (expired or purged)");
            }
        }
    }
    Ok(records)
}

/// A short prefix of a fresh time-ordered id: runs never overwrite each other's blobs.
fn uuid_prefix() -> String {
    TaskId::new().to_string().replace('-', "")[..16].to_owned()
}
