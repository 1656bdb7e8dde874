//! `session02_pipelines`: pipelines over batches of images from the command line.
//!
//! Without arguments it runs the course's comparison: the same batch of bundled photos with
//! every strategy, and a table of wall time, speed-up and CPU use. Errors go to stderr with
//! exit code 1 (2 for bad usage).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;
use session01_image_basics::{Filter, Limits, load_with, samples, save};
use session02_pipelines::batch::{self, BatchOptions, Strategy, Summary};
use session02_pipelines::{Kernels, PipelineSpec, bench, registry};

/// Filter pipelines over batches of images: the course's second session.
///
/// Without a command, compares every batch strategy on the bundled photos.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Refuse images with more pixels than this.
    #[arg(
        long,
        global = true,
        value_name = "N",
        env = "IMAGE_MAX_MEGAPIXELS",
        default_value_t = 50.0
    )]
    max_megapixels: f64,
}

/// The default pipeline of the demo and of `batch`/`compare`.
const DEFAULT_PIPELINE: &str = "resize:width=512|blur:sigma=2|edges";

// ANCHOR: cli
#[derive(Debug, Subcommand)]
enum Command {
    /// Apply a pipeline to one image.
    Apply {
        /// The image to read.
        #[arg(long, value_name = "PATH")]
        input: PathBuf,
        /// The pipeline, as text (`blur:sigma=2|edges`) or JSON.
        #[arg(long, value_name = "SPEC")]
        pipeline: String,
        /// Where to write the result (.png, .jpg or .webp).
        #[arg(long, value_name = "PATH")]
        output: PathBuf,
    },
    /// List every filter with its parameters, types, defaults and ranges.
    ListFilters {
        /// As JSON, for programs.
        #[arg(long)]
        json: bool,
    },
    /// Apply a pipeline to a folder or a list of images.
    Batch {
        #[command(flatten)]
        batch: BatchArgs,
        /// How to spread the images over the CPUs.
        #[arg(long, value_enum, default_value_t = Strategy::Rayon)]
        strategy: Strategy,
    },
    /// Run the same batch with every strategy and compare wall time, speed-up and CPU use.
    Compare {
        #[command(flatten)]
        batch: BatchArgs,
        /// Process the inputs this many times over, for a batch long enough to measure.
        #[arg(long, value_name = "N", default_value_t = 3)]
        repeat: usize,
        /// As JSON, for programs.
        #[arg(long)]
        json: bool,
    },
    /// Time every filter, and JPEG decoding and encoding, on a generated 3840x2160 frame.
    Bench {
        /// Threads in the rayon pool [default: the number of CPUs].
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
        /// Only this case (repeat the flag for more).
        #[arg(long = "filter", value_name = "NAME")]
        filters: Vec<String>,
        /// Timed runs per case, after one warm-up.
        #[arg(long, value_name = "N", default_value_t = 11)]
        runs: usize,
        /// Time session 01's readable kernels instead of the fast ones.
        #[arg(long)]
        reference: bool,
        /// One JSON object per case, for programs.
        #[arg(long)]
        json: bool,
        /// Write the frame as frame.png and frame.jpg into DIR, for other tools, and stop.
        #[arg(long, value_name = "DIR")]
        write_frame: Option<PathBuf>,
    },
    /// Internal: the worker process of the `processes` strategy.
    #[command(hide = true)]
    ProcessWorker {
        #[arg(long)]
        pipeline: String,
        #[arg(long)]
        output_dir: PathBuf,
        #[arg(long)]
        max_pixels: u64,
    },
}

#[derive(Debug, clap::Args)]
struct BatchArgs {
    /// Image files or folders [default: the bundled photos].
    #[arg(long, value_name = "PATH", num_args = 1..)]
    input: Vec<PathBuf>,
    /// The pipeline, as text or JSON.
    #[arg(long, value_name = "SPEC", default_value = DEFAULT_PIPELINE)]
    pipeline: String,
    /// Threads or processes [default: the number of CPUs].
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Where the outputs go.
    #[arg(long, value_name = "DIR", default_value = "output/session02")]
    output_dir: PathBuf,
}
// ANCHOR_END: cli

fn main() -> ExitCode {
    session01_image_basics::cli::finish(run(Cli::parse()))
}

fn run(cli: Cli) -> Result<String> {
    let limits = session01_image_basics::cli::limits(cli.max_megapixels)?;
    match cli.command {
        Some(Command::Apply {
            input,
            pipeline,
            output,
        }) => {
            let pipeline = PipelineSpec::parse_and_build(&pipeline)?;
            let image = load_with(&input, &limits)?;
            let result = pipeline.apply(&image)?;
            save(&result, &output)?;
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
        Some(Command::ListFilters { json: true }) => Ok(registry::json()),
        Some(Command::ListFilters { json: false }) => Ok(registry::text()),
        Some(Command::Batch { batch, strategy }) => {
            let (inputs, spec, options) = prepare(&batch, strategy, &limits)?;
            let summary = batch::run(&inputs, &spec, &options)?;
            Ok(batch_report(&summary, &options.output_dir))
        }
        Some(Command::Compare {
            batch,
            repeat,
            json,
        }) => compare(&batch, repeat, json, &limits),
        Some(Command::Bench {
            threads,
            filters,
            runs,
            reference,
            json,
            write_frame,
        }) => {
            let frame = bench::frame();
            if let Some(dir) = write_frame {
                std::fs::create_dir_all(&dir)?;
                save(&frame, dir.join("frame.png"))?;
                save(&frame, dir.join("frame.jpg"))?;
                return Ok(format!(
                    "wrote frame.png and frame.jpg to {}\n",
                    dir.display()
                ));
            }
            let cases = bench::select(&filters)?;
            let threads = threads.unwrap_or_else(rayon::current_num_threads).max(1);
            let kernels = if reference {
                Kernels::Reference
            } else {
                Kernels::Fast
            };
            let results = bench::run(&cases, &frame, threads, runs, kernels)?;
            if json {
                return Ok(serde_json::to_string_pretty(&results)? + "\n");
            }
            Ok(bench_table(&results, kernels))
        }
        Some(Command::ProcessWorker {
            pipeline,
            output_dir,
            max_pixels,
        }) => {
            let spec = PipelineSpec::parse_any(&pipeline)?;
            let limits = Limits {
                max_pixels,
                ..limits
            };
            batch::process_worker(&spec, &output_dir, &limits)?;
            Ok(String::new())
        }
        None => {
            let args = BatchArgs {
                input: Vec::new(),
                pipeline: DEFAULT_PIPELINE.to_owned(),
                workers: None,
                output_dir: PathBuf::from("output/session02"),
            };
            compare(&args, 3, false, &limits)
        }
    }
}

/// Checks the spec and inputs before any work starts.
fn prepare(
    args: &BatchArgs,
    strategy: Strategy,
    limits: &Limits,
) -> Result<(Vec<PathBuf>, PipelineSpec, BatchOptions)> {
    // Parsing and building here reports a bad spec with the token underlined.
    PipelineSpec::parse_and_build(&args.pipeline)?;
    let spec = PipelineSpec::parse_any(&args.pipeline)?;
    let inputs = if args.input.is_empty() {
        vec![samples::dir()]
    } else {
        args.input.clone()
    };
    let inputs = batch::collect_inputs(&inputs)?;
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    if workers == 0 {
        anyhow::bail!("--workers must be at least 1");
    }
    let options = BatchOptions {
        strategy,
        workers,
        output_dir: args.output_dir.clone(),
        limits: *limits,
        progress: true,
        worker_exe: std::env::current_exe().ok(),
    };
    Ok((inputs, spec, options))
}

fn bench_table(results: &[bench::Measurement], kernels: Kernels) -> String {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header([
        "case",
        "parameters",
        "threads",
        "median ms",
        "min ms",
    ]);
    for m in results {
        table.add_row([
            m.name.clone(),
            m.params.clone(),
            m.threads.to_string(),
            format!("{:.1}", m.median_ms),
            format!("{:.1}", m.min_ms),
        ]);
    }
    let (w, h) = bench::FRAME;
    let build = if cfg!(debug_assertions) {
        " (a debug build: time with --release)"
    } else {
        ""
    };
    format!("{kernels:?} kernels on a {w}x{h} RGB frame{build}\n{table}\n")
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

fn compare(args: &BatchArgs, repeat: usize, json: bool, limits: &Limits) -> Result<String> {
    let (inputs, spec, mut options) = prepare(args, Strategy::Sequential, limits)?;
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
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header([
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
