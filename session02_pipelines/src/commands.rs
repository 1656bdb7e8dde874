//! What the commands besides the demo and the benchmark do: apply a pipeline to one image,
//! run one batch, and serve as the worker process of the `processes` strategy. Each returns
//! its report, for [`finish`](session01_image_basics::cli::finish) to print.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use session01_image_basics::{Filter, Limits, load_with, save};

use crate::batch::{self, Strategy, Summary};
use crate::cli::{BatchArgs, ProcessWorkerArgs};
use crate::spec::PipelineSpec;

/// Applies `pipeline` to `input` and writes the result to `output` (`apply`).
pub fn apply(input: &Path, pipeline: &str, output: &Path, limits: &Limits) -> Result<String> {
    let pipeline = PipelineSpec::parse_and_build(pipeline)?;
    let image = load_with(input, limits)?;
    let result = pipeline.apply(&image)?;
    save(&result, output)?;
    let passes = pipeline.passes();
    Ok(format!(
        "{} -> {} ({}x{}, {passes} pass{} over the pixels)\n",
        pipeline.spec(),
        output.display(),
        result.width(),
        result.height(),
        if passes == 1 { "" } else { "es" }
    ))
}

/// Runs one batch with `strategy` over the inputs `repeat` times over (`batch`); the
/// report names the skipped images, or is the summary as JSON.
pub fn batch(
    args: &BatchArgs,
    strategy: Strategy,
    repeat: usize,
    json: bool,
    limits: &Limits,
) -> Result<String> {
    let (inputs, spec, options) = args.prepare(strategy, limits)?;
    let inputs: Vec<PathBuf> = inputs
        .iter()
        .cycle()
        .take(inputs.len() * repeat)
        .cloned()
        .collect();
    let summary = batch::run(&inputs, &spec, &options)?;
    if json {
        return Ok(serde_json::to_string(&summary)? + "\n");
    }
    Ok(batch_report(&summary, &options.output_dir))
}

fn batch_report(summary: &Summary, output_dir: &Path) -> String {
    let mut out = String::new();
    for item in summary.items.iter().filter(|i| i.error.is_some()) {
        out += &format!(
            "skipped {}: {}\n",
            item.input.display(),
            item.error.as_deref().unwrap_or_default()
        );
    }
    out += &format!(
        "{} images ({} failed) with {} x{} in {:.2} s: {:.1} megapixels/s, {:.1} CPUs busy; outputs in {}\n",
        summary.items.len(),
        summary.failures(),
        summary.strategy.name(),
        summary.workers,
        summary.wall.as_secs_f64(),
        summary.megapixels_per_second(),
        summary.cpus_busy(),
        output_dir.display()
    );
    out
}

/// The worker side of the `processes` strategy (`process-worker`), within `limits` but
/// for the pixel limit its parent gives: its results go to stdout as they come, so the
/// report is empty.
pub fn process_worker(args: &ProcessWorkerArgs, limits: &Limits) -> Result<String> {
    let spec = PipelineSpec::parse_any(&args.pipeline)?;
    let limits = Limits {
        max_pixels: args.max_pixels,
        ..*limits
    };
    let read_delay = Duration::from_millis(args.read_delay_ms);
    batch::process_worker(&spec, &args.output_dir, &limits, read_delay)?;
    Ok(String::new())
}
