//! The demo that `cargo run -p session05_distributed` runs: the original course's three
//! specialised workers as three processes, a mixed batch and one large tiled image, and a
//! worker killed while it runs tasks. It ends with who did what, and every task done.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use session01_image_basics::{Filter, Limits, samples};
use session02_pipelines::{PipelineSpec, batch};
use session03_workers::logging::LogFormat;
use session03_workers::{BlobKey, BlobStore, Queue, Task, TaskId, TaskState};
use session04_redis::cli::QueueArgs;
use session04_redis::server::{Children, own_unless_given, terminate};
use session04_redis::submit::enqueue_all;
use session04_redis::{RedisBlobStore, RedisQueue};

use crate::jobs::{DEFAULT_TILE, JobOutcome, Jobs, wait_for_job};
use crate::registry::{Registry, RegistryConfig, WorkerView};

/// Runs three specialised worker processes on the sample photos and a large tiled image.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Where the results are copied for you to look at.
    #[arg(
        long,
        value_name = "DIR",
        env = "OUTPUT_DIR",
        default_value = "output/session05"
    )]
    pub output_dir: PathBuf,
    /// Use this Redis instead of starting one.
    #[arg(long, value_name = "URL", env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Log lines as text for people or JSON for machines.
    #[arg(long, value_enum, env = "LOG_FORMAT", default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

// ANCHOR: workers
/// The original course's three workers: a name and what each runs.
pub const WORKERS: [(&str, &str); 3] = [
    ("A", "resize,blur,brightness"),
    ("B", "sharpen,edges"),
    ("C", "all"),
];

/// The mixed batch: every sample photo through each of these.
pub const PIPELINES: [&str; 5] = [
    "resize:width=400|brightness:factor=1.2",
    "blur:sigma=2",
    "sharpen|edges",
    "edges",
    "median:radius=1|sharpen",
];

/// The large image's pipeline: blur and brightness run in tiles (on A or C), resize after
/// stitching.
pub const TILED_PIPELINE: &str = "blur:sigma=2|brightness:factor=1.1|resize:width=1600";
// ANCHOR_END: workers

/// Heartbeats and leases short enough that the kill shows within seconds.
const WORKER_FLAGS: &[&str] = &[
    "--concurrency",
    "2",
    "--heartbeat",
    "0.5",
    "--heartbeat-ttl",
    "2",
    "--lease",
    "3",
    // A little slow on purpose, so the kill lands while tasks are in hand.
    "--delay",
    "0.3",
];

/// The demo's blob cap: the tiled image and its result are tens of megabytes.
const BLOB_CAP: u64 = 256 << 20;

/// Runs the demo with worker processes of `program` (this executable); the report is the
/// final table.
pub async fn run(args: DemoArgs, program: &Path) -> Result<String> {
    let (server, url) = own_unless_given(args.redis_url.as_deref()).await?;
    let mut flags = QueueArgs::for_url(&url);
    flags.namespace = format!("demo5-{}", std::process::id());
    flags.lease = 3.0;
    flags.max_blob_bytes = BLOB_CAP;
    let (queue, blobs) = flags.open().await?;
    let registry = Registry::new(
        queue.connection(),
        queue.keys(),
        RegistryConfig {
            interval: Duration::from_millis(500),
            ttl: Duration::from_secs(2),
            ..RegistryConfig::default()
        },
    );

    let mut children = Children::default();
    let mut labels = HashMap::new();
    for (name, capabilities) in WORKERS {
        let child = Command::new(program)
            .args([
                "worker",
                "--redis-url",
                &url,
                "--namespace",
                &flags.namespace,
            ])
            .args(["--capabilities", capabilities])
            .args(["--max-blob-bytes", &BLOB_CAP.to_string()])
            .args(WORKER_FLAGS)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start a worker process")?;
        println!("worker {name} (pid {}) runs {capabilities}", child.id());
        labels.insert(child.id(), name);
        children.0.push(child);
    }
    wait_for_workers(&registry, WORKERS.len()).await?;

    let (tasks, names) = submit_batch(&queue, &blobs).await?;
    let jobs = Jobs::new(&queue, Arc::clone(&blobs), Limits::default());
    let large = large_image()?;
    let tiled_output = BlobKey::new("results/hubble-tiled.png")?;
    let job = jobs
        .submit(
            &queue,
            &large,
            &PipelineSpec::parse(TILED_PIPELINE)?,
            tiled_output.clone(),
            (DEFAULT_TILE, DEFAULT_TILE),
        )
        .await?;
    let record = jobs
        .record(job)
        .await?
        .context("the job's record vanished")?;
    println!(
        "submitted {} tasks, and a {}x{} image as job {job} in {} tiles ({TILED_PIPELINE})",
        tasks.len(),
        large.width(),
        large.height(),
        record.tiles.len()
    );

    let mut all: Vec<TaskId> = tasks.iter().map(|t| t.id).collect();
    all.extend(&record.tiles);
    all.push(job);
    let killed = watch(&queue, &registry, &all, &mut children, &labels).await?;
    let outcome = wait_for_job(&queue, job, Duration::from_secs(60)).await?;
    let JobOutcome::Assembled { .. } = outcome else {
        anyhow::bail!("the tiled job failed: {outcome:?}");
    };

    // A clean stop for the workers still running: they say so in the registry.
    for child in children.0.iter_mut().filter(|c| Some(c.id()) != killed) {
        let _ = terminate(child);
    }
    let workers = registry.list().await?;
    let report = report(
        &queue,
        &blobs,
        &tasks,
        &names,
        (&record.tiles, job, &tiled_output),
        &workers,
        &labels,
        &args.output_dir,
    )
    .await;
    if server.is_none() {
        queue
            .expire_namespace(Duration::from_secs(24 * 3600))
            .await?;
    }
    report
}

/// Waits until `count` workers are registered and live.
async fn wait_for_workers(registry: &Registry, count: usize) -> Result<()> {
    let started = Instant::now();
    loop {
        let live = registry
            .list()
            .await?
            .iter()
            .filter(|w| w.state.is_live())
            .count();
        if live >= count {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "only {live} of {count} workers registered within a minute"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every sample photo through every pipeline of [`PIPELINES`].
async fn submit_batch(
    queue: &RedisQueue,
    blobs: &RedisBlobStore,
) -> Result<(Vec<Task>, HashMap<TaskId, String>)> {
    let mut tasks = Vec::new();
    let mut names = HashMap::new();
    for path in batch::collect_inputs(&[samples::dir()])? {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("image")
            .to_owned();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("image");
        let input = BlobKey::for_file("inputs", &name)?;
        blobs
            .put(&input, tokio::fs::read(&path).await?.into())
            .await?;
        for (n, pipeline) in PIPELINES.iter().enumerate() {
            let output = BlobKey::for_file("results", &format!("{stem}-{n}.png"))?;
            let task = Task::new(PipelineSpec::parse(pipeline)?, input.clone(), output);
            names.insert(task.id, format!("{name} | {pipeline}"));
            tasks.push(task);
        }
    }
    enqueue_all(queue, &tasks).await?;
    Ok((tasks, names))
}

/// The Hubble photo at 4000 x 3000: large enough to be worth tiling.
fn large_image() -> Result<image::DynamicImage> {
    let photo = session01_image_basics::load(samples::dir().join("hubble_deep_field.jpg"))?;
    Ok(PipelineSpec::parse("resize:width=4000,height=3000")?
        .build()?
        .apply(&photo)?)
}

// ANCHOR: watch
/// Prints progress until every task is final; kills worker B on the way. Returns
/// the pid killed.
async fn watch(
    queue: &RedisQueue,
    registry: &Registry,
    ids: &[TaskId],
    children: &mut Children,
    labels: &HashMap<u32, &str>,
) -> Result<Option<u32>> {
    let started = Instant::now();
    let mut killed = None;
    let mut last = String::new();
    loop {
        let states = queue.states(ids.iter().copied()).await?;
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for state in states.iter().flatten() {
            *counts.entry(state.to_string()).or_default() += 1;
        }
        // The assembly task appears only once the last tile is done.
        let unknown = states.iter().filter(|s| s.is_none()).count();
        let workers = registry.list().await?;
        let line = format!(
            "{} | {}",
            counts
                .iter()
                .map(|(state, n)| format!("{n} {state}"))
                .collect::<Vec<_>>()
                .join(", "),
            workers
                .iter()
                .map(|w| format!(
                    "{} {}({})",
                    labels.get(&w.info.pid).copied().unwrap_or("?"),
                    w.state.name(),
                    w.beat.current.len()
                ))
                .collect::<Vec<_>>()
                .join(" ")
        );
        if line != last {
            println!("{:>6.2}s  {line}", started.elapsed().as_secs_f64());
            last = line;
        }
        let done = counts.get("succeeded").copied().unwrap_or(0);
        if killed.is_none() && done * 3 >= ids.len() {
            // A third of the way, as soon as B really holds a task: a kill mid-task.
            let victim = &mut children.0[1];
            let held = held_by(queue, ids, &states, &workers, victim.id()).await?;
            if !held.is_empty() {
                victim.kill()?;
                victim.wait()?;
                println!(
                    "{:>6.2}s  killed worker B (SIGKILL) while it ran {} tasks: they go to \
                     another worker when their leases run out",
                    started.elapsed().as_secs_f64(),
                    held.len()
                );
                killed = Some(victim.id());
            }
        }
        if unknown == 0 && states.iter().all(|s| s.is_some_and(TaskState::is_final)) {
            return Ok(killed);
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "the tasks did not finish within five minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
// ANCHOR_END: watch

/// The tasks of `ids` running now in the worker process `pid`.
async fn held_by(
    queue: &RedisQueue,
    ids: &[TaskId],
    states: &[Option<TaskState>],
    workers: &[WorkerView],
    pid: u32,
) -> Result<Vec<TaskId>> {
    let Some(worker) = workers.iter().find(|w| w.info.pid == pid) else {
        return Ok(Vec::new());
    };
    let consumers = queue.consumers(ids).await?;
    Ok(ids
        .iter()
        .zip(states)
        .zip(&consumers)
        .filter(|((_, state), consumer)| {
            **state == Some(TaskState::Running) && consumer.as_deref() == Some(&worker.info.id)
        })
        .map(|((id, _), _)| *id)
        .collect())
}

/// Copies the results to `dir` and tabulates who did what.
#[allow(clippy::too_many_arguments)]
async fn report(
    queue: &RedisQueue,
    blobs: &RedisBlobStore,
    tasks: &[Task],
    names: &HashMap<TaskId, String>,
    (tiles, job, tiled_output): (&[TaskId], TaskId, &BlobKey),
    workers: &[WorkerView],
    labels: &HashMap<u32, &str>,
    dir: &Path,
) -> Result<String> {
    tokio::fs::create_dir_all(dir)
        .await
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let label_of: HashMap<&str, &str> = workers
        .iter()
        .filter_map(|w| Some((w.info.id.as_str(), *labels.get(&w.info.pid)?)))
        .collect();
    let who = |consumer: &Option<String>| {
        consumer
            .as_deref()
            .and_then(|c| label_of.get(c).copied())
            .unwrap_or("?")
            .to_owned()
    };

    let ids: Vec<TaskId> = tasks.iter().map(|t| t.id).collect();
    let consumers = queue.consumers(&ids).await?;
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_header(["task", "state", "attempts", "done by"]);
    let mut not_done = 0;
    let mut per_worker: BTreeMap<String, usize> = BTreeMap::new();
    for (task, consumer) in tasks.iter().zip(&consumers) {
        let record = queue.status(task.id).await?.context("a record vanished")?;
        if record.state == TaskState::Succeeded {
            let file = dir.join(task.output.as_str().trim_start_matches("results/"));
            tokio::fs::write(&file, blobs.get(&task.output).await?).await?;
            *per_worker.entry(who(consumer)).or_default() += 1;
        } else {
            not_done += 1;
        }
        table.add_row([
            names[&task.id].clone(),
            record.state.to_string(),
            record.attempts.to_string(),
            who(consumer),
        ]);
    }
    let mut out = format!("{table}\n");
    let mut tiles_by: BTreeMap<String, usize> = BTreeMap::new();
    for consumer in queue.consumers(tiles).await? {
        *tiles_by.entry(who(&consumer)).or_default() += 1;
    }
    let assembler = who(&queue.consumers(&[job]).await?[0]);
    let file = dir.join("hubble-tiled.png");
    tokio::fs::write(&file, blobs.get(tiled_output).await?).await?;
    writeln!(
        out,
        "batch tasks done by worker: {}",
        per_worker
            .iter()
            .map(|(w, n)| format!("{w} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    writeln!(
        out,
        "tiled job {job}: {} tiles, done by {}; assembled once, by worker {assembler}; result \
         in {}",
        tiles.len(),
        tiles_by
            .iter()
            .map(|(w, n)| format!("{w} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        file.display()
    )?;
    let stats = queue.stats().await?;
    writeln!(
        out,
        "{} succeeded, {} failed, {} retried, {} leases expired (worker B's, taken over by \
         others); results in {}",
        stats.succeeded,
        stats.failed,
        stats.retried,
        stats.expired_leases,
        dir.display()
    )?;
    anyhow::ensure!(not_done == 0, "{not_done} tasks did not succeed:\n{out}");
    Ok(out)
}
