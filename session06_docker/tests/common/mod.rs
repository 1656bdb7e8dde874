//! What session 06's tests share: session 04's Redis helpers (compiled from their file, not
//! copied), and this session's binary as a program.
#![allow(dead_code)] // each test binary uses its own share of these

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use clap::CommandFactory as _;
use session06_docker::cli::Cli;

/// Session 04's test helpers: queues on a real redis-server, waiting and signals.
#[path = "../../../session04_redis/tests/common/mod.rs"]
pub mod session04;

/// The longest any one run of the binary may take in a test.
pub const RUN_LIMIT: Duration = Duration::from_secs(120);

/// This session's binary with `args`, away from every environment variable it reads (a
/// shell that sourced the lab's `.env` must not change what a test sees).
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_session06_docker"));
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

/// Runs the binary with `args` to its end, within [`RUN_LIMIT`]: whether it succeeded,
/// its stdout, its stderr.
pub fn run(args: &[&str]) -> (bool, String, String) {
    let mut child = command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let status = session04::exit_status(&mut child, RUN_LIMIT);
    (
        status.success(),
        stdout.join().unwrap(),
        stderr.join().unwrap(),
    )
}

/// Reads a pipe to its end on a thread of its own.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
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
    let (healthy, stdout, _) = run(&["health", "--health-file", file.to_str().unwrap()]);
    (healthy, stdout)
}
