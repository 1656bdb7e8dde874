//! The `loadgen` command: a bounded load on the queue, and how long its tasks waited.
//!
//! A load is a number of image tasks (a mix of pipelines on the sample photos) sent in
//! batches by a few concurrent submitters, each a tokio task with a Redis connection of
//! its own, like as many clients. Every load is bounded twice, by a number of tasks and
//! by a duration, and stops by itself at whichever comes first.
//!
//! | mode | batches of | pace | bounds by default |
//! |---|---|---|---|
//! | `burst` | `--batch` (10) | as fast as the submitters go | 100 tasks, 60 s |
//! | `rate` | `--batch` (1) | `--rate` tasks a second (5) | 100 tasks, 60 s |
//! | `stress-burst` | 20 | 20 tasks a second | `--minutes` 1 |
//! | `stress-sustained` | 15 | 5 tasks a second | `--minutes` 2 |
//!
//! The stress modes are the original course's `stress_test` script: batches of 20 for five
//! minutes, and batches of 15 for ten, run here for a fifth of those minutes.
//!
//! A paced load follows a schedule: batch `k` is due `k x batch / rate` seconds after the
//! start, so a submitter that falls behind catches up instead of drifting. A full queue
//! refuses a task: it is counted as rejected, and the load goes on.
//!
//! With `--wait`, each task is followed to its final state, and its latency (from entering
//! the queue to its result, both times by Redis' clock) goes into an HDR histogram.
//!
//! | file | what it holds |
//! |---|---|
//! | `loadgen.rs` | the flags, and the report: counts, latency percentiles, the CSV file |
//! | `loadgen/plan.rs` | [`LoadPlan`]: a load's bounds and pace, checked |
//! | `loadgen/send.rs` | [`generate`]: the submitters, each batch sent when it is due |
//! | `loadgen/follow.rs` | each task followed to its end, with `--wait` |

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use hdrhistogram::Histogram;
use serde::Serialize;
use session01_image_basics::Limits;
use session03_workers::cli::seconds;
use session04_redis::cli::QueueArgs;
use session06_docker::batch;

mod follow;
mod plan;
mod send;

use follow::Followed;
pub(crate) use follow::settle;
pub use plan::LoadPlan;
use plan::MAX_TASKS;
pub use send::generate;

/// How a load is paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Batches as fast as the submitters go.
    Burst,
    /// `--rate` tasks a second.
    Rate,
    /// The original course's burst: batches of 20, 20 tasks a second.
    StressBurst,
    /// The original course's sustained load: batches of 15, 5 tasks a second.
    StressSustained,
}

/// One of the original course's stress modes, shortened to lab minutes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stress {
    /// Tasks per batch, as in the original.
    pub batch: usize,
    /// Tasks a second, unless `--rate` says otherwise.
    pub rate: f64,
    /// How long the original ran.
    pub original_minutes: f64,
    /// How long it runs here unless `--minutes` says otherwise: a fifth.
    pub minutes: f64,
}

/// `stress-burst`: batches of 20 for 5 minutes in the original; 1 minute here.
pub const STRESS_BURST: Stress = Stress {
    batch: 20,
    rate: 20.0,
    original_minutes: 5.0,
    minutes: 1.0,
};

/// `stress-sustained`: batches of 15 for 10 minutes in the original; 2 minutes here.
pub const STRESS_SUSTAINED: Stress = Stress {
    batch: 15,
    rate: 5.0,
    original_minutes: 10.0,
    minutes: 2.0,
};

impl Mode {
    /// Its name, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Burst => "burst",
            Mode::Rate => "rate",
            Mode::StressBurst => "stress-burst",
            Mode::StressSustained => "stress-sustained",
        }
    }

    /// The stress settings of a stress mode.
    pub fn stress(self) -> Option<Stress> {
        match self {
            Mode::Burst | Mode::Rate => None,
            Mode::StressBurst => Some(STRESS_BURST),
            Mode::StressSustained => Some(STRESS_SUSTAINED),
        }
    }
}

/// The pipelines a load mixes when none is given: the original course's five filters,
/// one after the other (session 06's `send`).
pub fn default_pipelines() -> Vec<String> {
    session06_docker::send::FILTERS
        .iter()
        .map(|(_, pipeline)| (*pipeline).to_owned())
        .collect()
}

/// How long a submitter may take to connect to a Redis that already answered.
const CONNECT: Duration = Duration::from_secs(10);

/// Submits a bounded load.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadgenArgs {
    /// The queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// How the load is paced.
    #[arg(long, value_enum, default_value_t = Mode::Burst)]
    pub mode: Mode,
    /// The most tasks to send [default: 100; stress modes: what the pace sends in the time].
    #[arg(long, value_name = "N")]
    pub tasks: Option<usize>,
    /// Tasks a second, for the paced modes [default: rate 5, stress-burst 20,
    /// stress-sustained 5].
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// The most seconds to send for [default: 60; stress modes: --minutes].
    #[arg(long, value_name = "SECONDS", conflicts_with = "minutes")]
    pub duration: Option<f64>,
    /// Minutes a stress mode sends for [default: stress-burst 1, stress-sustained 2, a
    /// fifth of the original course's 5 and 10].
    #[arg(long, value_name = "MINUTES")]
    pub minutes: Option<f64>,
    /// Submitters sending at the same time, each with a connection of its own.
    #[arg(long, value_name = "C", default_value_t = 4)]
    pub concurrency: usize,
    /// Tasks per batch, for burst and rate [default: burst 10, rate 1].
    #[arg(long, value_name = "B")]
    pub batch: Option<usize>,
    /// A pipeline of the mix, as text or JSON; repeat the flag for several, used in turn
    /// [default: the original course's five filters].
    #[arg(long = "pipeline", value_name = "SPEC")]
    pub pipelines: Vec<String>,
    /// The folder of photos the tasks use, in turn [default: the bundled photos].
    #[arg(long, value_name = "DIR")]
    pub input: Option<PathBuf>,
    /// Follow each task to its result and report the latency percentiles.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: seconds to wait for the results after the last task is sent.
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0)]
    pub timeout: f64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write one row per task (pipeline, outcome, latency_ms) to this CSV file.
    #[arg(long, value_name = "PATH")]
    pub csv: Option<PathBuf>,
}

impl LoadgenArgs {
    /// The plan the flags describe, checked, without Redis: a bad pipeline or bound is
    /// refused before anything is sent.
    pub fn plan(&self) -> Result<LoadPlan> {
        let stress = self.mode.stress();
        if self.mode == Mode::Burst && self.rate.is_some() {
            bail!("--rate paces the rate and stress modes; a burst sends as fast as it can");
        }
        if stress.is_some() && self.batch.is_some() {
            bail!("the stress modes send the original course's batches (20 and 15): no --batch");
        }
        if stress.is_none() && self.minutes.is_some() {
            bail!("--minutes is for the stress modes; use --duration SECONDS");
        }
        let duration = match (self.duration, self.minutes, stress) {
            (Some(duration), _, _) => seconds("duration", duration)?,
            (None, Some(minutes), _) => {
                anyhow::ensure!(
                    minutes.is_finite() && minutes > 0.0 && minutes <= 24.0 * 60.0,
                    "--minutes must be more than 0 and at most 1440, got {minutes}"
                );
                Duration::from_secs_f64(minutes * 60.0)
            }
            (None, None, Some(stress)) => Duration::from_secs_f64(stress.minutes * 60.0),
            (None, None, None) => Duration::from_secs(60),
        };
        let rate = match (self.mode, stress) {
            (Mode::Burst, _) => None,
            (_, Some(stress)) => Some(self.rate.unwrap_or(stress.rate)),
            _ => Some(self.rate.unwrap_or(5.0)),
        };
        let batch = match (self.mode, stress) {
            (_, Some(stress)) => stress.batch,
            (Mode::Rate, None) => self.batch.unwrap_or(1),
            _ => self.batch.unwrap_or(10),
        };
        let tasks = match (self.tasks, stress, rate) {
            (Some(tasks), _, _) => tasks,
            // What the pace sends in the time, within the bound `check` enforces.
            (None, Some(_), Some(rate)) => {
                ((rate * duration.as_secs_f64()).ceil() as usize).clamp(1, MAX_TASKS)
            }
            _ => 100,
        };
        let pipelines = if self.pipelines.is_empty() {
            default_pipelines()
        } else {
            self.pipelines.clone()
        };
        let wait = if self.wait {
            Some(seconds("timeout", self.timeout)?)
        } else {
            None
        };
        let plan = LoadPlan {
            mode: self.mode,
            tasks,
            duration,
            rate,
            batch,
            concurrency: self.concurrency,
            pipelines,
            inputs: Vec::new(),
            wait,
        };
        // The pipelines and bounds first: cheaper than reading the photos.
        plan.check()?;
        let inputs = batch::photos(self.input.as_deref(), &Limits::default())?;
        Ok(LoadPlan { inputs, ..plan })
    }
}

/// What became of one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// In the queue; not followed (no `--wait`).
    Submitted,
    /// Refused by a full queue.
    Rejected,
    /// Its result is there.
    Succeeded,
    /// It failed (a bad image, say), or its attempts ran out (dead).
    Failed,
    /// Not final when the wait ended.
    TimedOut,
    /// Its record is gone (purged or expired) before it was seen final.
    Lost,
}

impl Outcome {
    /// Its name, as in the CSV file.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Submitted => "submitted",
            Outcome::Rejected => "rejected",
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::TimedOut => "timed_out",
            Outcome::Lost => "lost",
        }
    }
}

/// One task of a load: its pipeline, what became of it, and its latency when known.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskOutcome {
    /// The task's number in the load, from 0.
    pub index: usize,
    /// Its pipeline: its place in the load's list, the order of
    /// [`LoadReport::by_pipeline`].
    pub pipeline: usize,
    /// What became of it.
    pub outcome: Outcome,
    /// From entering the queue to its final state, in milliseconds (with `--wait`).
    pub latency_ms: Option<u64>,
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Latency {
    /// How many tasks they are over.
    pub count: u64,
    /// The median.
    pub p50: u64,
    /// 90 % of the tasks took at most this.
    pub p90: u64,
    /// 99 % of the tasks took at most this.
    pub p99: u64,
    /// The slowest.
    pub max: u64,
}

/// The counts and latencies of the tasks of one pipeline, or of all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineReport {
    /// The pipeline, as given.
    pub pipeline: String,
    /// Tasks the queue took.
    pub submitted: u64,
    /// Tasks a full queue refused.
    pub rejected: u64,
    /// Tasks whose result is there.
    pub succeeded: u64,
    /// Tasks that failed or whose record is gone.
    pub failed: u64,
    /// Tasks not final when the wait ended.
    pub timed_out: u64,
    /// The latency of the tasks followed to their end; `None` without `--wait`.
    pub latency_ms: Option<Latency>,
}

/// What a load did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadReport {
    /// How it was paced.
    pub mode: Mode,
    /// Tasks a second, when paced.
    pub rate: Option<f64>,
    /// The bound on the number of tasks.
    pub planned: usize,
    /// Whether the tasks were followed to their end (`--wait`).
    pub waited: bool,
    /// Tasks the queue took.
    pub submitted: u64,
    /// Tasks a full queue refused.
    pub rejected: u64,
    /// Tasks whose result is there (with `--wait`).
    pub succeeded: u64,
    /// Tasks that failed, or whose record is gone (with `--wait`).
    pub failed: u64,
    /// Tasks not final when the wait ended (with `--wait`).
    pub timed_out: u64,
    /// From the start to the last task sent.
    pub submit_seconds: f64,
    /// From the start to the end of the wait (the last send, without `--wait`).
    pub elapsed_seconds: f64,
    /// The percentiles over every task followed to its end; `None` without `--wait`.
    pub latency_ms: Option<Latency>,
    /// The same, pipeline by pipeline.
    pub by_pipeline: Vec<PipelineReport>,
    /// Every task sent or refused, in order (in the CSV file, not in the JSON).
    #[serde(skip)]
    pub tasks: Vec<TaskOutcome>,
}

/// The longest latency the histogram tells apart: a day, in milliseconds.
const MAX_LATENCY_MS: u64 = 24 * 3600 * 1000;

// ANCHOR: latency
/// The percentiles of `latencies` (milliseconds); `None` when there are none.
pub fn percentiles(latencies: impl IntoIterator<Item = u64>) -> Option<Latency> {
    // Three significant digits: 1 234 ms is kept as 1 234, 123 456 ms as 123 400 or so.
    let mut histogram = Histogram::<u64>::new_with_bounds(1, MAX_LATENCY_MS, 3)
        .expect("1 ms to a day at 3 digits is a valid histogram");
    for ms in latencies {
        // Below 1 ms counts as 1 ms; beyond a day, as a day.
        histogram.saturating_record(ms.clamp(1, MAX_LATENCY_MS));
    }
    if histogram.is_empty() {
        return None;
    }
    Some(Latency {
        count: histogram.len(),
        p50: histogram.value_at_quantile(0.50),
        p90: histogram.value_at_quantile(0.90),
        p99: histogram.value_at_quantile(0.99),
        max: histogram.max(),
    })
}
// ANCHOR_END: latency

/// Counts and percentiles, in all and pipeline by pipeline.
fn report(plan: &LoadPlan, followed: Followed) -> LoadReport {
    let waited = plan.wait.is_some();
    let summary = |name: &str, tasks: &[&TaskOutcome]| {
        let count = |outcomes: &[Outcome]| {
            tasks
                .iter()
                .filter(|task| outcomes.contains(&task.outcome))
                .count() as u64
        };
        PipelineReport {
            pipeline: name.to_owned(),
            submitted: tasks.len() as u64 - count(&[Outcome::Rejected]),
            rejected: count(&[Outcome::Rejected]),
            succeeded: count(&[Outcome::Succeeded]),
            failed: count(&[Outcome::Failed, Outcome::Lost]),
            timed_out: count(&[Outcome::TimedOut]),
            latency_ms: if waited {
                percentiles(tasks.iter().filter_map(|task| task.latency_ms))
            } else {
                None
            },
        }
    };
    let all: Vec<&TaskOutcome> = followed.tasks.iter().collect();
    let total = summary("all", &all);
    let by_pipeline = plan
        .pipelines
        .iter()
        .enumerate()
        .map(|(number, pipeline)| {
            let mine: Vec<&TaskOutcome> = all
                .iter()
                .copied()
                .filter(|task| task.pipeline == number)
                .collect();
            summary(pipeline, &mine)
        })
        .collect();
    LoadReport {
        mode: plan.mode,
        rate: plan.rate,
        planned: plan.tasks,
        waited,
        submitted: total.submitted,
        rejected: total.rejected,
        succeeded: total.succeeded,
        failed: total.failed,
        timed_out: total.timed_out,
        submit_seconds: followed.submit_seconds,
        elapsed_seconds: followed.elapsed_seconds,
        latency_ms: total.latency_ms,
        by_pipeline,
        tasks: followed.tasks,
    }
}

/// Writes one row per task of `report`: `pipeline,outcome,latency_ms` (empty when not
/// known).
pub fn write_csv(path: &Path, report: &LoadReport) -> Result<()> {
    let mut text = String::from("pipeline,outcome,latency_ms\n");
    for task in &report.tasks {
        let pipeline = report
            .by_pipeline
            .get(task.pipeline)
            .map_or("", |p| p.pipeline.as_str());
        let latency = task.latency_ms.map_or(String::new(), |ms| ms.to_string());
        writeln!(
            text,
            "{},{},{latency}",
            csv_field(pipeline),
            task.outcome.name()
        )?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// A CSV field: quoted, its quotes doubled, when it holds a comma, a quote or a line break
/// (a pipeline given as JSON does).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// The report for people: a line on the sending, and a table by pipeline.
pub fn human(report: &LoadReport) -> String {
    let mut out = String::new();
    let pace = match report.rate {
        Some(rate) => format!("{rate} tasks/s"),
        None => "as fast as it could".to_owned(),
    };
    let _ = writeln!(
        out,
        "{}: {} of at most {} tasks sent in {:.2} s ({pace}), {} refused by a full queue",
        report.mode.name(),
        report.submitted,
        report.planned,
        report.submit_seconds,
        report.rejected
    );
    let waited = report.waited;
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    if waited {
        table.set_header([
            "pipeline",
            "sent",
            "refused",
            "succeeded",
            "failed",
            "timed out",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
        ]);
    } else {
        table.set_header(["pipeline", "sent", "refused"]);
    }
    let total = PipelineReport {
        pipeline: "all".to_owned(),
        submitted: report.submitted,
        rejected: report.rejected,
        succeeded: report.succeeded,
        failed: report.failed,
        timed_out: report.timed_out,
        latency_ms: report.latency_ms,
    };
    for row in report.by_pipeline.iter().chain([&total]) {
        let mut cells = vec![
            row.pipeline.clone(),
            row.submitted.to_string(),
            row.rejected.to_string(),
        ];
        if waited {
            cells.extend([
                row.succeeded.to_string(),
                row.failed.to_string(),
                row.timed_out.to_string(),
            ]);
            match row.latency_ms {
                Some(l) => cells.extend([l.p50, l.p90, l.p99, l.max].map(|ms| ms.to_string())),
                None => cells.extend(["-"; 4].map(str::to_owned)),
            }
        }
        table.add_row(cells);
    }
    let _ = writeln!(out, "{table}");
    if waited {
        let _ = writeln!(
            out,
            "latency: from entering the queue to the result, in milliseconds (Redis' clock)"
        );
    } else {
        let _ = writeln!(
            out,
            "not followed: --wait follows each task to its result and reports the latency"
        );
    }
    out
}

/// The `loadgen` command.
pub async fn run(args: LoadgenArgs) -> Result<String> {
    let plan = args.plan()?;
    let (queue, blobs) = batch::open(&args.queue, CONNECT).await?;
    let report = generate(&queue, &blobs, &plan).await?;
    if let Some(path) = &args.csv {
        write_csv(path, &report)?;
    }
    if args.json {
        return Ok(serde_json::to_string_pretty(&report)? + "\n");
    }
    Ok(human(&report))
}

#[cfg(test)]
mod tests {
    use super::follow::Followed;
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: LoadgenArgs,
    }

    fn plan(flags: &[&str]) -> Result<LoadPlan> {
        let cli = Cli::try_parse_from(["loadgen"].iter().chain(flags))?;
        cli.args.plan()
    }

    #[test]
    fn percentiles_come_from_the_histogram() {
        assert_eq!(percentiles([]), None);
        let latency = percentiles(1..=100).unwrap();
        assert_eq!(
            (
                latency.count,
                latency.p50,
                latency.p90,
                latency.p99,
                latency.max
            ),
            (100, 50, 90, 99, 100)
        );
        // Zero milliseconds counts as one.
        assert_eq!(percentiles([0]).unwrap().max, 1);
    }

    #[test]
    fn the_stress_modes_are_the_originals_batches_in_a_fifth_of_the_time() {
        let burst = plan(&["--mode", "stress-burst"]).unwrap();
        assert_eq!((burst.batch, burst.rate), (20, Some(20.0)));
        assert_eq!(burst.duration, Duration::from_secs(60));
        assert_eq!(burst.tasks, 1200);
        let sustained = plan(&["--mode", "stress-sustained", "--minutes", "0.5"]).unwrap();
        assert_eq!((sustained.batch, sustained.rate), (15, Some(5.0)));
        assert_eq!(sustained.duration, Duration::from_secs(30));
        assert_eq!(sustained.tasks, 150);
        for stress in [STRESS_BURST, STRESS_SUSTAINED] {
            assert_eq!(stress.minutes * 5.0, stress.original_minutes);
        }
    }

    #[test]
    fn bad_flags_are_refused_with_the_rule_they_break() {
        let refused = |flags: &[&str], rule: &str| {
            let error = format!("{:#}", plan(flags).unwrap_err());
            assert!(error.contains(rule), "{flags:?}: {error}");
        };
        refused(&["--pipeline", "blur:sigma=oops"], "is not a pipeline");
        refused(&["--pipeline", "no-such-filter"], "no-such-filter");
        refused(&["--tasks", "0"], "--tasks must be 1 to");
        refused(&["--concurrency", "0"], "--concurrency must be 1 to");
        refused(
            &["--mode", "rate", "--rate=-1"],
            "--rate must be from 0.001 to 100000",
        );
        refused(
            &["--mode", "rate", "--rate", "NaN"],
            "--rate must be from 0.001",
        );
        refused(
            &["--mode", "rate", "--rate", "1e-300"],
            "--rate must be from 0.001",
        );
        refused(&["--rate", "3"], "a burst sends as fast as it can");
        refused(&["--mode", "stress-burst", "--batch", "3"], "no --batch");
        refused(&["--minutes", "1"], "--minutes is for the stress modes");
        refused(&["--duration=-5"], "--duration must be a positive number");
        refused(
            &["--mode", "stress-burst", "--minutes", "0"],
            "--minutes must be more than 0",
        );
        refused(
            &["--wait", "--timeout", "0"],
            "--timeout must be a positive number",
        );
    }

    #[test]
    fn csv_fields_with_commas_are_quoted() {
        assert_eq!(csv_field("blur:sigma=3"), "blur:sigma=3");
        assert_eq!(
            csv_field(r#"{"filters":[{"name":"a","b":1}]}"#),
            r#""{""filters"":[{""name"":""a"",""b"":1}]}""#
        );
    }

    #[test]
    fn the_report_counts_by_pipeline() {
        let plan = plan(&["--pipeline", "edges", "--pipeline", "invert", "--wait"]).unwrap();
        let task = |index: usize, outcome: Outcome, latency_ms: Option<u64>| TaskOutcome {
            index,
            pipeline: index % 2,
            outcome,
            latency_ms,
        };
        let followed = Followed {
            tasks: vec![
                task(0, Outcome::Succeeded, Some(10)),
                task(1, Outcome::Succeeded, Some(30)),
                task(2, Outcome::Failed, Some(20)),
                task(3, Outcome::Rejected, None),
                task(4, Outcome::TimedOut, None),
            ],
            submit_seconds: 1.0,
            elapsed_seconds: 2.0,
        };
        let report = report(&plan, followed);
        assert_eq!(
            (
                report.submitted,
                report.rejected,
                report.succeeded,
                report.failed,
                report.timed_out
            ),
            (4, 1, 2, 1, 1)
        );
        assert_eq!(report.latency_ms.unwrap().max, 30);
        let edges = &report.by_pipeline[0];
        assert_eq!(
            (edges.pipeline.as_str(), edges.submitted, edges.succeeded),
            ("edges", 3, 1)
        );
        assert_eq!(edges.latency_ms.unwrap().p50, 10);
        let text = human(&report);
        assert!(text.contains("p99 ms") && text.contains("invert"), "{text}");
    }
}
