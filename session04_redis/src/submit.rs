//! The `submit` command: puts images in the blob store and their tasks in the queue.
//!
//! Each input is uploaded once, however many tasks use it; tasks go to Redis in pipelined
//! batches, so a load test of a hundred thousand tasks takes seconds. With `--wait`, it
//! follows the tasks to their final states and prints where each result is; with
//! `--output DIR` too, it copies each result out of Redis into a file of that folder
//! ([`write_results`], which later sessions' tools reuse).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
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
    /// The results' format, by extension: png, jpg, webp, or ppm (raw, uncompressed).
    #[arg(long, value_name = "EXT", default_value = "png")]
    pub format: String,
    /// With --wait: write each result into this folder (made when missing), named after
    /// its input (`chelsea.png`; `chelsea-2.png` for the next task of the same name).
    #[arg(long, value_name = "DIR", requires = "wait")]
    pub output: Option<PathBuf>,
    /// Log lines as text for people or JSON for machines.
    #[arg(long, value_enum, env = "LOG_FORMAT", default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}
// ANCHOR_END: submit_args

/// The pipeline when none is given: a size every photo shares, a blur, and edges.
pub const DEFAULT_PIPELINE: &str = "resize:width=800|blur:sigma=2|edges";

/// What `submit` will do, checked before anything reaches Redis.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The pipeline, parsed, and known to build.
    pub spec: PipelineSpec,
    /// The results' extension, lower-case: `png`, `jpg`, `jpeg` or `webp`.
    pub format: String,
    /// The image files, folders expanded, in order; each one is there.
    pub inputs: Vec<PathBuf>,
    /// How long `--wait` waits; `None` for ever.
    pub timeout: Option<Duration>,
}

impl SubmitArgs {
    /// Checks the flags and finds the inputs, without Redis: a bad pipeline, format or path
    /// is refused before anything is uploaded (not the inputs' sizes: a tiled job's input
    /// is never stored whole).
    pub fn plan(&self) -> Result<Plan> {
        anyhow::ensure!(self.count > 0, "--count must be at least 1");
        let format = self.format.to_ascii_lowercase();
        anyhow::ensure!(
            ["png", "jpg", "jpeg", "webp", "ppm"].contains(&format.as_str()),
            "--format must be png, jpg, webp or ppm, got {:?}",
            self.format
        );
        let spec = PipelineSpec::parse_any(&self.pipeline)?;
        spec.build()?;
        let timeout = optional_seconds("timeout", self.timeout)?;
        let inputs = if self.inputs.is_empty() {
            batch::collect_inputs(&[samples::dir()])?
        } else {
            batch::collect_inputs(&self.inputs)?
        };
        for path in &inputs {
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        }
        Ok(Plan {
            spec,
            format,
            inputs,
            timeout,
        })
    }
}

/// The name a result's file is given after: its input's file name without the extension.
pub fn stem_of(path: &Path) -> &str {
    path.file_stem().and_then(|s| s.to_str()).unwrap_or("image")
}

/// Uploads the inputs, enqueues `count` tasks per input, and prints one task id per line;
/// with `--wait`, then one line per task: id, final state, and where its result is (its
/// file, with `--output`) or its error.
pub async fn run(args: SubmitArgs) -> Result<String> {
    let plan = args.plan()?;
    // Every input is checked before anything is uploaded, and the output folder too.
    for path in &plan.inputs {
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
    if let Some(dir) = &args.output {
        prepare_output(dir)?;
    }
    let (queue, blobs) = args.queue.open().await?;

    // One upload per input, under a prefix of its own so runs never overwrite each other.
    let run_id = uuid::Uuid::now_v7().simple().to_string();
    let prefix = format!("inputs/{}", &run_id[..16]);
    let mut used = HashSet::new();
    let mut inputs = Vec::new();
    for path in &plan.inputs {
        let bytes = tokio::fs::read(path)
            .await
            .with_context(|| format!("cannot read {}", path.display()))?;
        let extension = path.extension().and_then(|s| s.to_str()).unwrap_or("bin");
        let key = unique_key(&prefix, stem_of(path), extension, &mut used)?;
        blobs.put(&key, bytes.into()).await?;
        inputs.push(key);
    }

    let mut tasks = Vec::with_capacity(inputs.len() * args.count);
    let mut stems = Vec::with_capacity(tasks.capacity());
    for _ in 0..args.count {
        for (input, path) in inputs.iter().zip(&plan.inputs) {
            let id = TaskId::new();
            let output = BlobKey::new(format!("results/{id}.{}", plan.format))?;
            let mut task = Task::new(plan.spec.clone(), input.clone(), output);
            task.id = id;
            tasks.push(task);
            stems.push(stem_of(path));
        }
    }
    let ids = enqueue_all(&queue, &tasks).await?;
    info!(tasks = ids.len(), "submitted");
    if !args.wait {
        let mut report = String::new();
        for id in &ids {
            writeln!(report, "{id}")?;
        }
        return Ok(report);
    }
    let states = wait(&queue, &tasks, plan.timeout).await?;
    let mut files = vec![None; tasks.len()];
    if let Some(dir) = &args.output {
        let (done, results): (Vec<usize>, Vec<ResultFile>) = tasks
            .iter()
            .zip(&stems)
            .zip(&states)
            .enumerate()
            .filter(|(_, (_, state))| **state == Some(TaskState::Succeeded))
            .map(|(n, ((task, stem), _))| (n, ResultFile::of(task, stem)))
            .unzip();
        let written = write_results(&*blobs, dir, &results).await?;
        for (n, file) in done.into_iter().zip(written) {
            files[n] = Some(file);
        }
    }
    report(&queue, &*blobs, &tasks, &states, &files).await
}

/// One line per task: id, state, and where its result is (`files[n]` when written) or
/// why there is none; an error listing them all when any did not succeed.
async fn report(
    queue: &RedisQueue,
    blobs: &dyn BlobStore,
    tasks: &[Task],
    states: &[Option<TaskState>],
    files: &[Option<PathBuf>],
) -> Result<String> {
    let mut report = String::new();
    let mut failures = 0;
    for ((task, state), file) in tasks.iter().zip(states).zip(files) {
        let (state, detail) = match state {
            Some(TaskState::Succeeded) => (
                TaskState::Succeeded.to_string(),
                file.as_ref().map_or_else(
                    || blobs.locate(&task.output),
                    |file| file.display().to_string(),
                ),
            ),
            Some(state) => {
                failures += 1;
                let error = queue.status(task.id).await?.and_then(|r| r.error);
                (
                    state.to_string(),
                    error.map_or_else(String::new, |e| e.message),
                )
            }
            None => {
                failures += 1;
                ("unknown".to_owned(), "no record (expired?)".to_owned())
            }
        };
        writeln!(report, "{}\t{state}\t{detail}", task.id)?;
    }
    if failures > 0 {
        bail!(
            "{failures} of {} tasks did not succeed:\n{report}",
            tasks.len()
        );
    }
    Ok(report)
}

/// A result to copy out of the blob store into a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultFile {
    /// What made it (a task, or a tiled job): named when it cannot be read.
    pub id: TaskId,
    /// Where it is in the blob store; its extension becomes the file's.
    pub blob: BlobKey,
    /// The file's name without its extension, usually the input's ([`stem_of`]).
    pub stem: String,
}

impl ResultFile {
    /// The result of `task`, in a file named after `stem`.
    pub fn of(task: &Task, stem: &str) -> Self {
        Self {
            id: task.id,
            blob: task.output.clone(),
            stem: stem.to_owned(),
        }
    }
}

/// Makes sure results can be written into `dir` before any work is sent: creates it when
/// missing, and refuses a path that is not a folder, or a folder this process cannot
/// write into (it tries, with a file that it removes).
pub fn prepare_output(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!("the output path {} is not a folder", dir.display());
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the output folder {}", dir.display()))?;
    tempfile::Builder::new()
        .prefix(".write-test-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write into the output folder {}", dir.display()))?;
    Ok(())
}

// ANCHOR: write_results
/// Copies each result out of `blobs` into a file of `dir`, in order, and returns the
/// files' paths in the same order. A file is named `stem.EXT` after its result's
/// [`stem`](ResultFile::stem) (characters other than letters, digits, `.`, `_` and `-`
/// become `_`) and its blob's extension; a stem used already gets `-2`, `-3` ...
/// Existing files of those names are replaced.
pub async fn write_results(
    blobs: &dyn BlobStore,
    dir: &Path,
    results: &[ResultFile],
) -> Result<Vec<PathBuf>> {
    let mut used = HashSet::new();
    let mut files = Vec::with_capacity(results.len());
    for result in results {
        let extension = result.blob.extension().unwrap_or_else(|| "bin".to_owned());
        let key = unique_key("results", &result.stem, &extension, &mut used)?;
        let name = key.as_str().rsplit('/').next().unwrap_or(key.as_str());
        let file = dir.join(name);
        let bytes = blobs.get(&result.blob).await.with_context(|| {
            format!(
                "cannot read the result of task {} ({})",
                result.id,
                blobs.locate(&result.blob)
            )
        })?;
        tokio::fs::write(&file, &bytes)
            .await
            .with_context(|| format!("cannot write {}", file.display()))?;
        files.push(file);
    }
    Ok(files)
}
// ANCHOR_END: write_results

// ANCHOR: enqueue_all
/// Enqueues `tasks` in batches, one call each; a full queue is waited out, batch by batch.
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

/// Follows `tasks` until each is final (or `limit` passes); returns their states in the
/// same order, `None` for a task whose record is gone.
async fn wait(
    queue: &RedisQueue,
    tasks: &[Task],
    limit: Option<Duration>,
) -> Result<Vec<Option<TaskState>>> {
    let started = Instant::now();
    let mut states: Vec<Option<TaskState>> = vec![None; tasks.len()];
    let mut open: Vec<usize> = (0..tasks.len()).collect();
    while !open.is_empty() {
        if limit.is_some_and(|limit| started.elapsed() > limit) {
            bail!(
                "{} of {} tasks still unfinished after {:?}",
                open.len(),
                tasks.len(),
                limit.unwrap_or_default()
            );
        }
        let now = queue.states(open.iter().map(|&n| tasks[n].id)).await?;
        let mut still = Vec::new();
        for (n, state) in open.into_iter().zip(now) {
            match state {
                Some(state) if !state.is_final() => still.push(n),
                state => states[n] = state,
            }
        }
        open = still;
        if !open.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(states)
}

#[cfg(test)]
mod tests {
    use super::*;
    use session03_workers::MemoryBlobStore;

    fn result(stem: &str, blob: &str) -> ResultFile {
        ResultFile {
            id: TaskId::new(),
            blob: BlobKey::new(blob).unwrap(),
            stem: stem.to_owned(),
        }
    }

    #[tokio::test]
    async fn results_are_named_after_their_stems_in_order() {
        let blobs = MemoryBlobStore::new();
        let results = [
            result("chelsea", "results/a.png"),
            result("coffee", "results/b.webp"),
            result("chelsea", "results/c.png"),
            result("my photo", "results/d.png"),
            result("my_photo", "results/e.png"),
            result("chelsea", "results/f.png"),
        ];
        for (n, r) in results.iter().enumerate() {
            blobs.put(&r.blob, vec![n as u8].into()).await.unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let files = write_results(&blobs, dir.path(), &results).await.unwrap();
        let names: Vec<&str> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "chelsea.png",
                "coffee.webp",
                "chelsea-2.png",
                "my_photo.png",
                "my_photo-2.png",
                "chelsea-3.png"
            ]
        );
        for (n, file) in files.iter().enumerate() {
            assert_eq!(
                std::fs::read(file).unwrap(),
                [n as u8],
                "{}",
                file.display()
            );
        }
    }

    #[tokio::test]
    async fn a_result_that_cannot_be_read_names_its_task() {
        let blobs = MemoryBlobStore::new();
        let missing = result("chelsea", "results/gone.png");
        let dir = tempfile::tempdir().unwrap();
        let error = write_results(&blobs, dir.path(), std::slice::from_ref(&missing))
            .await
            .unwrap_err();
        let text = format!("{error:#}");
        assert!(text.contains(&missing.id.to_string()), "{text}");
    }

    #[test]
    fn an_output_path_must_be_a_writable_folder() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        prepare_output(&nested).unwrap();
        assert!(nested.is_dir());
        assert_eq!(
            std::fs::read_dir(&nested).unwrap().count(),
            0,
            "the probe went"
        );
        let file = dir.path().join("file.png");
        std::fs::write(&file, b"").unwrap();
        let error = prepare_output(&file).unwrap_err().to_string();
        assert!(
            error.contains("not a folder") && error.contains("file.png"),
            "{error}"
        );
    }
}
