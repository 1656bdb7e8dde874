//! The demo that `cargo run -p session09_monitoring` runs: three monitored workers under a
//! stress run, measured from the outside and from their own metrics, in about ten seconds.
//!
//! A Redis and three worker processes of this binary, each running one task at a time
//! with a pause of a second before each (slow work on purpose, so that the three are busy
//! together). The stress run submits the tasks and times, from the first submit, how long
//! until a worker was busy, until all three were, and until utilisation reached 100 %: the
//! original course's target was within 5 s. Then each worker's `/metrics` is scraped, and
//! the demo checks that their counters add up to exactly the tasks submitted.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use serde::Serialize;
use session03_workers::logging::LogFormat;
use session04_redis::RedisQueue;
use session04_redis::RedisServer;
use session04_redis::cli::QueueArgs;
use session04_redis::server::{Children, terminate};
use session05_distributed::Registry;
use session05_distributed::worker::HeartbeatArgs;
use session06_docker::demo::exited;
use session07_k8s::demo::get;
use session07_k8s::routes::READYZ;

use crate::published::read_process;
use crate::stress::{self, StressArgs, StressReport};

/// Runs three workers under a stress run.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Use this Redis instead of starting one.
    #[arg(long, value_name = "URL", env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Log lines as text for people or JSON for machines.
    #[arg(long, value_enum, env = "LOG_FORMAT", default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// Print only the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Worker processes.
pub const WORKERS: usize = 3;
/// Tasks in the stress run: six rounds of the three workers.
pub const TASKS: u32 = 18;
/// Seconds each worker pauses before each task, so that all three are busy together.
pub const WORKER_DELAY: &str = "1";
/// How long the demo waits for any one step.
const STEP: Duration = Duration::from_secs(60);

/// What the demo measured, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    /// Worker processes.
    pub workers: usize,
    /// Tasks submitted.
    pub tasks: u32,
    /// Seconds from the first submit until a worker was busy.
    pub seconds_to_first_busy: f64,
    /// Seconds until all the workers were busy.
    pub seconds_to_all_busy: f64,
    /// Seconds until utilisation was 100 %.
    pub seconds_to_full_utilisation: f64,
    /// Seconds until every task had finished.
    pub seconds_to_done: f64,
    /// The tasks the workers' `/metrics` counted as succeeded, all of them together.
    pub counted_by_metrics: u64,
    /// The stress run's own report.
    pub stress: StressReport,
}

/// Runs the demo with workers run as `program worker ...`.
pub async fn run(args: DemoArgs, program: &Path) -> Result<String> {
    let say = |text: &str| {
        if !args.json {
            println!("{text}");
        }
    };
    let (_server, url) = match &args.redis_url {
        Some(url) => (None, url.clone()),
        None => {
            let server = RedisServer::start_async().await?;
            say(&format!("started redis-server on port {}", server.port()));
            let url = server.url();
            (Some(server), url)
        }
    };
    let mut queue = QueueArgs::for_url(&url);
    queue.namespace = format!("demo9-{}", std::process::id());

    let mut children = Children::default();
    for n in 1..=WORKERS {
        children.0.push(
            std::process::Command::new(program)
                .args(["worker", "--worker-id", &format!("demo-{n}")])
                .args(["--concurrency", "1", "--delay", WORKER_DELAY])
                // Any free port: the worker publishes the one it got.
                .args(["--probe-listen", "127.0.0.1:0"])
                .args(["--redis-url", &queue.redis.url])
                .args(["--namespace", &queue.namespace])
                .args(["--heartbeat", "0.5", "--heartbeat-ttl", "2"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .with_context(|| format!("cannot start {}", program.display()))?,
        );
    }
    let (opened, blobs) = queue.open().await?;
    let heartbeat = HeartbeatArgs {
        interval: 0.5,
        ttl: 2.0,
    };
    let registry = Registry::new(opened.connection(), opened.keys(), heartbeat.config()?);
    let probes = published_addresses(&opened, &registry, &mut children).await?;
    for (n, probe) in probes.iter().enumerate() {
        wait_ready(&format!("{probe}{READYZ}")).await?;
        say(&format!(
            "worker demo-{}: ready, metrics at {probe}/metrics",
            n + 1
        ));
    }

    // ANCHOR: stress
    let stress = StressArgs {
        tasks: TASKS,
        queue: queue.clone(),
        heartbeat,
        pipeline: stress::DEFAULT_PIPELINE.to_owned(),
        input: None,
        timeout: STEP.as_secs_f64(),
        no_dashboard: true,
        refresh: 0.5,
        json: false,
    };
    let load = stress.load()?;
    let report = stress::measure(&opened, &blobs, &registry, &load, |now, _| {
        say(&stress::progress_line(now, load.tasks));
    })
    .await?;
    // ANCHOR_END: stress
    say(&stress::render(&report));
    anyhow::ensure!(
        !report.timed_out,
        "the stress run did not finish: {} of {} tasks",
        report.finished,
        report.tasks
    );

    // What the workers counted themselves.
    let mut counted = 0;
    for (n, probe) in probes.iter().enumerate() {
        let (status, body) = get(&format!("{probe}/metrics")).await?;
        anyhow::ensure!(status == 200, "{probe}/metrics answered {status}");
        let succeeded = sample(&body, "imgproc_tasks_total{outcome=\"succeeded\"}")
            .with_context(|| format!("worker demo-{}'s /metrics has no task counter", n + 1))?;
        counted += succeeded as u64;
        if n == 0 {
            say(&format!("GET {probe}/metrics (some of its lines):"));
            for line in body.lines().filter(|line| shown(line)) {
                say(&format!("  {line}"));
            }
        }
        say(&format!(
            "worker demo-{}: {succeeded} tasks succeeded",
            n + 1
        ));
    }
    anyhow::ensure!(
        counted == u64::from(TASKS),
        "the workers' metrics count {counted} tasks, not the {TASKS} submitted"
    );
    say(&format!(
        "the workers' counters add up to the {TASKS} tasks submitted"
    ));

    for child in &mut children.0 {
        terminate(child)?;
    }
    for child in &mut children.0 {
        exited(child, STEP).await?;
    }
    let figure = |value: Option<f64>, what: &str| {
        value.with_context(|| format!("the stress run never saw {what}"))
    };
    let result = DemoReport {
        workers: WORKERS,
        tasks: TASKS,
        seconds_to_first_busy: figure(report.first_busy_seconds, "a busy worker")?,
        seconds_to_all_busy: figure(report.all_busy_seconds, "every worker busy")?,
        seconds_to_full_utilisation: figure(report.full_utilisation_seconds, "100 % utilisation")?,
        seconds_to_done: figure(report.drain_seconds, "every task finished")?,
        counted_by_metrics: counted,
        stress: report,
    };
    if args.json {
        return Ok(serde_json::to_string_pretty(&result)? + "\n");
    }
    Ok(format!(
        "all {WORKERS} workers busy {:.2} s after the first submit (the original course's target: 5 s)\n",
        result.seconds_to_all_busy
    ))
}

/// The `http://address` each worker published for its probes and `/metrics`, in the order
/// the workers were started; fails at once when one of them exits.
async fn published_addresses(
    queue: &RedisQueue,
    registry: &Registry,
    children: &mut Children,
) -> Result<Vec<String>> {
    let deadline = Instant::now() + STEP;
    loop {
        for child in &mut children.0 {
            if let Some(status) = child.try_wait()? {
                anyhow::bail!("worker process {} exited at start: {status}", child.id());
            }
        }
        let mut by_pid = BTreeMap::new();
        for worker in registry.list().await? {
            if let Some(address) = read_process(queue, &worker.info.id)
                .await?
                .and_then(|sample| sample.metrics_address)
            {
                by_pid.insert(worker.info.pid, format!("http://{address}"));
            }
        }
        let found: Option<Vec<String>> = children
            .0
            .iter()
            .map(|child| by_pid.get(&child.id()).cloned())
            .collect();
        if let Some(found) = found {
            return Ok(found);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the workers did not publish their addresses within {STEP:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asks `url` until it answers 200, within [`STEP`].
async fn wait_ready(url: &str) -> Result<()> {
    let deadline = Instant::now() + STEP;
    loop {
        match get(url).await {
            Ok((200, _)) => return Ok(()),
            answer => anyhow::ensure!(
                Instant::now() < deadline,
                "{url} was not ready within {STEP:?}: last {answer:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The value of the series written exactly as `series` in an exposition.
fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// The lines of a worker's exposition the demo shows: the task counter, the histogram's
/// count and sum, and the slots.
fn shown(line: &str) -> bool {
    [
        "imgproc_tasks_total{",
        "imgproc_task_duration_seconds_count",
        "imgproc_task_duration_seconds_sum",
        "imgproc_worker_slots",
    ]
    .iter()
    .any(|prefix| line.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_is_read_from_its_exact_series() {
        let text = "# TYPE imgproc_tasks counter\n\
                    imgproc_tasks_total{outcome=\"failed\"} 2\n\
                    imgproc_tasks_total{outcome=\"succeeded\"} 6 1700000000\n";
        assert_eq!(
            sample(text, "imgproc_tasks_total{outcome=\"succeeded\"}"),
            Some(6.0)
        );
        assert_eq!(
            sample(text, "imgproc_tasks_total{outcome=\"failed\"}"),
            Some(2.0)
        );
        assert_eq!(sample(text, "imgproc_tasks_total"), None);
    }
}
