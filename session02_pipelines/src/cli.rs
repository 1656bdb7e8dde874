//! The command line: the binary's flags and commands (clap's derive API), and the flags
//! `batch` and `compare` share, checked before any work starts.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, Subcommand};
use session01_image_basics::{Limits, samples};

use crate::batch::{self, BatchOptions, Strategy};
use crate::bench::BenchArgs;
use crate::spec::PipelineSpec;

/// Filter pipelines over batches of images: the course's second session.
///
/// Without a command, compares every batch strategy on the bundled photos.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli {
    /// A command; without one, the demo.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Refuse images with more pixels than this.
    #[arg(
        long,
        global = true,
        value_name = "N",
        env = "IMAGE_MAX_MEGAPIXELS",
        default_value_t = 50.0
    )]
    pub max_megapixels: f64,
}

/// The default pipeline of the demo and of `batch`/`compare`.
pub const DEFAULT_PIPELINE: &str = "resize:width=512|blur:sigma=2|edges";

/// The session's commands.
// ANCHOR: cli
#[derive(Debug, Subcommand)]
pub enum Command {
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
        /// Which images, which pipeline, how many workers.
        #[command(flatten)]
        batch: BatchArgs,
        /// How to spread the images over the CPUs.
        #[arg(long, value_enum, default_value_t = Strategy::Rayon)]
        strategy: Strategy,
        /// Process the inputs this many times over (1 to 1000), for a batch long enough to
        /// measure.
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = repeat_range())]
        repeat: usize,
        /// The summary as JSON, for programs.
        #[arg(long)]
        json: bool,
    },
    /// Run the same batch with every strategy, each in a process of its own, and compare
    /// wall time, speed-up, CPU use and peak memory.
    Compare {
        /// Which images, which pipeline, how many workers.
        #[command(flatten)]
        batch: BatchArgs,
        /// Process the inputs this many times over (1 to 1000), for a batch long enough to
        /// measure.
        #[arg(long, value_name = "N", default_value_t = 3, value_parser = repeat_range())]
        repeat: usize,
        /// As JSON, for programs.
        #[arg(long)]
        json: bool,
    },
    /// Time every filter, and JPEG decoding and encoding, on a generated 3840x2160 frame.
    Bench(BenchArgs),
    /// Internal: the worker process of the `processes` strategy.
    #[command(hide = true)]
    ProcessWorker(ProcessWorkerArgs),
}

/// The flags the `processes` strategy gives its worker processes (`process-worker`); any
/// binary with this hidden command can be one (see [`BatchOptions::worker_exe`]).
///
/// [`BatchOptions::worker_exe`]: crate::batch::BatchOptions::worker_exe
#[derive(Debug, Clone, clap::Args)]
#[allow(missing_docs)] // the parent process sets these flags: no help text to show
pub struct ProcessWorkerArgs {
    #[arg(long)]
    pub pipeline: String,
    #[arg(long)]
    pub output_dir: PathBuf,
    #[arg(long)]
    pub max_pixels: u64,
    #[arg(long, default_value_t = 0)]
    pub read_delay_ms: u64,
}

/// `--repeat`: at least once, and a bounded batch.
fn repeat_range() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..=1000)
}

/// The flags `batch` and `compare` share: which images, which pipeline, how many workers.
#[derive(Debug, clap::Args)]
pub struct BatchArgs {
    /// Image files or folders [default: the bundled photos].
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// The pipeline, as text or JSON.
    #[arg(long, value_name = "SPEC", default_value = DEFAULT_PIPELINE)]
    pub pipeline: String,
    /// Threads or processes [default: the number of CPUs].
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Where the outputs go.
    #[arg(long, value_name = "DIR", default_value = "output/session02")]
    pub output_dir: PathBuf,
    /// Wait this long before reading each image, as slow storage or a remote call would
    /// (at most 2000): the batch then waits more than it computes.
    #[arg(long, value_name = "MS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=2000))]
    pub read_delay: u64,
}
// ANCHOR_END: cli

impl BatchArgs {
    /// Checks the spec and inputs before any work starts: the images to process, the
    /// pipeline, and the batch's options with `strategy`.
    pub fn prepare(
        &self,
        strategy: Strategy,
        limits: &Limits,
    ) -> Result<(Vec<PathBuf>, PipelineSpec, BatchOptions)> {
        // Parsing and building here reports a bad spec with the token underlined.
        PipelineSpec::parse_and_build(&self.pipeline)?;
        let spec = PipelineSpec::parse_any(&self.pipeline)?;
        let inputs = if self.input.is_empty() {
            vec![samples::dir()]
        } else {
            self.input.clone()
        };
        let inputs = batch::collect_inputs(&inputs)?;
        let workers = self
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        if workers == 0 {
            anyhow::bail!("--workers must be at least 1");
        }
        let options = BatchOptions {
            strategy,
            workers,
            output_dir: self.output_dir.clone(),
            limits: *limits,
            progress: true,
            worker_exe: std::env::current_exe().ok(),
            read_delay: Duration::from_millis(self.read_delay),
        };
        Ok((inputs, spec, options))
    }
}
