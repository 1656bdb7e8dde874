//! The demo that `cargo run -p session02_pipelines` runs, which is also the `compare`
//! command: the same batch with every strategy, and a table of wall time, speed-up and CPU
//! use.

use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;
use session01_image_basics::Limits;
use session01_image_basics::cli::table;

use crate::batch::{self, Strategy};
use crate::cli::{BatchArgs, DEFAULT_PIPELINE};

/// One strategy's row of `compare`.
#[derive(Debug, Serialize)]
struct CompareRow {
    strategy: &'static str,
    workers: usize,
    images: usize,
    failed: usize,
    wall_seconds: f64,
    speed_up: f64,
    cpus_busy: f64,
    megapixels_per_second: f64,
}

/// Runs the demo: `compare` with its defaults on the bundled photos.
pub fn run(limits: &Limits) -> Result<String> {
    let args = BatchArgs {
        input: Vec::new(),
        pipeline: DEFAULT_PIPELINE.to_owned(),
        workers: None,
        output_dir: PathBuf::from("output/session02"),
    };
    compare(&args, 3, false, limits)
}

/// Runs the batch `repeat` times over with each strategy in turn; the report is a table,
/// or JSON.
pub fn compare(args: &BatchArgs, repeat: usize, json: bool, limits: &Limits) -> Result<String> {
    let (inputs, spec, mut options) = args.prepare(Strategy::Sequential, limits)?;
    let inputs: Vec<PathBuf> = inputs
        .iter()
        .cycle()
        .take(inputs.len() * repeat.max(1))
        .cloned()
        .collect();
    let mut rows = Vec::new();
    let mut baseline = None;
    for strategy in Strategy::ALL {
        options.strategy = strategy;
        let summary = batch::run(&inputs, &spec, &options)?;
        let wall = summary.wall.as_secs_f64();
        let base = *baseline.get_or_insert(wall);
        rows.push(CompareRow {
            strategy: strategy.name(),
            workers: summary.workers,
            images: summary.items.len(),
            failed: summary.failures(),
            wall_seconds: wall,
            speed_up: base / wall.max(1e-9),
            cpus_busy: summary.cpus_busy(),
            megapixels_per_second: summary.megapixels_per_second(),
        });
    }
    if json {
        let report = serde_json::json!({
            "pipeline": spec.to_string(),
            "images": inputs.len(),
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
        ]);
    }
    Ok(format!(
        "The pipeline {spec} over {} images, with each strategy\n{table}\n",
        inputs.len()
    ))
}
