//! `session03_workers`: a pool of workers processing the sample photos through an
//! in-memory queue, with logs as it goes and a table of statistics at the end.
//!
//! Every flag has an environment variable, the way later sessions configure containers.
//! Ctrl-C starts a graceful shutdown: no new tasks, running ones finish (or go back to the
//! queue after `--shutdown-grace`). Errors go to stderr with exit code 1 (2 for bad usage).

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use session01_image_basics::cli::finish;
use session03_workers::bench::{self, BenchOptions};
use session03_workers::cli::{self, Cli, Command};
use session03_workers::demo;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Bench {
            tasks,
            workers,
            threads,
            json,
        }) => finish(run_bench(
            BenchOptions {
                tasks,
                workers,
                threads,
                ..BenchOptions::default()
            },
            json,
        )),
        None => cli::run(cli.log_format, demo::run(&cli)),
    }
}

fn run_bench(options: BenchOptions, json: bool) -> Result<String> {
    let result = bench::run(options)?;
    if json {
        return Ok(serde_json::to_string(&result)? + "\n");
    }
    Ok(format!(
        "{} no-op tasks through the in-memory queue, {} workers on {} threads: {:.3} s, {:.0} tasks/s (p50 hold {:.1} µs)\n",
        result.tasks,
        result.workers,
        result.threads,
        result.seconds,
        result.tasks_per_second,
        result.p50_micros
    ))
}
