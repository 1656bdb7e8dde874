//! `metrics` and `stress` with real parts: a real `redis-server`, real worker processes
//! (this crate's binary), real tasks. Skipped, saying why, without `redis-server`.

use std::process::Output;
use std::time::{Duration, Instant};

use session04_redis::RedisServer;
use session09_monitoring::stress::{StressReport, render};

mod processes;
use processes::{command, metrics, metrics_until, missing, text, workers};

#[test]
fn metrics_json_reports_every_field() {
    if missing("redis-server") {
        return;
    }
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let _workers = workers(&url, "metrics", 2, "0");
    // Both registered, and each has published its CPU and memory.
    let snapshot = metrics_until(&url, "metrics", Duration::from_secs(20), "2 workers", |s| {
        s["workers"]["active"] == 2
            && s["worker_rows"]
                .as_array()
                .is_some_and(|rows| rows.iter().all(|r| r["memory_bytes"].is_u64()))
    });
    for field in ["cpu_percent", "memory_percent", "memory_available_bytes"] {
        assert!(
            snapshot["host"][field].is_number(),
            "host.{field}: {snapshot:#}"
        );
    }
    for field in [
        "active",
        "busy",
        "total_slots",
        "busy_slots",
        "utilisation_percent",
    ] {
        assert!(snapshot["workers"][field].is_number(), "workers.{field}");
    }
    assert_eq!(snapshot["workers"]["total_slots"], 2);
    assert_eq!(snapshot["workers"]["busy"], 0);
    for field in [
        "length",
        "lag",
        "pending",
        "dead_letters",
        "succeeded",
        "failed",
        "dead",
    ] {
        assert!(snapshot["queue"][field].is_u64(), "queue.{field}");
    }
    assert!(snapshot["success_rate"].is_null(), "nothing finished yet");
    for state in [
        "pending",
        "running",
        "retrying",
        "succeeded",
        "failed",
        "dead",
    ] {
        assert_eq!(snapshot["states"][state], 0, "states.{state}");
    }
    let row = &snapshot["worker_rows"][0];
    for field in [
        "id",
        "state",
        "capabilities",
        "last_beat_seconds",
        "tasks_done",
        "in_hand",
        "slots",
        "cpu_percent",
        "memory_bytes",
    ] {
        assert!(!row[field].is_null(), "worker_rows[0].{field}: {row:#}");
    }
    assert_eq!(row["state"], "idle");
    // Session 08's recommendation, as `recommend --json` prints it.
    let advice = &snapshot["recommendation"];
    for field in [
        "action",
        "recommended_replicas",
        "reason",
        "confidence",
        "urgency",
    ] {
        assert!(!advice[field].is_null(), "recommendation.{field}");
    }
    assert_eq!(advice["current_replicas"], 2);

    // And for people: the three blocks and the recommendation.
    let output = command(&["metrics", "--redis-url", &url, "--namespace", "metrics"])
        .output()
        .unwrap();
    let out = text(&output.stdout);
    assert!(output.status.success());
    for needle in [
        "system:  CPU",
        "workers: 2 active, 0 busy",
        "queue:   length 0",
        "reason:",
    ] {
        assert!(out.contains(needle), "{needle:?} missing:\n{out}");
    }
}

#[test]
fn metrics_names_redis_when_it_does_not_answer() {
    let port = session04_redis::server::free_port().unwrap();
    let url = format!("redis://127.0.0.1:{port}");
    let start = Instant::now();
    let output = command(&["metrics", "--redis-url", &url]).output().unwrap();
    assert!(!output.status.success());
    assert!(start.elapsed() < Duration::from_secs(15), "it gives up");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("error: Redis at {url} did not answer within 5 s")),
        "{stderr}"
    );
}

/// The original course's demo target: with 3 workers, busy 0 → 3 and utilisation
/// 0 → 100 % within 5 s of the stress run's start.
#[test]
fn stress_sees_three_workers_busy_within_five_seconds() {
    if missing("redis-server") {
        return;
    }
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let _workers = workers(&url, "stress", 3, "0.5");
    metrics_until(
        &url,
        "stress",
        Duration::from_secs(20),
        "3 idle workers",
        |s| s["workers"]["active"] == 3,
    );
    let output: Output = command(&[
        "stress",
        "12",
        "--no-dashboard",
        "--json",
        "--pipeline",
        "resize:width=64",
        "--timeout",
        "60",
        "--redis-url",
        &url,
        "--namespace",
        "stress",
    ])
    .output()
    .unwrap();
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["tasks"], 12);
    assert_eq!(report["workers"], 3);
    assert_eq!(
        report["busy_at_start"], 0,
        "the run starts from idle workers"
    );
    assert_eq!(report["finished"], 12, "{report:#}");
    assert_eq!(report["timed_out"], false);
    assert_eq!(report["peak_busy"], 3);
    assert_eq!(report["peak_utilisation_percent"], 100.0);
    for field in [
        "first_busy_seconds",
        "all_busy_seconds",
        "full_utilisation_seconds",
    ] {
        let seconds = report[field].as_f64().unwrap_or(f64::INFINITY);
        assert!(seconds <= 5.0, "{field} {seconds}: {report:#}");
    }
    // 12 tasks of at least 0.5 s on 3 workers: 2 s or more.
    assert!(
        report["drain_seconds"].as_f64().unwrap() >= 2.0,
        "{report:#}"
    );
    // A line per change, on stderr with --json.
    assert!(
        stderr.contains("3 of 3 workers busy, utilisation 100%"),
        "{stderr}"
    );
    assert!(stderr.contains("12 of 12 finished"), "{stderr}");
    // Every task succeeded.
    let snapshot = metrics(&url, "stress");
    assert_eq!(snapshot["queue"]["succeeded"], 12);
    assert_eq!(snapshot["success_rate"], 1.0);
}

#[test]
fn stress_refuses_bad_flags_before_sending() {
    for (flags, error) in [
        (&["0"][..], "N must be from 1 to"),
        (
            &["5", "--pipeline", "nope"][..],
            "--pipeline \"nope\" is not a pipeline",
        ),
        (
            &["5", "--timeout", "0"][..],
            "--timeout must be a positive number",
        ),
    ] {
        let mut args = vec![
            "stress",
            "--no-dashboard",
            "--redis-url",
            "redis://127.0.0.1:1",
        ];
        args.extend_from_slice(flags);
        let output = command(&args).output().unwrap();
        assert!(!output.status.success());
        let stderr = text(&output.stderr);
        assert!(stderr.contains(error), "{flags:?}: {stderr}");
    }
}

#[test]
fn the_report_says_when_workers_were_busy_at_the_start() {
    let mut report = StressReport {
        tasks: 6,
        workers: 3,
        ..StressReport::default()
    };
    assert!(
        render(&report)
            .starts_with("stress: 6 tasks, 3 live workers at the start, 0 of them busy\n")
    );
    assert!(!render(&report).contains("warning"));
    report.busy_at_start = 2;
    let text = render(&report);
    assert!(text.contains("2 of them busy"), "{text}");
    assert!(
        text.contains("warning: 2 workers were already busy at the start"),
        "{text}"
    );
}

#[test]
fn metrics_help_says_json_prints_the_whole_snapshot() {
    let output = command(&["metrics", "--help"]).output().unwrap();
    let help = text(&output.stdout);
    let line = help
        .lines()
        .find(|line| line.contains("--json"))
        .unwrap_or_default();
    assert!(line.contains("The whole snapshot as JSON"), "{help}");
}
