//! `session07_k8s`: without a command, the demo (the pods' processes on this machine);
//! with one, everything a pod of the kind lab runs: `api`, `worker`, and the earlier
//! sessions' tools.

use std::process::ExitCode;

use clap::Parser;
use session03_workers::logging::LogFormat;
use session04_redis::cli::run;
use session04_redis::{reset, status};
use session05_distributed::{requeue, submit, workers};
use session06_docker::{full_test, monitor, send};
use session07_k8s::cli::{Cli, Command};
use session07_k8s::{demo, server, worker};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => run(cli.demo.log_format, async move {
            demo::run(cli.demo, &std::env::current_exe()?).await
        }),
        Some(Command::Api(args)) => run(args.log_format, server::run(args)),
        Some(Command::Worker(args)) => run(args.worker.worker.log_format, worker::run(args)),
        Some(Command::Send(args)) => run(LogFormat::Human, send::run(args)),
        Some(Command::Monitor(args)) => run(LogFormat::Human, monitor::run(args)),
        Some(Command::FullTest(args)) => run(LogFormat::Human, full_test::run(args)),
        Some(Command::Status(args)) => run(LogFormat::Human, status::run(args)),
        Some(Command::Submit(args)) => run(args.submit.log_format, submit::run(args)),
        Some(Command::Workers(args)) => run(LogFormat::Human, workers::command(args)),
        Some(Command::Requeue(args)) => run(LogFormat::Human, requeue::run(args)),
        Some(Command::Reset(args)) => run(LogFormat::Human, reset::run(args)),
    }
}
