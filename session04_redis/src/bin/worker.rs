//! `worker`: runs a pool of workers on the Redis queue until SIGTERM or Ctrl-C.

use std::process::ExitCode;

use clap::Parser;
use session04_redis::{cli, worker};

/// Takes tasks from the Redis queue and runs them, until SIGTERM or Ctrl-C.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    args: worker::WorkerArgs,
}

fn main() -> ExitCode {
    let args = Cli::parse().args;
    cli::run(args.log_format, worker::run(args))
}
