//! `session01_image_basics`: apply the course's filters to images from the command line.
//!
//! With no arguments it runs the demo: every filter on a bundled photograph, one output file
//! each, and a table of timings. Errors go to stderr with exit code 1 (2 for bad usage).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::{Parser, Subcommand};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use session01_image_basics::exercises::{self, Outcome};
use session01_image_basics::params::ParamDefault;
use session01_image_basics::{Limits, build, catalog, demo, info, io, load_with, samples, save};

/// Image filters from the command line: the course's first session.
///
/// Without arguments, applies every filter to a bundled photo and prints a table.
// ANCHOR: cli
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Image to process with --filter.
    #[arg(long, value_name = "PATH", requires = "filter")]
    input: Option<PathBuf>,

    /// Filter to apply (see --list).
    #[arg(long, value_name = "NAME", requires_all = ["input", "output"])]
    filter: Option<String>,

    /// A filter parameter; repeat for several.
    #[arg(long = "param", value_name = "KEY=VALUE", requires = "filter")]
    params: Vec<String>,

    /// Where to write the result (.png, .jpg or .webp).
    #[arg(long, value_name = "PATH", requires = "filter")]
    output: Option<PathBuf>,

    /// List the filters and their parameters.
    #[arg(long, conflicts_with_all = ["input", "filter", "output"])]
    list: bool,

    /// Demo: the photo to use [default: the bundled astronaut.png].
    #[arg(
        long,
        value_name = "PATH",
        env = "SESSION01_SAMPLE",
        conflicts_with = "filter"
    )]
    sample: Option<PathBuf>,

    /// Demo: the folder for the outputs.
    #[arg(
        long,
        value_name = "DIR",
        env = "SESSION01_OUTPUT_DIR",
        default_value = "output/session01"
    )]
    output_dir: PathBuf,

    /// Refuse images with more pixels than this.
    #[arg(
        long,
        value_name = "N",
        env = "IMAGE_MAX_MEGAPIXELS",
        default_value_t = 50.0
    )]
    max_megapixels: f64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show format, size and colour type, read from the header without decoding.
    Info {
        /// Image files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Run your exercise filters on a photo and show which are done (see the book).
    Exercises {
        /// The photo to use [default: the bundled astronaut.png].
        #[arg(long, value_name = "PATH")]
        sample: Option<PathBuf>,
        /// The folder for the outputs.
        #[arg(long, value_name = "DIR", default_value = "output/session01/exercises")]
        output_dir: PathBuf,
    },
    /// Write the deterministic test image the benchmarks use.
    Generate {
        /// Width in pixels.
        #[arg(long, default_value_t = 3840)]
        width: u32,
        /// Height in pixels.
        #[arg(long, default_value_t = 2160)]
        height: u32,
        /// Where to write it.
        #[arg(long, value_name = "PATH")]
        output: PathBuf,
    },
}
// ANCHOR_END: cli

fn main() -> ExitCode {
    session01_image_basics::cli::finish(run(Cli::parse()))
}

/// Runs the command and returns what it has to say on stdout.
fn run(cli: Cli) -> Result<String> {
    let limits = session01_image_basics::cli::limits(cli.max_megapixels)?;
    match cli.command {
        Some(Command::Info { paths }) => return info_table(&paths),
        Some(Command::Exercises { sample, output_dir }) => {
            let sample = sample.unwrap_or_else(|| samples::path(samples::DEMO_PHOTO));
            return exercises_table(&sample, &output_dir, &limits);
        }
        Some(Command::Generate {
            width,
            height,
            output,
        }) => {
            let image = samples::generate(width, height);
            save(&image.into(), &output)?;
            return Ok(format!(
                "wrote {width}x{height} test image to {}\n",
                output.display()
            ));
        }
        None => {}
    }
    if cli.list {
        return Ok(list());
    }
    match (cli.filter, cli.input, cli.output) {
        (Some(name), Some(input), Some(output)) => {
            apply_one(&name, &cli.params, &input, &output, &limits)
        }
        _ => {
            let sample = cli
                .sample
                .unwrap_or_else(|| samples::path(samples::DEMO_PHOTO));
            run_demo(&sample, &cli.output_dir, &limits)
        }
    }
}

// ANCHOR: apply_one
fn apply_one(
    name: &str,
    params: &[String],
    input: &PathBuf,
    output: &PathBuf,
    limits: &Limits,
) -> Result<String> {
    let filter = build(name, params)?;
    let image = load_with(input, limits)?;
    let started = Instant::now();
    let result = filter.apply(&image)?;
    let elapsed = started.elapsed();
    save(&result, output)?;
    Ok(format!(
        "{} -> {} ({}x{}) in {:.1} ms\n",
        filter.spec(),
        output.display(),
        result.width(),
        result.height(),
        elapsed.as_secs_f64() * 1e3
    ))
}
// ANCHOR_END: apply_one

fn run_demo(sample: &Path, out_dir: &Path, limits: &Limits) -> Result<String> {
    let rows = demo::run(sample, out_dir, limits)?;
    let mut table = table(["filter", "parameters", "output", "time (ms)"]);
    for row in &rows {
        table.add_row([
            row.filter.to_owned(),
            row.params.clone(),
            row.output.display().to_string(),
            format!("{:.1}", row.elapsed.as_secs_f64() * 1e3),
        ]);
    }
    Ok(format!(
        "Every filter applied to {}\n{table}\n{} outputs written to {}\n",
        sample.display(),
        rows.len(),
        out_dir.display()
    ))
}

fn list() -> String {
    let mut out = String::new();
    for info in catalog() {
        out += &format!("{:<11} {}\n", info.name, info.summary);
        for spec in info.params {
            let default = match spec.default {
                ParamDefault::Value(value) => format!("default {value}"),
                ParamDefault::Required => "required".to_owned(),
                ParamDefault::Optional => "optional".to_owned(),
            };
            out += &format!(
                "    {}: {} ({default}): {}\n",
                spec.name, spec.kind, spec.help
            );
        }
    }
    out
}

fn exercises_table(sample: &Path, out_dir: &Path, limits: &Limits) -> Result<String> {
    let rows = exercises::run_all(sample, out_dir, limits)?;
    let mut table = table(["exercise", "filter", "state"]);
    let mut done = 0;
    for (number, name, outcome) in rows {
        let state = match outcome {
            Outcome::Done(path) => {
                done += 1;
                format!("done: {}", path.display())
            }
            Outcome::NotStarted(_) => "not started (still todo!)".to_owned(),
            Outcome::Failed(message) => format!("failed: {message}"),
        };
        table.add_row([number.to_owned(), name.to_owned(), state]);
    }
    Ok(format!(
        "Your exercise filters on {}\n{table}\n{done} of {} run; grade them with `cargo xtask grade 1`\n",
        sample.display(),
        exercises::EXERCISES.len()
    ))
}

fn info_table(paths: &[PathBuf]) -> Result<String> {
    let mut table = table(["file", "format", "size", "colour", "bytes"]);
    for path in paths {
        let info = info(path)?;
        table.add_row([
            path.display().to_string(),
            io::format_name(info.format).to_owned(),
            format!("{}x{}", info.width, info.height),
            format!("{:?}", info.color),
            info.file_bytes.to_string(),
        ]);
    }
    Ok(format!("{table}\n"))
}

/// A table with the given column names, drawn with box characters.
fn table<const N: usize>(header: [&str; N]) -> Table {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header(header);
    table
}
