//! The demo that `cargo run -p session02_pipelines` runs, which is also the `compare`
//! command: the same batch with every strategy, and a table of wall time, speed-up, CPU use
//! and peak memory. With `--read-delay`, each read waits first, and the same table shows a
//! batch that waits instead of one that computes.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use session01_image_basics::Limits;
use session01_image_basics::cli::table;

use crate::batch::{Strategy, Summary};
use crate::cli::{BatchArgs, DEFAULT_PIPELINE};

/// One strategy's row of `compare`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareRow {
    /// The strategy's name.
    pub strategy: &'static str,
    /// Threads or processes used.
    pub workers: usize,
    /// Images processed.
    pub images: usize,
    /// Images that failed.
    pub failed: usize,
    /// Wall-clock seconds.
    pub wall_seconds: f64,
    /// The first strategy's wall time over this one's.
    pub speed_up: f64,
    /// CPU time over wall time.
    pub cpus_busy: f64,
    /// Megapixels of input per second of wall time.
    pub megapixels_per_second: f64,
    /// `None` where the platform does not report peak memory.
    pub peak_memory_mb: Option<f64>,
}

impl CompareRow {
    /// The row of `strategy`'s batch `summary`, against the first strategy's wall time
    /// `baseline` (its own when it is the first).
    pub fn of(strategy: Strategy, summary: &Summary, baseline: f64) -> Self {
        let wall = summary.wall.as_secs_f64();
        Self {
            strategy: strategy.name(),
            workers: summary.workers,
            images: summary.items.len(),
            failed: summary.failures(),
            wall_seconds: wall,
            speed_up: baseline / wall.max(1e-9),
            cpus_busy: summary.cpus_busy(),
            megapixels_per_second: summary.megapixels_per_second(),
            peak_memory_mb: summary.peak_memory.map(|bytes| bytes as f64 / 1e6),
        }
    }
}

/// Runs one `batch --json` to its end: its summary.
fn run_apart(mut batch: Command) -> Result<Summary> {
    let output = batch
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot start a batch process")?;
    if !output.status.success() {
        bail!("a batch process failed ({})", output.status);
    }
    serde_json::from_slice(&output.stdout).context("a batch process printed no summary")
}

/// Runs the demo: `compare` with its defaults on the bundled photos.
pub fn run(limits: &Limits) -> Result<String> {
    let args = BatchArgs {
        input: Vec::new(),
        pipeline: DEFAULT_PIPELINE.to_owned(),
        workers: None,
        output_dir: PathBuf::from("output/session02"),
        read_delay: 0,
    };
    compare(&args, 3, false, limits)
}

/// Runs the batch `repeat` times over with each strategy in turn, each in a `batch` process
/// of its own so that its peak memory is its own; the report is a table, or JSON.
pub fn compare(args: &BatchArgs, repeat: usize, json: bool, limits: &Limits) -> Result<String> {
    let (inputs, spec, options) = args.prepare(Strategy::Sequential, limits)?;
    let images = inputs.len() * repeat;
    let exe = match &options.worker_exe {
        Some(exe) => exe.clone(),
        None => std::env::current_exe().context("cannot find this program to run the batches")?,
    };
    let mut rows = Vec::new();
    let mut baseline = None;
    for strategy in Strategy::ALL {
        let mut batch = Command::new(&exe);
        batch
            .arg("batch")
            .arg("--strategy")
            .arg(strategy.name())
            .arg("--json")
            .arg("--pipeline")
            .arg(spec.to_json())
            .arg("--workers")
            .arg(options.workers.to_string())
            .arg("--output-dir")
            .arg(&options.output_dir)
            .arg("--read-delay")
            .arg(args.read_delay.to_string())
            .arg("--max-megapixels")
            .arg((options.limits.max_pixels as f64 / 1e6).to_string())
            .arg("--repeat")
            .arg(repeat.to_string());
        // The inputs as given (folders stay folders): the command line stays short.
        if !args.input.is_empty() {
            batch.arg("--input").args(&args.input);
        }
        let summary = run_apart(batch)?;
        let base = *baseline.get_or_insert(summary.wall.as_secs_f64());
        rows.push(CompareRow::of(strategy, &summary, base));
    }
    if json {
        let report = serde_json::json!({
            "pipeline": spec.to_string(),
            "images": images,
            "read_delay_ms": args.read_delay,
            "rows": rows,
        });
        return Ok(serde_json::to_string_pretty(&report)? + "\n");
    }
    let mut table = table([
        "strategy",
        "workers",
        "images",
        "failed",
        "wall (s)",
        "speed-up",
        "CPUs busy",
        "megapixels/s",
        "peak memory (MB)",
    ]);
    for row in &rows {
        table.add_row([
            row.strategy.to_owned(),
            row.workers.to_string(),
            row.images.to_string(),
            row.failed.to_string(),
            format!("{:.2}", row.wall_seconds),
            format!("{:.2}x", row.speed_up),
            format!("{:.2}", row.cpus_busy),
            format!("{:.1}", row.megapixels_per_second),
            row.peak_memory_mb
                .map_or_else(|| "n/a".to_owned(), |mb| format!("{mb:.0}")),
        ]);
    }
    let waits = if args.read_delay > 0 {
        format!(", each read waiting {} ms first", args.read_delay)
    } else {
        String::new()
    };
    Ok(format!(
        "The pipeline {spec} over {images} images{waits}, with each strategy\n{table}\n"
    ))
}
