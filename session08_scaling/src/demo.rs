//! The demo that `cargo run -p session08_scaling` runs: the autoscaler at work under a
//! burst, in a minute and a half.
//!
//! A Redis, the autoscaler with one worker (at most four), and the course's behaviour
//! block at 4x speed. A burst of slow tasks arrives; the queue's lag asks for more
//! workers; the scale-up window and policy let them come two at a time, up to the cap.
//! When the burst is done, the scale-down window waits, then the policy halves the
//! workers, and halves them again, down to one. The demo prints who ran how many tasks,
//! the timeline, and how long each way took, and checks that nothing was lost: every task
//! succeeded exactly once, no lease ran out, no task was retried, even though workers
//! were stopped while the queue was busy.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;
use session03_workers::Queue as _;
use session03_workers::logging::LogFormat;
use session04_redis::RedisServer;
use session05_distributed::WorkerView;

use crate::autoscale::{Autoscale, AutoscaleArgs, Ended, count_workers};
use crate::hpa::{Decision, Rules};
use crate::loadgen::{self, LoadPlan, LoadReport};
use crate::timeline::{self, TimelineRow};

/// Runs the autoscaler under a burst.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Where the timeline's CSV file and plot are written.
    #[arg(
        long,
        value_name = "DIR",
        env = "OUTPUT_DIR",
        default_value = "output/session08"
    )]
    pub output_dir: PathBuf,
    /// Use this Redis instead of starting one.
    #[arg(long, value_name = "URL", env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Log lines as text for people or JSON for machines.
    #[arg(long, value_enum, env = "LOG_FORMAT", default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// Print only the result as JSON (the timeline and the load's report).
    #[arg(long)]
    pub json: bool,
}

/// The fewest workers.
pub const MIN: u32 = 1;
/// The most workers.
pub const MAX: u32 = 4;
/// How many times faster than the course's behaviour block the demo runs.
pub const SPEED: u32 = 4;
/// Tasks in the burst: enough to keep the lag high until the fourth worker has started.
pub const TASKS: usize = 160;
/// Seconds each worker pauses before each task, so that one worker is too slow.
pub const WORKER_DELAY: f64 = 1.0;
/// Tasks each worker runs at once.
pub const WORKER_CONCURRENCY: usize = 2;
/// The longest the demo may take from the burst to one worker again.
pub const LIMIT: Duration = Duration::from_secs(150);

/// What the demo found, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    /// The fewest workers.
    pub min: u32,
    /// The most workers.
    pub max: u32,
    /// How many times faster than real time the behaviour block ran.
    pub speed: u32,
    /// Seconds from the start to the decision that reached the cap.
    pub seconds_to_cap: f64,
    /// Seconds from the start to the burst's last result.
    pub load_ended_at: f64,
    /// Seconds from the burst's last result to the decision that left one worker.
    pub seconds_back_to_min: f64,
    /// Workers that died and were replaced.
    pub replaced: u32,
    /// One row per sync period.
    pub timeline: Vec<TimelineRow>,
    /// The burst: counts and latencies.
    pub load: LoadReport,
}

/// Runs the demo with workers run as `program worker ...`.
pub async fn run(args: DemoArgs, program: &Path) -> Result<String> {
    let say = |text: &str| {
        if !args.json {
            println!("{text}");
        }
    };
    let (server, url) = match &args.redis_url {
        Some(url) => (None, url.clone()),
        None => {
            let server = RedisServer::start_async().await?;
            say(&format!("started redis-server on port {}", server.port()));
            let url = server.url();
            (Some(server), url)
        }
    };
    let mut settings = AutoscaleArgs::for_url(&url);
    settings.queue.namespace = format!("demo8-{}", std::process::id());
    settings.min = MIN;
    settings.max = MAX;
    settings.speed = f64::from(SPEED);
    settings.heartbeat.interval = 0.5;
    settings.heartbeat.ttl = 2.0;
    settings.worker_delay = WORKER_DELAY;
    settings.worker_concurrency = Some(WORKER_CONCURRENCY);
    settings.log_format = args.log_format;
    // The queue and the burst's plan before any worker starts: their errors leave nothing
    // to drain.
    let (queue, blobs) = settings.queue.open().await?;
    let mut plan = LoadPlan::burst(TASKS, Duration::from_secs(30))?;
    plan.wait = Some(LIMIT);

    let mut autoscale = Autoscale::start(&settings, program).await?;
    let behavior = &autoscale.settings().spec.behavior;
    say(&format!(
        "the course's behaviour block at {SPEED}x speed: up after {}, at most doubling every \
         {}; down after {}, at most halving every {}; a decision every {:.2} s",
        window(&behavior.scale_up),
        period(&behavior.scale_up),
        window(&behavior.scale_down),
        period(&behavior.scale_down),
        autoscale.settings().sync_period.as_secs_f64()
    ));
    say(&format!(
        "a burst of {TASKS} tasks, each worker running {WORKER_CONCURRENCY} at a time, \
         {WORKER_DELAY} s each at least; {MIN} to {MAX} workers"
    ));

    // The autoscaler's clock: the timeline's seconds.
    let origin = Instant::now() - autoscale.elapsed();
    let load_ended = OnceLock::new();
    // The burst and the watch race: the watch's end ends the demo (a burst still going is
    // dropped), and a burst that fails ends it at once.
    let raced = async {
        let load = async {
            let report = loadgen::generate(&queue, &blobs, &plan).await;
            let _ = load_ended.set(origin.elapsed().as_secs_f64());
            report
        };
        let watch = autoscale.run_until(Some(LIMIT), |a| {
            load_ended.get().is_some()
                && reached(a.decisions(), MAX).is_some()
                && a.supervisor().serving() == MIN
        });
        tokio::pin!(load, watch);
        let mut report = None;
        loop {
            tokio::select! {
                sent = &mut load, if report.is_none() => report = Some(sent?),
                ended = &mut watch => return anyhow::Ok((report, ended?)),
            }
        }
    }
    .await;
    // Whatever happened, every worker is drained before an error is reported.
    autoscale.shutdown().await;
    let (load, ended) = raced?;

    let rows: Vec<TimelineRow> = autoscale.timeline().iter().copied().collect();
    let table = timeline::table(&rows);
    anyhow::ensure!(
        ended == Ended::Done,
        "within {} s the workers did not grow to {MAX} and come back to {MIN} after the \
         burst ({ended:?}):\n{table}",
        LIMIT.as_secs()
    );
    let load = load.context("the burst had not ended when the watch did")?;
    let load_ended_at = load_ended.get().copied().unwrap_or_default();
    let to_cap = reached(autoscale.decisions(), MAX).unwrap_or_default();
    let back = autoscale
        .decisions()
        .iter()
        .find(|d| d.at.as_secs_f64() >= load_ended_at && d.desired == MIN)
        .map_or(0.0, |d| d.at.as_secs_f64() - load_ended_at);

    // Nothing lost: each task succeeded once, no lease ran out, nothing was retried.
    let stats = queue.stats().await?;
    let ours: Vec<WorkerView> = autoscale
        .registry()
        .list()
        .await?
        .into_iter()
        .filter(|w| w.info.id.starts_with("auto-"))
        .collect();
    // Numbers read from Redis: a sum that cannot overflow.
    let processed = ours
        .iter()
        .map(|w| w.beat.processed)
        .fold(0, u64::saturating_add);
    let tasks = TASKS as u64;
    anyhow::ensure!(
        load.submitted == tasks && load.succeeded == tasks && stats.succeeded == tasks,
        "of {TASKS} tasks, {} were sent and {} succeeded ({} by the queue's count)",
        load.submitted,
        load.succeeded,
        stats.succeeded
    );
    anyhow::ensure!(
        stats.retried == 0 && stats.expired_leases == 0 && stats.dead == 0,
        "draining lost work: {} retried, {} leases ran out, {} dead",
        stats.retried,
        stats.expired_leases,
        stats.dead
    );
    anyhow::ensure!(
        processed == tasks,
        "the workers ran {processed} tasks for {TASKS}: some ran twice or were not counted"
    );

    let csv = args.output_dir.join("timeline.csv");
    let png = args.output_dir.join("timeline.png");
    timeline::write_csv(&csv, &rows)?;
    timeline::draw_png(&png, &rows)?;
    if server.is_none() {
        // Someone else's Redis: the demo's keys go away within a day.
        queue
            .expire_namespace(Duration::from_secs(24 * 3600))
            .await?;
    }
    let report = DemoReport {
        min: MIN,
        max: MAX,
        speed: SPEED,
        seconds_to_cap: to_cap,
        load_ended_at,
        seconds_back_to_min: back,
        replaced: autoscale.supervisor().replaced(),
        timeline: rows,
        load,
    };
    if args.json {
        return Ok(format!("{}\n", serde_json::to_string(&report)?));
    }

    let mut out = String::new();
    writeln!(out, "\nwho ran the burst (each worker's last heartbeat):")?;
    writeln!(out, "{}", share(&ours, tasks))?;
    writeln!(out, "the timeline, one row per decision:")?;
    writeln!(out, "{table}")?;
    writeln!(
        out,
        "reached the cap of {MAX} after {to_cap:.1} s; the burst ended at {load_ended_at:.1} s \
         (latency p50 {} ms, p99 {} ms)",
        report.load.latency_ms.map_or(0, |l| l.p50),
        report.load.latency_ms.map_or(0, |l| l.p99)
    )?;
    writeln!(
        out,
        "back to {} {back:.1} s after the load ended",
        count_workers(MIN)
    )?;
    writeln!(
        out,
        "every task succeeded once: no lease ran out, no task was retried, {} replaced",
        report.replaced
    )?;
    writeln!(out, "wrote {} and {}", csv.display(), png.display())?;
    Ok(out)
}

/// When a decision first asked for `count` workers, in seconds.
fn reached(decisions: &VecDeque<Decision>, count: u32) -> Option<f64> {
    decisions
        .iter()
        .find(|d| d.desired == count)
        .map(|d| d.at.as_secs_f64())
}

/// A rule's window, as `7.5 s`.
fn window(rules: &Rules) -> String {
    format!("{} s", rules.stabilization_window.as_secs_f64())
}

/// A rule's (first) policy period, as `15 s`.
fn period(rules: &Rules) -> String {
    rules.policies.first().map_or_else(
        || "never".to_owned(),
        |p| format!("{} s", p.period.as_secs_f64()),
    )
}

/// How many tasks each worker ran: the load balancing.
fn share(workers: &[WorkerView], total: u64) -> String {
    let mut workers: Vec<&WorkerView> = workers.iter().collect();
    workers.sort_by_key(|w| w.info.started_at);
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_header(["worker", "tasks", "share", "state"]);
    for worker in workers {
        let share = 100.0 * worker.beat.processed as f64 / total.max(1) as f64;
        table.add_row([
            worker.info.id.clone(),
            worker.beat.processed.to_string(),
            format!("{share:.0} %"),
            worker.state.name().to_owned(),
        ]);
    }
    table.to_string()
}
