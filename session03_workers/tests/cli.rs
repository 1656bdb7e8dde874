//! The binary: the demo's report and results, JSON logs, bad input, Ctrl-C, the benchmark.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;
use session01_image_basics::samples;

fn session03(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_session03_workers"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A child process killed when the test ends, even by a failed assertion.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for `child` to exit, failing the test at `deadline`.
fn exit_status(child: &mut Child, deadline: Instant) -> ExitStatus {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the process did not exit in time"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_demo_processes_every_sample_and_reports_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = session03(
        dir.path(),
        &[
            "--workers",
            "3",
            "--input",
            &samples::dir().display().to_string(),
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tasks = report["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), samples::all().len());
    for task in tasks {
        assert_eq!(task["state"], "succeeded", "{task}");
        assert_eq!(task["attempts"], 1);
        let output = task["task"]["output"].as_str().unwrap();
        let file = dir.path().join("output/session03").join(output);
        let image = image::open(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(image.width(), 800, "the pipeline resizes to 800 wide");
    }
    assert_eq!(report["stats"]["succeeded"], tasks.len());
    assert_eq!(report["stats"]["workers"], 3);
    let workers: std::collections::BTreeSet<&str> =
        tasks.iter().filter_map(|t| t["worker"].as_str()).collect();
    assert!(!workers.is_empty() && workers.len() <= 3, "{workers:?}");
}

#[test]
fn json_logs_carry_the_task_span_on_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let photo = samples::path("chelsea.png").display().to_string();
    let out = session03(
        dir.path(),
        &["--input", &photo, "--log-format", "json", "--workers", "1"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<Value> = text(&out.stderr)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect();
    let done = lines
        .iter()
        .find(|l| l["fields"]["message"] == "task succeeded")
        .expect("a line for the finished task");
    assert!(
        done["fields"]["duration_ms"].as_f64().unwrap() > 0.0,
        "{done}"
    );
    let span = &done["span"];
    assert_eq!(span["name"], "task");
    assert_eq!(span["filters"], "resize:width=800|blur:sigma=2|edges");
    assert_eq!(span["attempt"], 1);
    assert!(span["task.id"].as_str().unwrap().len() == 36, "{span}");
    assert!(
        span["worker.id"].as_str().unwrap().starts_with("w0-"),
        "{span}"
    );
    // The human table still goes to stdout.
    assert!(text(&out.stdout).contains("throughput tasks/s"));
}

#[test]
fn bad_input_fails_its_task_and_the_rest_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::copy(samples::path("coffee.png"), input.join("coffee.png")).unwrap();
    std::fs::write(input.join("broken.png"), b"not a png at all").unwrap();
    let out = session03(dir.path(), &["--input", "in", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("1 of 2 tasks did not succeed"),
        "{}",
        text(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let broken = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task"]["input"] == "inputs/broken.png")
        .unwrap();
    assert_eq!(broken["state"], "failed");
    assert_eq!(broken["attempts"], 1);
    assert_eq!(broken["error"]["kind"], "job");
    assert_eq!(report["stats"]["succeeded"], 1);
}

#[test]
fn bad_settings_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (
            &["--pipeline", "blur:sigma=2|sharpn"][..],
            "unknown filter \"sharpn\"",
        ),
        (
            &["--task-timeout", "0"],
            "--task-timeout must be a positive",
        ),
        (&["--input", "missing-folder"], "missing-folder"),
    ] {
        let out = session03(dir.path(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    assert!(!dir.path().join("output/session03/results").exists());
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_taking_tasks_finishes_the_running_one_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let frame = dir.path().join("frame.png");
    samples::generate(1920, 1080).save(&frame).unwrap();
    let frame = frame.display().to_string();
    let mut args = vec![
        "--workers",
        "1",
        "--json",
        "--pipeline",
        "median:radius=9|blur:sigma=12",
    ];
    args.push("--input");
    args.extend(std::iter::repeat_n(frame.as_str(), 60));
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_session03_workers"))
            .args(&args)
            .current_dir(dir.path())
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Both pipes are read on threads of their own, so no wait below goes past `deadline`.
    let deadline = Instant::now() + Duration::from_secs(120);
    let (lines_tx, lines) = mpsc::channel();
    let stderr = child.0.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stdout = child.0.stdout.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stdout.read_to_end(&mut bytes).map(|_| bytes)
    });
    let mut log = String::new();
    while !log.contains("all tasks queued") {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => log.push_str(&(line + "\n")),
            Err(RecvTimeoutError::Timeout) => panic!("no \"all tasks queued\" in time: {log}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the demo ended early: {log}"),
        }
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.0.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let status = exit_status(&mut child.0, deadline);
    // The process is gone, so its pipes are closed and both readers end.
    log.extend(lines.iter().map(|line| line + "\n"));
    let stdout = stdout.join().unwrap().unwrap();
    assert!(log.contains("Ctrl-C: shutting down"), "{log}");
    assert!(log.contains("worker stopped"), "{log}");
    assert_eq!(status.code(), Some(1), "unfinished tasks are an error");
    let report: Value = serde_json::from_slice(&stdout).unwrap();
    let states: Vec<&str> = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert_eq!(states.len(), 60);
    assert!(
        states.iter().all(|s| ["succeeded", "pending"].contains(s)),
        "{states:?}"
    );
    assert!(
        states.contains(&"pending"),
        "the shutdown left the queue alone: {states:?}"
    );
    assert_eq!(report["stats"]["in_flight"], 0, "the running task finished");
}

#[test]
fn the_benchmark_reports_tasks_per_second() {
    let dir = tempfile::tempdir().unwrap();
    let out = session03(dir.path(), &["bench", "--tasks", "5000", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["tasks"], 5000);
    assert_eq!(result["workers"], 2);
    assert!(result["tasks_per_second"].as_f64().unwrap() > 0.0);
}

#[test]
fn inputs_with_the_same_name_keep_their_own_results() {
    let dir = tempfile::tempdir().unwrap();
    for (folder, photo) in [("a", "coffee.png"), ("b", "chelsea.png")] {
        std::fs::create_dir_all(dir.path().join(folder)).unwrap();
        std::fs::copy(
            samples::path(photo),
            dir.path().join(folder).join("photo.png"),
        )
        .unwrap();
    }
    let out = session03(
        dir.path(),
        &[
            "--input",
            "a/photo.png",
            "b/photo.png",
            "--pipeline",
            "invert",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let outputs: Vec<&str> = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task"]["output"].as_str().unwrap())
        .collect();
    assert_eq!(outputs, ["results/photo.png", "results/photo-2.png"]);
    let size = |name: &str| {
        let image = image::open(dir.path().join("output/session03").join(name)).unwrap();
        (image.width(), image.height())
    };
    assert_eq!(size(outputs[0]), (600, 400), "coffee.png's result");
    assert_eq!(size(outputs[1]), (451, 300), "chelsea.png's result");
}
