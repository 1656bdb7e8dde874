//! The binary as an operator runs it: `session10_final` with no command prints where it
//! serves, answers, and on SIGTERM finishes the job in hand and exits 0 with a report.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use session04_redis::server::{Children, terminate};

mod common;
use common::{DEADLINE, Server, get, png, submit};

/// The URL the program says it serves on (its stderr line), read on a thread so that the
/// wait has a deadline; the rest of stderr is drained on that thread.
fn serving_url(child: &mut std::process::Child) -> String {
    let stderr = child.stderr.take().unwrap();
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            // Once the URL is read nobody listens; the rest is drained all the same.
            let _ = sender.send(line);
        }
    });
    loop {
        let line = lines.recv_timeout(DEADLINE).expect("no URL line on stderr");
        if let Some(rest) = line.strip_prefix("imgproc is serving on ") {
            return rest
                .split(' ')
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_owned();
        }
    }
}

#[test]
fn it_prints_its_url_serves_and_drains_on_sigterm() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_session10_final"));
    command.args([
        "--bind",
        "127.0.0.1:0",
        "--workers",
        "1",
        "--shutdown-grace",
        "30",
    ]);
    for variable in [
        "API_LISTEN",
        "API_REDIS_URL",
        "EMBEDDED_WORKERS",
        "LOG_FORMAT",
        "MAX_UPLOAD_MB",
    ] {
        command.env_remove(variable);
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut children = Children(vec![child]);
    let child = &mut children.0[0];

    let url = serving_url(child);
    let server = Server::at(&url);
    assert_eq!(get(&format!("{url}/api/health")).status, 200);

    // A job that takes the one worker a while, a second one behind it, then SIGTERM
    // while the first runs.
    let slow = png(3000, 3000);
    let accepted = submit(&server, &slow, "blur:sigma=40");
    assert_eq!(accepted.status, 202);
    let location = accepted.header("location").to_owned();
    assert_eq!(submit(&server, &slow, "invert").status, 202);
    let started = Instant::now();
    let state = loop {
        let state = get(&format!("{url}{location}")).json()["state"].clone();
        if state != "pending" {
            break state;
        }
        assert!(started.elapsed() < DEADLINE, "the job never started");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(
        state, "running",
        "the job must still run when SIGTERM comes"
    );
    terminate(child).unwrap();

    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < DEADLINE, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut report = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut report).unwrap();
    assert!(status.success(), "{status}: {report}");
    assert!(report.contains("every job in hand finished"), "{report}");
    assert!(report.contains("1 jobs never started"), "{report}");
}

#[test]
fn with_redis_it_serves_the_same_api_on_worker_processes() {
    if common::redis_server_missing() {
        return;
    }
    let redis = session04_redis::RedisServer::start().unwrap();
    let program = env!("CARGO_BIN_EXE_session10_final");
    let spawn = |args: &[&str]| {
        let mut command = Command::new(program);
        command.args(args);
        for variable in [
            "API_LISTEN",
            "API_REDIS_URL",
            "REDIS_URL",
            "QUEUE_NAMESPACE",
            "PROBE_LISTEN",
        ] {
            command.env_remove(variable);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut api = spawn(&["--redis", &redis.url(), "--bind", "127.0.0.1:0"]);
    let url = serving_url(&mut api);
    let worker = spawn(&[
        "worker",
        "--redis-url",
        &redis.url(),
        "--probe-listen",
        "127.0.0.1:0",
        "--heartbeat",
        "0.25",
    ]);
    let _children = Children(vec![api, worker]);
    let server = Server::at(&url);

    // Ready once the API has reached Redis and the worker has registered.
    let started = Instant::now();
    loop {
        // Refused until the API listens, then 503 until it is ready.
        let ready = common::agent().get(&format!("{url}/api/ready")).call();
        if ready.as_ref().is_ok_and(|answer| answer.status() == 200) {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "never ready: {ready:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let accepted = submit(&server, &png(64, 48), "invert");
    assert_eq!(accepted.status, 202, "{}", accepted.json());
    let job = common::finished(&server, accepted.header("location"));
    assert_eq!(job["state"], "succeeded", "{job}");
    let result = get(&format!(
        "{url}{}",
        job["links"]["result"].as_str().unwrap()
    ));
    let image = image::load_from_memory(&result.body).unwrap();
    assert_eq!((image.width(), image.height()), (64, 48));
    let workers = get(&format!("{url}/api/workers")).json();
    assert_eq!(
        workers["workers"].as_array().map(Vec::len),
        Some(1),
        "{workers}"
    );

    // The compose lab's check: ten jobs through this API, run by the worker process.
    let (report, _) = full_test(&["--url", &url, "--json"], true);
    assert_eq!(report["verified"], 10, "{report}");
}

/// `full-test`'s report, parsed, after checking how the command ended.
fn full_test(args: &[&str], succeeds: bool) -> (serde_json::Value, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_session10_final"))
        .arg("full-test")
        .args(args)
        .env_remove("API_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.success(), succeeds, "{stdout}\n{stderr}");
    let report = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    (report, stderr)
}

#[test]
fn full_test_sends_jobs_through_the_embedded_api_and_checks_every_result() {
    let (report, _) = full_test(&["--tasks", "6", "--workers", "2", "--json"], true);
    assert_eq!(report["tasks"], 6, "{report}");
    assert_eq!(report["verified"], 6, "{report}");
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
    assert!(
        report["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
}

#[test]
fn full_test_waits_for_a_ready_service_and_says_when_none_came() {
    // A port that was free a moment ago: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let (report, stderr) = full_test(&["--url", &url, "--json", "--timeout", "1"], false);
    assert!(report.is_null(), "no report without a service: {report}");
    assert!(
        stderr.contains(&format!("GET {url}/api/ready: not ready within")),
        "{stderr}"
    );
}
