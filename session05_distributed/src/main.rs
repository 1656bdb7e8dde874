//! `session05_distributed`: without a command, the demo (three specialised worker processes,
//! a mixed batch, a tiled image, a worker killed halfway); with one, the session's tools:
//! `worker` (registered, with heartbeats), `workers` (who is alive, what waits and why) and
//! `requeue` (dead letters back into the queue), and `bench`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use session03_workers::logging::LogFormat;
use session04_redis::cli;
use session05_distributed::{bench, demo, requeue, worker, workers};

/// Distributed workers that survive failure: the course's fifth session.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    demo: demo::DemoArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Take tasks from the queue and run them, registered and beating, until SIGTERM.
    Worker(worker::DistributedWorkerArgs),
    /// List the registered workers and the tasks no live worker can run.
    Workers(workers::WorkersArgs),
    /// Send dead tasks back to the queue with fresh attempts.
    Requeue(requeue::RequeueArgs),
    /// Measure a tiled blur of a very large image against the whole-image fast kernel.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => cli::run(cli.demo.log_format, async move {
            demo::run(cli.demo, &std::env::current_exe()?).await
        }),
        Some(Command::Worker(args)) => cli::run(args.worker.log_format, worker::run(args)),
        Some(Command::Workers(args)) => cli::run(LogFormat::Human, workers::run(args)),
        Some(Command::Requeue(args)) => cli::run(LogFormat::Human, requeue::run(args)),
        Some(Command::Bench(args)) => cli::run(LogFormat::Human, async move {
            let report = bench::run(&args, &std::env::current_exe()?).await?;
            Ok(if args.json {
                serde_json::to_string_pretty(&report)? + "\n"
            } else {
                bench::render(&report)
            })
        }),
    }
}
