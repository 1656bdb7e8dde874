//! `session02_pipelines`: pipelines over batches of images from the command line.
//!
//! Without arguments it runs the course's comparison: the same batch of bundled photos with
//! every strategy, and a table of wall time, speed-up and CPU use. Errors go to stderr with
//! exit code 1 (2 for bad usage).

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use session01_image_basics::cli::{finish, limits};
use session02_pipelines::cli::{Cli, Command};
use session02_pipelines::{bench, commands, demo, registry};

fn main() -> ExitCode {
    finish(run(Cli::parse()))
}

/// Runs the command and returns what it has to say on stdout.
fn run(cli: Cli) -> Result<String> {
    let limits = limits(cli.max_megapixels)?;
    match cli.command {
        Some(Command::Apply {
            input,
            pipeline,
            output,
        }) => commands::apply(&input, &pipeline, &output, &limits),
        Some(Command::ListFilters { json: true }) => Ok(registry::json()),
        Some(Command::ListFilters { json: false }) => Ok(registry::text()),
        Some(Command::Batch {
            batch,
            strategy,
            repeat,
            json,
        }) => commands::batch(&batch, strategy, repeat, json, &limits),
        Some(Command::Compare {
            batch,
            repeat,
            json,
        }) => demo::compare(&batch, repeat, json, &limits),
        Some(Command::Bench(args)) => bench::report(&args),
        Some(Command::ProcessWorker(args)) => commands::process_worker(&args, &limits),
        None => demo::run(&limits),
    }
}
