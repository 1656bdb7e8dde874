//! Session 10's graded exercises. `cargo xtask grade 10` runs these; each test's name starts
//! with its exercise's id (`ex10_2_...` belongs to exercise 10.2), which is how the grader
//! adds up the points in `exercises.toml`. Every exercise is tested over real HTTP: the
//! tests serve the exercise's router (or, for 10.3, a router behind the middleware) on
//! 127.0.0.1 and talk to it through a plain TCP socket, writing the requests byte by byte,
//! chunked bodies included, and reading the answers as they come, Server-Sent Events
//! included. The tests of 10.2 start a redis-server each (session 04's `RedisServer`) and
//! change the job's hash while they read the stream. Exercise 10.4 is a client: it is run
//! against the session's own API, in its embedded mode, and against small servers that
//! these tests build to be wrong in one way each.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use image::{DynamicImage, ImageFormat};
use session04_redis::RedisServer;
use session10_final::api;
use session10_final::app::App;
use session10_final::backend::Backend;
use session10_final::embedded::{Embedded, EmbeddedConfig};
use session10_final::exercises::{
    CHECK_PIPELINE, CHECK_SIZE, JPEG_MAGIC, PNG_MAGIC, Progress, Refusal, ServiceCheck,
    ThumbnailLimits, body_limit, check_service, progress_app, progress_key, thumbnail_app,
};
use session10_final::limits::UploadLimits;

/// The longest any step of a test may take before it fails.
const LIMIT: Duration = Duration::from_secs(30);

// ---- what the tests share: a server, and a client that writes HTTP by hand

/// A router served on 127.0.0.1, and the runtime it runs on; dropping it stops both.
struct Served {
    base: String,
    address: String,
    _runtime: tokio::runtime::Runtime,
}

/// Serves `app` on a free port of 127.0.0.1.
fn served(app: Router) -> Served {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let base = runtime.block_on(serve(app));
    Served {
        address: base.trim_start_matches("http://").to_owned(),
        base,
        _runtime: runtime,
    }
}

/// Serves `app` on the current runtime; its base URL.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// The status line and headers of an answer (header names in lower case).
#[derive(Debug)]
struct Head {
    status: u16,
    headers: BTreeMap<String, String>,
}

impl Head {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

/// A whole answer.
#[derive(Debug)]
struct Answer {
    head: Head,
    body: Vec<u8>,
}

impl Answer {
    fn status(&self) -> u16 {
        self.head.status
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The JSON refusal the answer must be, with `status`.
    fn refusal(&self, status: u16, what: &str) -> Refusal {
        assert_eq!(self.status(), status, "{what}: {}", self.text());
        assert!(
            self.head
                .header("content-type")
                .starts_with("application/json"),
            "{what}: a refusal is JSON, not {:?}: {}",
            self.head.header("content-type"),
            self.text()
        );
        let refusal: Refusal = serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{what}: the body is not {{\"error\", \"reason\"}} ({e}): {}",
                self.text()
            )
        });
        let reason = StatusCode::from_u16(status)
            .unwrap()
            .canonical_reason()
            .unwrap();
        assert_eq!(
            refusal.error, reason,
            "{what}: error is the status's reason"
        );
        assert!(
            !refusal.reason.trim().is_empty(),
            "{what}: the refusal says why"
        );
        refusal
    }
}

/// How an answer's body ends.
#[derive(Debug, Clone, Copy)]
enum Framing {
    Length(usize),
    Chunked,
    Close,
    Done,
}

/// One connection, its answer read as it comes.
struct Connection {
    stream: TcpStream,
    /// Bytes read and not yet decoded.
    buffer: Vec<u8>,
    framing: Framing,
}

/// Where `needle` first is in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

impl Connection {
    fn open(address: &str) -> Connection {
        let stream = TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        stream.set_write_timeout(Some(LIMIT)).unwrap();
        Connection {
            stream,
            buffer: Vec::new(),
            framing: Framing::Close,
        }
    }

    /// Writes `bytes`; a server that already answered may have closed its end.
    fn write(&mut self, bytes: &[u8]) {
        match self.stream.write_all(bytes) {
            Ok(()) => {}
            Err(e) if matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset) => {}
            Err(e) => panic!("cannot send the request: {e}"),
        }
    }

    /// Reads more, waiting until `deadline`: false at the end of the connection, an error
    /// when the deadline passed first.
    fn fill(&mut self, deadline: Instant) -> Result<bool, String> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("nothing came".to_owned());
        }
        self.stream.set_read_timeout(Some(left)).unwrap();
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => Ok(false),
            Ok(read) => {
                self.buffer.extend_from_slice(&chunk[..read]);
                Ok(true)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err("nothing came".to_owned())
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => Ok(false),
            Err(e) => Err(format!("reading the answer: {e}")),
        }
    }

    /// The answer's status line and headers.
    fn head(&mut self) -> Head {
        let deadline = Instant::now() + LIMIT;
        let end = loop {
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                break end;
            }
            match self.fill(deadline) {
                Ok(true) => {}
                Ok(false) => panic!(
                    "the connection closed before an answer: {:?}",
                    String::from_utf8_lossy(&self.buffer)
                ),
                Err(e) => panic!("no answer within {LIMIT:?}: {e}"),
            }
        };
        let text = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
        self.buffer.drain(..end + 4);
        let mut lines = text.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
        let headers: BTreeMap<String, String> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        self.framing = if headers
            .get("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            Framing::Chunked
        } else if let Some(length) = headers.get("content-length") {
            Framing::Length(length.parse().unwrap())
        } else {
            Framing::Close
        };
        Head { status, headers }
    }

    /// The next bytes of the body, decoded, waiting until `deadline`; `None` at its end.
    fn body_bytes(&mut self, deadline: Instant) -> Result<Option<Vec<u8>>, String> {
        loop {
            match self.framing {
                Framing::Done => return Ok(None),
                Framing::Length(0) => {
                    self.framing = Framing::Done;
                    return Ok(None);
                }
                Framing::Length(left) if !self.buffer.is_empty() => {
                    let take = left.min(self.buffer.len());
                    self.framing = Framing::Length(left - take);
                    return Ok(Some(self.buffer.drain(..take).collect()));
                }
                Framing::Close if !self.buffer.is_empty() => {
                    return Ok(Some(std::mem::take(&mut self.buffer)));
                }
                Framing::Chunked => {
                    if let Some(line) = find(&self.buffer, b"\r\n") {
                        let size = String::from_utf8_lossy(&self.buffer[..line]);
                        let size = size.split(';').next().unwrap_or_default().trim();
                        let size = usize::from_str_radix(size, 16)
                            .map_err(|_| format!("a bad chunk size {size:?}"))?;
                        if size == 0 {
                            self.framing = Framing::Done;
                            return Ok(None);
                        }
                        if self.buffer.len() >= line + 2 + size + 2 {
                            let data = self.buffer[line + 2..line + 2 + size].to_vec();
                            self.buffer.drain(..line + 2 + size + 2);
                            return Ok(Some(data));
                        }
                    }
                }
                _ => {}
            }
            if !self.fill(deadline)? {
                return match self.framing {
                    Framing::Close => {
                        self.framing = Framing::Done;
                        Ok(None)
                    }
                    _ => Err("the connection closed in the middle of the body".to_owned()),
                };
            }
        }
    }

    /// The whole answer.
    fn answer(mut self) -> Answer {
        let head = self.head();
        let deadline = Instant::now() + LIMIT;
        let mut body = Vec::new();
        while let Some(bytes) = self
            .body_bytes(deadline)
            .unwrap_or_else(|e| panic!("the body of {head:?}: {e}"))
        {
            body.extend_from_slice(&bytes);
        }
        Answer { head, body }
    }
}

/// Sends `method target` with `headers` and, when there is one, a body of known length.
fn request(
    address: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Answer {
    let mut connection = Connection::open(address);
    let mut head =
        format!("{method} {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head += &format!("{name}: {value}\r\n");
    }
    if let Some(body) = body {
        head += &format!("Content-Length: {}\r\n", body.len());
    }
    head += "\r\n";
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    connection.write(&bytes);
    connection.answer()
}

/// `bytes` as chunks of these sizes (the rest in a last one), without the final empty chunk.
fn chunks(bytes: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = bytes;
    for size in sizes.iter().copied().chain([usize::MAX]) {
        let size = size.min(rest.len());
        if size == 0 {
            break;
        }
        out.extend_from_slice(format!("{size:x}\r\n").as_bytes());
        out.extend_from_slice(&rest[..size]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[size..];
    }
    out
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut bytes), format)
        .unwrap();
    bytes
}

/// A picture of `width` x `height` with something in it.
fn picture(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(session01_image_basics::samples::generate(width, height))
}

fn photo(name: &str) -> Vec<u8> {
    std::fs::read(session01_image_basics::samples::path(name)).unwrap()
}

// ---- 10.1 a handler with validation

const THUMBNAILS: ThumbnailLimits = ThumbnailLimits {
    max_side: 500,
    max_body_bytes: 3_000_000,
};

/// `POST /thumbnail?{query}` with `body`, sent as `content_type` when one is given.
fn thumbnail(served: &Served, query: &str, content_type: Option<&str>, body: &[u8]) -> Answer {
    let headers: Vec<(&str, &str)> = content_type
        .map(|kind| vec![("Content-Type", kind)])
        .unwrap_or_default();
    let target = if query.is_empty() {
        "/thumbnail".to_owned()
    } else {
        format!("/thumbnail?{query}")
    };
    request(&served.address, "POST", &target, &headers, Some(body))
}

/// The answer must be a PNG thumbnail of `original` in `width` x `height`.
fn assert_thumbnail(answer: &Answer, original: &DynamicImage, width: u32, height: u32) {
    assert_eq!(answer.status(), 200, "{width}x{height}: {}", answer.text());
    assert_eq!(
        answer.head.header("content-type"),
        "image/png",
        "a thumbnail is sent as image/png"
    );
    let got = image::load_from_memory_with_format(&answer.body, ImageFormat::Png)
        .unwrap_or_else(|e| panic!("the thumbnail is not a PNG: {e}"));
    let expected = original.thumbnail(width, height);
    assert_eq!(
        (got.width(), got.height()),
        (expected.width(), expected.height()),
        "a {}x{} image in a {width}x{height} box, its aspect kept",
        original.width(),
        original.height()
    );
}

#[test]
fn ex10_1_makes_a_thumbnail_that_fits_the_box() {
    let served = served(thumbnail_app(THUMBNAILS));
    let wide = picture(300, 200);
    let png = encode(&wide, ImageFormat::Png);
    let answer = thumbnail(&served, "width=100&height=100", Some("image/png"), &png);
    assert_thumbnail(&answer, &wide, 100, 100);

    // A JPEG sent as text, with a parameter the service does not know: the first bytes say
    // what it is, and other parameters are ignored.
    let tall = picture(120, 240);
    let jpeg = encode(&tall, ImageFormat::Jpeg);
    let answer = thumbnail(
        &served,
        "height=60&quality=9&width=80",
        Some("text/plain"),
        &jpeg,
    );
    assert_thumbnail(&answer, &tall, 80, 60);
    let answer = thumbnail(&served, "width=1&height=500", None, &png);
    assert_thumbnail(&answer, &wide, 1, 500);

    let rocket = photo("rocket.jpg");
    let decoded = image::load_from_memory(&rocket).unwrap();
    let answer = thumbnail(&served, "width=500&height=120", Some("image/jpeg"), &rocket);
    assert_thumbnail(&answer, &decoded, 500, 120);
}

#[test]
fn ex10_1_bad_parameters_are_json_400s() {
    let served = served(thumbnail_app(THUMBNAILS));
    let png = encode(&picture(40, 30), ImageFormat::Png);
    for (query, parameter) in [
        ("", "width"),
        ("height=10", "width"),
        ("width=10", "height"),
        ("width=abc&height=10", "width"),
        ("width=1.5&height=10", "width"),
        ("width=-3&height=10", "width"),
        ("width=&height=10", "width"),
        ("width=0&height=10", "width"),
        ("width=501&height=10", "width"),
        ("width=10&height=0", "height"),
        ("width=10&height=501", "height"),
        ("width=10&height=99999999999", "height"),
        ("width=abc&height=abc", "width"),
    ] {
        let answer = thumbnail(&served, query, Some("image/png"), &png);
        let refusal = answer.refusal(400, &format!("POST /thumbnail?{query}"));
        let other = if parameter == "width" {
            "height"
        } else {
            "width"
        };
        assert!(
            refusal.reason.contains(parameter) && !refusal.reason.contains(other),
            "POST /thumbnail?{query}: the reason names {parameter}, and not {other}: {:?}",
            refusal.reason
        );
    }
    // The query is checked before the body.
    let answer = thumbnail(
        &served,
        "width=0&height=10",
        Some("image/gif"),
        b"GIF89a....",
    );
    answer.refusal(400, "a bad width and a GIF body: the width first");
}

#[test]
fn ex10_1_a_body_over_the_limit_is_413() {
    let limits = ThumbnailLimits {
        max_side: 100,
        max_body_bytes: 5000,
    };
    let served = served(thumbnail_app(limits));
    let body = |length: usize| {
        let mut body = PNG_MAGIC.to_vec();
        body.resize(length, 0);
        body
    };
    let answer = thumbnail(
        &served,
        "width=10&height=10",
        Some("image/png"),
        &body(5001),
    );
    answer.refusal(413, "5001 bytes, over the limit of 5000");
    let answer = thumbnail(
        &served,
        "width=10&height=10",
        Some("image/png"),
        &body(5000),
    );
    answer.refusal(
        422,
        "5000 bytes are allowed, and a PNG's first bytes followed by zeros do not decode",
    );
    let small = picture(30, 30);
    let answer = thumbnail(
        &served,
        "width=10&height=10",
        None,
        &encode(&small, ImageFormat::Png),
    );
    assert_thumbnail(&answer, &small, 10, 10);

    // The test's limit is over axum's default of 2 MiB for `Bytes`: exactly at it is
    // allowed, and a PNG's first bytes followed by zeros do not decode.
    let thumbnails = crate::served(thumbnail_app(THUMBNAILS));
    let at_limit = THUMBNAILS.max_body_bytes;
    let answer = thumbnail(
        &thumbnails,
        "width=10&height=10",
        Some("image/png"),
        &body(at_limit),
    );
    answer.refusal(
        422,
        &format!("{at_limit} bytes, exactly the limit of {at_limit}, that do not decode"),
    );
}

#[test]
fn ex10_1_the_format_is_told_by_its_first_bytes() {
    let served = served(thumbnail_app(THUMBNAILS));
    let image = picture(64, 48);
    let webp = encode(&image, ImageFormat::WebP);
    let png = encode(&image, ImageFormat::Png);
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&[0; 64]);
    for (what, body, kind) in [
        ("a GIF sent as image/png", &gif[..], "image/png"),
        ("a WebP", &webp[..], "image/webp"),
        ("an empty body", &[][..], "image/png"),
        ("text", &b"hello, thumbnails"[..], "image/jpeg"),
    ] {
        let answer = thumbnail(&served, "width=10&height=10", Some(kind), body);
        answer.refusal(415, what);
    }
    let mut jpeg = JPEG_MAGIC.to_vec();
    jpeg.extend_from_slice(b"this is not the rest of a JPEG");
    for (what, body) in [
        ("a PNG cut short", &png[..png.len() / 2]),
        ("a JPEG's first bytes and then text", &jpeg[..]),
    ] {
        let answer = thumbnail(&served, "width=10&height=10", Some("image/png"), body);
        answer.refusal(422, what);
    }
    let answer = thumbnail(&served, "width=32&height=32", Some("image/gif"), &png);
    assert_thumbnail(&answer, &image, 32, 32);
}

// ---- 10.2 an SSE stream from Redis

/// How often the tests' progress routers read Redis.
const POLL: Duration = Duration::from_millis(20);
/// How long a stream must stay silent when nothing changes: many polls.
const QUIET: Duration = Duration::from_millis(500);

/// A redis-server, a connection to it, and the exercise's router served on it.
struct Progressing {
    served: Served,
    redis: redis::Connection,
    _server: RedisServer,
}

fn progressing() -> Progressing {
    let server = RedisServer::start().unwrap();
    let client = redis::Client::open(server.url()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (manager, base) = runtime.block_on(async {
        let manager = tokio::time::timeout(LIMIT, client.get_connection_manager())
            .await
            .expect("no connection to redis-server within the limit")
            .unwrap();
        let base = serve(progress_app(manager.clone(), POLL)).await;
        (manager, base)
    });
    drop(manager);
    let redis = client.get_connection_with_timeout(LIMIT).unwrap();
    redis.set_read_timeout(Some(LIMIT)).unwrap();
    Progressing {
        served: Served {
            address: base.trim_start_matches("http://").to_owned(),
            base,
            _runtime: runtime,
        },
        redis,
        _server: server,
    }
}

impl Progressing {
    /// `HSET ex10:progress:{id} field value ...`.
    fn set(&mut self, id: &str, fields: &[(&str, &str)]) {
        let mut command = redis::cmd("HSET");
        command.arg(progress_key(id));
        for (field, value) in fields {
            command.arg(*field).arg(*value);
        }
        command.query::<()>(&mut self.redis).unwrap();
    }

    fn delete(&mut self, id: &str) {
        redis::cmd("DEL")
            .arg(progress_key(id))
            .query::<()>(&mut self.redis)
            .unwrap();
    }

    /// `GET /progress/{id}`, as a stream of events; fails unless it is one.
    fn follow(&self, id: &str) -> Events {
        let mut connection = Connection::open(&self.served.address);
        connection.write(
            format!(
                "GET /progress/{id} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n",
                self.served.address
            )
            .as_bytes(),
        );
        let head = connection.head();
        assert_eq!(head.status, 200, "GET /progress/{id}: {head:?}");
        assert!(
            head.header("content-type").starts_with("text/event-stream"),
            "GET /progress/{id} is a stream of events, not {:?}",
            head.header("content-type")
        );
        Events {
            connection,
            text: String::new(),
            ended: false,
        }
    }
}

/// One event of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Event {
    name: String,
    data: String,
}

/// An event stream's body, read event by event.
struct Events {
    connection: Connection,
    text: String,
    ended: bool,
}

impl Events {
    /// The next event within `within`; `Ok(None)` when the stream ended, `Err` when
    /// nothing came in time.
    fn next(&mut self, within: Duration) -> Result<Option<Event>, String> {
        let deadline = Instant::now() + within;
        loop {
            // Events are separated by a blank line; comments (`:`) are not events.
            let text = self.text.replace("\r\n", "\n");
            if let Some(end) = text.find("\n\n") {
                let block = text[..end].to_owned();
                self.text = text[end + 2..].to_owned();
                let mut event = Event {
                    name: "message".to_owned(),
                    data: String::new(),
                };
                let mut any = false;
                for line in block.lines() {
                    if let Some(name) = line.strip_prefix("event:") {
                        event.name = name.trim_start().to_owned();
                        any = true;
                    } else if let Some(data) = line.strip_prefix("data:") {
                        if !event.data.is_empty() {
                            event.data.push('\n');
                        }
                        event.data += data.strip_prefix(' ').unwrap_or(data);
                        any = true;
                    }
                }
                if any {
                    return Ok(Some(event));
                }
                continue;
            }
            if self.ended {
                return Ok(None);
            }
            match self.connection.body_bytes(deadline)? {
                Some(bytes) => self.text += &String::from_utf8_lossy(&bytes),
                None => self.ended = true,
            }
        }
    }

    /// The next event, which must come within the limit.
    fn expect(&mut self, what: &str) -> Event {
        match self.next(LIMIT) {
            Ok(Some(event)) => event,
            Ok(None) => panic!("the stream ended before {what}"),
            Err(e) => panic!("{what}: {e} within {LIMIT:?}"),
        }
    }

    /// The next event must be `name` with this progress.
    fn expect_progress(&mut self, name: &str, done: u64, total: u64) {
        let event = self.expect(&format!("event: {name} {done}/{total}"));
        assert_eq!(event.name, name, "{event:?}: expected event: {name}");
        let progress: Progress = serde_json::from_str(&event.data)
            .unwrap_or_else(|e| panic!("{event:?}: the data is not {{\"done\", \"total\"}}: {e}"));
        assert_eq!(
            progress,
            Progress { done, total },
            "{event:?}: expected {done}/{total}"
        );
    }

    /// Nothing must come for a while.
    fn expect_quiet(&mut self, why: &str) {
        match self.next(QUIET) {
            Err(_) => {}
            Ok(Some(event)) => panic!(
                "{why}, yet the stream sent {event:?} (polling every {POLL:?}, nothing may come for {QUIET:?})"
            ),
            Ok(None) => panic!("{why}, yet the stream ended"),
        }
    }

    /// The stream must end now.
    fn expect_end(&mut self, why: &str) {
        match self.next(LIMIT) {
            Ok(None) => {}
            Ok(Some(event)) => panic!("{why}: the stream must end, yet it sent {event:?}"),
            Err(e) => panic!("{why}: the stream must end, yet {e} within {LIMIT:?}"),
        }
    }
}

#[test]
fn ex10_2_follows_the_job_until_it_is_done() {
    let mut progressing = progressing();
    progressing.set("a", &[("done", "0"), ("total", "3")]);
    let mut events = progressing.follow("a");
    events.expect_progress("progress", 0, 3);
    progressing.set("a", &[("done", "1")]);
    events.expect_progress("progress", 1, 3);
    progressing.set("a", &[("done", "2")]);
    events.expect_progress("progress", 2, 3);
    progressing.set("a", &[("total", "4")]);
    events.expect_progress("progress", 2, 4);
    progressing.set("a", &[("done", "4")]);
    events.expect_progress("progress", 4, 4);
    events.expect_progress("done", 4, 4);
    events.expect_end("after event: done");
}

#[test]
fn ex10_2_an_event_only_when_the_progress_changes() {
    let mut progressing = progressing();
    progressing.set("b", &[("done", "1"), ("total", "5")]);
    let mut events = progressing.follow("b");
    events.expect_progress("progress", 1, 5);
    events.expect_quiet("nothing changed");
    progressing.set("b", &[("done", "1"), ("total", "5")]);
    events.expect_quiet("the same values were written again");
    progressing.set("b", &[("done", "2")]);
    events.expect_progress("progress", 2, 5);
    events.expect_quiet("nothing changed since 2/5");
    progressing.set("b", &[("done", "5")]);
    events.expect_progress("progress", 5, 5);
    events.expect_progress("done", 5, 5);
    events.expect_end("after event: done");
}

#[test]
fn ex10_2_a_finished_job_streams_once_and_ends() {
    let mut progressing = progressing();
    progressing.set("c", &[("done", "3"), ("total", "3")]);
    let mut events = progressing.follow("c");
    events.expect_progress("progress", 3, 3);
    events.expect_progress("done", 3, 3);
    events.expect_end("a job already done");

    progressing.set("over", &[("done", "7"), ("total", "5")]);
    let mut events = progressing.follow("over");
    events.expect_progress("progress", 7, 5);
    events.expect_progress("done", 7, 5);
    events.expect_end("done above total is done");
}

#[test]
fn ex10_2_a_job_that_vanishes_ends_with_an_error() {
    let mut progressing = progressing();
    progressing.set("d", &[("done", "0"), ("total", "2")]);
    let mut events = progressing.follow("d");
    events.expect_progress("progress", 0, 2);
    progressing.delete("d");
    let event = events.expect("event: error");
    assert_eq!(
        event.name, "error",
        "the key was deleted: event: error, not {event:?}"
    );
    assert!(!event.data.trim().is_empty(), "the error says why");
    events.expect_end("after event: error");
}

#[test]
fn ex10_2_an_unknown_job_is_404_before_any_stream() {
    let mut progressing = progressing();
    let address = progressing.served.address.clone();
    let answer = request(&address, "GET", "/progress/nobody", &[], None);
    answer.refusal(404, "GET /progress/nobody, which has no hash");
    progressing.set("bad", &[("done", "some"), ("total", "3")]);
    let answer = request(&address, "GET", "/progress/bad", &[], None);
    answer.refusal(503, "GET /progress/bad, whose done is not a number");
    progressing.set("half", &[("total", "3")]);
    let answer = request(&address, "GET", "/progress/half", &[], None);
    answer.refusal(503, "GET /progress/half, which has no done");
}

// ---- 10.3 a limit layer

/// The body limit of the tests' router.
const BODY_LIMIT: usize = 1000;

/// A router whose `/echo` answers with the body it received, behind the middleware; and how
/// many requests reached `/echo`.
fn limited() -> (Served, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route("/echo", get(echo).post(echo))
        .with_state(Arc::clone(&calls))
        .layer(axum::middleware::from_fn_with_state(BODY_LIMIT, body_limit));
    (served(app), calls)
}

/// Answers with the method, the content type and the body it received.
async fn echo(
    State(calls): State<Arc<AtomicUsize>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    calls.fetch_add(1, Ordering::SeqCst);
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none")
        .to_owned();
    (
        [("x-method", method.to_string()), ("x-content-type", kind)],
        body,
    )
        .into_response()
}

/// `count` bytes that are not all alike.
fn pattern(count: usize) -> Vec<u8> {
    (0..count).map(|i| (i % 251) as u8).collect()
}

/// `POST /echo` with `body` sent in chunks of these sizes, and no `Content-Length`.
fn post_chunked(served: &Served, body: &[u8], sizes: &[usize], last: bool) -> Answer {
    let mut connection = Connection::open(&served.address);
    let mut bytes = format!(
        "POST /echo HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        served.address
    )
    .into_bytes();
    bytes.extend_from_slice(&chunks(body, sizes));
    if last {
        bytes.extend_from_slice(b"0\r\n\r\n");
    }
    connection.write(&bytes);
    connection.answer()
}

/// The answer must be the echo of `body`.
fn assert_echoed(answer: &Answer, body: &[u8], what: &str) {
    assert_eq!(answer.status(), 200, "{what}: {}", answer.text());
    assert_eq!(
        answer.head.header("x-method"),
        "POST",
        "{what}: the method goes on unchanged"
    );
    assert_eq!(
        answer.head.header("x-content-type"),
        "application/x-test",
        "{what}: the headers go on unchanged"
    );
    assert!(
        answer.body == body,
        "{what}: the inner service received {} bytes, not the {} sent",
        answer.body.len(),
        body.len()
    );
}

/// The answer must be the middleware's 413.
fn assert_too_large(answer: &Answer, what: &str) {
    let refusal = answer.refusal(413, what);
    assert!(
        refusal.reason.contains(&BODY_LIMIT.to_string()),
        "{what}: the reason gives the limit, {BODY_LIMIT} bytes: {:?}",
        refusal.reason
    );
}

#[test]
fn ex10_3_bodies_within_the_limit_pass_unchanged() {
    let (served, calls) = limited();
    let kind = [("Content-Type", "application/x-test")];
    for length in [0, 1, 999, BODY_LIMIT] {
        let body = pattern(length);
        let answer = request(&served.address, "POST", "/echo", &kind, Some(&body));
        assert_echoed(
            &answer,
            &body,
            &format!("{length} bytes with Content-Length"),
        );
    }
    let body = pattern(BODY_LIMIT);
    let answer = post_chunked(&served, &body, &[1, 299, 400], true);
    assert_echoed(&answer, &body, "1000 bytes in 4 chunks");
    let body = pattern(10);
    let answer = post_chunked(&served, &body, &[3], true);
    assert_echoed(&answer, &body, "10 bytes in 2 chunks");
    let answer = request(&served.address, "GET", "/echo", &[], None);
    assert_eq!(
        answer.status(),
        200,
        "GET without a body: {}",
        answer.text()
    );
    assert_eq!(
        answer.head.header("x-method"),
        "GET",
        "the method unchanged"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        7,
        "every request reached /echo"
    );
}

#[test]
fn ex10_3_an_announced_length_over_the_limit_is_refused_at_once() {
    let (served, calls) = limited();
    let body = pattern(BODY_LIMIT + 1);
    let kind = [("Content-Type", "application/x-test")];
    let answer = request(&served.address, "POST", "/echo", &kind, Some(&body));
    assert_too_large(&answer, "1001 bytes with Content-Length");
    // Announced and never sent: only an answer from the header alone comes in time.
    let mut connection = Connection::open(&served.address);
    connection.write(
        format!(
            "POST /echo HTTP/1.1\r\nHost: {}\r\nContent-Length: 10000000\r\nConnection: close\r\n\r\n",
            served.address
        )
        .as_bytes(),
    );
    assert_too_large(
        &connection.answer(),
        "a Content-Length of 10 MB, before its body",
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "a refused request never reaches the inner service"
    );
}

#[test]
fn ex10_3_a_chunked_body_is_counted() {
    let (served, calls) = limited();
    let answer = post_chunked(&served, &pattern(BODY_LIMIT + 1), &[500], true);
    assert_too_large(&answer, "1001 bytes in 2 chunks, without Content-Length");
    let answer = post_chunked(&served, &pattern(3000), &[100; 29], true);
    assert_too_large(&answer, "3000 bytes in 30 chunks, without Content-Length");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "a refused request never reaches the inner service"
    );
}

#[test]
fn ex10_3_refuses_before_the_body_ends() {
    let (served, calls) = limited();
    // 1200 bytes of a body that never ends: the answer must come without its end.
    let answer = post_chunked(&served, &pattern(1200), &[600], false);
    assert_too_large(&answer, "a chunked body past the limit, still being sent");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn ex10_3_a_body_that_cannot_be_read_is_400() {
    let (served, calls) = limited();
    // A chunk whose size is not hexadecimal: the chunked encoding is broken.
    let mut connection = Connection::open(&served.address);
    connection.write(
        format!(
            "POST /echo HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\nzz\r\nabc\r\n0\r\n\r\n",
            served.address
        )
        .as_bytes(),
    );
    connection
        .answer()
        .refusal(400, "a chunked body with a broken chunk size");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "a body that cannot be read never reaches the inner service"
    );
}

// ---- 10.4 an end-to-end test as a function

/// The session's own API, in the embedded mode, on 127.0.0.1.
fn session10_service() -> Served {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let base = runtime.block_on(async {
        let backend: Arc<dyn Backend> = Arc::new(Embedded::start(EmbeddedConfig {
            workers: 2,
            ..EmbeddedConfig::default()
        }));
        let app = Arc::new(App::new(backend, UploadLimits::default(), 2));
        serve(api::router(app)).await
    });
    Served {
        address: base.trim_start_matches("http://").to_owned(),
        base,
        _runtime: runtime,
    }
}

/// Runs the check against `base` on a thread of its own, and returns what it found and how
/// long it took; fails if it has not returned some time after its deadline.
fn run_check(
    base: &str,
    photo: &[u8],
    deadline: Duration,
) -> (Result<ServiceCheck, String>, Duration) {
    let (base, photo) = (base.to_owned(), photo.to_vec());
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let started = Instant::now();
        let result = check_service(&base, &photo, deadline);
        let _ = sender.send((result, started.elapsed()));
    });
    match receiver.recv_timeout(deadline + LIMIT) {
        Ok(returned) => returned,
        Err(RecvTimeoutError::Disconnected) => panic!("check_service panicked (see above)"),
        Err(RecvTimeoutError::Timeout) => panic!(
            "check_service did not return within {LIMIT:?} after its deadline of {deadline:?}"
        ),
    }
}

/// Runs the check: the job's URL when it passed.
fn check(base: &str, photo: &[u8], deadline: Duration) -> (Result<String, String>, Duration) {
    let (result, took) = run_check(base, photo, deadline);
    let result = result.map(|found| {
        assert!(
            found.polls >= 1 && found.bytes > 0,
            "a check that passed read the job and a result: {found:?}"
        );
        found.job
    });
    (result, took)
}

/// How a fake image service behaves.
#[derive(Debug, Clone, Copy)]
struct Fake {
    /// The status the submission is answered with.
    submit_status: StatusCode,
    /// How the 202 names the job: `None` for no `Location` at all.
    location: Option<Location>,
    /// How many readings of the job say `running` before one says `final_state`; `None`
    /// for ever.
    running_for: Option<u32>,
    /// The job's final state.
    final_state: &'static str,
    /// The result's `Content-Type`.
    content_type: &'static str,
    /// The result's size.
    size: (u32, u32),
}

#[derive(Debug, Clone, Copy)]
enum Location {
    Path,
    Absolute,
}

/// A fake that does everything right, in two readings of the job.
const RIGHT: Fake = Fake {
    submit_status: StatusCode::ACCEPTED,
    location: Some(Location::Path),
    running_for: Some(1),
    final_state: "succeeded",
    content_type: "image/png",
    size: CHECK_SIZE,
};

/// What the fake's handlers share: its behaviour, its address, the readings so far.
struct FakeState {
    fake: Fake,
    base: String,
    readings: AtomicU32,
}

/// A fake image service, with the session's routes and one job.
fn fake(fake: Fake) -> Served {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let base = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(FakeState {
            fake,
            base: base.clone(),
            readings: AtomicU32::new(0),
        });
        let app = Router::new()
            .route("/api/jobs", post(fake_submit))
            .route("/api/jobs/{id}", get(fake_job))
            .route("/api/jobs/{id}/result", get(fake_result))
            .with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    });
    Served {
        address: base.trim_start_matches("http://").to_owned(),
        base,
        _runtime: runtime,
    }
}

/// `POST /api/jobs`: a 400 unless the form is the one the check must send.
async fn fake_submit(State(state): State<Arc<FakeState>>, mut form: Multipart) -> Response {
    let mut fields = BTreeMap::new();
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                let file = field.file_name().is_some();
                match field.bytes().await {
                    Ok(bytes) => fields.insert(name, (file, bytes)),
                    Err(e) => return (StatusCode::BAD_REQUEST, e.body_text()).into_response(),
                };
            }
            Ok(None) => break,
            Err(e) => return (StatusCode::BAD_REQUEST, e.body_text()).into_response(),
        }
    }
    let text = |name: &str| {
        fields
            .get(name)
            .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned())
    };
    let photo = fields
        .get("file")
        .filter(|(file, bytes)| *file && image::load_from_memory(bytes).is_ok());
    if photo.is_none()
        || text("pipeline").as_deref() != Some(CHECK_PIPELINE)
        || text("format").as_deref() != Some("png")
    {
        let names: Vec<&String> = fields.keys().collect();
        return (
            StatusCode::BAD_REQUEST,
            format!("the form must have file (a file), pipeline and format; it has {names:?}"),
        )
            .into_response();
    }
    let path = "/api/jobs/fake-1";
    let view = axum::Json(serde_json::json!({"id": "fake-1", "state": "pending"}));
    let status = state.fake.submit_status;
    match state.fake.location {
        None => (status, view).into_response(),
        Some(Location::Path) => {
            (status, [(header::LOCATION, path.to_owned())], view).into_response()
        }
        Some(Location::Absolute) => (
            status,
            [(header::LOCATION, format!("{}{path}", state.base))],
            view,
        )
            .into_response(),
    }
}

/// `GET /api/jobs/{id}`: running, then the final state.
async fn fake_job(State(state): State<Arc<FakeState>>) -> Response {
    let readings = state.readings.fetch_add(1, Ordering::SeqCst) + 1;
    let running = state.fake.running_for.is_none_or(|n| readings <= n);
    let view = if running {
        serde_json::json!({"id": "fake-1", "state": "running"})
    } else {
        serde_json::json!({
            "id": "fake-1",
            "state": state.fake.final_state,
            "error": "the fake failed on purpose",
        })
    };
    axum::Json(view).into_response()
}

/// `GET /api/jobs/{id}/result`: a PNG of the fake's size, with its content type.
async fn fake_result(State(state): State<Arc<FakeState>>) -> Response {
    let (width, height) = state.fake.size;
    let png = encode(&picture(width, height), ImageFormat::Png);
    ([(header::CONTENT_TYPE, state.fake.content_type)], png).into_response()
}

#[test]
fn ex10_4_passes_on_the_real_service() {
    let service = session10_service();
    for name in ["chelsea.png", "rocket.jpg"] {
        let (result, took) = check(&service.base, &photo(name), Duration::from_secs(60));
        let job = result.unwrap_or_else(|e| panic!("{name} on the session's own API: {e}"));
        assert!(
            job.starts_with(&format!("{}/api/jobs/", service.base)),
            "the job's URL is the Location joined to the base: {job}"
        );
        assert!(took < Duration::from_secs(60), "{name}: took {took:?}");
        // The job the check followed exists, and is done.
        let path = job.trim_start_matches(&service.base);
        let answer = request(&service.address, "GET", path, &[], None);
        assert_eq!(answer.status(), 200, "GET {job}: {}", answer.text());
        assert!(answer.text().contains("succeeded"), "{}", answer.text());
    }
}

#[test]
fn ex10_4_passes_on_a_service_that_takes_its_time() {
    let photo = encode(&picture(90, 60), ImageFormat::Png);
    let slow = fake(Fake {
        running_for: Some(4),
        ..RIGHT
    });
    let found = run_check(&slow.base, &photo, LIMIT)
        .0
        .unwrap_or_else(|e| panic!("a job that runs for four readings: {e}"));
    assert_eq!(
        found.polls, 5,
        "running four times, then succeeded: five readings"
    );
    assert_eq!(found.job, format!("{}/api/jobs/fake-1", slow.base));
    let absolute = fake(Fake {
        location: Some(Location::Absolute),
        ..RIGHT
    });
    let found = run_check(&absolute.base, &photo, LIMIT)
        .0
        .unwrap_or_else(|e| panic!("a Location that is an absolute URL: {e}"));
    assert_eq!(found.job, format!("{}/api/jobs/fake-1", absolute.base));
}

#[test]
fn ex10_4_passes_with_parameters_after_the_media_type() {
    let photo = encode(&picture(90, 60), ImageFormat::Png);
    let content_type = "image/png; charset=binary";
    let with_parameters = fake(Fake {
        content_type,
        ..RIGHT
    });
    run_check(&with_parameters.base, &photo, LIMIT)
        .0
        .unwrap_or_else(|e| panic!("a result sent as {content_type:?} is a PNG: {e}"));
}

#[test]
fn ex10_4_a_result_of_the_wrong_size_fails() {
    let photo = encode(&picture(90, 60), ImageFormat::Png);
    let (width, height) = CHECK_SIZE;
    for size in [(height, width), (width + 1, height), (90, 60)] {
        let wrong = fake(Fake { size, ..RIGHT });
        let (result, _) = check(&wrong.base, &photo, LIMIT);
        assert!(
            result.is_err(),
            "a result of {}x{}, not {width}x{height}, must fail the check: {result:?}",
            size.0,
            size.1
        );
    }
}

#[test]
fn ex10_4_a_wrong_content_type_fails() {
    let photo = encode(&picture(90, 60), ImageFormat::Png);
    for content_type in ["image/jpeg", "application/octet-stream", "text/plain"] {
        let wrong = fake(Fake {
            content_type,
            ..RIGHT
        });
        let (result, _) = check(&wrong.base, &photo, LIMIT);
        assert!(
            result.is_err(),
            "a PNG sent as {content_type} must fail the check: {result:?}"
        );
    }
}

#[test]
fn ex10_4_a_202_without_location_fails() {
    let photo = encode(&picture(90, 60), ImageFormat::Png);
    let wrong = fake(Fake {
        location: None,
        ..RIGHT
    });
    let (result, _) = check(&wrong.base, &photo, LIMIT);
    assert!(
        result.is_err(),
        "a 202 without Location must fail the check: {result:?}"
    );
}

#[test]
fn ex10_4_a_submission_not_answered_202_fails() {
    let photo = encode(&picture(90, 60), ImageFormat::Png);
    let wrong = fake(Fake {
        submit_status: StatusCode::CREATED,
        ..RIGHT
    });
    let (result, _) = check(&wrong.base, &photo, LIMIT);
    assert!(
        result.is_err(),
        "a 201 with a Location, not the 202 of a job accepted, must fail the check: {result:?}"
    );
}

#[test]
fn ex10_4_a_failed_job_fails_with_its_error() {
    let photo = encode(&picture(90, 60), ImageFormat::Png);
    let failed = fake(Fake {
        final_state: "failed",
        ..RIGHT
    });
    let (result, _) = check(&failed.base, &photo, LIMIT);
    let error = result.expect_err("a failed job must fail the check");
    assert!(
        error.contains("the fake failed on purpose"),
        "the error gives the job's: {error:?}"
    );
}

#[test]
fn ex10_4_a_job_that_never_finishes_fails_by_the_deadline() {
    let photo = encode(&picture(90, 60), ImageFormat::Png);
    let deadline = Duration::from_secs(2);
    let slack = Duration::from_secs(3);
    let never = fake(Fake {
        running_for: None,
        ..RIGHT
    });
    let (result, took) = check(&never.base, &photo, deadline);
    assert!(
        result.is_err(),
        "a job that never finishes must fail the check: {result:?}"
    );
    assert!(
        took >= deadline - Duration::from_millis(200) && took < deadline + slack,
        "a job that never finishes is followed until the deadline of {deadline:?}, and no longer: {took:?}"
    );
    // A server that takes the connection and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", silent.local_addr().unwrap());
    let (result, took) = check(&base, &photo, deadline);
    assert!(
        result.is_err(),
        "a server that never answers must fail the check: {result:?}"
    );
    assert!(
        took < deadline + slack,
        "a server that never answers fails the check by the deadline of {deadline:?}, not after {took:?}"
    );
}
