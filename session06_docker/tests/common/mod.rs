//! What session 06's tests share: session 04's Redis helpers (compiled from their file, not
//! copied), and this session's binary as a program.
#![allow(dead_code)] // each test binary uses its own share of these

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Session 04's test helpers: queues on a real redis-server, waiting and signals.
#[path = "../../../session04_redis/tests/common/mod.rs"]
pub mod session04;

/// This session's binary with `args`, away from the caller's configuration variables.
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_session06_docker"));
    command.args(args).stdin(Stdio::null());
    for variable in [
        "REDIS_URL",
        "HEALTH_FILE",
        "INPUT_DIR",
        "OUTPUT_DIR",
        "WORKER_ID",
    ] {
        command.env_remove(variable);
    }
    command
}

/// Runs the binary with `args` to its end: whether it succeeded, its stdout, its stderr.
pub fn run(args: &[&str]) -> (bool, String, String) {
    let output = command(args).output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Starts a worker on `url`, namespace `ns`, writing its health to `health`, its output
/// discarded.
pub fn spawn_worker(url: &str, ns: &str, health: &Path, extra: &[&str]) -> Child {
    command(&["worker", "--redis-url", url, "--namespace", ns])
        .args([
            "--health-interval",
            "0.2",
            "--heartbeat",
            "0.5",
            "--heartbeat-ttl",
            "2",
        ])
        .arg("--health-file")
        .arg(health)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Runs `health` on `file`: whether it said healthy, and what it printed.
pub fn health(file: &Path) -> (bool, String) {
    let output = command(&["health", "--health-file", file.to_str().unwrap()])
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}
