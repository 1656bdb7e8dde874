//! What the process tests share: skipping without a program, this crate's binary away from
//! the environment, worker processes, and `metrics --json` polled with a deadline.
#![allow(dead_code)] // each test binary uses its own share of these

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use session04_redis::server::Children;

/// The binary under test.
pub const PROGRAM: &str = env!("CARGO_BIN_EXE_session09_monitoring");

/// Whether `program` cannot be run here: the test says so and returns.
pub fn missing(program: &str) -> bool {
    let missing = Command::new(program)
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err();
    if missing {
        // CI installs every tool these tests need: there, a missing one is a failure.
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{program} is not installed: CI must run this test"
        );
        eprintln!("skipped: {program} is not installed");
    }
    missing
}

/// The environment variables the binary's flags read that a test must not inherit.
pub const VARIABLES: [&str; 8] = [
    "REDIS_URL",
    "QUEUE_NAMESPACE",
    "LOG_FORMAT",
    "WORKER_DELAY",
    "WORKER_CONCURRENCY",
    "PROBE_LISTEN",
    "WORKER_HEARTBEAT",
    "WORKER_HEARTBEAT_TTL",
];

/// The binary with `args`, away from the environment variables its flags read.
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(PROGRAM);
    command.args(args).stdin(Stdio::null());
    for variable in VARIABLES {
        command.env_remove(variable);
    }
    command
}

/// `count` workers of one slot each, taking `delay` seconds per task, beating every 0.25 s.
pub fn workers(url: &str, namespace: &str, count: usize, delay: &str) -> Children {
    let mut children = Children::default();
    for _ in 0..count {
        let child = command(&[
            "worker",
            "--redis-url",
            url,
            "--namespace",
            namespace,
            "--concurrency",
            "1",
            "--delay",
            delay,
            "--heartbeat",
            "0.25",
            "--heartbeat-ttl",
            "2",
            "--probe-listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        children.0.push(child);
    }
    children
}

/// Text from a process's output.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `metrics --json` on `url`, parsed.
pub fn metrics(url: &str, namespace: &str) -> serde_json::Value {
    let output = command(&[
        "metrics",
        "--json",
        "--redis-url",
        url,
        "--namespace",
        namespace,
    ])
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Reads `metrics --json` until `check` accepts it, failing after `limit`.
pub fn metrics_until(
    url: &str,
    namespace: &str,
    limit: Duration,
    what: &str,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    loop {
        let snapshot = metrics(url, namespace);
        if check(&snapshot) {
            return snapshot;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last snapshot: {snapshot:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
