//! The demo that `cargo run -p session06_docker` runs: the compose lab without Docker. A
//! Redis and three worker processes (the original course's specialised workers), each with
//! its health file; the three demos (send, monitor, full test); then a worker stopped with
//! SIGTERM while it holds a task, as `docker stop` does, to show that it drains: it turns
//! unhealthy, finishes what it holds, and exits 0.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use session03_workers::TaskState;
use session03_workers::logging::LogFormat;
use session04_redis::cli::QueueArgs;
use session04_redis::server::{Children, own_unless_given, terminate};
use session05_distributed::Registry;
use session05_distributed::demo::WORKERS;
use session05_distributed::worker::HeartbeatArgs;

use crate::batch::{self, FoldersArgs, Planned};
use crate::health::{self, Verdict};
use crate::monitor;
use crate::{full_test, send};

/// Runs the lab's steps with local processes instead of containers.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Where the results are written.
    #[arg(
        long,
        value_name = "DIR",
        env = "OUTPUT_DIR",
        default_value = "output/session06"
    )]
    pub output_dir: PathBuf,
    /// Use this Redis instead of starting one.
    #[arg(long, value_name = "URL", env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Log lines as text for people or JSON for machines.
    #[arg(long, value_enum, env = "LOG_FORMAT", default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

/// How long the demo waits for any one step.
const STEP: Duration = Duration::from_secs(60);

/// Runs the demo with worker processes of `program` (this executable).
pub async fn run(args: DemoArgs, program: &Path) -> Result<String> {
    let (server, url) = own_unless_given(args.redis_url.as_deref()).await?;
    let mut queue_args = QueueArgs::for_url(&url);
    queue_args.namespace = format!("demo6-{}", std::process::id());
    let folder = tempfile_dir()?;

    let mut children = Children::default();
    let mut health_files = Vec::new();
    for (name, capabilities) in WORKERS {
        let file = folder.join(format!("worker-{name}.json"));
        children.0.push(start_worker(
            program,
            &queue_args,
            name,
            capabilities,
            &file,
            &[],
        )?);
        println!(
            "worker {name} runs {capabilities}; its health file is {}",
            file.display()
        );
        health_files.push(file);
    }
    for (file, child) in health_files.iter().zip(&mut children.0) {
        let verdict = wait_for(file, child, STEP, |v| v.healthy).await?;
        let worker = verdict.status.map(|s| s.worker).unwrap_or_default();
        println!("health: {} says healthy ({worker})", file.display());
    }

    let folders = |step: &str| FoldersArgs {
        input: None,
        output: args.output_dir.join(step),
        timeout: STEP.as_secs_f64(),
    };
    print!(
        "{}",
        send::run(send::SendArgs {
            queue: queue_args.clone(),
            folders: folders("send"),
        })
        .await?
    );
    print!(
        "{}",
        full_test::run(full_test::FullTestArgs {
            queue: queue_args.clone(),
            folders: folders("full-test"),
            tasks: 10,
            json: false,
        })
        .await?
    );
    // One frame of the monitor (the command redraws it every 2 seconds).
    let (queue, _) = queue_args.open().await?;
    let heartbeat = HeartbeatArgs {
        interval: 0.5,
        ttl: 2.0,
    };
    let registry = Registry::new(queue.connection(), queue.keys(), heartbeat.config()?);
    print!("{}", monitor::snapshot(&queue, &registry).await?);

    // The three workers stop as `docker compose stop` stops them: SIGTERM, then a wait.
    for child in &mut children.0 {
        terminate(child)?;
        exited(child, STEP).await?;
    }
    let file = folder.join("worker-d.json");
    let mut drained = Children::default();
    drained.0.push(start_worker(
        program,
        &queue_args,
        "D",
        "all",
        &file,
        &["--delay", "2"],
    )?);
    wait_for(&file, &mut drained.0[0], STEP, |v| v.healthy).await?;
    let report = drain_drill(&mut drained.0[0], &file, &queue_args, &folders("drain")).await;
    std::fs::remove_dir_all(&folder).ok();
    if server.is_none() {
        // Someone else's Redis: the demo's keys go away within a day.
        queue
            .expire_namespace(Duration::from_secs(24 * 3600))
            .await?;
    }
    report
}

/// Starts a worker process with a short heartbeat and health interval.
fn start_worker(
    program: &Path,
    queue: &QueueArgs,
    name: &str,
    capabilities: &str,
    health_file: &Path,
    extra: &[&str],
) -> Result<Child> {
    Command::new(program)
        .args([
            "worker",
            "--redis-url",
            &queue.redis.url,
            "--namespace",
            &queue.namespace,
        ])
        .args([
            "--worker-id",
            &format!("worker-{}", name.to_ascii_lowercase()),
        ])
        .args(["--capabilities", capabilities, "--concurrency", "2"])
        .args(["--heartbeat", "0.5", "--heartbeat-ttl", "2"])
        .args(["--health-interval", "0.5"])
        .arg("--health-file")
        .arg(health_file)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start a worker process")
}

// ANCHOR: drain
/// Sends two slow tasks to a worker that takes two at once, stops it with SIGTERM while it
/// holds them, and shows that it turned unhealthy, finished them, and exited 0.
async fn drain_drill(
    worker: &mut Child,
    health_file: &Path,
    queue: &QueueArgs,
    folders: &FoldersArgs,
) -> Result<String> {
    let photos = batch::photos(None, &Default::default())?;
    let planned: Vec<Planned> = (0..2)
        .map(|i| Planned {
            name: format!("slow-{i}"),
            pipeline: "blur:sigma=2".to_owned(),
            input: photos[i % photos.len()].clone(),
        })
        .collect();
    let (queue_handle, blobs) = queue.open().await?;
    let batch = batch::run(&queue_handle, &blobs, &planned, &folders.output, STEP);
    let stop = async {
        // Wait until it holds both, then stop it as `docker stop` would.
        let deadline = Instant::now() + STEP;
        while queue_handle
            .counts()
            .await?
            .get(&TaskState::Running)
            .copied()
            .unwrap_or(0)
            < 2
        {
            anyhow::ensure!(
                Instant::now() < deadline,
                "the worker never started the slow tasks"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        terminate(worker)?;
        // The health file says "shutting down" at once, not at its next interval.
        let verdict = wait_for(health_file, worker, STEP, |v| !v.healthy).await;
        anyhow::Ok(
            verdict
                .map(|v| v.reasons.join("; "))
                .unwrap_or_else(|e| e.to_string()),
        )
    };
    let (finished, while_draining) = tokio::join!(batch, stop);
    let while_draining = while_draining?;
    let status = exited(worker, STEP).await?;
    let mut out = String::new();
    writeln!(out, "SIGTERM sent to worker D while it held 2 slow tasks")?;
    writeln!(
        out,
        "  its health check during the drain: unhealthy ({while_draining})"
    )?;
    writeln!(out, "  it exited with {status}")?;
    let finished = finished?;
    let done = finished.iter().filter(|t| t.file.is_some()).count();
    writeln!(
        out,
        "  it finished {done} of {} before it exited",
        finished.len()
    )?;
    anyhow::ensure!(
        status.success() && done == finished.len(),
        "the drain lost work:\n{out}"
    );
    Ok(out)
}
// ANCHOR_END: drain

/// Checks `file` until `accept` takes the verdict, or `limit` passes; fails at once, with
/// its exit status, if the worker exits first.
async fn wait_for(
    file: &Path,
    worker: &mut Child,
    limit: Duration,
    accept: impl Fn(&Verdict) -> bool,
) -> Result<Verdict> {
    let deadline = Instant::now() + limit;
    loop {
        let verdict = health::check(file, Duration::from_secs(10));
        if accept(&verdict) {
            return Ok(verdict);
        }
        if let Some(status) = worker.try_wait()? {
            anyhow::bail!(
                "worker {} exited ({status}) before its health file said what the demo waits for",
                worker.id()
            );
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{}: still {:?} after {limit:?}",
            file.display(),
            verdict.reasons
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for `child` to exit, at most `limit`.
pub async fn exited(child: &mut Child, limit: Duration) -> Result<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "process {} did not exit within {limit:?} of SIGTERM",
            child.id()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A folder for the health files, in the system's temporary folder.
fn tempfile_dir() -> Result<PathBuf> {
    let folder = std::env::temp_dir().join(format!("session06-demo-{}", std::process::id()));
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    Ok(folder)
}
