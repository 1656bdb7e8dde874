//! `session05_distributed`: without a command, the demo (three specialised worker processes,
//! a mixed batch, a tiled image, a worker killed halfway); with one, the session's tools:
//! `worker` (registered, with heartbeats), `workers` (who is alive, what waits and why),
//! `submit` (session 04's, and tiled jobs), `requeue` (dead letters back into the queue),
//! and `bench`.

use std::process::ExitCode;

use clap::Parser;
use session03_workers::logging::LogFormat;
use session04_redis::cli::run;
use session05_distributed::cli::{Cli, Command};
use session05_distributed::{bench, demo, requeue, submit, worker, workers};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => run(cli.demo.log_format, async move {
            demo::run(cli.demo, &std::env::current_exe()?).await
        }),
        Some(Command::Worker(args)) => run(args.worker.log_format, worker::run(args)),
        Some(Command::Workers(args)) => run(LogFormat::Human, workers::command(args)),
        Some(Command::Submit(args)) => run(args.submit.log_format, submit::run(args)),
        Some(Command::Requeue(args)) => run(LogFormat::Human, requeue::run(args)),
        Some(Command::Bench(args)) => run(LogFormat::Human, async move {
            bench::command(&args, &std::env::current_exe()?).await
        }),
    }
}
