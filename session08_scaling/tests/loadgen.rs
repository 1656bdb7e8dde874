//! The load generator and the benchmark with real parts: a real `redis-server`, a real
//! worker process (this crate's binary), real image tasks. Every wait has a deadline.

use std::io::{IsTerminal as _, Read};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use clap::CommandFactory as _;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use session03_workers::Queue as _;
use session04_redis::RedisServer;
use session04_redis::server::Children;
use session08_scaling::cli::Cli;
use session08_scaling::loadgen::{LoadPlan, Mode, generate};

/// Session 04's test helpers: namespaces, waiting for processes.
#[path = "../../session04_redis/tests/common/mod.rs"]
mod session04;

/// The binary, as the workers and the commands run.
const PROGRAM: &str = env!("CARGO_BIN_EXE_session08_scaling");
/// The longest any one step of a test may take.
const LIMIT: Duration = Duration::from_secs(120);

/// The binary with `args`, away from every environment variable it reads.
fn command(args: &[&str]) -> Command {
    let mut command = Command::new(PROGRAM);
    command.args(args).stdin(Stdio::null());
    for variable in variables(&Cli::command()) {
        command.env_remove(variable);
    }
    command
}

/// Every environment variable an argument of `command` or of its subcommands reads.
fn variables(command: &clap::Command) -> Vec<std::ffi::OsString> {
    let mut found: Vec<_> = command
        .get_arguments()
        .filter_map(|arg| arg.get_env().map(ToOwned::to_owned))
        .collect();
    for sub in command.get_subcommands() {
        found.extend(variables(sub));
    }
    found
}

/// A child process in a process group of its own (away from a terminal). Dropped, when the
/// test fails or is done with it, the whole group is killed and the child reaped: what it
/// started (the bench's Redis and workers) goes with it.
struct Group(Child);

impl Group {
    /// Starts `command`, in a group of its own unless at a terminal, where Ctrl-C must
    /// reach the child too, and it only reaches the terminal's group.
    fn spawn(mut command: Command) -> Self {
        if !std::io::stderr().is_terminal() {
            command.process_group(0);
        }
        Self(command.spawn().unwrap())
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            // No such group (not at a terminal, or already empty) is fine.
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the binary with `args` to its end, within [`LIMIT`]: whether it succeeded, its
/// stdout, its stderr.
fn run(args: &[&str]) -> (bool, String, String) {
    let mut command = command(args);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut group = Group::spawn(command);
    let child = &mut group.0;
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    // Past the limit, the test fails, and the group goes as it is dropped.
    let status = session04::exit_status(child, LIMIT);
    // What it left behind would hold the pipes open.
    drop(group);
    (
        status.success(),
        stdout.join().unwrap(),
        stderr.join().unwrap(),
    )
}

/// A worker on `url` and `namespace`, one task at a time, its output discarded.
fn worker(url: &str, namespace: &str) -> Child {
    command(&["worker", "--redis-url", url, "--namespace", namespace])
        .args([
            "--concurrency",
            "1",
            "--heartbeat",
            "0.5",
            "--heartbeat-ttl",
            "2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A burst plan of `tasks` quick tasks, bounded by `duration`.
fn plan(tasks: usize, duration: Duration) -> LoadPlan {
    LoadPlan {
        pipelines: vec!["invert".to_owned(), "resize:width=64".to_owned()],
        ..LoadPlan::burst(tasks, duration).unwrap()
    }
}

#[test]
fn the_command_line_is_consistent() {
    Cli::command().debug_assert();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_stops_at_its_number_of_tasks() {
    let server = RedisServer::start_async().await.unwrap();
    let namespace = session04::namespace();
    let (queue, blobs) = session04::flags(&server, &namespace).open().await.unwrap();
    let report = generate(&queue, &blobs, &plan(25, LIMIT)).await.unwrap();
    assert_eq!((report.submitted, report.rejected), (25, 0));
    assert_eq!(report.mode, Mode::Burst);
    assert!(!report.waited && report.latency_ms.is_none());
    // No worker runs: every task waits in the queue.
    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.enqueued, stats.waiting), (25, 25));
    assert_eq!(
        report.by_pipeline[0].submitted + report.by_pipeline[1].submitted,
        25
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_queue_refuses_tasks_and_the_load_goes_on() {
    let server = RedisServer::start_async().await.unwrap();
    let namespace = session04::namespace();
    let mut flags = session04::flags(&server, &namespace);
    flags.capacity = 5;
    let (queue, blobs) = flags.open().await.unwrap();
    let report = generate(&queue, &blobs, &plan(12, LIMIT)).await.unwrap();
    // No worker takes any: five wait, the other seven are refused, none is lost.
    assert_eq!((report.submitted, report.rejected), (5, 7));
    assert_eq!(report.tasks.len(), 12);
    assert_eq!(queue.stats().await.unwrap().waiting, 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paced_load_stops_at_its_duration_with_tasks_left() {
    let server = RedisServer::start_async().await.unwrap();
    let namespace = session04::namespace();
    let (queue, blobs) = session04::flags(&server, &namespace).open().await.unwrap();
    // Four tasks a second for one second: tasks 0 to 3 are due before the end, the rest never.
    let plan = LoadPlan {
        mode: Mode::Rate,
        rate: Some(4.0),
        batch: 1,
        concurrency: 2,
        ..plan(1000, Duration::from_secs(1))
    };
    let report = tokio::time::timeout(LIMIT, generate(&queue, &blobs, &plan))
        .await
        .expect("the load stops by itself")
        .unwrap();
    assert!(
        (1..=4).contains(&report.submitted),
        "{} tasks sent",
        report.submitted
    );
    assert_eq!(queue.stats().await.unwrap().enqueued, report.submitted);
}

#[tokio::test(flavor = "multi_thread")]
async fn waiting_reports_percentiles_and_the_csv_has_a_row_per_task() {
    let server = RedisServer::start_async().await.unwrap();
    let namespace = session04::namespace();
    let mut workers = Children::default();
    workers.0.push(worker(&server.url(), &namespace));
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("tasks.csv");
    let (ok, stdout, stderr) = run(&[
        "loadgen",
        "--redis-url",
        &server.url(),
        "--namespace",
        &namespace,
        "--tasks",
        "6",
        "--pipeline",
        "invert",
        "--pipeline",
        "resize:width=64",
        "--wait",
        "--timeout",
        "100",
        "--json",
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["submitted"], 6, "{report}");
    assert_eq!(report["succeeded"], 6, "{report}");
    assert_eq!(report["timed_out"], 0, "{report}");
    let latency = &report["latency_ms"];
    let at = |q: &str| latency[q].as_u64().unwrap();
    assert_eq!(at("count"), 6, "{report}");
    assert!(at("p50") <= at("p90") && at("p90") <= at("p99") && at("p99") <= at("max"));
    for pipeline in report["by_pipeline"].as_array().unwrap() {
        assert_eq!(pipeline["succeeded"], 3, "{pipeline}");
    }
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("pipeline,outcome,latency_ms"));
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
    assert_eq!(rows.len(), 6, "{text}");
    for (n, row) in rows.iter().enumerate() {
        let pipeline = ["invert", "resize:width=64"][n % 2];
        assert_eq!(&row[..2], [pipeline, "succeeded"], "{text}");
        row[2].parse::<u64>().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_pipeline_is_refused_before_anything_is_sent() {
    let server = RedisServer::start_async().await.unwrap();
    let namespace = session04::namespace();
    let (ok, _, stderr) = run(&[
        "loadgen",
        "--redis-url",
        &server.url(),
        "--namespace",
        &namespace,
        "--pipeline",
        "invert",
        "--pipeline",
        "blur:sigma=oops",
    ]);
    assert!(!ok);
    assert!(stderr.contains("blur:sigma=oops"), "{stderr}");
    // Nothing reached Redis: no task, no photo.
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: u64 = redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap();
    assert_eq!(keys, 0);
    // The library refuses it too.
    let (queue, blobs) = session04::flags(&server, &namespace).open().await.unwrap();
    let bad = LoadPlan {
        pipelines: vec!["no-such-filter".to_owned()],
        ..plan(5, LIMIT)
    };
    let error = generate(&queue, &blobs, &bad).await.unwrap_err();
    assert!(format!("{error:#}").contains("no-such-filter"), "{error:#}");
    assert_eq!(queue.stats().await.unwrap().enqueued, 0);
}

#[test]
fn a_tiny_bench_writes_its_csv_and_a_scatter_plot() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bench.csv");
    let png = dir.path().join("bench.png");
    let (ok, stdout, stderr) = run(&[
        "bench",
        "--sizes-mb",
        "0.1",
        "--concurrency",
        "1,2",
        "--workers",
        "1",
        "--repeat",
        "1",
        "--csv",
        csv.to_str().unwrap(),
        "--plot",
        png.to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let size = report["images"][0]["size_bytes"].as_u64().unwrap();
    assert_eq!(report["medians"].as_array().unwrap().len(), 2, "{report}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("outcome,elapsed_seconds,size_bytes,concurrency,workers")
    );
    let rows: Vec<Vec<String>> = lines
        .map(|line| line.split(',').map(str::to_owned).collect())
        .collect();
    // One task at concurrency 1, two at concurrency 2.
    assert_eq!(rows.len(), 3, "{text}");
    for (row, concurrency) in rows.iter().zip(["1", "2", "2"]) {
        assert_eq!(row[0], "succeeded", "{text}");
        assert!(row[1].parse::<f64>().unwrap() >= 0.0);
        assert_eq!(row[2], size.to_string());
        assert_eq!((row[3].as_str(), row[4].as_str()), (concurrency, "1"));
    }
    let decoded = image::open(Path::new(&png)).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (900, 560));
}
