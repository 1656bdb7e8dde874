//! Session 09's graded exercises. `cargo xtask grade 9` runs these; each test's name starts
//! with its exercise's id (`ex09_2_...` belongs to exercise 9.2), which is how the grader
//! adds up the points in `exercises.toml`. The tests of exercise 9.1 start a redis-server
//! of their own (session 04's `RedisServer`), serve the exercise's router on 127.0.0.1,
//! send it real HTTP requests and read its `/metrics` back. Exercise 9.2 is drawn into
//! ratatui's `TestBackend` and judged by its cells; 9.3 and 9.4 are plain functions on
//! plain values.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use redis::AsyncCommands as _;
use redis::aio::ConnectionManager;
use session04_redis::RedisServer;
use session09_monitoring::exercises::{
    AlertRule, AlertState, Evaluation, MAX_SIDE, RESIZE_BUCKETS, ResizeRequest, SlotSample, Slots,
    WorkerSlots, alert_state, render_slots, resize_app, utilisation,
};

// ---- 9.1 a counter and a histogram wired into a handler

/// The longest any step of a test may take before it fails.
const LIMIT: Duration = Duration::from_secs(30);
/// The Redis list the routers push their jobs on.
const JOBS: &str = "ex9:resize:jobs";

/// A redis-server, a connection to it, and the exercise's router served at `base`.
struct Served {
    _server: RedisServer,
    redis: ConnectionManager,
    base: String,
}

/// Starts a redis-server and serves one router on it.
async fn served() -> Served {
    let server = RedisServer::start_async().await.unwrap();
    let client = redis::Client::open(server.url()).unwrap();
    let redis = tokio::time::timeout(LIMIT, client.get_connection_manager())
        .await
        .expect("no connection to redis-server within the limit")
        .unwrap();
    let base = serve(&redis, JOBS).await;
    Served {
        _server: server,
        redis,
        base,
    }
}

/// Serves a router pushing on `key` on a free port of 127.0.0.1; its base URL.
async fn serve(redis: &ConnectionManager, key: &str) -> String {
    let app = resize_app(redis.clone(), key.to_owned());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// An answer: its status, content type and body, and how long the client waited for it.
struct Answer {
    status: u16,
    content_type: String,
    body: String,
    took: Duration,
}

/// `GET url`, or `POST url` with a JSON `body`, within [`LIMIT`].
async fn call(url: String, body: Option<String>) -> Answer {
    let shown = url.clone();
    let call = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(LIMIT))
            .build()
            .into();
        let started = Instant::now();
        let mut response = match body {
            Some(body) => agent
                .post(&url)
                .header("content-type", "application/json")
                .send(body)?,
            None => agent.get(&url).call()?,
        };
        let text = response.body_mut().read_to_string()?;
        let took = started.elapsed();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok::<_, ureq::Error>(Answer {
            status: response.status().as_u16(),
            content_type,
            body: text,
            took,
        })
    });
    tokio::time::timeout(LIMIT * 2, call)
        .await
        .unwrap_or_else(|_| panic!("{shown} did not answer within {LIMIT:?}"))
        .expect("the HTTP client's thread panicked")
        .unwrap_or_else(|e| panic!("{shown}: {e}"))
}

/// `POST /resize` with `body`.
async fn resize(served: &Served, body: &str) -> Answer {
    call(format!("{}/resize", served.base), Some(body.to_owned())).await
}

fn json(width: u32, height: u32) -> String {
    serde_json::to_string(&ResizeRequest { width, height }).unwrap()
}

/// One line of an exposition: a name, its labels and its value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// `GET /metrics`, parsed; fails unless it answers 200 with a text exposition.
async fn scrape(base: &str) -> Vec<Sample> {
    let answer = call(format!("{base}/metrics"), None).await;
    assert_eq!(answer.status, 200, "GET /metrics: {}", answer.body);
    assert!(
        answer.content_type.starts_with("text/plain")
            || answer
                .content_type
                .starts_with("application/openmetrics-text"),
        "GET /metrics answers a content type Prometheus reads, not {:?}",
        answer.content_type
    );
    answer
        .body
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| parse(line).unwrap_or_else(|| panic!("not a sample line: {line:?}")))
        .collect()
}

/// `name{a="x",b="y"} value`: label values here hold no quotes, commas or braces.
fn parse(line: &str) -> Option<Sample> {
    let (series, rest) = match line.find('{') {
        Some(_) => {
            let close = line.find('}')?;
            (&line[..close + 1], &line[close + 1..])
        }
        None => line.split_at(line.find(' ')?),
    };
    let (name, labels) = match series.split_once('{') {
        Some((name, labels)) => (name, labels.trim_end_matches('}')),
        None => (series, ""),
    };
    let mut parsed = BTreeMap::new();
    for pair in labels.split(',').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=')?;
        parsed.insert(key.to_owned(), value.trim_matches('"').to_owned());
    }
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some(Sample {
        name: name.to_owned(),
        labels: parsed,
        value,
    })
}

/// The value of the sample `name` with exactly `labels`; `None` when there is none.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let wanted: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    samples
        .iter()
        .find(|s| s.name == name && s.labels == wanted)
        .map(|s| s.value)
}

fn requests(samples: &[Sample], outcome: &str) -> f64 {
    value(samples, "resize_requests_total", &[("outcome", outcome)]).unwrap_or(0.0)
}

/// The histogram's buckets, `(le, cumulative count)` in the exposition's order.
fn buckets(samples: &[Sample]) -> Vec<(String, f64)> {
    samples
        .iter()
        .filter(|s| s.name == "resize_request_duration_seconds_bucket")
        .map(|s| (s.labels.get("le").cloned().unwrap_or_default(), s.value))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex09_1_counts_each_outcome_and_pushes_the_good_jobs() {
    let served = served().await;
    let good = [json(640, 480), json(1, MAX_SIDE)];
    for body in &good {
        let answer = resize(&served, body).await;
        assert_eq!(answer.status, 202, "POST /resize {body}: {}", answer.body);
    }
    let bad = [
        json(0, 480),
        json(640, MAX_SIDE + 1),
        "not json".to_owned(),
        r#"{"width": 640}"#.to_owned(),
        r#"{"width": -3, "height": 2}"#.to_owned(),
    ];
    for body in &bad {
        let answer = resize(&served, body).await;
        assert_eq!(answer.status, 400, "POST /resize {body}: {}", answer.body);
        assert!(
            !answer.body.trim().is_empty(),
            "POST /resize {body}: a 400 says what is wrong"
        );
    }

    let samples = scrape(&served.base).await;
    assert_eq!(
        requests(&samples, "ok"),
        2.0,
        "resize_requests_total{{outcome=\"ok\"}}: {samples:#?}"
    );
    assert_eq!(
        requests(&samples, "bad_request"),
        5.0,
        "resize_requests_total{{outcome=\"bad_request\"}} counts every refused request, \
         the bodies that are not JSON too: {samples:#?}"
    );

    let mut redis = served.redis.clone();
    let pushed: Vec<String> = redis.lrange(JOBS, 0, -1).await.unwrap();
    let pushed: Vec<ResizeRequest> = pushed
        .iter()
        .map(|job| serde_json::from_str(job).unwrap_or_else(|e| panic!("job {job:?}: {e}")))
        .collect();
    assert_eq!(
        pushed,
        [
            ResizeRequest {
                width: 640,
                height: 480
            },
            ResizeRequest {
                width: 1,
                height: MAX_SIDE
            }
        ],
        "the good jobs, in order, and nothing else, on the list"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex09_1_the_histogram_counts_every_request_in_its_buckets() {
    let served = served().await;
    for body in [json(10, 10), "{".to_owned(), json(20, 20)] {
        resize(&served, &body).await;
    }
    let samples = scrape(&served.base).await;
    assert_eq!(
        value(&samples, "resize_request_duration_seconds_count", &[]),
        Some(3.0),
        "resize_request_duration_seconds_count: every POST /resize, whatever the outcome: \
         {samples:#?}"
    );
    let found = buckets(&samples);
    let les: Vec<f64> = found
        .iter()
        .map(|(le, _)| le.parse::<f64>().unwrap_or(f64::NAN))
        .collect();
    let wanted: Vec<f64> = RESIZE_BUCKETS
        .iter()
        .copied()
        .chain([f64::INFINITY])
        .collect();
    assert_eq!(les, wanted, "the buckets are RESIZE_BUCKETS, then +Inf");
    assert!(
        found.windows(2).all(|w| w[0].1 <= w[1].1),
        "bucket counts are cumulative: {found:?}"
    );
    assert_eq!(
        found.last().map(|(_, n)| *n),
        Some(3.0),
        "the +Inf bucket holds every request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex09_1_the_histogram_is_in_seconds() {
    let served = served().await;
    let mut waited = Duration::ZERO;
    for body in [json(10, 10), json(0, 0), json(30, 30), json(40, 40)] {
        waited += resize(&served, &body).await.took;
    }
    let samples = scrape(&served.base).await;
    let sum = value(&samples, "resize_request_duration_seconds_sum", &[])
        .expect("resize_request_duration_seconds_sum");
    assert!(sum > 0.0, "the handler's time is observed: sum {sum}");
    assert!(
        sum <= waited.as_secs_f64(),
        "the handler took {sum} s by its histogram, more than the {} s the client waited for \
         all four answers: the histogram must observe seconds",
        waited.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex09_1_two_routers_count_apart() {
    let served = served().await;
    let other = serve(&served.redis, "ex9:resize:other").await;
    for _ in 0..3 {
        resize(&served, &json(5, 5)).await;
    }
    call(format!("{other}/resize"), Some(json(6, 6))).await;
    let first = scrape(&served.base).await;
    let second = scrape(&other).await;
    assert_eq!(requests(&first, "ok"), 3.0, "the first router: {first:#?}");
    assert_eq!(
        requests(&second, "ok"),
        1.0,
        "the second router counts its own requests only: {second:#?}"
    );
    let mut redis = served.redis.clone();
    let len: usize = redis.llen("ex9:resize:other").await.unwrap();
    assert_eq!(len, 1, "each router pushes on its own key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex09_1_every_outcome_is_there_from_the_start() {
    let served = served().await;
    let samples = scrape(&served.base).await;
    for outcome in ["ok", "bad_request", "error"] {
        assert_eq!(
            value(&samples, "resize_requests_total", &[("outcome", outcome)]),
            Some(0.0),
            "a fresh router shows resize_requests_total{{outcome=\"{outcome}\"}} at 0, \
             before any request: {samples:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex09_1_a_redis_error_is_counted_as_an_error() {
    let server = RedisServer::start_async().await.unwrap();
    let client = redis::Client::open(server.url()).unwrap();
    // Few and short retries: once the server is gone, a command fails within seconds.
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(200))
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_secs(1)));
    let redis = tokio::time::timeout(LIMIT, client.get_connection_manager_with_config(config))
        .await
        .expect("no connection to redis-server within the limit")
        .unwrap();
    let base = serve(&redis, JOBS).await;
    drop(server);

    let answer = call(format!("{base}/resize"), Some(json(640, 480))).await;
    assert_eq!(
        answer.status, 503,
        "POST /resize with Redis gone: {}",
        answer.body
    );
    let samples = scrape(&base).await;
    assert_eq!(
        requests(&samples, "error"),
        1.0,
        "resize_requests_total{{outcome=\"error\"}} counts the request Redis failed: \
         {samples:#?}"
    );
    assert_eq!(
        (requests(&samples, "ok"), requests(&samples, "bad_request")),
        (0.0, 0.0),
        "a failed request is neither ok nor bad: {samples:#?}"
    );
    assert_eq!(
        value(&samples, "resize_request_duration_seconds_count", &[]),
        Some(1.0),
        "the failed request is timed too: {samples:#?}"
    );
}

// ---- 9.2 a widget rendered to TestBackend

/// Renders the panel into `area` of a `width` x `height` terminal.
fn render(width: u16, height: u16, area: Rect, slots: &Slots) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| render_slots(frame, area, slots))
        .unwrap();
    terminal.backend().buffer().clone()
}

/// The panel alone in a 40 x 8 terminal.
fn panel(slots: &Slots) -> Buffer {
    render(40, 8, Rect::new(0, 0, 40, 8), slots)
}

fn rows(buffer: &Buffer) -> Vec<String> {
    let area = buffer.area;
    (area.top()..area.bottom())
        .map(|y| {
            (area.left()..area.right())
                .map(|x| buffer[(x, y)].symbol())
                .collect()
        })
        .collect()
}

/// The row holding `text`, and its index.
fn row_with(buffer: &Buffer, text: &str) -> (u16, String) {
    let rows = rows(buffer);
    rows.iter()
        .enumerate()
        .find(|(_, row)| row.contains(text))
        .map(|(y, row)| (y as u16, row.clone()))
        .unwrap_or_else(|| panic!("no row shows {text:?}:\n{}", rows.join("\n")))
}

/// The cells of row `y` the gauge filled (a full block, or the label's cells drawn in
/// reverse) in `colour`.
fn filled(buffer: &Buffer, y: u16, colour: Color) -> usize {
    (buffer.area.left()..buffer.area.right())
        .map(|x| &buffer[(x, y)])
        .filter(|c| (c.symbol() == "█" && c.fg == colour) || c.bg == colour)
        .count()
}

fn slots(busy: u32, total: u32, workers: &[(&str, u32, u32)]) -> Slots {
    Slots {
        busy,
        total,
        workers: workers
            .iter()
            .map(|(id, busy, slots)| WorkerSlots {
                id: (*id).to_owned(),
                busy: *busy,
                slots: *slots,
            })
            .collect(),
    }
}

#[test]
fn ex09_2_the_gauge_shows_the_share_of_busy_slots() {
    let buffer = panel(&slots(2, 3, &[("w-a", 1, 2), ("w-b", 1, 1)]));
    let (y, _) = row_with(&buffer, "2/3 busy (67 %)");
    let inner = 38.0;
    let green = filled(&buffer, y, Color::Green) as f64;
    assert!(
        (inner * 0.6..=inner * 0.72).contains(&green),
        "2 of 3 slots fill two thirds of the gauge's {inner} cells in green, not {green}"
    );
    assert_eq!(
        filled(&buffer, y, Color::Red),
        0,
        "a pool with a free slot is not red"
    );
}

#[test]
fn ex09_2_a_full_pool_is_red() {
    for (busy, label) in [(3, "3/3 busy (100 %)"), (4, "4/3 busy (100 %)")] {
        let buffer = panel(&slots(busy, 3, &[]));
        let (y, _) = row_with(&buffer, label);
        assert_eq!(
            filled(&buffer, y, Color::Red),
            38,
            "{label}: the gauge is full, and red, no further than its end"
        );
        assert_eq!(
            filled(&buffer, y, Color::Green),
            0,
            "{label}: nothing green"
        );
    }
}

#[test]
fn ex09_2_no_slots_is_said_not_divided() {
    let buffer = panel(&slots(0, 0, &[]));
    row_with(&buffer, "no slots");
    row_with(&buffer, "Slots");
}

#[test]
fn ex09_2_one_row_per_worker_in_order() {
    let buffer = panel(&slots(1, 6, &[("w-a", 1, 2), ("w-b", 0, 4)]));
    let (title, _) = row_with(&buffer, "Slots");
    let (gauge, _) = row_with(&buffer, "1/6 busy (17 %)");
    let (a, row_a) = row_with(&buffer, "w-a");
    let (b, row_b) = row_with(&buffer, "w-b");
    assert!(
        title < gauge && gauge < a && a < b,
        "the title, the gauge, then the workers in order"
    );
    for (row, id, count) in [(row_a, "w-a", "1/2"), (row_b, "w-b", "0/4")] {
        let after = row.split_once(id).map(|(_, rest)| rest).unwrap_or_default();
        assert!(
            after.starts_with(' ') && after.contains(count),
            "{id}'s row shows {count} after its id: {row:?}"
        );
    }
    // More workers than lines: the first ones, and no panic.
    let many: Vec<(String, u32, u32)> = (0..20).map(|i| (format!("w{i:02}"), 0, 1)).collect();
    let many: Vec<(&str, u32, u32)> = many
        .iter()
        .map(|(id, b, s)| (id.as_str(), *b, *s))
        .collect();
    let buffer = panel(&slots(0, 20, &many));
    row_with(&buffer, "w00");
}

#[test]
fn ex09_2_draws_only_inside_its_area() {
    let area = Rect::new(6, 2, 28, 5);
    let buffer = render(40, 10, area, &slots(3, 3, &[("w-a", 3, 3)]));
    for y in 0..10 {
        for x in 0..40 {
            let cell = &buffer[(x, y)];
            if area.contains((x, y).into()) {
                continue;
            }
            assert!(
                cell.symbol() == " " && cell.fg == Color::Reset && cell.bg == Color::Reset,
                "the cell at ({x}, {y}) is outside the panel's area, yet it was drawn on"
            );
        }
    }
    assert_eq!(
        buffer[(6, 2)].symbol(),
        "┌",
        "the border starts at the area's corner"
    );
    row_with(&buffer, "3/3 busy (100 %)");
}

// ---- 9.3 utilisation over a window

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The utilisation, which must be computable and known.
fn used(samples: &[SlotSample], now: u64, window: u64) -> f64 {
    utilisation(samples, secs(now), secs(window))
        .unwrap_or_else(|e| panic!("{samples:?}: refused: {e}"))
        .unwrap_or_else(|| panic!("{samples:?}: no utilisation"))
}

fn close(found: f64, expected: f64, what: &str) {
    assert!(
        (found - expected).abs() < 1e-9,
        "{what}: expected {expected}, got {found}"
    );
}

#[test]
fn ex09_3_each_reading_weighs_as_long_as_it_held() {
    // Idle for 50 s, read once; then busy for 10 s, read every 2 s.
    let mut samples = vec![SlotSample::new(0, 0, 4)];
    samples.extend((50..60).step_by(2).map(|at| SlotSample::new(at, 4, 4)));
    close(
        used(&samples, 60, 60),
        10.0 / 60.0,
        "busy 10 s of 60: one sixth, however often the busy part was read",
    );
    // The same steps, read evenly: the same answer.
    let even: Vec<SlotSample> = (0..60)
        .step_by(10)
        .map(|at| SlotSample::new(at, if at < 50 { 0 } else { 4 }, 4))
        .collect();
    close(used(&even, 60, 60), 10.0 / 60.0, "read every 10 s");
}

#[test]
fn ex09_3_the_reading_before_the_window_still_counts() {
    let samples = [SlotSample::new(0, 2, 4), SlotSample::new(100, 4, 4)];
    close(
        used(&samples, 130, 60),
        0.75,
        "the window [70 s, 130 s]: half full for 30 s (the reading of 0 s still held), full for 30 s",
    );
    close(
        used(&samples[..1], 90, 60),
        0.5,
        "the window [30 s, 90 s] has no sample in it, and the reading of 0 s holds throughout",
    );
}

#[test]
fn ex09_3_time_before_the_first_sample_counts_for_nothing() {
    close(
        used(&[SlotSample::new(40, 1, 2)], 60, 60),
        0.5,
        "only the 20 s after the first sample are known",
    );
    let samples = [SlotSample::new(0, 1, 4), SlotSample::new(10, 3, 4)];
    close(
        used(&samples, 30, 300),
        70.0 / 120.0,
        "a window longer than the run starts at 0: 1 of 4 for 10 s, 3 of 4 for 20 s",
    );
}

#[test]
fn ex09_3_slots_weigh_as_well_as_time() {
    // No worker for 30 s, then 2 of 4 slots busy for 30 s; then 8 slots, all busy.
    let samples = [
        SlotSample::new(0, 0, 0),
        SlotSample::new(30, 2, 4),
        SlotSample::new(60, 8, 8),
    ];
    close(
        used(&samples, 60, 60),
        0.5,
        "time without slots counts for nothing",
    );
    close(
        used(&samples, 90, 60),
        (2.0 * 30.0 + 8.0 * 30.0) / (4.0 * 30.0 + 8.0 * 30.0),
        "busy slot-seconds over slot-seconds, not the mean of the ratios",
    );
}

#[test]
fn ex09_3_at_the_same_time_the_later_sample_wins() {
    let samples = [
        SlotSample::new(0, 0, 4),
        SlotSample::new(30, 4, 4),
        SlotSample::new(30, 2, 4),
    ];
    close(
        used(&samples, 60, 60),
        0.25,
        "idle for 30 s, then 2 of 4 (the later of the two samples at 30 s)",
    );
}

#[test]
fn ex09_3_nothing_known_is_none() {
    let none = |samples: &[SlotSample], now: u64, window: u64| {
        utilisation(samples, secs(now), secs(window))
            .unwrap_or_else(|e| panic!("{samples:?}: refused: {e}"))
    };
    assert_eq!(none(&[], 60, 60), None, "no samples");
    assert_eq!(
        none(
            &[SlotSample::new(0, 0, 0), SlotSample::new(10, 0, 0)],
            60,
            60
        ),
        None,
        "no slots at all"
    );
    assert_eq!(
        none(&[SlotSample::new(60, 1, 2)], 60, 60),
        None,
        "a sample at now held for no time"
    );
}

#[test]
fn ex09_3_bad_samples_are_errors() {
    for (samples, index) in [
        (
            vec![
                SlotSample::new(0, 0, 4),
                SlotSample::new(20, 1, 4),
                SlotSample::new(10, 1, 4),
            ],
            2,
        ),
        (vec![SlotSample::new(0, 0, 4), SlotSample::new(61, 1, 4)], 1),
        (vec![SlotSample::new(0, 5, 4)], 0),
    ] {
        match utilisation(&samples, secs(60), secs(60)) {
            Err(error) => {
                assert_eq!(error.index, index, "{samples:?}: the sample at fault");
                assert!(!error.reason.trim().is_empty(), "the error says why");
            }
            other => panic!("{samples:?} must be refused, got {other:?}"),
        }
    }
}

// ---- 9.4 an alerting rule's condition as a function

/// Evaluations every 15 s from 0, with these conditions.
fn every_15s(conditions: &[bool]) -> Vec<Evaluation> {
    conditions
        .iter()
        .enumerate()
        .map(|(i, c)| Evaluation::new(15 * i as u64, *c))
        .collect()
}

fn rule(hold: u64, keep_firing_for: u64) -> AlertRule {
    AlertRule {
        hold: secs(hold),
        keep_firing_for: secs(keep_firing_for),
    }
}

/// The state after each evaluation in turn.
fn states(rule: &AlertRule, evaluations: &[Evaluation]) -> Vec<AlertState> {
    (1..=evaluations.len())
        .map(|n| {
            alert_state(rule, &evaluations[..n])
                .unwrap_or_else(|e| panic!("{evaluations:?}: refused: {e}"))
        })
        .collect()
}

fn pending(since: u64) -> AlertState {
    AlertState::Pending { since: secs(since) }
}

fn firing(since: u64) -> AlertState {
    AlertState::Firing { since: secs(since) }
}

#[test]
fn ex09_4_the_condition_must_hold_for_the_whole_hold() {
    // NoLiveWorker: `for: 1m`, evaluated every 15 s, all workers gone from 0 s.
    let evaluations = every_15s(&[true; 6]);
    assert_eq!(
        states(&rule(60, 0), &evaluations),
        [
            pending(0),
            pending(0),
            pending(0),
            pending(0),
            firing(60),
            firing(60)
        ],
        "pending from the first true evaluation, firing once it has held 60 s"
    );
}

#[test]
fn ex09_4_a_false_evaluation_starts_the_count_again() {
    let evaluations = every_15s(&[true, true, true, false, true, true, true, true, true]);
    assert_eq!(
        states(&rule(60, 0), &evaluations),
        [
            pending(0),
            pending(0),
            pending(0),
            AlertState::Inactive,
            pending(60),
            pending(60),
            pending(60),
            pending(60),
            firing(120),
        ],
        "one false evaluation resets the pending alert"
    );
}

#[test]
fn ex09_4_a_hold_of_zero_fires_at_once() {
    let evaluations = every_15s(&[false, true, true]);
    assert_eq!(
        states(&rule(0, 0), &evaluations),
        [AlertState::Inactive, firing(15), firing(15)],
        "without for:, the first true evaluation fires"
    );
}

#[test]
fn ex09_4_firing_resolves_when_the_condition_fails() {
    let evaluations = every_15s(&[true, true, false, true, true]);
    assert_eq!(
        states(&rule(15, 0), &evaluations),
        [
            pending(0),
            firing(15),
            AlertState::Inactive,
            pending(45),
            firing(60)
        ],
        "a firing alert resolves at the first false evaluation, and starts over"
    );
}

#[test]
fn ex09_4_keep_firing_for_counts_from_the_first_false_evaluation() {
    let evaluations = every_15s(&[true, false, false, false]);
    assert_eq!(
        states(&rule(0, 30), &evaluations),
        [firing(0), firing(0), firing(0), AlertState::Inactive],
        "false from 15 s: still firing at 30 s (15 s of 30), resolved at 45 s (30 s)"
    );
    let evaluations = every_15s(&[true, false, false, true, false, false, false]);
    assert_eq!(
        states(&rule(0, 30), &evaluations),
        [
            firing(0),
            firing(0),
            firing(0),
            firing(0),
            firing(0),
            firing(0),
            AlertState::Inactive
        ],
        "a true evaluation while it keeps firing starts the count again"
    );
    let evaluations = every_15s(&[true, false]);
    assert_eq!(
        states(&rule(60, 30), &evaluations),
        [pending(0), AlertState::Inactive],
        "keep_firing_for keeps a firing alert, not a pending one"
    );
}

#[test]
fn ex09_4_evaluations_out_of_order_are_an_error() {
    assert_eq!(
        alert_state(&rule(60, 0), &[]),
        Ok(AlertState::Inactive),
        "never evaluated: inactive"
    );
    for (evaluations, index) in [
        (vec![Evaluation::new(0, true), Evaluation::new(0, true)], 1),
        (
            vec![
                Evaluation::new(0, false),
                Evaluation::new(15, true),
                Evaluation::new(10, true),
            ],
            2,
        ),
    ] {
        match alert_state(&rule(60, 0), &evaluations) {
            Err(error) => {
                assert_eq!(
                    error.index, index,
                    "{evaluations:?}: the evaluation at fault"
                );
                assert!(!error.reason.trim().is_empty(), "the error says why");
            }
            other => panic!("{evaluations:?} must be refused, got {other:?}"),
        }
    }
}
