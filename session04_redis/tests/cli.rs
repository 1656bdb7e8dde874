//! The session's binaries as a user runs them: the walkthrough of chapter 4 (submit, a
//! draining worker, status), `--wait`, the demo, the benchmark, and bad input.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use session01_image_basics::samples;
use session04_redis::RedisServer;
use session04_redis::server::Children;

/// Runs binary `exe` with `args` against `url`.
fn run(exe: &str, url: &str, args: &[&str]) -> Output {
    Command::new(exe)
        .args(args)
        .env("REDIS_URL", url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SUBMIT: &str = env!("CARGO_BIN_EXE_submit");
const WORKER: &str = env!("CARGO_BIN_EXE_worker");
const STATUS: &str = env!("CARGO_BIN_EXE_status");
const MAIN: &str = env!("CARGO_BIN_EXE_session04_redis");

#[test]
fn every_binary_explains_itself() {
    for (exe, flag) in [
        (WORKER, "--concurrency"),
        (SUBMIT, "--pipeline"),
        (STATUS, "--json"),
        (MAIN, "bench"),
    ] {
        let output = Command::new(exe).arg("--help").output().unwrap();
        assert!(output.status.success());
        let help = text(&output.stdout);
        assert!(help.contains(flag), "{exe}: {help}");
        if exe != MAIN {
            assert!(help.contains("REDIS_URL"), "{exe}: {help}");
        }
    }
}

#[test]
fn submit_then_a_draining_worker_then_status() {
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let ns = common::namespace();
    let chelsea = samples::path("chelsea.png");
    let chelsea = chelsea.to_str().unwrap();
    let submitted = run(
        SUBMIT,
        &url,
        &[
            "--namespace",
            &ns,
            "--pipeline",
            "grayscale|invert",
            "--count",
            "3",
            chelsea,
        ],
    );
    assert!(submitted.status.success(), "{}", text(&submitted.stderr));
    let ids: Vec<String> = text(&submitted.stdout).lines().map(str::to_owned).collect();
    assert_eq!(ids.len(), 3);

    let worker = run(
        WORKER,
        &url,
        &["--namespace", &ns, "--drain", "--concurrency", "2"],
    );
    assert!(worker.status.success(), "{}", text(&worker.stderr));
    assert!(
        text(&worker.stdout).contains("3 succeeded"),
        "{}",
        text(&worker.stdout)
    );

    // The worker that stopped left the group: consumers do not pile up over restarts.
    // (The emptied class's stream may be gone altogether: then so are its consumers.)
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let stream = format!("{ns}:stream:grayscale+invert");
    let exists: bool = redis::cmd("EXISTS").arg(&stream).query(&mut conn).unwrap();
    if exists {
        let consumers: Vec<redis::Value> = redis::cmd("XINFO")
            .arg("CONSUMERS")
            .arg(&stream)
            .arg("workers")
            .query(&mut conn)
            .unwrap();
        assert!(consumers.is_empty(), "{consumers:?}");
    }

    let status = run(STATUS, &url, &["--namespace", &ns, "--json"]);
    assert!(status.status.success(), "{}", text(&status.stderr));
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["stats"]["succeeded"], 3);
    assert_eq!(json["stats"]["waiting"], 0);
    assert_eq!(json["counts"]["succeeded"], 3);
    assert_eq!(json["dead_letters"], 0);

    let one = run(STATUS, &url, &["--namespace", &ns, &ids[0]]);
    assert!(one.status.success());
    let shown = text(&one.stdout);
    assert!(
        shown.contains(&ids[0]) && shown.contains("\"succeeded\""),
        "{shown}"
    );
    let table = run(STATUS, &url, &["--namespace", &ns]);
    assert!(text(&table.stdout).contains("waiting (queue depth)"));

    let unknown = run(
        STATUS,
        &url,
        &["--namespace", &ns, "01a2127f-908e-76bf-b6c7-40d5ad223b1a"],
    );
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        text(&unknown.stderr).contains("no task"),
        "{}",
        text(&unknown.stderr)
    );
}

#[test]
fn submit_wait_reports_each_task_and_fails_on_a_broken_image() {
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let ns = common::namespace();
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(
        samples::path("coffee.png"),
        folder.path().join("coffee.png"),
    )
    .unwrap();
    std::fs::write(
        folder.path().join("broken.png"),
        b"\x89PNG\r\n\x1a\n not really",
    )
    .unwrap();
    let mut worker = Children(vec![
        std::process::Command::new(WORKER)
            .args(["--namespace", &ns, "--concurrency", "2"])
            .env("REDIS_URL", &url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    ]);
    let waited = run(
        SUBMIT,
        &url,
        &[
            "--namespace",
            &ns,
            "--wait",
            "--format",
            "webp",
            folder.path().to_str().unwrap(),
        ],
    );
    common::sigterm(&mut worker.0[0]);
    assert!(
        common::exit_status(&mut worker.0[0], Duration::from_secs(30)).success(),
        "SIGTERM ends the worker cleanly"
    );

    assert_eq!(waited.status.code(), Some(1), "one task failed");
    let report = text(&waited.stderr);
    assert!(report.contains("1 of 2 tasks did not succeed"), "{report}");
    let succeeded = report
        .lines()
        .find(|l| l.contains("\tsucceeded\t"))
        .unwrap();
    assert!(succeeded.contains(&format!("{ns}:blob:results/")) && succeeded.ends_with(".webp"));
    let failed = report.lines().find(|l| l.contains("\tfailed\t")).unwrap();
    assert!(
        failed.to_lowercase().contains("png"),
        "the error names the problem: {failed}"
    );
}

#[test]
fn bad_input_is_refused_with_the_reason() {
    let url = "redis://127.0.0.1:1"; // never reached: each fails before connecting
    let cases: [(&str, &[&str], &str); 4] = [
        (SUBMIT, &["--pipeline", "blur|sparkle"], "sparkle"),
        (SUBMIT, &["--format", "gif"], "--format"),
        (SUBMIT, &["no/such/file.png"], "no/such/file.png"),
        (WORKER, &["--capabilities", "blur,sparkle"], "sparkle"),
    ];
    for (exe, args, expected) in cases {
        let output = run(exe, url, args);
        assert!(!output.status.success(), "{args:?}");
        let error = text(&output.stderr);
        assert!(error.contains(expected), "{args:?}: {error}");
    }
}

#[test]
fn the_demo_runs_on_a_given_redis() {
    let server = RedisServer::start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(MAIN)
        .args(["--output-dir", out.path().to_str().unwrap()])
        .env("REDIS_URL", server.url())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report = text(&output.stdout);
    assert!(report.contains("7 succeeded, 0 failed"), "{report}");
    assert!(
        report.contains("running on"),
        "state changes are shown: {report}"
    );
    for name in ["chelsea.png", "rocket.png"] {
        let file = out.path().join(name);
        assert!(Path::new(&file).is_file(), "{}", file.display());
        image::open(&file).unwrap();
    }
}

#[test]
fn the_benchmark_reports_a_rate() {
    let server = RedisServer::start().unwrap();
    let output = run(
        MAIN,
        &server.url(),
        &["bench", "--tasks", "2000", "--concurrency", "8", "--json"],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["tasks"], 2000);
    assert_eq!(json["workers"], 2);
    assert!(json["tasks_per_second"].as_f64().unwrap() > 0.0);
}
