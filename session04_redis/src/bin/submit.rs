//! `submit`: uploads images and enqueues their tasks; `--wait` follows them to the end.

use std::process::ExitCode;

use clap::Parser;
use session04_redis::{cli, submit};

/// Submits images (or folders of them) to the Redis queue and prints the task ids.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    args: submit::SubmitArgs,
}

fn main() -> ExitCode {
    let args = Cli::parse().args;
    cli::run(args.log_format, submit::run(args))
}
