//! `full-test`: the original course's third demo, through the HTTP API. Ten varied jobs
//! (session 06's pipelines over the bundled photos) go in as JSON uploads at once; each is
//! followed on its event stream to its final state, and its result is downloaded and
//! decoded. It prints how many were verified and the wall time, beside the original
//! course's 0.51 s for ten tasks on three workers.
//!
//! With `--url` it tests a running service (the compose lab's API); without, it starts the
//! embedded system in this process on a free port of 127.0.0.1 and tests that.
//!
//! A client of the API, so it lives in the binary, not the library.

use std::io::{BufRead as _, BufReader};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::{Args, FromArgMatches as _};
use serde::Serialize;
use session01_image_basics::samples;
use session03_workers::cli::seconds;
use session06_docker::full_test::PIPELINES;
use session10_final::server::{ServeArgs, serve_embedded};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use ureq::Agent;

/// Ten jobs through the API, every result checked, timed.
#[derive(Debug, Clone, Args)]
pub struct FullTestArgs {
    /// The service to test (`http://api:8080` in the compose lab); without it, the
    /// embedded system in this process.
    #[arg(long, value_name = "URL", env = "API_URL")]
    pub url: Option<String>,
    /// How many jobs to send.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub tasks: usize,
    /// Without `--url`: the embedded system's worker tasks (one per CPU by default; the
    /// original course had three workers).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Seconds for the whole test: waiting for the service, then the jobs.
    #[arg(long, value_name = "SECONDS", default_value_t = 120.0)]
    pub timeout: f64,
    /// The report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What the test found.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The service tested.
    pub url: String,
    /// Jobs sent.
    pub tasks: usize,
    /// Jobs that succeeded with a result that decodes.
    pub verified: usize,
    /// What went wrong, per job.
    pub problems: Vec<String>,
    /// From the first upload to the last result decoded, in seconds.
    pub wall_seconds: f64,
}

/// One job to send.
struct Planned {
    name: String,
    pipeline: &'static str,
    /// The upload's JSON body.
    body: String,
}

/// Between two looks at `/api/ready`.
const READY_POLL: Duration = Duration::from_millis(200);

/// The largest result read back.
const MAX_RESULT: u64 = 200_000_000;

/// Runs the test; fails unless every job was verified.
pub fn run(args: &FullTestArgs) -> Result<String> {
    ensure!(args.tasks > 0, "--tasks must be at least 1");
    let deadline = Instant::now() + seconds("timeout", args.timeout)?;
    let planned = plan(args.tasks)?;
    let report = match &args.url {
        Some(url) => test(url.trim_end_matches('/'), &planned, deadline)?,
        None => embedded(args.workers, &planned, deadline)?,
    };
    let text = if args.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        let mut text = format!(
            "{} of {} results verified through the API at {} in {:.2}s (the original course: \
             10 tasks in 0.51s on 3 workers)\n",
            report.verified, report.tasks, report.url, report.wall_seconds
        );
        for problem in &report.problems {
            text.push_str(&format!("  {problem}\n"));
        }
        text
    };
    if report.verified == report.tasks {
        Ok(text)
    } else {
        print!("{text}");
        bail!(
            "{} of {} jobs failed",
            report.tasks - report.verified,
            report.tasks
        )
    }
}

/// The jobs: session 06's pipelines in turn, over the bundled photos in turn.
fn plan(tasks: usize) -> Result<Vec<Planned>> {
    let photos = samples::all();
    ensure!(!photos.is_empty(), "no bundled photos");
    (0..tasks)
        .map(|i| {
            let (name, pipeline) = PIPELINES[i % PIPELINES.len()];
            let photo = &photos[i % photos.len()];
            let bytes =
                std::fs::read(photo).with_context(|| format!("cannot read {}", photo.display()))?;
            let body = serde_json::json!({
                "image": URL_SAFE_NO_PAD.encode(bytes),
                "pipeline": pipeline,
                "format": "png",
            });
            Ok(Planned {
                name: format!("{:02}-{name}", i + 1),
                pipeline,
                body: body.to_string(),
            })
        })
        .collect()
}

/// The embedded system on a free port, tested, then stopped.
fn embedded(workers: Option<usize>, planned: &[Planned], deadline: Instant) -> Result<Report> {
    let command = ServeArgs::augment_args(clap::Command::new("serve"));
    let matches = command.try_get_matches_from(["serve", "--bind=127.0.0.1:0"])?;
    let mut serve = ServeArgs::from_arg_matches(&matches)?;
    serve.workers = workers.or(serve.workers);
    let (config, grace) = (serve.embedded()?, serve.grace()?);
    let runtime = tokio::runtime::Runtime::new()?;
    let listener = runtime.block_on(TcpListener::bind(serve.bind))?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = oneshot::channel::<()>();
    let server = runtime.spawn(serve_embedded(listener, config, grace, async {
        // Either a message or the sender dropped: stop both ways.
        let _ = stopped.await;
    }));
    let report = test(&url, planned, deadline);
    let _ = stop.send(());
    runtime
        .block_on(server)
        .context("the embedded server panicked")??;
    runtime.shutdown_timeout(Duration::from_secs(1));
    report
}

/// Waits until the service is ready, then sends every job at once, one thread each, and
/// waits for all of them.
fn test(url: &str, planned: &[Planned], deadline: Instant) -> Result<Report> {
    // The service is named: no proxy from the environment stands in between.
    let agent: Agent = Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into();
    ready(&agent, url, deadline)?;
    let started = Instant::now();
    let outcomes: Vec<Result<(), String>> = thread::scope(|scope| {
        let handles: Vec<_> = planned
            .iter()
            .map(|job| {
                let agent = agent.clone();
                scope.spawn(move || one(&agent, url, job, deadline))
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err("its thread panicked".to_owned()))
            })
            .collect()
    });
    let wall_seconds = started.elapsed().as_secs_f64();
    let problems: Vec<String> = planned
        .iter()
        .zip(&outcomes)
        .filter_map(|(job, outcome)| {
            outcome
                .as_ref()
                .err()
                .map(|e| format!("{} ({}): {e}", job.name, job.pipeline))
        })
        .collect();
    Ok(Report {
        url: url.to_owned(),
        tasks: planned.len(),
        verified: planned.len() - problems.len(),
        problems,
        wall_seconds,
    })
}

/// Asks `/api/ready` until it answers 200 (a service just started may refuse the
/// connection, or answer 503 until it reaches Redis and a worker is live).
fn ready(agent: &Agent, url: &str, deadline: Instant) -> Result<()> {
    let started = Instant::now();
    let probe = format!("{url}/api/ready");
    loop {
        let reason = match agent
            .get(&probe)
            .config()
            .timeout_global(Some(
                left(deadline).unwrap_or(READY_POLL).min(READY_POLL * 10),
            ))
            .build()
            .call()
        {
            Ok(answer) if answer.status() == 200 => return Ok(()),
            Ok(mut answer) => format!(
                "{}: {}",
                answer.status(),
                answer.body_mut().read_to_string().unwrap_or_default()
            ),
            Err(error) => error.to_string(),
        };
        ensure!(
            left(deadline).is_ok(),
            "GET {probe}: not ready within {:.0} s; the last answer: {reason}",
            started.elapsed().as_secs_f64()
        );
        thread::sleep(READY_POLL);
    }
}

/// One job: upload, follow its events to the end, download and decode the result.
fn one(agent: &Agent, url: &str, job: &Planned, deadline: Instant) -> Result<(), String> {
    let left = || left(deadline);
    let submit = format!("{url}/api/jobs");
    let mut answer = agent
        .post(&submit)
        .config()
        .timeout_global(Some(left()?))
        .build()
        .header("content-type", "application/json")
        .send(job.body.as_str())
        .map_err(|e| format!("POST {submit}: {e}"))?;
    let body = answer
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("POST {submit}: {e}"))?;
    if answer.status() != 202 {
        return Err(format!(
            "POST {submit} answered {}: {body}",
            answer.status()
        ));
    }
    let view: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| format!("POST {submit}: {e}: {body}"))?;
    let links = &view["links"];
    let (Some(events), Some(result)) = (links["events"].as_str(), links["result"].as_str()) else {
        return Err(format!("POST {submit}: no links in {body}"));
    };
    follow(agent, &format!("{url}{events}"), left()?)?;
    let result = format!("{url}{result}");
    let mut answer = agent
        .get(&result)
        .config()
        .timeout_global(Some(left()?))
        .build()
        .call()
        .map_err(|e| format!("GET {result}: {e}"))?;
    if answer.status() != 200 {
        return Err(format!("GET {result} answered {}", answer.status()));
    }
    let bytes = answer
        .body_mut()
        .with_config()
        .limit(MAX_RESULT)
        .read_to_vec()
        .map_err(|e| format!("GET {result}: {e}"))?;
    let image =
        image::load_from_memory(&bytes).map_err(|e| format!("the result does not decode: {e}"))?;
    if image.width() == 0 || image.height() == 0 {
        return Err("the result is empty".to_owned());
    }
    Ok(())
}

/// The time left until `deadline`, or an error once it has passed.
fn left(deadline: Instant) -> Result<Duration, String> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|left| !left.is_zero())
        .ok_or_else(|| "the test's --timeout has passed".to_owned())
}

/// Reads the job's event stream until its final state: `Ok` once it succeeded.
fn follow(agent: &Agent, events: &str, timeout: Duration) -> Result<(), String> {
    let answer = agent
        .get(events)
        .config()
        .timeout_global(Some(timeout))
        .build()
        .call()
        .map_err(|e| format!("GET {events}: {e}"))?;
    if answer.status() != 200 {
        return Err(format!("GET {events} answered {}", answer.status()));
    }
    let mut event = String::new();
    for line in BufReader::new(answer.into_body().into_reader()).lines() {
        let line = line.map_err(|e| format!("GET {events}: {e}"))?;
        if line.is_empty() {
            // A blank line ends an event: the next one names its own.
            event.clear();
        } else if let Some(name) = line.strip_prefix("event:") {
            event = name.trim().to_owned();
        } else if let Some(data) = line.strip_prefix("data:") {
            if event == "gone" {
                return Err(format!("the job cannot be followed: {}", data.trim()));
            }
            let view: serde_json::Value = serde_json::from_str(data.trim())
                .map_err(|e| format!("GET {events}: {e}: {data}"))?;
            match view["state"].as_str() {
                Some("succeeded") => return Ok(()),
                Some(state @ ("failed" | "dead")) => {
                    return Err(format!("the job {state}: {}", view["error"]));
                }
                _ => {}
            }
        }
    }
    Err(format!(
        "GET {events}: the stream ended before a final state"
    ))
}
