//! `session10_final`: the course's system. Without a command it serves the API and the page
//! (in one process, or on Redis with `--redis`); `worker` runs a worker process for the
//! distributed mode.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use session03_workers::cli::run;
use session09_monitoring::worker::{self, MonitoredWorkerArgs};
use session10_final::server::{self, ServeArgs};

/// The course's image-processing service: an HTTP API and a web page.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// A command; without one, the API and the page.
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

/// The commands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run tasks from Redis for the distributed mode (session 09's worker), until SIGTERM.
    Worker(MonitoredWorkerArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => run(cli.serve.log_format, server::run(cli.serve)),
        Some(Command::Worker(args)) => run(args.log_format(), worker::run(args)),
    }
}
