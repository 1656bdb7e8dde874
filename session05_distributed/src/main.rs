//! `session05_distributed`: the session's tools: `worker` (registered, with heartbeats) and
//! `workers` (who is alive, and which tasks wait for a capability nobody has).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use session03_workers::logging::LogFormat;
use session04_redis::cli;
use session05_distributed::{worker, workers};

/// Distributed workers that survive failure: the course's fifth session.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Take tasks from the queue and run them, registered and beating, until SIGTERM.
    Worker(worker::DistributedWorkerArgs),
    /// List the registered workers and the tasks no live worker can run.
    Workers(workers::WorkersArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Worker(args) => cli::run(args.worker.log_format, worker::run(args)),
        Command::Workers(args) => cli::run(LogFormat::Human, workers::run(args)),
    }
}
