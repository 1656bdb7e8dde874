//! `status`: the queue's depth, leases, dead letters and states, or one task.

use std::process::ExitCode;

use clap::Parser;
use session03_workers::logging::LogFormat;
use session04_redis::{cli, status};

/// Shows what the Redis queue holds, or one task in full.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    args: status::StatusArgs,
}

fn main() -> ExitCode {
    let args = Cli::parse().args;
    cli::run(LogFormat::Human, status::run(args))
}
