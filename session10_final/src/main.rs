//! `session10_final`: the course's system, serving its API and page. Without a command it
//! serves in one process; `--help` lists the flags.

use std::process::ExitCode;

use clap::Parser;
use session03_workers::cli::run;
use session10_final::server::{self, ServeArgs};

/// The course's image-processing service: an HTTP API and a web page.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    run(cli.serve.log_format, server::run(cli.serve))
}
