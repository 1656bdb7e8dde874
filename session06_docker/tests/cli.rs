//! The session's commands as a container runs them, on a real redis-server.

mod common;

use std::time::Duration;

use clap::CommandFactory as _;
use common::session04::{eventually, exit_status, namespace, sigterm};
use common::{health, run, spawn_worker};
use session04_redis::RedisServer;
use session04_redis::server::Children;
use session06_docker::cli::Cli;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn the_command_line_is_consistent() {
    Cli::command().debug_assert();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_is_healthy_then_drains_on_sigterm_and_exits_zero() {
    let server = RedisServer::start_async().await.unwrap();
    let ns = namespace();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("health.json");
    let (healthy, text) = health(&file);
    assert!(!healthy && text.contains("no health file"), "{text}");

    let mut workers = Children::default();
    workers.0.push(spawn_worker(
        &server.url(),
        &ns,
        &file,
        &["--worker-id", "lab-1"],
    ));
    let worker = &mut workers.0[0];
    let text = eventually(LIMIT, "a healthy worker", || async {
        let (healthy, text) = health(&file);
        healthy.then_some(text)
    })
    .await;
    assert!(text.contains("healthy: worker lab-1-"), "{text}");

    sigterm(worker);
    let status = exit_status(worker, LIMIT);
    assert!(status.success(), "{status}");
    // A stopped worker leaves no health file that could look fresh.
    assert!(!file.exists());
    let (healthy, _) = health(&file);
    assert!(!healthy);
}

#[test]
fn a_stale_health_file_is_unhealthy_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("health.json");
    std::fs::write(
        &file,
        r#"{"worker":"w","pid":1,"written_at":"2020-01-01T00:00:00Z",
            "health":{"live":true,"ready":true,"reasons":[]},"processed":0}"#,
    )
    .unwrap();
    let (healthy, text) = health(&file);
    assert!(!healthy);
    assert!(text.contains("the worker stopped updating it"), "{text}");
    std::fs::write(&file, "{ not json").unwrap();
    let (healthy, text) = health(&file);
    assert!(!healthy && text.contains("not valid"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn send_and_full_test_write_results_that_decode_and_skip_a_bad_photo() {
    let server = RedisServer::start_async().await.unwrap();
    let url = server.url();
    let ns = namespace();
    let dir = tempfile::tempdir().unwrap();
    let mut workers = Children::default();
    for name in ["a", "b"] {
        let file = dir.path().join(format!("{name}.json"));
        workers
            .0
            .push(spawn_worker(&url, &ns, &file, &["--worker-id", name]));
    }
    // An input folder with two photos and one that is not an image.
    let input = dir.path().join("input");
    std::fs::create_dir(&input).unwrap();
    for name in ["chelsea.png", "coffee.png"] {
        std::fs::copy(
            session01_image_basics::samples::path(name),
            input.join(name),
        )
        .unwrap();
    }
    std::fs::write(input.join("broken.jpg"), b"not a jpeg").unwrap();
    let output = dir.path().join("output");
    let flags = ["--redis-url", &url, "--namespace", &ns, "--timeout", "60"];
    let folders = [
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ];

    let (ok, stdout, stderr) = run(&[&["send"][..], &flags, &folders].concat());
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("skipping") && stderr.contains("broken.jpg"),
        "{stderr}"
    );
    for name in ["resize", "blur", "brightness", "sharpen", "edges"] {
        image::open(output.join(format!("{name}.png"))).unwrap();
    }
    assert!(stdout.contains("succeeded 5"), "{stdout}");

    let (ok, stdout, stderr) = run(&[&["full-test", "--json"][..], &flags, &folders].concat());
    assert!(ok, "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["tasks"], 10);
    assert_eq!(report["verified"], 10);
    let per_worker = report["per_worker"].as_object().unwrap();
    assert_eq!(
        per_worker.values().filter_map(|v| v.as_u64()).sum::<u64>(),
        10
    );
    assert!(
        per_worker
            .keys()
            .all(|k| k.starts_with("a-") || k.starts_with("b-")),
        "{per_worker:?}"
    );
}

#[test]
fn an_output_path_that_is_a_file_is_named_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output");
    std::fs::write(&output, b"").unwrap();
    // No Redis at this address: the folder is checked first.
    let (ok, _, stderr) = run(&[
        "send",
        "--redis-url",
        "redis://127.0.0.1:9",
        "--output",
        output.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("is not a folder"), "{stderr}");
}

#[test]
fn monitor_shows_counts_and_workers_for_a_bounded_number_of_refreshes() {
    let server = RedisServer::start().unwrap();
    let ns = namespace();
    let (ok, stdout, stderr) = run(&[
        "monitor",
        "--redis-url",
        &server.url(),
        "--namespace",
        &ns,
        "--interval",
        "0.1",
        "--iterations",
        "2",
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.matches("tasks: pending 0").count(), 2, "{stdout}");
    assert_eq!(stdout.matches("live workers: 0").count(), 2, "{stdout}");
}

#[test]
fn the_demo_runs_the_lab_with_processes_and_a_worker_drains() {
    let out = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = run(&["--output-dir", out.path().to_str().unwrap()]);
    assert!(ok, "{stdout}\n{stderr}");
    assert_eq!(stdout.matches("says healthy").count(), 3, "{stdout}");
    assert!(stdout.contains("10 of 10 results verified"), "{stdout}");
    assert!(
        stdout.contains("during the drain: unhealthy (shutting down"),
        "{stdout}"
    );
    assert!(
        stdout.contains("it finished 2 of 2 before it exited"),
        "{stdout}"
    );
    for name in ["resize", "blur", "brightness", "sharpen", "edges"] {
        image::open(out.path().join("send").join(format!("{name}.png"))).unwrap();
    }
}

#[test]
fn reset_refuses_without_yes_and_submit_takes_tiled_jobs() {
    let (ok, _, stderr) = run(&["reset", "--redis-url", "redis://127.0.0.1:9"]);
    assert!(!ok);
    assert!(stderr.contains("--yes"), "{stderr}");
    let (ok, stdout, _) = run(&["submit", "--help"]);
    assert!(
        ok && stdout.contains("--tiled") && stdout.contains("--output"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_worker_refuses_the_health_file_of_a_running_one() {
    let server = RedisServer::start_async().await.unwrap();
    let ns = namespace();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("health.json");
    let mut workers = Children::default();
    workers.0.push(spawn_worker(&server.url(), &ns, &file, &[]));
    eventually(LIMIT, "a healthy worker", || async {
        health(&file).0.then_some(())
    })
    .await;
    let (ok, _, stderr) = run(&[
        "worker",
        "--redis-url",
        &server.url(),
        "--namespace",
        &ns,
        "--health-file",
        file.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("its own --health-file"), "{stderr}");
    // The first worker's file is untouched: it is still healthy.
    assert!(health(&file).0);
}
