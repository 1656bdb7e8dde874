//! The session's binaries as a user runs them: the walkthrough of chapter 4 (submit, a
//! draining worker, status), `--wait` and `--output`, named workers, `reset`, `status
//! --watch`, the demo, the benchmark, and bad input.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use redis::Commands;
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
    let cases: [(&str, &[&str], &str); 9] = [
        (SUBMIT, &["--pipeline", "blur|sparkle"], "sparkle"),
        (SUBMIT, &["--format", "gif"], "--format"),
        (SUBMIT, &["no/such/file.png"], "no/such/file.png"),
        (SUBMIT, &["--output", "results"], "--wait"),
        (WORKER, &["--capabilities", "blur,sparkle"], "sparkle"),
        (WORKER, &["--worker-id", "two words"], "--worker-id"),
        (STATUS, &["--watch", "--json"], "--json"),
        (STATUS, &["--interval", "1"], "--watch"),
        (MAIN, &["reset"], "--yes"),
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

/// Every key of namespace `ns` on `url`, found with SCAN.
fn keys_of(url: &str, ns: &str) -> Vec<String> {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_connection().unwrap();
    let mut keys: Vec<String> = conn
        .scan_match::<_, String>(format!("{ns}:*"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    keys.sort();
    keys
}

/// A worker process on `url`, namespace `ns`, with `extra` flags, its output discarded.
fn spawn_worker(url: &str, ns: &str, extra: &[&str]) -> std::process::Child {
    Command::new(WORKER)
        .args(["--namespace", ns, "--concurrency", "2"])
        .args(extra)
        .env("REDIS_URL", url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Stops the first worker of `workers` as `docker stop` would, and checks it exits cleanly.
fn stop(workers: &mut Children) {
    common::sigterm(&mut workers.0[0]);
    assert!(
        common::exit_status(&mut workers.0[0], Duration::from_secs(30)).success(),
        "SIGTERM ends the worker cleanly"
    );
}

#[test]
fn submit_output_writes_each_result_as_a_file_named_after_its_input() {
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let ns = common::namespace();
    let mut workers = Children(vec![spawn_worker(&url, &ns, &[])]);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("made/by/submit");
    let (chelsea, coffee) = (samples::path("chelsea.png"), samples::path("coffee.png"));
    let submitted = run(
        SUBMIT,
        &url,
        &[
            "--namespace",
            &ns,
            "--pipeline",
            "grayscale",
            "--count",
            "2",
            "--wait",
            "--timeout",
            "120",
            "--output",
            dir.to_str().unwrap(),
            chelsea.to_str().unwrap(),
            coffee.to_str().unwrap(),
        ],
    );
    stop(&mut workers);
    assert!(submitted.status.success(), "{}", text(&submitted.stderr));
    let report = text(&submitted.stdout);
    // In submission order: each input once, then each again.
    let names = ["chelsea.png", "coffee.png", "chelsea-2.png", "coffee-2.png"];
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), names.len(), "{report}");
    for (line, name) in lines.iter().zip(names) {
        let file = dir.join(name);
        assert!(
            line.contains("\tsucceeded\t") && line.ends_with(file.to_str().unwrap()),
            "the report says where each file went: {report}"
        );
        let image = image::open(&file).unwrap();
        let source = if name.starts_with("chelsea") {
            &chelsea
        } else {
            &coffee
        };
        let (width, height) = image::image_dimensions(source).unwrap();
        assert_eq!((image.width(), image.height()), (width, height), "{name}");
        let gray = image
            .to_rgb8()
            .pixels()
            .all(|p| p[0] == p[1] && p[1] == p[2]);
        assert!(gray, "{name} is the grayscale result, not the colour input");
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), names.len());
}

#[test]
fn submit_output_must_be_a_folder_checked_before_anything_is_sent() {
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let ns = common::namespace();
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("results.png");
    std::fs::write(&file, b"not a folder").unwrap();
    let refused = run(
        SUBMIT,
        &url,
        &[
            "--namespace",
            &ns,
            "--wait",
            "--output",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    let error = text(&refused.stderr);
    assert!(
        error.contains(file.to_str().unwrap()) && error.contains("not a folder"),
        "{error}"
    );
    assert!(keys_of(&url, &ns).is_empty(), "nothing was submitted");
}

#[cfg(unix)]
#[test]
fn submit_output_refuses_a_read_only_folder_before_anything_is_sent() {
    use std::os::unix::fs::PermissionsExt;

    let out = tempfile::tempdir().unwrap();
    let read_only = out.path().join("read-only");
    std::fs::create_dir(&read_only).unwrap();
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o555)).unwrap();
    let dir = if std::fs::write(read_only.join("probe"), b"").is_err() {
        read_only.clone()
    } else if cfg!(target_os = "linux") {
        // Root writes into read-only folders; into /proc/self, nobody creates a file.
        std::path::PathBuf::from("/proc/self")
    } else {
        panic!("this user writes into a read-only folder, and there is no /proc to use");
    };
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let ns = common::namespace();
    let refused = run(
        SUBMIT,
        &url,
        &[
            "--namespace",
            &ns,
            "--wait",
            "--output",
            dir.to_str().unwrap(),
        ],
    );
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let error = text(&refused.stderr);
    assert!(
        error.contains("cannot write into the output folder")
            && error.contains(dir.to_str().unwrap()),
        "{error}"
    );
    assert!(keys_of(&url, &ns).is_empty(), "nothing was submitted");
}

#[test]
fn a_worker_id_names_the_consumer_that_ran_the_task() {
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let ns = common::namespace();
    let chelsea = samples::path("chelsea.png");
    let submitted = run(
        SUBMIT,
        &url,
        &[
            "--namespace",
            &ns,
            "--pipeline",
            "invert",
            chelsea.to_str().unwrap(),
        ],
    );
    assert!(submitted.status.success(), "{}", text(&submitted.stderr));
    let id = text(&submitted.stdout).trim().to_owned();
    let worker = Command::new(WORKER)
        .args(["--namespace", &ns, "--drain", "--concurrency", "1"])
        .env("REDIS_URL", &url)
        .env("WORKER_ID", "resizer-1")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(worker.status.success(), "{}", text(&worker.stderr));
    assert!(text(&worker.stdout).contains("1 succeeded"));

    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let consumer: String = redis::cmd("HGET")
        .arg(format!("{ns}:task:{id}"))
        .arg("consumer")
        .query(&mut conn)
        .unwrap();
    let suffix = consumer
        .strip_prefix("resizer-1-")
        .unwrap_or_else(|| panic!("the consumer is named after the worker id: {consumer}"));
    assert!(
        suffix.len() == 8 && suffix.chars().all(|c| c.is_ascii_hexdigit()),
        "a random suffix keeps it unique per start: {consumer}"
    );
}

#[test]
fn reset_refuses_without_yes_then_deletes_only_its_namespace() {
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let ns = common::namespace();
    let chelsea = samples::path("chelsea.png");
    let submitted = run(
        SUBMIT,
        &url,
        &[
            "--namespace",
            &ns,
            "--count",
            "2",
            chelsea.to_str().unwrap(),
        ],
    );
    assert!(submitted.status.success(), "{}", text(&submitted.stderr));
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_connection().unwrap();
    // Another namespace's key, and one that a pattern with an unescaped `*` would match.
    for key in [format!("{ns}x:keep"), "ab:keep".to_owned()] {
        redis::cmd("SET")
            .arg(&key)
            .arg(1)
            .query::<()>(&mut conn)
            .unwrap();
    }
    let before = keys_of(&url, &ns);
    assert!(before.len() > 3, "{before:?}");

    let refused = run(MAIN, &url, &["reset", "--namespace", &ns]);
    assert_eq!(refused.status.code(), Some(1));
    let error = text(&refused.stderr);
    assert!(error.contains("--yes") && error.contains(&ns), "{error}");
    assert_eq!(keys_of(&url, &ns), before, "nothing deleted without --yes");

    let reset = run(MAIN, &url, &["reset", "--namespace", &ns, "--yes"]);
    assert!(reset.status.success(), "{}", text(&reset.stderr));
    assert!(
        text(&reset.stdout).contains(&format!("deleted {} keys", before.len())),
        "{}",
        text(&reset.stdout)
    );
    assert!(keys_of(&url, &ns).is_empty());

    // A namespace that would match others' keys is refused before anything is deleted.
    for bad in ["a*", &format!("{ns}:x")] {
        let refused = run(MAIN, &url, &["reset", "--namespace", bad, "--yes"]);
        assert_eq!(refused.status.code(), Some(1));
        assert!(
            text(&refused.stderr).contains("--namespace"),
            "{}",
            text(&refused.stderr)
        );
    }
    for key in [format!("{ns}x:keep"), "ab:keep".to_owned()] {
        let kept: bool = redis::cmd("EXISTS").arg(&key).query(&mut conn).unwrap();
        assert!(kept, "{key} is another namespace's");
    }
}

#[test]
fn status_watch_redraws_until_its_iterations_are_done() {
    let server = RedisServer::start().unwrap();
    let ns = common::namespace();
    let watched = run(
        STATUS,
        &server.url(),
        &[
            "--namespace",
            &ns,
            "--watch",
            "--interval",
            "0.1",
            "--iterations",
            "2",
        ],
    );
    assert!(watched.status.success(), "{}", text(&watched.stderr));
    let out = text(&watched.stdout);
    assert_eq!(out.matches("waiting (queue depth)").count(), 2, "{out}");
    assert_eq!(out.matches("Ctrl-C to stop").count(), 2, "{out}");
}
