//! What session 05's tests share: session 04's Redis helpers and session 01's photos
//! (compiled from their files, not copied), and this session's binary as a program.
#![allow(dead_code)] // each test binary uses its own share of these

use std::process::{Child, Command, Stdio};

/// Session 01's test helpers: its photos.
#[path = "../../../session01_image_basics/tests/common/mod.rs"]
pub mod session01;
/// Session 04's test helpers: queues on a real redis-server, tasks, waiting and signals.
#[path = "../../../session04_redis/tests/common/mod.rs"]
pub mod session04;

/// This session's binary with `args`, away from any `REDIS_URL` of the caller's.
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_session05_distributed"));
    command
        .args(args)
        .env_remove("REDIS_URL")
        .stdin(Stdio::null());
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

/// Starts the binary's `worker` command on `url`, namespace `ns`, with extra flags, its
/// output discarded.
pub fn spawn_worker(url: &str, ns: &str, extra: &[&str]) -> Child {
    command(&["worker", "--redis-url", url, "--namespace", ns])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}
