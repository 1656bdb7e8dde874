//! Every long-running process's `/metrics`, read for real: a worker process running real
//! tasks on a real `redis-server`, the API's routes on 127.0.0.1:0, the autoscaler with its
//! worker processes. Each body goes through `promtool check metrics` (Debian's
//! `prometheus` package); without `promtool` those checks are skipped with a message,
//! except under CI (`CI=true`), where a missing `promtool` fails.

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use session02_pipelines::PipelineSpec;
use session03_workers::{Backpressure, BlobKey, BlobStore as _, Queue as _, Task, TaskId};
use session04_redis::cli::QueueArgs;
use session04_redis::{RedisQueue, RedisServer};
use session05_distributed::{Registry, RegistryConfig};
use session07_k8s::state::{AppState, Connected};
use session09_monitoring::published::{read_process, read_recent};
use session09_monitoring::{api, telemetry};

/// The binary under test.
const PROGRAM: &str = env!("CARGO_BIN_EXE_session09_monitoring");

/// How long any wait may take.
const PATIENCE: Duration = Duration::from_secs(30);

/// The binary with `args`, away from every environment variable it reads.
fn command(args: &[&str]) -> Command {
    let mut command = Command::new(PROGRAM);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    for variable in variables(&<session09_monitoring::cli::Cli as clap::CommandFactory>::command())
    {
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

/// A child process in a process group of its own (with the workers it starts), the whole
/// group killed when the test ends, however it ends.
struct Guard(Child);

impl Guard {
    /// Starts `command` as the leader of a new process group.
    fn spawn(mut command: Command) -> Self {
        use std::os::unix::process::CommandExt as _;
        Self(command.process_group(0).spawn().unwrap())
    }

    /// Waits for the leader to exit after it was asked to stop, failing after
    /// [`PATIENCE`]; its exit status.
    async fn exited(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the process did not stop");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // The group's id is its leader's: `kill -KILL -- -ID` reaches every member.
        let _ = signal("KILL", &format!("-{}", self.0.id()));
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.0.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Sends `SIG<name>` to `target` (a process id, or minus a process group's) with `kill`.
fn signal(name: &str, target: &str) -> std::io::Result<()> {
    let status = Command::new("kill")
        .args([&format!("-{name}"), "--", target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "kill -{name} {target}: {status}"
        )))
    }
}

/// Waits for `check` to give `Some`, failing after [`PATIENCE`].
async fn eventually<T, Fut>(what: &str, mut check: impl FnMut() -> Fut) -> T
where
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `GET http://address/metrics` with `accept` (or none): the status, content type and body.
async fn scrape_with(address: &str, accept: Option<&'static str>) -> (u16, String, String) {
    let url = format!("http://{address}{}", telemetry::METRICS);
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let mut request = agent.get(&url);
        if let Some(accept) = accept {
            request = request.header("Accept", accept);
        }
        let mut response = request.call().unwrap_or_else(|e| panic!("{url}: {e}"));
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.body_mut().read_to_string().unwrap();
        (response.status().as_u16(), kind, body)
    })
    .await
    .unwrap()
}

/// The body of `/metrics` as `curl` and `promtool` get it, checked by `promtool`.
async fn scrape(address: &str) -> String {
    let (status, kind, body) = scrape_with(address, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(kind, telemetry::CLASSIC_CONTENT_TYPE);
    promtool_check(&body);
    body
}

/// Whether `promtool` runs here; without it, says so, and fails under CI.
fn have_promtool() -> bool {
    let found = Command::new("promtool")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "promtool is missing (apt-get install prometheus): CI must check the expositions"
        );
        eprintln!(
            "skipping the promtool check: promtool is not installed (apt-get install prometheus)"
        );
    }
    found
}

/// Pipes `body` into `promtool check metrics`, which must accept it, lint included.
fn promtool_check(body: &str) {
    if !have_promtool() {
        return;
    }
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool refused the exposition: {}{}\n{body}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The value of the sample `series` (name and labels exactly as written), if present.
fn value(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

/// Asserts the sample `series` is `expected`.
fn assert_value(body: &str, series: &str, expected: f64) {
    assert_eq!(value(body, series), Some(expected), "{series} in\n{body}");
}

/// The queue of namespace `ns` on `server`, and its blob store.
async fn open(
    server: &RedisServer,
    ns: &str,
) -> (RedisQueue, Arc<session04_redis::RedisBlobStore>) {
    let mut flags = QueueArgs::for_url(&server.url());
    flags.namespace = ns.to_owned();
    flags.open().await.unwrap()
}

/// A task running `pipeline` on the blob `input`.
fn task(pipeline: &str, input: &BlobKey) -> Task {
    let output = BlobKey::new(format!("results/{}.png", TaskId::new())).unwrap();
    Task::new(
        PipelineSpec::parse(pipeline).unwrap(),
        input.clone(),
        output,
    )
}

/// A small real photo, stored as `inputs/photo`, and a blob that is no image.
async fn inputs(queue: &RedisQueue, blobs: &session04_redis::RedisBlobStore) -> (BlobKey, BlobKey) {
    let _ = queue;
    let photo = session01_image_basics::samples::all()
        .into_iter()
        .min_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(u64::MAX))
        .expect("a sample photo");
    let good = BlobKey::new("inputs/photo.jpg").unwrap();
    blobs
        .put(&good, std::fs::read(photo).unwrap().into())
        .await
        .unwrap();
    let bad = BlobKey::new("inputs/garbage.png").unwrap();
    blobs
        .put(&bad, b"not an image".to_vec().into())
        .await
        .unwrap();
    (good, bad)
}

/// The registered workers' ids, once there are `count`.
async fn worker_ids(queue: &RedisQueue, count: usize) -> Vec<String> {
    let registry = Registry::new(queue.connection(), queue.keys(), RegistryConfig::default());
    eventually("the workers to register", || async {
        let listed = registry.list().await.ok()?;
        let ids: Vec<String> = listed
            .into_iter()
            .filter(|w| w.state.is_live())
            .map(|w| w.info.id)
            .collect();
        (ids.len() >= count).then_some(ids)
    })
    .await
}

/// Where worker `id` says its `/metrics` listens.
async fn metrics_address(queue: &RedisQueue, id: &str) -> String {
    eventually("the worker to publish its address", || async {
        read_process(queue, id).await.ok()??.metrics_address
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_counts_real_tasks_and_logs_their_ids() {
    let server = RedisServer::start_async().await.unwrap();
    let ns = "worker-metrics";
    let (queue, blobs) = open(&server, ns).await;
    let (good, bad) = inputs(&queue, &blobs).await;
    let logs = tempfile::NamedTempFile::new().unwrap();
    let url = server.url();
    let args = [
        "worker",
        "--redis-url",
        &url,
        "--namespace",
        ns,
        "--probe-listen",
        "127.0.0.1:0",
        "--heartbeat",
        "0.5",
        "--heartbeat-ttl",
        "2",
        "--log-format",
        "json",
        "--concurrency",
        "2",
    ];
    let mut worker = {
        let mut command = command(&args);
        command.stderr(logs.reopen().unwrap());
        Guard::spawn(command)
    };
    let id = worker_ids(&queue, 1).await.remove(0);
    let address = metrics_address(&queue, &id).await;
    let before = scrape(&address).await;
    assert_value(&before, r#"imgproc_tasks_total{outcome="succeeded"}"#, 0.0);
    assert_value(&before, "imgproc_worker_slots", 2.0);
    // Every filter's series exists at zero before its first task.
    let blur = r#"imgproc_filter_tasks_total{filter="blur",outcome="succeeded"}"#;
    assert_value(&before, blur, 0.0);

    let mut ids = Vec::new();
    for pipeline in ["resize:width=32", "resize:width=24|grayscale", "grayscale"] {
        ids.push(
            queue
                .enqueue(task(pipeline, &good), Backpressure::Reject)
                .await
                .unwrap(),
        );
    }
    ids.push(
        queue
            .enqueue(task("grayscale", &bad), Backpressure::Reject)
            .await
            .unwrap(),
    );
    eventually("the tasks to end", || async {
        let stats = queue.stats().await.ok()?;
        (stats.succeeded == 3 && stats.failed == 1).then_some(())
    })
    .await;

    let after = scrape(&address).await;
    assert_value(&after, r#"imgproc_tasks_total{outcome="succeeded"}"#, 3.0);
    assert_value(&after, r#"imgproc_tasks_total{outcome="failed"}"#, 1.0);
    for outcome in ["retried", "dead", "released", "lost"] {
        let series = format!(r#"imgproc_tasks_total{{outcome="{outcome}"}}"#);
        assert_value(&after, &series, 0.0);
    }
    assert_value(
        &after,
        r#"imgproc_filter_tasks_total{filter="grayscale",outcome="succeeded"}"#,
        2.0,
    );
    assert_value(
        &after,
        r#"imgproc_filter_tasks_total{filter="resize",outcome="succeeded"}"#,
        2.0,
    );
    assert_value(
        &after,
        r#"imgproc_filter_tasks_total{filter="grayscale",outcome="failed"}"#,
        1.0,
    );
    assert_value(
        &after,
        r#"imgproc_task_duration_seconds_count{outcome="succeeded"}"#,
        3.0,
    );
    assert_value(
        &after,
        r#"imgproc_task_duration_seconds_bucket{le="+Inf",outcome="succeeded"}"#,
        3.0,
    );
    assert!(value(&after, "process_resident_memory_bytes").unwrap() > 0.0);
    assert!(value(&after, "process_start_time_seconds").unwrap() > 1.0e9);
    // Prometheus asks for OpenMetrics, and gets it.
    let (_, kind, open) =
        scrape_with(&address, Some("application/openmetrics-text;version=1.0.0")).await;
    assert_eq!(kind, telemetry::CONTENT_TYPE);
    assert!(open.ends_with("# EOF\n") && open.contains("# TYPE imgproc_tasks counter"));

    let recent = eventually("the recent tasks", || async {
        let recent = read_recent(&queue, &id, 10).await.ok()?;
        (recent.len() == 4).then_some(recent)
    })
    .await;
    assert_eq!(
        recent.iter().filter(|t| t.outcome == "succeeded").count(),
        3
    );

    session04_redis::server::terminate(&mut worker.0).unwrap();
    let status = worker.exited().await;
    assert!(status.success(), "the worker exited with {status}");
    let logs = std::fs::read_to_string(logs.path()).unwrap();
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .collect();
    let with = |message: &str| -> Vec<&Value> {
        let found: Vec<_> = lines
            .iter()
            .filter(|line| line["fields"]["message"] == message)
            .collect();
        assert_eq!(found.len(), 4, "{message} in {logs}");
        found
    };
    // The first and the last line of each task name it and the worker.
    let started = with("task started");
    let finished = with("task finished");
    for line in started.iter().chain(&finished) {
        let span = &line["span"];
        assert_eq!(span["name"], "task", "{line}");
        assert_eq!(span["worker_id"], id.as_str(), "{line}");
        let task_id: TaskId = span["task_id"].as_str().unwrap().parse().unwrap();
        assert!(ids.contains(&task_id), "{line}");
    }
    let outcomes: Vec<_> = finished
        .iter()
        .map(|line| line["fields"]["outcome"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "succeeded").count(), 3);
    assert_eq!(outcomes.iter().filter(|o| **o == "failed").count(), 1);
    assert!(
        finished
            .iter()
            .all(|line| line["fields"]["seconds"].is_f64())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reads_the_queue_at_scrape_time_and_survives_redis_going_away() {
    let mut server = RedisServer::start_async().await.unwrap();
    let (queue, blobs) = open(&server, "api-metrics").await;
    let (good, _) = inputs(&queue, &blobs).await;
    for _ in 0..2 {
        queue
            .enqueue(task("grayscale", &good), Backpressure::Reject)
            .await
            .unwrap();
    }
    let registry = Registry::new(queue.connection(), queue.keys(), RegistryConfig::default());
    let state = Arc::new(AppState::with(Connected {
        queue: queue.clone(),
        registry,
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let routes = session07_k8s::api::router(Arc::clone(&state)).merge(api::router(state));
    let served = tokio::spawn(async move { axum::serve(listener, routes).await });

    let body = scrape(&address).await;
    assert_value(&body, "imgproc_redis_up", 1.0);
    assert_value(&body, "imgproc_queue_depth", 2.0);
    assert_value(&body, r#"imgproc_queue_tasks{state="pending"}"#, 2.0);
    assert_value(&body, r#"imgproc_queue_tasks{state="succeeded"}"#, 0.0);
    assert_value(&body, "imgproc_queue_pending", 0.0);
    assert_value(&body, "imgproc_dead_letters", 0.0);
    assert_value(&body, r#"imgproc_workers{state="busy"}"#, 0.0);
    assert!(value(&body, "imgproc_queue_oldest_pending_age_seconds").unwrap() >= 0.0);
    assert!(value(&body, "process_cpu_seconds_total").is_some());

    // Redis hung (stopped, its port still open): the scrape answers within its deadline,
    // without the series only Redis can give, rather than their last values.
    let pid = redis_pid(&queue).await;
    signal("STOP", &pid).unwrap();
    let body = eventually("a scrape to see Redis hung", || async {
        let body = scrape(&address).await;
        (value(&body, "imgproc_redis_up")? == 0.0).then_some(body)
    })
    .await;
    signal("CONT", &pid).unwrap();
    for series in ["imgproc_queue_depth", r#"imgproc_workers{state="idle"}"#] {
        assert_eq!(value(&body, series), None, "{series} in\n{body}");
    }
    assert!(value(&body, "process_cpu_seconds_total").is_some());
    // Back: read again.
    let body = eventually("a scrape to read Redis again", || async {
        let body = scrape(&address).await;
        (value(&body, "imgproc_redis_up")? == 1.0).then_some(body)
    })
    .await;
    assert_value(&body, "imgproc_queue_depth", 2.0);

    // Redis gone: the same.
    server.stop().unwrap();
    let body = eventually("a scrape to see Redis gone", || async {
        let body = scrape(&address).await;
        (value(&body, "imgproc_redis_up")? == 0.0).then_some(body)
    })
    .await;
    assert_eq!(value(&body, "imgproc_queue_depth"), None, "{body}");
    served.abort();
}

/// The process id of the `redis-server` behind `queue`, as it reports it.
async fn redis_pid(queue: &RedisQueue) -> String {
    let mut conn = queue.connection();
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("process_id:"))
        .expect("INFO names the process id")
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_200_before_it_has_connected() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let routes = api::router(Arc::new(AppState::default()));
    let served = tokio::spawn(async move { axum::serve(listener, routes).await });
    let body = scrape(&address).await;
    assert_value(&body, "imgproc_redis_up", 0.0);
    // No reading yet: no queue series, rather than zeros claiming an empty queue.
    assert_eq!(value(&body, "imgproc_queue_depth"), None, "{body}");
    served.abort();
}

/// Reads `file` until a JSON log line has `message` and a field `field`: its value.
async fn logged(file: &std::path::Path, message: &str, field: &str) -> String {
    eventually(message, || async {
        let text = std::fs::read_to_string(file).ok()?;
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|line| line["fields"]["message"] == message)
            .and_then(|line| line["fields"][field].as_str().map(str::to_owned))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_autoscaler_counts_decisions_and_its_workers_share_a_machine() {
    let server = RedisServer::start_async().await.unwrap();
    let ns = "autoscale-metrics";
    let (queue, _) = open(&server, ns).await;
    let logs = tempfile::NamedTempFile::new().unwrap();
    let url = server.url();
    let args = [
        "autoscale",
        "--redis-url",
        &url,
        "--namespace",
        ns,
        "--heartbeat",
        "0.5",
        "--heartbeat-ttl",
        "2",
        "--min",
        "2",
        "--max",
        "2",
        "--speed",
        "4",
        "--sync-period",
        "4",
        "--metrics-listen",
        "127.0.0.1:0",
        "--log-format",
        "json",
    ];
    let mut autoscaler = {
        let mut command = command(&args);
        command.stderr(logs.reopen().unwrap());
        Guard::spawn(command)
    };
    let address = logged(logs.path(), "metrics listening", "address").await;
    // Two workers on one machine: each found a port of its own, and published it.
    let ids = worker_ids(&queue, 2).await;
    let mut addresses = Vec::new();
    for id in &ids {
        addresses.push(metrics_address(&queue, id).await);
    }
    assert_ne!(addresses[0], addresses[1]);
    for worker in &addresses {
        scrape(worker).await;
    }
    let body = eventually("a decision", || {
        let address = address.clone();
        async move {
            let body = scrape(&address).await;
            (value(
                &body,
                r#"imgproc_autoscaler_decisions_total{direction="hold"}"#,
            )? >= 1.0)
                .then_some(body)
        }
    })
    .await;
    assert_value(&body, "imgproc_autoscaler_replicas", 2.0);
    assert_value(&body, "imgproc_autoscaler_desired_replicas", 2.0);
    assert_value(&body, "imgproc_autoscaler_replaced_total", 0.0);
    session04_redis::server::terminate(&mut autoscaler.0).unwrap();
    let status = autoscaler.exited().await;
    assert!(status.success(), "the autoscaler exited with {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_worker_publishes_reads_back_and_corrupt_entries_are_skipped() {
    use redis::AsyncCommands as _;
    use session09_monitoring::published::{self, RecentTask};

    let server = RedisServer::start_async().await.unwrap();
    let (queue, _) = open(&server, "published").await;
    assert_eq!(read_process(&queue, "w").await.unwrap(), None);
    published::write_process(
        &queue,
        "w",
        12.5,
        4096,
        "127.0.0.1:9",
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let sample = read_process(&queue, "w").await.unwrap().unwrap();
    assert_eq!((sample.cpu_percent, sample.memory_bytes), (12.5, 4096));
    assert_eq!(sample.metrics_address.as_deref(), Some("127.0.0.1:9"));
    assert!(
        sample.at_ms > 1_600_000_000_000,
        "Redis's clock, in ms: {}",
        sample.at_ms
    );

    let mut conn = queue.connection();
    let key = published::process_key(&queue, "w");
    let () = conn.hset(&key, "memory_bytes", "lots").await.unwrap();
    assert_eq!(read_process(&queue, "w").await.unwrap(), None);

    for i in 0..25 {
        let recent = RecentTask {
            task_id: format!("t{i}"),
            filters: vec!["grayscale".to_owned()],
            outcome: "succeeded".to_owned(),
            seconds: 0.1,
            finished_at_ms: i,
        };
        published::push_recent(&queue, "w", &recent).await.unwrap();
    }
    let () = conn
        .lpush(published::recent_key(&queue, "w"), "{not json")
        .await
        .unwrap();
    let recent = read_recent(&queue, "w", 100).await.unwrap();
    // The newest 20 were kept; the corrupt one (now first) is skipped.
    assert_eq!(recent.len(), published::RECENT_KEPT - 1);
    assert_eq!(recent[0].task_id, "t24");
    assert_eq!(read_recent(&queue, "w", 0).await.unwrap(), []);
}
