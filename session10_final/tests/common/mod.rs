//! What the API's tests share: a server on `127.0.0.1:0` in the test's process, a real
//! HTTP client, forms, sample images.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use image::{DynamicImage, ImageFormat};
use serde_json::Value;
use session04_redis::RedisServer;
use session04_redis::cli::QueueArgs;
use session04_redis::server::Children;
use session05_distributed::registry::{Registry, RegistryConfig};
use session07_k8s::state::{AppState, Connected};
use session10_final::api;
use session10_final::app::App;
use session10_final::backend::Backend;
use session10_final::distributed::Distributed;
use session10_final::embedded::{Embedded, EmbeddedConfig};
use session10_final::limits::UploadLimits;

/// Every wait of these tests ends by this.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// A server and the runtime it runs on, with the Redis and the worker processes of the
/// distributed mode; dropping it stops them all.
pub struct Server {
    pub base: String,
    pub mode: Mode,
    _runtime: tokio::runtime::Runtime,
    _workers: Option<Children>,
    _redis: Option<RedisServer>,
}

/// Which system runs under the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Everything in the test's process.
    Embedded,
    /// A real redis-server and worker processes of this crate's binary.
    Distributed,
}

/// What a test needs of the system.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    pub workers: usize,
    pub queue_capacity: usize,
    pub limits: UploadLimits,
    /// The embedded store's bytes; its default when `None`.
    pub store_bytes: Option<u64>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            workers: 2,
            queue_capacity: 1000,
            limits: UploadLimits::default(),
            store_bytes: None,
        }
    }
}

/// A server in each mode that can run here: the distributed one needs redis-server (and
/// is skipped, saying so, without it, except under CI, where that fails).
pub fn servers(setup: Setup) -> Vec<Server> {
    let mut servers = vec![start(Mode::Embedded, setup)];
    if redis_server_missing() {
        eprintln!("the distributed mode is skipped");
    } else {
        servers.push(start(Mode::Distributed, setup));
    }
    servers
}

/// Whether `program` cannot be run here: the test says so and skips what needs it. CI
/// installs every tool these tests need: there, a missing one is a failure.
pub fn missing(program: &str) -> bool {
    let missing = std::process::Command::new(program)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_err();
    if missing {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{program} is not installed: CI must run this test"
        );
        eprintln!("skipped: {program} is not installed");
    }
    missing
}

/// Whether redis-server cannot be run here (see [`missing`]).
pub fn redis_server_missing() -> bool {
    missing("redis-server")
}

/// The API on `mode`, on `127.0.0.1:0`, ready: in the distributed mode, once a worker has
/// registered (`/api/ready` says 200).
pub fn start(mode: Mode, setup: Setup) -> Server {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (redis, workers) = match mode {
        Mode::Embedded => (None, None),
        Mode::Distributed => {
            let redis = RedisServer::start().unwrap();
            let workers = worker_processes(&redis.url(), setup.workers);
            (Some(redis), Some(workers))
        }
    };
    let base = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let backend: Arc<dyn Backend> = match &redis {
            None => Arc::new(Embedded::start(EmbeddedConfig {
                workers: setup.workers,
                queue_capacity: setup.queue_capacity,
                limits: setup.limits,
                store_bytes: setup
                    .store_bytes
                    .unwrap_or(EmbeddedConfig::default().store_bytes),
            })),
            Some(redis) => {
                let mut args = QueueArgs::for_url(&redis.url());
                args.namespace = NAMESPACE.to_owned();
                args.capacity = setup.queue_capacity;
                let (queue, _) = args.open().await.unwrap();
                let registry =
                    Registry::new(queue.connection(), queue.keys(), RegistryConfig::default());
                let state = Arc::new(AppState::with(Connected { queue, registry }));
                Arc::new(Distributed::new(state, args.max_blob_bytes))
            }
        };
        let program = env!("CARGO_BIN_EXE_session10_final").into();
        let app = Arc::new(App::new(backend, setup.limits, setup.workers).with_program(program));
        let never = std::future::pending::<()>();
        tokio::spawn(session07_k8s::server::serve(
            listener,
            api::router(app),
            never,
            DEADLINE,
        ));
        format!("http://{address}")
    });
    let server = Server {
        base,
        mode,
        _runtime: runtime,
        _workers: workers,
        _redis: redis,
    };
    let started = Instant::now();
    while get(&format!("{}/api/ready", server.base)).status != 200 {
        assert!(started.elapsed() < DEADLINE, "{mode:?}: never ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Every worker process registered, so that each test sees all the slots.
    if mode == Mode::Distributed {
        loop {
            let workers = get(&format!("{}/api/workers", server.base)).json();
            if workers["workers"].as_array().map(Vec::len) == Some(setup.workers) {
                break;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "{mode:?}: workers missing: {workers}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    server
}

/// The queue's namespace in the tests' own Redis.
const NAMESPACE: &str = "s10test";

/// `count` worker processes of this crate's binary, one slot each, beating every 0.25 s.
fn worker_processes(url: &str, count: usize) -> Children {
    let mut children = Children::default();
    for _ in 0..count {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_session10_final"));
        command.args([
            "worker",
            "--redis-url",
            url,
            "--namespace",
            NAMESPACE,
            "--concurrency",
            "1",
            "--heartbeat",
            "0.25",
            "--probe-listen",
            "127.0.0.1:0",
        ]);
        for variable in ["REDIS_URL", "QUEUE_NAMESPACE", "PROBE_LISTEN", "LOG_FORMAT"] {
            command.env_remove(variable);
        }
        let child = command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        children.0.push(child);
    }
    children
}

impl Server {
    /// A server some other way started (a process), at `base`.
    pub fn at(base: &str) -> Server {
        Server {
            base: base.to_owned(),
            mode: Mode::Embedded,
            _runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
            _workers: None,
            _redis: None,
        }
    }
}

pub fn default_server() -> Server {
    start(Mode::Embedded, Setup::default())
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(DEADLINE))
        .build()
        .into()
}

/// Status, headers and body of an answer.
pub struct Answer {
    pub status: u16,
    pub headers: ureq::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }
}

pub fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut response = response.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .body_mut()
        .with_config()
        .limit(200_000_000)
        .read_to_vec()
        .unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

pub fn get(url: &str) -> Answer {
    answer(agent().get(url).call())
}

pub fn post(url: &str, content_type: &str, body: &[u8]) -> Answer {
    answer(
        agent()
            .post(url)
            .header("content-type", content_type)
            .send(body),
    )
}

/// A multipart form with `fields`; a field named `file` is sent as a file.
pub fn form(fields: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "imgproc-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        if *name == "file" {
            body.extend_from_slice(
                b"Content-Disposition: form-data; name=\"file\"; filename=\"photo\"\r\nContent-Type: application/octet-stream\r\n\r\n",
            );
        } else {
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            );
        }
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub fn photo(name: &str) -> Vec<u8> {
    std::fs::read(session01_image_basics::samples::path(name)).unwrap()
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    session01_image_basics::encode(&DynamicImage::new_rgb8(width, height), ImageFormat::Png)
        .unwrap()
}

/// A request that announces `length` bytes of body and sends none: the server refuses it
/// from its `Content-Length` alone (a client that sent the bytes would see the connection
/// closed under it before reading the answer).
pub fn oversized(server: &Server, length: usize) -> Answer {
    use std::io::{Read, Write};
    let address = server.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        stream,
        "POST /api/jobs?pipeline=invert HTTP/1.1\r\nHost: {address}\r\nContent-Type: image/png\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    // Read until the answer's JSON has come: the server may keep the connection open.
    let (mut bytes, mut chunk) = (Vec::new(), [0u8; 4096]);
    let (status, body) = loop {
        let read = stream.read(&mut chunk).unwrap();
        assert!(
            read > 0,
            "closed before an answer: {}",
            String::from_utf8_lossy(&bytes)
        );
        bytes.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let json = body
                .lines()
                .find(|line| line.starts_with('{') && line.ends_with('}'));
            if let Some(json) = json {
                let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
                break (status, json.to_owned());
            }
        }
    };
    Answer {
        status,
        headers: ureq::http::HeaderMap::new(),
        body: body.as_bytes().to_vec(),
    }
}

/// The CRC-32 a PNG chunk ends with (over its type and data).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

pub fn submit(server: &Server, image: &[u8], pipeline: &str) -> Answer {
    let (kind, body) = form(&[("file", image), ("pipeline", pipeline.as_bytes())]);
    post(&format!("{}/api/jobs", server.base), &kind, &body)
}

/// Polls the job until it is final; its view.
pub fn finished(server: &Server, location: &str) -> Value {
    let started = Instant::now();
    loop {
        let job = get(&format!("{}{location}", server.base)).json();
        if ["succeeded", "failed", "dead"].contains(&job["state"].as_str().unwrap()) {
            return job;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "the job never finished: {job}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
