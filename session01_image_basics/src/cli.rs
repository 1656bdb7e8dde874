//! The command line: the binary's flags and commands (clap's derive API), and what every
//! session's binary does the same way at its edges: turn `--max-megapixels` into [`Limits`],
//! draw tables, and end with the report on stdout or the error on stderr.

use std::io::{ErrorKind, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use crate::io::Limits;

/// Image filters from the command line: the course's first session.
///
/// Without arguments, applies every filter to a bundled photo and prints a table.
// ANCHOR: cli
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A command; without one, the flags below apply a filter, list them, or run the demo.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Image to process with --filter.
    #[arg(long, value_name = "PATH", requires = "filter")]
    pub input: Option<PathBuf>,

    /// Filter to apply (see --list).
    #[arg(long, value_name = "NAME", requires_all = ["input", "output"])]
    pub filter: Option<String>,

    /// A filter parameter; repeat for several.
    #[arg(long = "param", value_name = "KEY=VALUE", requires = "filter")]
    pub params: Vec<String>,

    /// Where to write the result (.png, .jpg or .webp).
    #[arg(long, value_name = "PATH", requires = "filter")]
    pub output: Option<PathBuf>,

    /// List the filters and their parameters.
    #[arg(long, conflicts_with_all = ["input", "filter", "output"])]
    pub list: bool,

    /// Demo: the photo to use [default: the bundled astronaut.png].
    #[arg(
        long,
        value_name = "PATH",
        env = "SESSION01_SAMPLE",
        conflicts_with = "filter"
    )]
    pub sample: Option<PathBuf>,

    /// Demo: the folder for the outputs.
    #[arg(
        long,
        value_name = "DIR",
        env = "SESSION01_OUTPUT_DIR",
        default_value = "output/session01"
    )]
    pub output_dir: PathBuf,

    /// Refuse images with more pixels than this.
    #[arg(
        long,
        value_name = "N",
        env = "IMAGE_MAX_MEGAPIXELS",
        default_value_t = 50.0
    )]
    pub max_megapixels: f64,
}

/// The commands besides the flags above.
#[derive(Debug, Subcommand)]
pub enum Command {
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

/// The limits for `--max-megapixels`, refusing zero, negative and non-finite values.
pub fn limits(max_megapixels: f64) -> anyhow::Result<Limits> {
    if !(max_megapixels.is_finite() && max_megapixels > 0.0) {
        anyhow::bail!("--max-megapixels must be a positive number, got {max_megapixels}");
    }
    Ok(Limits::with_megapixels(max_megapixels))
}

/// A table with the given column names, drawn with box characters.
pub fn table<const N: usize>(header: [&str; N]) -> Table {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header(header);
    table
}

/// Prints a command's report to stdout, or its error (with causes) to stderr, and gives the
/// exit code: 0 on success, 1 on error.
pub fn finish(result: anyhow::Result<String>) -> ExitCode {
    match result {
        Ok(report) => match std::io::stdout().lock().write_all(report.as_bytes()) {
            // A reader that stops early (`| head`) closes the pipe: that is not an error.
            Err(error) if error.kind() != ErrorKind::BrokenPipe => {
                eprintln!("error: cannot write to stdout: {error}");
                ExitCode::FAILURE
            }
            _ => ExitCode::SUCCESS,
        },
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
