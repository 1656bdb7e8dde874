//! The `full-test` demo (the original course's third): empty the queue, send ten varied
//! tasks, wait for them, check that every result file exists and decodes, and print how
//! many tasks each worker ran and the wall time. The original course's three workers took
//! 0.51 s for its ten tasks.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use session03_workers::cli::seconds;
use session04_redis::cli::QueueArgs;
use session04_redis::submit::prepare_output;

use crate::batch::{self, FoldersArgs, Planned};

/// Purges the queue, runs ten varied tasks and checks every result.
#[derive(Debug, Clone, clap::Args)]
pub struct FullTestArgs {
    /// The queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// Input and output folders, and how long to wait.
    #[command(flatten)]
    pub folders: FoldersArgs,
    /// How many tasks to send.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub tasks: usize,
    /// The report as JSON.
    #[arg(long)]
    pub json: bool,
}

// ANCHOR: pipelines
/// The pipelines the tasks cycle through: single filters and chains.
pub const PIPELINES: [(&str, &str); 5] = [
    ("blur", "blur:sigma=2"),
    ("edges", "resize:width=640|edges"),
    ("bright", "brightness:factor=1.3|sharpen:amount=1"),
    ("thumb", "resize:width=320"),
    ("sharp", "sharpen:amount=2"),
];
// ANCHOR_END: pipelines

/// What the full test found.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Tasks sent.
    pub tasks: usize,
    /// Tasks that succeeded with a result file that decodes.
    pub verified: usize,
    /// What went wrong, per task.
    pub problems: Vec<String>,
    /// Tasks per worker.
    pub per_worker: BTreeMap<String, usize>,
    /// From sending the first task to the last result, in seconds.
    pub wall_seconds: f64,
}

// ANCHOR: run
/// Runs the test; fails unless every task succeeded and its file decodes.
pub async fn run(args: FullTestArgs) -> Result<String> {
    anyhow::ensure!(args.tasks > 0, "--tasks must be at least 1");
    let timeout = seconds("timeout", args.folders.timeout)?;
    prepare_output(&args.folders.output)?;
    let photos = batch::photos(args.folders.input.as_deref(), &Default::default())?;
    let planned: Vec<Planned> = (0..args.tasks)
        .map(|i| {
            let (name, pipeline) = PIPELINES[i % PIPELINES.len()];
            Planned {
                name: format!("{:02}-{name}", i + 1),
                pipeline: pipeline.to_owned(),
                input: photos[i % photos.len()].clone(),
            }
        })
        .collect();
    let (queue, blobs) = batch::open(&args.queue, timeout).await?;
    let purged = queue.purge().await?;
    let started = Instant::now();
    let finished = batch::run(&queue, &blobs, &planned, &args.folders.output, timeout).await?;
    let wall_seconds = started.elapsed().as_secs_f64();
    let mut report = Report {
        tasks: finished.len(),
        verified: 0,
        problems: Vec::new(),
        per_worker: BTreeMap::new(),
        wall_seconds,
    };
    for task in &finished {
        let worker = task.consumer.as_deref().unwrap_or("-");
        *report.per_worker.entry(worker.to_owned()).or_default() += 1;
        match &task.file {
            None => report
                .problems
                .push(format!("{}: {}", task.name, task.record.state)),
            Some(file) => match image::open(file) {
                Ok(_) => report.verified += 1,
                Err(error) => report.problems.push(format!(
                    "{}: {} does not decode: {error}",
                    task.name,
                    file.display()
                )),
            },
        }
    }
    // ANCHOR_END: run
    let text = if args.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        render(&report, purged)?
    };
    anyhow::ensure!(report.problems.is_empty(), "the full test failed:\n{text}");
    Ok(text)
}

fn render(report: &Report, purged: u64) -> Result<String> {
    let mut out = String::new();
    writeln!(out, "purged {purged} keys; sent {} tasks", report.tasks)?;
    for (worker, tasks) in &report.per_worker {
        writeln!(out, "  {worker}: {tasks} tasks")?;
    }
    for problem in &report.problems {
        writeln!(out, "  problem: {problem}")?;
    }
    writeln!(
        out,
        "{} of {} results verified in {:.2}s (the original course: 10 tasks in 0.51s on 3 workers)",
        report.verified, report.tasks, report.wall_seconds
    )?;
    Ok(out)
}
