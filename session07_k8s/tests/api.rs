//! The status API over real HTTP: a server on `127.0.0.1:0` in front of a real
//! redis-server, asked by an HTTP client, and the `api` and `worker` binaries as programs.

#[path = "../../session04_redis/tests/common/mod.rs"]
mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use clap::CommandFactory as _;
use serde_json::Value;
use session03_workers::{Backpressure, BlobKey, BlobStore as _, Queue as _, TaskState};
use session04_redis::RedisServer;
use session04_redis::server::free_port;
use session05_distributed::registry::{Registry, RegistryConfig};
use session07_k8s::api;
use session07_k8s::cli::Cli;
use session07_k8s::demo::get;
use session07_k8s::server::serve;
use session07_k8s::state::{AppState, Connected};

/// The longest a test waits for anything.
const LIMIT: Duration = Duration::from_secs(30);

/// A registry that calls a worker gone after 2 s of silence.
fn registry_config() -> RegistryConfig {
    session05_distributed::worker::HeartbeatArgs {
        interval: 0.5,
        ttl: 2.0,
    }
    .config()
    .unwrap()
}

/// Serves the API on a free port over `state`; the URL, and the sender that stops it.
async fn start(state: Arc<AppState>) -> (String, tokio::sync::oneshot::Sender<()>) {
    let (url, stop, _) = start_router(api::router(state), Duration::from_secs(5)).await;
    (url, stop)
}

/// Serves `router` on a free port: the URL, the stopper, and the server's report.
async fn start_router(
    router: axum::Router,
    grace: Duration,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<String>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let report = tokio::spawn(serve(
        listener,
        router,
        async move {
            let _ = stopped.await;
        },
        grace,
    ));
    (url, stop, report)
}

/// An API connected to a fresh namespace on `server`: its URL, the queue and the stopper.
async fn connected(
    server: &RedisServer,
) -> (
    String,
    session04_redis::RedisQueue,
    tokio::sync::oneshot::Sender<()>,
) {
    let queue = common::queue(server, &common::namespace(), Duration::from_secs(30)).await;
    let registry = Registry::new(queue.connection(), queue.keys(), registry_config());
    let state = Arc::new(AppState::with(Connected {
        queue: queue.clone(),
        registry,
    }));
    let (url, stop) = start(state).await;
    (url, queue, stop)
}

/// `GET url` as JSON: the status and the body.
async fn json(url: &str) -> (u16, Value) {
    try_json(url)
        .await
        .unwrap_or_else(|| panic!("{url} did not answer"))
}

/// `GET url` as JSON, or `None` while nothing listens there.
async fn try_json(url: &str) -> Option<(u16, Value)> {
    let (status, body) = get(url).await.ok()?;
    let value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: {e}: {body}"));
    Some((status, value))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liveness_answers_and_unknown_routes_are_json_404s() {
    let (url, stop) = start(Arc::new(AppState::default())).await;
    let (status, body) = json(&format!("{url}/api/health")).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = json(&format!("{url}/api/nothing")).await;
    assert_eq!(status, 404);
    assert_eq!(body["reason"], "no such route");
    drop(stop);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_every_route_but_liveness_is_503_with_a_reason() {
    let (url, stop) = start(Arc::new(AppState::default())).await;
    let (status, body) = json(&format!("{url}/api/ready")).await;
    assert_eq!(status, 503);
    assert_eq!(body["ready"], false);
    let reason = body["reasons"][0].as_str().unwrap();
    assert!(reason.starts_with("Redis unreachable"), "{reason}");
    for path in ["/api/stats", "/api/workers"] {
        let (status, body) = json(&format!("{url}{path}")).await;
        assert_eq!(status, 503, "{path}");
        assert!(
            body["reason"]
                .as_str()
                .unwrap()
                .contains("not connected to Redis")
        );
    }
    drop(stop);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_have_the_status_json_shape_plus_throughput() {
    let server = RedisServer::start_async().await.unwrap();
    let (url, queue, stop) = connected(&server).await;
    let input = BlobKey::new("in/tiny.png").unwrap();
    for _ in 0..3 {
        queue
            .enqueue(common::task("grayscale", &input), Backpressure::Wait)
            .await
            .unwrap();
    }
    let (status, body) = json(&format!("{url}/api/stats")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stats"]["waiting"], 3);
    assert_eq!(body["counts"]["pending"], 3);
    assert_eq!(body["dead_letters"], 0);
    assert!(body["recent_dead_letters"].as_array().unwrap().is_empty());
    // One sample so far: no rate yet, and it says so rather than inventing one.
    assert_eq!(body["throughput"]["tasks_per_second"], Value::Null);
    // The same keys as `status --json`, plus throughput.
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "counts",
            "dead_letters",
            "recent_dead_letters",
            "stats",
            "throughput"
        ]
    );
    drop(stop);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_is_shown_with_its_history_and_why_it_waits() {
    let server = RedisServer::start_async().await.unwrap();
    let (url, queue, stop) = connected(&server).await;
    let input = BlobKey::new("in/tiny.png").unwrap();
    let id = queue
        .enqueue(common::task("sharpen|edges", &input), Backpressure::Wait)
        .await
        .unwrap();
    let (status, body) = json(&format!("{url}/api/tasks/{id}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["task"]["state"], "pending");
    assert_eq!(body["task"]["attempts"], 0);
    assert!(body["history"].is_array());
    assert_eq!(body["waiting_reason"], "no live worker");

    let (status, body) = json(&format!("{url}/api/tasks/not-a-task")).await;
    assert_eq!(status, 400);
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains("is not a task id"),
        "{body}"
    );
    let unknown = session03_workers::TaskId::new();
    let (status, body) = json(&format!("{url}/api/tasks/{unknown}")).await;
    assert_eq!(status, 404);
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains(&unknown.to_string())
    );
    // A long id is quoted only in part.
    let long = "x".repeat(5000);
    let (status, body) = json(&format!("{url}/api/tasks/{long}")).await;
    assert_eq!(status, 400);
    assert!(body["reason"].as_str().unwrap().len() < 200);
    drop(stop);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_and_workers_follow_a_real_worker_and_its_probes() {
    let server = RedisServer::start_async().await.unwrap();
    let (url, queue, stop) = connected(&server).await;
    let (status, body) = json(&format!("{url}/api/ready")).await;
    assert_eq!(status, 503);
    assert_eq!(body["reasons"][0], "no live worker: none has registered");

    let ns = queue.keys().namespace().to_owned();
    let probes = format!("127.0.0.1:{}", free_port().unwrap());
    let mut worker = binary(&[
        "worker",
        "--redis-url",
        &server.url(),
        "--namespace",
        &ns,
        "--worker-id",
        "pod-x",
        "--heartbeat",
        "0.5",
        "--heartbeat-ttl",
        "2",
        "--probe-listen",
        &probes,
    ]);
    let ready = common::eventually(LIMIT, "the worker's readiness", || async {
        let (status, body) = try_json(&format!("http://{probes}/readyz")).await?;
        (status == 200).then_some(body)
    })
    .await;
    assert_eq!(ready["live"], true);
    common::eventually(LIMIT, "the API's readiness", || async {
        (json(&format!("{url}/api/ready")).await.0 == 200).then_some(())
    })
    .await;
    let (status, body) = json(&format!("{url}/api/workers")).await;
    assert_eq!(status, 200);
    let worker_view = &body["workers"][0];
    assert!(
        worker_view["info"]["id"]
            .as_str()
            .unwrap()
            .starts_with("pod-x"),
        "{body}"
    );
    // Idle, or stale if a beat came late on a busy machine: listed and not gone.
    assert_ne!(worker_view["state"], "gone");
    assert!(body["waiting"].as_array().unwrap().is_empty());

    common::sigterm(&mut worker.0);
    assert!(common::exit_status(&mut worker.0, LIMIT).success());
    let (status, body) = json(&format!("{url}/api/ready")).await;
    assert_eq!(status, 503);
    assert!(
        body["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("no live worker")
    );
    drop(stop);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_worker_is_live_but_not_ready_until_it_finishes() {
    let server = RedisServer::start_async().await.unwrap();
    let ns = common::namespace();
    let queue = common::queue(&server, &ns, Duration::from_secs(30)).await;
    let blobs = common::blobs(&queue, &ns);
    let input = BlobKey::new("in/tiny.png").unwrap();
    blobs.put(&input, common::tiny_png().into()).await.unwrap();
    let probes = format!("127.0.0.1:{}", free_port().unwrap());
    let mut worker = binary(&[
        "worker",
        "--redis-url",
        &server.url(),
        "--namespace",
        &ns,
        // Long enough for the probes to be asked while both tasks are in hand.
        "--delay",
        "5",
        "--concurrency",
        "2",
        "--heartbeat",
        "0.5",
        "--heartbeat-ttl",
        "2",
        "--probe-listen",
        &probes,
    ]);
    common::eventually(LIMIT, "the worker's readiness", || async {
        let (status, _) = try_json(&format!("http://{probes}/readyz")).await?;
        (status == 200).then_some(())
    })
    .await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let task = common::task("grayscale", &input);
        ids.push(queue.enqueue(task, Backpressure::Wait).await.unwrap());
    }
    // Both in the worker's hands (its heartbeat lists them), not only leased: a task
    // leased at the moment of the stop is given back unstarted, by design.
    let registry = Registry::new(queue.connection(), queue.keys(), registry_config());
    common::eventually(LIMIT, "both tasks in hand", || async {
        let workers = registry.list().await.unwrap();
        workers
            .iter()
            .any(|w| w.beat.current.len() == 2)
            .then_some(())
    })
    .await;
    common::sigterm(&mut worker.0);
    let body = common::eventually(LIMIT, "readiness to turn false", || async {
        let (status, body) = json(&format!("http://{probes}/readyz")).await;
        (status == 503).then_some(body)
    })
    .await;
    // The pool's own health says so, before any task in hand is done.
    let reason = body["reasons"][0].as_str().unwrap();
    assert!(reason.starts_with("shutting down"), "{reason}");
    let (status, body) = json(&format!("http://{probes}/livez")).await;
    assert_eq!((status, &body["live"]), (200, &Value::Bool(true)));
    assert!(common::exit_status(&mut worker.0, LIMIT).success());
    let mut report = String::new();
    std::io::Read::read_to_string(worker.0.stdout.as_mut().unwrap(), &mut report).unwrap();
    for id in ids {
        let record = queue.status(id).await.unwrap().unwrap();
        assert_eq!(record.state, TaskState::Succeeded, "{id}: {report}");
    }
}

#[test]
fn the_api_binary_serves_without_redis_and_stops_gracefully_on_sigterm() {
    let listen = format!("127.0.0.1:{}", free_port().unwrap());
    // Nothing listens on port 1: Redis is unreachable for as long as the test runs.
    let mut api = binary(&[
        "api",
        "--listen",
        &listen,
        "--redis-url",
        "redis://127.0.0.1:1",
    ]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let body = runtime.block_on(common::eventually(LIMIT, "the API to answer", || async {
        let (status, body) = get(&format!("http://{listen}/api/ready")).await.ok()?;
        (status == 503).then_some(body)
    }));
    assert!(body.contains("Redis unreachable"), "{body}");
    // The cause, not only the verdict.
    assert!(body.to_lowercase().contains("refused"), "{body}");
    let (status, _) = runtime
        .block_on(get(&format!("http://{listen}/api/health")))
        .unwrap();
    assert_eq!(status, 200);
    common::sigterm(&mut api.0);
    assert!(common::exit_status(&mut api.0, LIMIT).success());
    let mut out = String::new();
    std::io::Read::read_to_string(api.0.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert!(out.contains("status API stopped"), "{out}");
}

#[test]
fn a_taken_port_is_an_error_that_names_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    for args in [
        vec!["api", "--listen", address.as_str()],
        vec!["worker", "--probe-listen", address.as_str()],
    ] {
        let mut child = binary(&args);
        let status = common::exit_status(&mut child.0, LIMIT);
        assert!(!status.success());
        let mut err = String::new();
        std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert!(err.contains(&address), "{args:?}: {err}");
    }
}

/// This session's binary with `args`, away from the environment variables it reads; it
/// is killed when the guard drops, so a failing test leaves no process behind.
fn binary(args: &[&str]) -> Guard {
    Guard(spawn(args))
}

/// A child process killed on drop.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_session07_k8s"));
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for sub in Cli::command().get_subcommands() {
        for arg in sub.get_arguments() {
            if let Some(name) = arg.get_env() {
                command.env_remove(name);
            }
        }
    }
    command.spawn().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_is_a_503_that_names_redis() {
    let mut server = RedisServer::start_async().await.unwrap();
    let (url, _queue, stop) = connected(&server).await;
    assert_eq!(json(&format!("{url}/api/stats")).await.0, 200);
    server.stop().unwrap();
    let (status, body) = json(&format!("{url}/api/stats")).await;
    assert_eq!(status, 503);
    let reason = body["reason"].as_str().unwrap();
    assert!(reason.contains("Redis"), "{reason}");
    let (status, body) = json(&format!("{url}/api/ready")).await;
    assert_eq!(status, 503);
    assert!(
        body["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("Redis unreachable")
    );
    drop(stop);
}

#[test]
fn the_api_binary_connects_when_redis_comes_up_after_it() {
    let port = free_port().unwrap();
    let listen = format!("127.0.0.1:{}", free_port().unwrap());
    let redis_url = format!("redis://127.0.0.1:{port}");
    let mut api = binary(&["api", "--listen", &listen, "--redis-url", &redis_url]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ready = |wanted: &'static str| {
        runtime.block_on(common::eventually(LIMIT, wanted, || async {
            let (_, body) = try_json(&format!("http://{listen}/api/ready")).await?;
            let reason = body["reasons"][0].as_str()?.to_owned();
            reason.starts_with(wanted).then_some(reason)
        }))
    };
    ready("Redis unreachable");
    let _server = RedisServer::start_with(session04_redis::ServerOptions {
        port: Some(port),
        ..Default::default()
    })
    .unwrap();
    // Connected: now the only thing missing is a worker.
    ready("no live worker");
    common::sigterm(&mut api.0);
    assert!(common::exit_status(&mut api.0, LIMIT).success());
}

/// A route whose handler says when it has started and finishes when told.
fn held_route(
    started: tokio::sync::mpsc::Sender<()>,
    release: Arc<tokio::sync::Notify>,
) -> axum::Router {
    axum::Router::new().route(
        "/held",
        axum::routing::get(move || async move {
            started.send(()).await.unwrap();
            release.notified().await;
            "done"
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_finishes_after_the_stop_within_the_grace() {
    let (started, mut has_started) = tokio::sync::mpsc::channel(1);
    let release = Arc::new(tokio::sync::Notify::new());
    let router = held_route(started, Arc::clone(&release));
    let (url, stop, report) = start_router(router, LIMIT).await;
    let request = tokio::spawn(async move { get(&format!("{url}/held")).await });
    has_started.recv().await.unwrap();
    stop.send(()).unwrap();
    // Stopped, and still serving the request it holds.
    release.notify_one();
    let (status, body) = request.await.unwrap().unwrap();
    assert_eq!((status, body.as_str()), (200, "done"));
    let report = report.await.unwrap().unwrap();
    assert_eq!(report, "stopped: every request in flight finished\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_the_grace_does_not_hold_the_stop() {
    let (started, mut has_started) = tokio::sync::mpsc::channel(1);
    let release = Arc::new(tokio::sync::Notify::new());
    let router = held_route(started, Arc::clone(&release));
    let (url, stop, report) = start_router(router, Duration::from_millis(200)).await;
    let _request = tokio::spawn(async move { get(&format!("{url}/held")).await });
    has_started.recv().await.unwrap();
    stop.send(()).unwrap();
    let report = tokio::time::timeout(LIMIT, report)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(report.contains("still open after 0.2 s"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_methods_and_paths_get_json_answers() {
    let (url, stop) = start(Arc::new(AppState::default())).await;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let answer = tokio::task::spawn_blocking(move || {
        let mut response = agent
            .post(&format!("{url}/api/stats"))
            .send_empty()
            .unwrap();
        (
            response.status().as_u16(),
            response.body_mut().read_to_string().unwrap(),
        )
    })
    .await
    .unwrap();
    assert_eq!(answer.0, 405);
    let body: Value = serde_json::from_str(&answer.1).unwrap();
    assert_eq!(
        body["reason"],
        "this route does not answer this method (the Allow header lists those it does)"
    );
    drop(stop);
}
