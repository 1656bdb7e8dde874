//! `session08_scaling`: without a command, the demo (the autoscaler at work under a burst);
//! with one, the session's tools and the worker it scales.

use std::process::ExitCode;

use clap::Parser;
use session03_workers::logging::LogFormat;
use session04_redis::cli::run;
use session04_redis::{reset, status};
use session05_distributed::{worker, workers};
use session08_scaling::cli::{Cli, Command};
use session08_scaling::{autoscale, bench, demo, loadgen, recommend};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => run(cli.demo.log_format, async move {
            demo::run(cli.demo, &std::env::current_exe()?).await
        }),
        Some(Command::Recommend(args)) => run(LogFormat::Human, recommend::run(args)),
        Some(Command::Autoscale(args)) => run(args.log_format, async move {
            autoscale::run(args, &std::env::current_exe()?).await
        }),
        Some(Command::Loadgen(args)) => run(LogFormat::Human, loadgen::run(args)),
        Some(Command::Bench(args)) => run(LogFormat::Human, async move {
            bench::run(args, &std::env::current_exe()?).await
        }),
        Some(Command::Worker(args)) => run(args.worker.log_format, worker::run(args)),
        Some(Command::Status(args)) => run(LogFormat::Human, status::run(args)),
        Some(Command::Workers(args)) => run(LogFormat::Human, workers::command(args)),
        Some(Command::Reset(args)) => run(LogFormat::Human, reset::run(args)),
    }
}
