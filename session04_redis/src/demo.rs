//! The demo that `cargo run -p session04_redis` runs: a whole Redis-backed system in one
//! command. It starts its own redis-server (or uses `REDIS_URL`), two workers with their
//! own connections (two consumers of the group, as two machines would be), submits the
//! bundled photos, prints every change of state as it happens, and ends with where the
//! results are.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use session01_image_basics::samples;
use session02_pipelines::{PipelineSpec, batch};
use session03_workers::logging::LogFormat;
use session03_workers::{
    BlobKey, BlobStore, ImageWorker, PoolConfig, Queue, Task, TaskId, TaskState, WorkerPool,
};

use crate::cli::QueueArgs;
use crate::server::own_unless_given;
use crate::submit::{DEFAULT_PIPELINE, enqueue_all};

/// Runs the whole system on the sample photos.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// The pipeline every photo goes through.
    #[arg(long, value_name = "SPEC", env = "PIPELINE", default_value = DEFAULT_PIPELINE)]
    pub pipeline: String,
    /// Where the results are copied for you to look at.
    #[arg(
        long,
        value_name = "DIR",
        env = "OUTPUT_DIR",
        default_value = "output/session04"
    )]
    pub output_dir: PathBuf,
    /// Use this Redis instead of starting one.
    #[arg(long, value_name = "URL", env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Log lines as text for people or JSON for machines.
    #[arg(long, value_enum, env = "LOG_FORMAT", default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

// ANCHOR: demo
/// Runs the demo; the report is the table of results.
pub async fn run(args: DemoArgs) -> Result<String> {
    let spec = PipelineSpec::parse_any(&args.pipeline)?;
    spec.build()?;
    let (server, url) = own_unless_given(args.redis_url.as_deref()).await?;
    let mut flags = QueueArgs::for_url(&url);
    flags.namespace = format!("demo-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let (queue, blobs) = flags.open().await?;

    // Two workers, each with its own connection: two consumers, as on two machines.
    let mut pools = Vec::new();
    for _ in 0..2 {
        let (worker_queue, worker_blobs) = flags.open().await?;
        let worker = ImageWorker::new(worker_blobs, Default::default());
        let config = PoolConfig {
            workers: 2,
            ..PoolConfig::default()
        };
        println!("worker {} started with 2 slots", worker_queue.consumer());
        pools.push(WorkerPool::start(
            Arc::new(worker_queue),
            Arc::new(worker),
            config,
        ));
    }

    let mut names = HashMap::new();
    let mut tasks = Vec::new();
    for path in batch::collect_inputs(&[samples::dir()])? {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("image")
            .to_owned();
        let input = BlobKey::for_file("inputs", &name)?;
        blobs
            .put(&input, tokio::fs::read(&path).await?.into())
            .await?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("image");
        let output = BlobKey::for_file("results", &format!("{stem}.png"))?;
        let task = Task::new(spec.clone(), input, output);
        names.insert(task.id, name);
        tasks.push(task);
    }
    enqueue_all(&queue, &tasks).await?;
    println!(
        "submitted {} tasks to {}",
        tasks.len(),
        flags.redis.display_url()
    );

    watch(&queue, &tasks, &names).await?;
    for pool in pools {
        pool.shutdown(Duration::from_secs(10)).await;
    }
    let report = report(&queue, &*blobs, &tasks, &names, &args.output_dir).await;
    if server.is_none() {
        // Someone else's Redis: leave nothing of the demo behind for longer than a day.
        queue
            .expire_namespace(Duration::from_secs(24 * 3600))
            .await?;
    }
    report
}
// ANCHOR_END: demo

/// Prints each task's changes of state until all are final.
async fn watch(
    queue: &crate::RedisQueue,
    tasks: &[Task],
    names: &HashMap<TaskId, String>,
) -> Result<()> {
    let started = Instant::now();
    let mut last: HashMap<TaskId, TaskState> = HashMap::new();
    loop {
        let states = queue.states(tasks.iter().map(|t| t.id)).await?;
        for (task, state) in tasks.iter().zip(&states) {
            let Some(state) = *state else { continue };
            if last.insert(task.id, state) != Some(state) {
                let worker = if state == TaskState::Running {
                    let record = queue.status(task.id).await?;
                    record
                        .and_then(|r| r.worker)
                        .map_or_else(String::new, |w| format!(" on {w}"))
                } else {
                    String::new()
                };
                println!(
                    "{:>7.3}s  {:<24} {state}{worker}",
                    started.elapsed().as_secs_f64(),
                    names[&task.id]
                );
            }
        }
        if states.iter().all(|s| s.is_some_and(TaskState::is_final)) {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "the tasks did not finish within five minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Copies the results to `dir` and tabulates every task.
async fn report(
    queue: &crate::RedisQueue,
    blobs: &dyn BlobStore,
    tasks: &[Task],
    names: &HashMap<TaskId, String>,
    dir: &std::path::Path,
) -> Result<String> {
    tokio::fs::create_dir_all(dir)
        .await
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header([
        "input",
        "state",
        "attempts",
        "worker",
        "result in Redis",
        "copied to",
    ]);
    let mut failed = 0;
    for task in tasks {
        let record = queue
            .status(task.id)
            .await?
            .context("a task's record vanished")?;
        let copied = if record.state == TaskState::Succeeded {
            let file = dir.join(task.output.as_str().trim_start_matches("results/"));
            tokio::fs::write(&file, blobs.get(&task.output).await?).await?;
            file.display().to_string()
        } else {
            failed += 1;
            record
                .error
                .as_ref()
                .map_or_else(String::new, |e| e.message.clone())
        };
        table.add_row([
            names[&task.id].clone(),
            record.state.to_string(),
            record.attempts.to_string(),
            record.worker.map_or_else(String::new, |w| w.to_string()),
            blobs.locate(&task.output),
            copied,
        ]);
    }
    let mut out = format!("{table}\n");
    let stats = queue.stats().await?;
    writeln!(
        out,
        "{} succeeded, {} failed, {} retried; results kept in Redis for a day",
        stats.succeeded, stats.failed, stats.retried
    )?;
    anyhow::ensure!(failed == 0, "{failed} tasks did not succeed:\n{out}");
    Ok(out)
}
