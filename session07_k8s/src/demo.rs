//! The demo that `cargo run -p session07_k8s` runs: the pods of the kind lab as processes
//! on this machine. A Redis, the status API and two workers with probe ports; readiness
//! before and after the workers come; the sample photos sent; every route of the API
//! asked, bad ids included; then a worker stopped with SIGTERM while it holds slow tasks,
//! as a rolling update stops a pod: its readiness turns false at once, its liveness stays
//! true, it finishes what it holds and exits 0. Last, the API itself is stopped.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use session03_workers::TaskState;
use session03_workers::logging::LogFormat;
use session04_redis::cli::QueueArgs;
use session04_redis::server::{Children, free_port, own_unless_given, terminate};
use session05_distributed::Registry;
use session05_distributed::worker::HeartbeatArgs;
use session06_docker::batch::{self, FoldersArgs, Planned};
use session06_docker::demo::exited;
use session06_docker::send;

use crate::routes::{API_HEALTH, API_READY, API_STATS, API_WORKERS, LIVEZ, READYZ};

/// Runs the pods' processes on this machine.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Where the results are written.
    #[arg(
        long,
        value_name = "DIR",
        env = "OUTPUT_DIR",
        default_value = "output/session07"
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

/// Runs the demo with processes of `program` (this executable).
pub async fn run(args: DemoArgs, program: &Path) -> Result<String> {
    let (server, url) = own_unless_given(args.redis_url.as_deref()).await?;
    let mut queue = QueueArgs::for_url(&url);
    queue.namespace = format!("demo7-{}", std::process::id());
    let mut children = Children::default();

    let api = format!("http://127.0.0.1:{}", free_port()?);
    children.0.push(spawn(
        program,
        &queue,
        &["api", "--listen", &api["http://".len()..]],
    )?);
    wait_until(&format!("{api}{API_HEALTH}"), 200).await?;
    println!("the status API listens on {api}");
    // Connected once its stats answer: then readiness waits only for a worker.
    wait_until(&format!("{api}{API_STATS}"), 200).await?;
    show(&api, API_READY).await?;

    let mut pods = Vec::new();
    for (name, delay) in [("pod-a", "0"), ("pod-b", "0")] {
        let probes = format!("http://127.0.0.1:{}", free_port()?);
        children.0.push(spawn(
            program,
            &queue,
            &[
                "worker",
                "--worker-id",
                name,
                "--delay",
                delay,
                "--probe-listen",
                &probes["http://".len()..],
            ],
        )?);
        pods.push((name, probes));
    }
    for (name, probes) in &pods {
        wait_until(&format!("{probes}{READYZ}"), 200).await?;
        println!("worker {name}: {READYZ} says ready ({probes})");
    }
    wait_until(&format!("{api}{API_READY}"), 200).await?;
    show(&api, API_READY).await?;

    let folders = |step: &str| FoldersArgs {
        input: None,
        output: args.output_dir.join(step),
        timeout: STEP.as_secs_f64(),
    };
    print!(
        "{}",
        send::run(send::SendArgs {
            queue: queue.clone(),
            folders: folders("send"),
        })
        .await?
    );
    show(&api, API_STATS).await?;
    show(&api, API_WORKERS).await?;
    let (opened, blobs) = queue.open().await?;
    let heartbeat = HeartbeatArgs {
        interval: 0.5,
        ttl: 2.0,
    };
    let registry = Registry::new(opened.connection(), opened.keys(), heartbeat.config()?);
    let id = opened
        .list(TaskState::Succeeded, 1)
        .await?
        .into_iter()
        .next()
        .context("the sent tasks left no record")?;
    show(&api, &format!("/api/tasks/{id}")).await?;
    show(&api, "/api/tasks/not-a-task").await?;
    show(&api, "/api/tasks/00000000-0000-0000-0000-000000000000").await?;

    // The two pods go, and a slow one comes for the drill.
    for child in children.0.iter_mut().skip(1) {
        terminate(child)?;
        exited(child, STEP).await?;
    }
    let probes = format!("http://127.0.0.1:{}", free_port()?);
    let mut slow = Children::default();
    slow.0.push(spawn(
        program,
        &queue,
        &[
            "worker",
            "--worker-id",
            "pod-c",
            "--delay",
            "2",
            "--concurrency",
            "2",
            "--probe-listen",
            &probes["http://".len()..],
        ],
    )?);
    wait_until(&format!("{probes}{READYZ}"), 200).await?;
    let planned: Vec<Planned> = batch::photos(None, &Default::default())?
        .into_iter()
        .cycle()
        .take(2)
        .enumerate()
        .map(|(i, input)| Planned {
            name: format!("slow-{i}"),
            pipeline: "blur:sigma=2".to_owned(),
            input,
        })
        .collect();
    let output = folders("drain").output;
    let finished = batch::run(&opened, &blobs, &planned, &output, STEP);
    let drill = async {
        wait_in_hand(&registry, 2).await?;
        terminate(&mut slow.0[0])?;
        let ready = wait_until(&format!("{probes}{READYZ}"), 503).await?;
        let (live, _) = get(&format!("{probes}{LIVEZ}")).await?;
        anyhow::Ok((ready, live))
    };
    let (finished, drill) = tokio::join!(finished, drill);
    let (ready, live) = drill?;
    let status = exited(&mut slow.0[0], STEP).await?;
    let done = finished?.iter().filter(|t| t.file.is_some()).count();
    let mut out = String::new();
    writeln!(
        out,
        "SIGTERM sent to worker pod-c while it held 2 slow tasks"
    )?;
    writeln!(out, "  {READYZ} during the drain: 503 {ready}")?;
    writeln!(out, "  {LIVEZ} during the drain: {live}")?;
    writeln!(out, "  it finished {done} of 2 and exited with {status}")?;
    anyhow::ensure!(
        status.success() && done == 2 && live == 200,
        "the drain lost work:\n{out}"
    );

    show(&api, API_READY).await?;
    terminate(&mut children.0[0])?;
    let status = exited(&mut children.0[0], STEP).await?;
    writeln!(
        out,
        "SIGTERM sent to the status API: it exited with {status}"
    )?;
    if server.is_none() {
        // Someone else's Redis: the demo's keys go away within a day.
        opened
            .expire_namespace(Duration::from_secs(24 * 3600))
            .await?;
    }
    Ok(out)
}

/// Starts `program` with `args` on the demo's queue, its output discarded.
fn spawn(program: &Path, queue: &QueueArgs, args: &[&str]) -> Result<Child> {
    Command::new(program)
        .args(args)
        .args([
            "--redis-url",
            &queue.redis.url,
            "--namespace",
            &queue.namespace,
        ])
        .args(["--heartbeat", "0.5", "--heartbeat-ttl", "2"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start `{}`", args[0]))
}

/// `GET url`: the status code and the body, within a few seconds.
pub async fn get(url: &str) -> Result<(u16, String)> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let mut response = agent
            .get(&url)
            .call()
            .with_context(|| format!("GET {url}"))?;
        let body = response.body_mut().read_to_string()?;
        Ok((response.status().as_u16(), body))
    })
    .await?
}

/// Prints `GET path` on the API: the status and the JSON, indented.
async fn show(api: &str, path: &str) -> Result<()> {
    let (status, body) = get(&format!("{api}{path}")).await?;
    let json: serde_json::Value =
        serde_json::from_str(&body).with_context(|| format!("GET {path}: not JSON: {body}"))?;
    println!(
        "GET {path} -> {status}\n{}",
        serde_json::to_string_pretty(&json)?
    );
    Ok(())
}

/// Asks `url` until it answers `status`, within [`STEP`]; returns the body.
async fn wait_until(url: &str, status: u16) -> Result<String> {
    let deadline = Instant::now() + STEP;
    loop {
        match get(url).await {
            Ok((got, body)) if got == status => return Ok(body),
            answer => anyhow::ensure!(
                Instant::now() < deadline,
                "{url} did not answer {status} within {STEP:?}: last {answer:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until a worker's heartbeat lists `count` tasks in its hands: running, not only
/// leased (a task leased at the moment of a stop goes back to the queue unstarted).
async fn wait_in_hand(registry: &Registry, count: usize) -> Result<()> {
    let deadline = Instant::now() + STEP;
    while !registry
        .list()
        .await?
        .iter()
        .any(|worker| worker.beat.current.len() >= count)
    {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the worker never started the slow tasks"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
