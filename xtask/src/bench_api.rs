//! `cargo xtask bench-api`: session 10's HTTP API under load, on this machine.
//!
//! It builds `session10_final` in release and starts it in the embedded mode (no Redis) on a
//! free port of 127.0.0.1, then loads it with oha, installed into the tools folder when
//! missing (see `tools.rs`), running on the same machine:
//!
//! - `GET /api/health` for [`HEALTH_SECONDS`] on [`HEALTH_CONNECTIONS`] connections: what
//!   the server and its router cost per request;
//! - `POST /api/process` with a one-megapixel JPEG photo (a bundled sample, resized by the
//!   server itself) through [`PIPELINE`], on [`PROCESS_CONNECTIONS`] connections, for
//!   [`PROCESS_SECONDS`]: the route works on as many images at once as there are workers,
//!   and the others wait for a slot;
//! - `session10_final full-test`, [`FULL_TEST_RUNS`] times: ten jobs through the API end to
//!   end, whose median wall time stands beside the original course's.
//!
//! Any answer other than 2xx fails the run, after the table shows the figures. `--json`
//! prints them as JSON; `--record` keeps them in the book's `book/src/data/bench-api.json`.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::{Deserialize, Serialize};

use crate::deadline::{Watched, own_process_group, run_with_deadline};
use crate::peers::machine;
use crate::{cargo, target_dir, tools};

/// Where `--record` keeps the figures the book shows.
pub const RECORD: &str = "book/src/data/bench-api.json";

/// Connections oha keeps open on `/api/health` (its own default).
const HEALTH_CONNECTIONS: usize = 50;
/// How long `/api/health` is loaded.
const HEALTH_SECONDS: u64 = 10;
/// Connections oha keeps open on `/api/process`.
const PROCESS_CONNECTIONS: usize = 8;
/// How long `/api/process` is loaded.
const PROCESS_SECONDS: u64 = 20;
/// The bundled photo the upload is made from (1000x872).
const SAMPLE: &str = "session01_image_basics/samples/hubble_deep_field.jpg";
/// The width it is resized to: 1072x935, one megapixel.
const PHOTO_WIDTH: u32 = 1072;
/// What `/api/process` does to the photo.
const PIPELINE: &str = "blur:sigma=2|resize:width=512";
/// Runs of `full-test`, whose median is kept.
const FULL_TEST_RUNS: usize = 5;
/// The original course: ten tasks in 0.51 s on three workers.
const ORIGINAL_SECONDS: f64 = 0.51;
const ORIGINAL_WORKERS: usize = 3;
/// The wall time this course aims at for the ten images.
const TARGET_SECONDS: f64 = 0.1;

/// The release build's deadline.
const BUILD_TIMEOUT: Duration = Duration::from_secs(1800);
/// How long the server may take to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// What oha may take beyond its duration (requests in flight at the end are waited for).
const LOAD_SLACK: Duration = Duration::from_secs(60);
/// One `full-test` run's deadline (its own is 120 s).
const FULL_TEST_TIMEOUT: Duration = Duration::from_secs(180);
/// One request's deadline while the photo is made.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One route under load, as recorded.
#[derive(Debug, Serialize, Deserialize)]
pub struct Load {
    /// The method and path.
    pub request: String,
    /// Connections oha kept open.
    pub connections: usize,
    /// The measured duration, in seconds.
    pub seconds: f64,
    /// Requests answered.
    pub requests: u64,
    /// Requests answered per second.
    pub requests_per_second: f64,
    /// Median latency, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, in milliseconds.
    pub p99_ms: f64,
    /// Answers other than 2xx, and requests that got no answer.
    pub non_2xx: u64,
    /// Answers per status code.
    pub statuses: BTreeMap<String, u64>,
    /// Requests that got no answer, per reason.
    pub errors: BTreeMap<String, u64>,
}

/// Ten images end to end through the API, as recorded.
#[derive(Debug, Serialize, Deserialize)]
pub struct EndToEnd {
    /// Jobs per run.
    pub tasks: usize,
    /// The embedded system's worker tasks.
    pub workers: usize,
    /// Each run's wall time, in seconds.
    pub wall_seconds: Vec<f64>,
    /// Their median.
    pub median_seconds: f64,
    /// The original course's time for ten tasks.
    pub original_seconds: f64,
    /// The original course's workers.
    pub original_workers: usize,
    /// The time this course aims at.
    pub target_seconds: f64,
}

/// The whole benchmark, as recorded.
#[derive(Debug, Serialize, Deserialize)]
pub struct Results {
    /// The CPU model and core count.
    pub machine: String,
    /// The API's worker tasks (one per core).
    pub workers: usize,
    /// The load client and its version.
    pub client: String,
    /// The upload `/api/process` got.
    pub photo: String,
    /// Its pipeline.
    pub pipeline: String,
    /// `GET /api/health`.
    pub health: Load,
    /// `POST /api/process`.
    pub process: Load,
    /// `full-test`.
    pub full_test: EndToEnd,
}

/// Runs the benchmark, prints the figures, and fails if any answer was not 2xx.
pub fn bench_api(root: &Path, json: bool, record: bool) -> Result<()> {
    let (oha, installed) = tools::oha(root)?;
    if let Some(took) = installed {
        eprintln!(
            "installed oha {} in {:.0} s",
            tools::OHA_VERSION,
            took.as_secs_f64()
        );
    }
    let work = target_dir(root).join("bench-api");
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let mut build = cargo(root);
    build.args(["build", "--release", "-p", "session10_final"]);
    run_within(build, BUILD_TIMEOUT)?;
    let exe = target_dir(root)
        .join("release")
        .join(format!("session10_final{}", std::env::consts::EXE_SUFFIX));
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());

    let server = Server::start(&exe, workers)?;
    eprintln!("the API is serving on {}", server.url);
    let (photo, photo_text) = make_photo(root, &server.url, &work)?;
    let health = load(
        &oha,
        &work,
        "GET /api/health",
        &format!("{}/api/health", server.url),
        HEALTH_CONNECTIONS,
        HEALTH_SECONDS,
        None,
    )?;
    let process = load(
        &oha,
        &work,
        "POST /api/process",
        &format!(
            "{}/api/process?pipeline={}&format=jpeg",
            server.url,
            query_value(PIPELINE)
        ),
        PROCESS_CONNECTIONS,
        PROCESS_SECONDS,
        Some(&photo),
    )?;
    drop(server);

    let full_test = full_test(&exe, workers)?;
    let results = Results {
        machine: machine(),
        workers,
        client: format!("oha {}", tools::OHA_VERSION),
        photo: photo_text,
        pipeline: PIPELINE.to_owned(),
        health,
        process,
        full_test,
    };
    let text = serde_json::to_string_pretty(&results)? + "\n";
    let kept = work.join("results.json");
    std::fs::write(&kept, &text).with_context(|| format!("cannot write {}", kept.display()))?;
    if json {
        print!("{text}");
    } else {
        println!("{}", table(&results));
    }
    for load in [&results.health, &results.process] {
        if load.non_2xx > 0 {
            bail!(
                "{} had {} answers other than 2xx (statuses {:?}, no answer {:?}); nothing recorded",
                load.request,
                load.non_2xx,
                load.statuses,
                load.errors
            );
        }
    }
    if record {
        let path = root.join(RECORD);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)
                .with_context(|| format!("cannot create {}", folder.display()))?;
        }
        std::fs::write(&path, &text).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("recorded for the book in {RECORD}");
    }
    Ok(())
}

/// Runs a command with its output shown, stopped at the deadline.
fn run_within(command: Command, timeout: Duration) -> Result<()> {
    let line = format!("{command:?}").replace('"', "");
    eprintln!("$ {line}");
    let mut child = Watched::spawn(command, own_process_group())
        .with_context(|| format!("cannot start {line}"))?;
    match child.wait_or_stop(timeout)? {
        Some(status) if status.success() => Ok(()),
        Some(status) => bail!("`{line}` failed ({status})"),
        None => bail!(
            "`{line}` did not finish within {} s and was stopped",
            timeout.as_secs()
        ),
    }
}

/// `session10_final` serving in the embedded mode; stopped when dropped.
struct Server {
    child: Watched,
    url: String,
}

impl Server {
    /// Starts it on a free port and waits for the line that gives its URL.
    fn start(exe: &Path, workers: usize) -> Result<Self> {
        let mut command = Command::new(exe);
        command
            .args(["--bind", "127.0.0.1:0", "--workers", &workers.to_string()])
            // The embedded mode, logging as it does by default.
            .env_remove("API_REDIS_URL")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = Watched::spawn(command, own_process_group())
            .with_context(|| format!("cannot start {}", exe.display()))?;
        let stderr = child.stderr().context("the server's stderr is not piped")?;
        let (lines, received) = mpsc::channel();
        // Reads to the end, so the server never blocks on a full pipe.
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let _ = lines.send(line);
            }
        });
        // From here on, dropping it stops the server, whatever goes wrong.
        let mut server = Self {
            child,
            url: String::new(),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let mut said = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match received.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = serving_url(&line) {
                        server.url = url;
                        return Ok(server);
                    }
                    said.push(line);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => bail!(
                    "the server gave no URL within {} s; it said:\n{}",
                    START_TIMEOUT.as_secs(),
                    said.join("\n")
                ),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = server.child.wait_or_stop(Duration::from_secs(5))?;
                    bail!(
                        "the server stopped ({}) before giving its URL; it said:\n{}",
                        status.map_or("still running".to_owned(), |s| s.to_string()),
                        said.join("\n")
                    )
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A zero deadline stops it at once; it may have exited already, which is fine.
        let _ = self.child.wait_or_stop(Duration::ZERO);
    }
}

/// The URL in the line the server prints when it listens:
/// `imgproc is serving on http://127.0.0.1:PORT/ (Ctrl-C stops it)`.
fn serving_url(line: &str) -> Option<String> {
    let rest = &line[line.find("serving on http://")? + "serving on ".len()..];
    let url = rest.split_whitespace().next()?;
    Some(url.trim_end_matches('/').to_owned())
}

/// The upload: the bundled photo resized to one megapixel by the API itself, which also
/// shows the route answers before it is loaded. Its path and a description.
fn make_photo(root: &Path, url: &str, work: &Path) -> Result<(PathBuf, String)> {
    let sample = root.join(SAMPLE);
    let bytes =
        std::fs::read(&sample).with_context(|| format!("cannot read {}", sample.display()))?;
    // The server is local: no proxy from the environment stands in between.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(REQUEST_TIMEOUT))
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into();
    let post = |path: &str, body: &[u8]| -> Result<Vec<u8>> {
        let mut response = agent
            .post(format!("{url}{path}"))
            .header("Content-Type", "image/jpeg")
            .send(body)
            .with_context(|| format!("POST {path} failed"))?;
        let status = response.status();
        let answer = response
            .body_mut()
            .with_config()
            .limit(100_000_000)
            .read_to_vec()
            .with_context(|| format!("cannot read the answer to POST {path}"))?;
        if !status.is_success() {
            bail!(
                "POST {path} answered {status}: {}",
                String::from_utf8_lossy(&answer)
            );
        }
        Ok(answer)
    };
    let resize = format!("resize:width={PHOTO_WIDTH}");
    let photo = post(
        &format!("/api/process?pipeline={}&format=jpeg", query_value(&resize)),
        &bytes,
    )?;
    let info: Info = serde_json::from_slice(&post("/api/image/info", &photo)?)
        .context("/api/image/info did not answer the JSON expected")?;
    let path = work.join("photo.jpg");
    std::fs::write(&path, &photo).with_context(|| format!("cannot write {}", path.display()))?;
    let name = Path::new(SAMPLE)
        .file_name()
        .map_or(SAMPLE.into(), |n| n.to_string_lossy());
    let text = format!(
        "{name} resized to {}x{} ({:.2} MP), {}, {} KB",
        info.width,
        info.height,
        f64::from(info.width) * f64::from(info.height) / 1e6,
        info.format,
        photo.len() / 1000
    );
    Ok((path, text))
}

/// What `/api/image/info` says of the photo.
#[derive(Debug, Deserialize)]
struct Info {
    format: String,
    width: u32,
    height: u32,
}

/// A query parameter's value, percent-encoded (`|` is not allowed as it is).
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What oha's JSON output says, in the parts used here.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OhaReport {
    summary: OhaSummary,
    latency_percentiles: OhaPercentiles,
    #[serde(default)]
    status_code_distribution: BTreeMap<String, u64>,
    #[serde(default)]
    error_distribution: BTreeMap<String, u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OhaSummary {
    /// Seconds.
    total: f64,
    requests_per_sec: f64,
}

/// Seconds; `None` when no request was answered.
#[derive(Debug, Deserialize)]
struct OhaPercentiles {
    p50: Option<f64>,
    p99: Option<f64>,
}

impl From<OhaReport> for Load {
    fn from(report: OhaReport) -> Self {
        let not_2xx: u64 = report
            .status_code_distribution
            .iter()
            .filter(|(code, _)| !code.starts_with('2'))
            .map(|(_, count)| count)
            .sum();
        let unanswered: u64 = report.error_distribution.values().sum();
        let ms = |seconds: Option<f64>| seconds.map_or(f64::NAN, |s| s * 1000.0);
        Self {
            request: String::new(),
            connections: 0,
            seconds: report.summary.total,
            requests: report.status_code_distribution.values().sum(),
            requests_per_second: report.summary.requests_per_sec,
            p50_ms: ms(report.latency_percentiles.p50),
            p99_ms: ms(report.latency_percentiles.p99),
            non_2xx: not_2xx + unanswered,
            statuses: report.status_code_distribution,
            errors: report.error_distribution,
        }
    }
}

/// Loads `url` with oha for `seconds` on `connections`: a GET, or a POST of `body` (a
/// JPEG). `request` names it in the results.
fn load(
    oha: &Path,
    work: &Path,
    request: &str,
    url: &str,
    connections: usize,
    seconds: u64,
    body: Option<&Path>,
) -> Result<Load> {
    let out = work.join("oha.json");
    // A report left by an earlier run must not pass for this one's.
    let _ = std::fs::remove_file(&out);
    let mut command = Command::new(oha);
    command
        .args(["-z", &format!("{seconds}s"), "-w"])
        .args(["-c", &connections.to_string()])
        .args(["--no-tui", "--output-format", "json", "-o"])
        .arg(&out);
    if let Some(body) = body {
        command
            .args(["-m", "POST", "-T", "image/jpeg", "-D"])
            .arg(body);
    }
    command.arg(url);
    let line = format!("{command:?}").replace('"', "");
    eprintln!("$ {line}");
    let timeout = Duration::from_secs(seconds) + LOAD_SLACK;
    let (status, output) = run_with_deadline(command, timeout, own_process_group())?;
    match status {
        Some(status) if status.success() => {}
        Some(status) => bail!("`{line}` failed ({status}):\n{output}"),
        None => bail!(
            "`{line}` did not finish within {} s and was stopped",
            timeout.as_secs()
        ),
    }
    let text = std::fs::read_to_string(&out)
        .with_context(|| format!("oha wrote no report to {}", out.display()))?;
    let report: OhaReport = serde_json::from_str(&text)
        .with_context(|| format!("{} is not the JSON oha writes", out.display()))?;
    Ok(Load {
        request: request.to_owned(),
        connections,
        ..Load::from(report)
    })
}

/// What `session10_final full-test --json` prints, in the parts used here.
#[derive(Debug, Deserialize)]
struct FullTestReport {
    tasks: usize,
    verified: usize,
    wall_seconds: f64,
}

/// `full-test` [`FULL_TEST_RUNS`] times on the embedded system with `workers` workers.
fn full_test(exe: &Path, workers: usize) -> Result<EndToEnd> {
    let mut wall_seconds = Vec::new();
    let mut tasks = 0;
    for _ in 0..FULL_TEST_RUNS {
        let mut command = Command::new(exe);
        command
            .args(["full-test", "--json", "--workers", &workers.to_string()])
            .env_remove("API_URL")
            .env_remove("RUST_LOG");
        let line = format!("{command:?}").replace('"', "");
        eprintln!("$ {line}");
        let (status, output) = run_with_deadline(command, FULL_TEST_TIMEOUT, own_process_group())?;
        match status {
            Some(status) if status.success() => {}
            Some(status) => bail!("`{line}` failed ({status}):\n{output}"),
            None => bail!(
                "`{line}` did not finish within {} s and was stopped",
                FULL_TEST_TIMEOUT.as_secs()
            ),
        }
        // Its stdout comes first in `output`: the report is the first JSON object there.
        let start = output
            .find('{')
            .with_context(|| format!("`{line}` printed no JSON:\n{output}"))?;
        let report: FullTestReport = serde_json::Deserializer::from_str(&output[start..])
            .into_iter()
            .next()
            .with_context(|| format!("`{line}` printed no JSON:\n{output}"))?
            .with_context(|| format!("`{line}` printed JSON of another shape:\n{output}"))?;
        if report.verified != report.tasks {
            bail!(
                "`{line}` verified {} of {} results:\n{output}",
                report.verified,
                report.tasks
            );
        }
        tasks = report.tasks;
        wall_seconds.push(report.wall_seconds);
    }
    Ok(EndToEnd {
        tasks,
        workers,
        median_seconds: median(&wall_seconds),
        wall_seconds,
        original_seconds: ORIGINAL_SECONDS,
        original_workers: ORIGINAL_WORKERS,
        target_seconds: TARGET_SECONDS,
    })
}

/// The middle value (the mean of the two middle ones for an even count); NaN for none.
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Operation, figure, answers other than 2xx, and what the figure stands beside.
fn table(results: &Results) -> String {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header([
        "operation",
        "figure",
        "not 2xx",
        "peer / target",
    ]);
    let failed = |load: &Load| match load.statuses.get("429") {
        Some(busy) => format!("{} ({busy} of them 429)", load.non_2xx),
        None => load.non_2xx.to_string(),
    };
    let health = &results.health;
    table.add_row([
        format!(
            "{}, {} connections, {} s",
            health.request, health.connections, HEALTH_SECONDS
        ),
        format!(
            "{:.0} req/s; p50 {:.2} ms, p99 {:.2} ms",
            health.requests_per_second, health.p50_ms, health.p99_ms
        ),
        failed(health),
        "-".to_owned(),
    ]);
    let process = &results.process;
    table.add_row([
        format!(
            "{} `{}` on a 1 MP JPEG, {} connections, {} s",
            process.request, results.pipeline, process.connections, PROCESS_SECONDS
        ),
        format!(
            "{:.1} req/s; p50 {:.0} ms, p99 {:.0} ms",
            process.requests_per_second, process.p50_ms, process.p99_ms
        ),
        failed(process),
        "-".to_owned(),
    ]);
    let end = &results.full_test;
    table.add_row([
        format!(
            "{} images end to end (full-test, {} workers), median of {}",
            end.tasks,
            end.workers,
            end.wall_seconds.len()
        ),
        format!("{:.3} s", end.median_seconds),
        "-".to_owned(),
        format!(
            "original course {:.2} s on {} workers; target at most {} s",
            end.original_seconds, end.original_workers, end.target_seconds
        ),
    ]);
    format!(
        "Session 10's API, embedded mode, {} workers, on {}; load from {} on the same \
         machine\n{table}\nThe upload: {}\n",
        results.workers, results.machine, results.client, results.photo
    )
}

/// The recorded figures as the book's Markdown table, with where they come from.
pub fn markdown(results: &Results) -> String {
    let (health, process, end) = (&results.health, &results.process, &results.full_test);
    let mut text = String::from("| what | connections | figure |\n|---|---|---|\n");
    text.push_str(&format!(
        "| `{}` | {} | {:.0} requests/s; p50 {:.2} ms, p99 {:.2} ms |\n",
        health.request,
        health.connections,
        health.requests_per_second,
        health.p50_ms,
        health.p99_ms
    ));
    text.push_str(&format!(
        "| `{}`, `{}` on a 1 MP JPEG | {} | {:.1} requests/s; p50 {:.0} ms, p99 {:.0} ms |\n",
        process.request,
        results.pipeline,
        process.connections,
        process.requests_per_second,
        process.p50_ms,
        process.p99_ms
    ));
    text.push_str(&format!(
        "| {} images end to end (`full-test`, {} worker tasks), median of {} | - | {:.3} s \
         (the original course: {:.2} s on {} workers) |\n",
        end.tasks,
        end.workers,
        end.wall_seconds.len(),
        end.median_seconds,
        end.original_seconds,
        end.original_workers
    ));
    text.push_str(&format!(
        "\n*`cargo xtask bench-api --record`: the embedded mode with {} worker tasks on {}, \
         loaded by {} on the same machine; every answer 2xx.*\n",
        results.workers, results.machine, results.client
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_is_read_from_the_line_the_server_prints() {
        let line = "imgproc is serving on http://127.0.0.1:35519/ (Ctrl-C stops it)";
        assert_eq!(serving_url(line).as_deref(), Some("http://127.0.0.1:35519"));
        assert_eq!(serving_url("INFO worker started"), None);
    }

    #[test]
    fn a_pipeline_goes_into_the_query_percent_encoded() {
        assert_eq!(
            query_value("blur:sigma=2|resize:width=512"),
            "blur:sigma%3D2%7Cresize:width%3D512"
        );
    }

    #[test]
    fn every_answer_but_2xx_counts_against_the_run() {
        // Trimmed from oha 1.16's `--output-format json`.
        let report = r#"{
            "summary": {"successRate": 1.0, "total": 10.09, "requestsPerSec": 81.9},
            "latencyPercentiles": {"p50": 0.096, "p99": 0.155},
            "statusCodeDistribution": {"200": 820, "429": 5},
            "errorDistribution": {"connection closed": 2}
        }"#;
        let load = Load::from(serde_json::from_str::<OhaReport>(report).unwrap());
        assert_eq!(load.requests, 825);
        assert_eq!(load.non_2xx, 7);
        assert_eq!(load.p50_ms, 96.0);
        assert_eq!(load.p99_ms, 155.0);
    }

    #[test]
    fn the_median_of_an_odd_and_an_even_count() {
        assert_eq!(median(&[0.3, 0.1, 0.2]), 0.2);
        assert_eq!(median(&[0.4, 0.1, 0.2, 0.3]), 0.25);
        assert!(median(&[]).is_nan());
    }
}
