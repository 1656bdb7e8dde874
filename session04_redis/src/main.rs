//! `session04_redis`: without a command, the self-contained demo (its own redis-server,
//! two workers, the sample photos); with one, the session's tools: `worker`, `submit`,
//! `status` (also binaries of their own), `reset` and `bench`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use session01_image_basics::cli::finish;
use session03_workers::logging::LogFormat;
use session04_redis::{bench, cli, demo, reset, status, submit, worker};

/// A Redis queue that loses nothing: the course's fourth session.
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
    /// Take tasks from the queue and run them, until SIGTERM or Ctrl-C.
    Worker(worker::WorkerArgs),
    /// Submit images to the queue.
    Submit(submit::SubmitArgs),
    /// Show what the queue holds.
    Status(status::StatusArgs),
    /// Delete every key of the queue's namespace (asks for --yes).
    Reset(reset::ResetArgs),
    /// Measure no-op tasks per second through redis-server and worker processes.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => cli::run(cli.demo.log_format, demo::run(cli.demo)),
        Some(Command::Worker(args)) => cli::run(args.log_format, worker::run(args)),
        Some(Command::Submit(args)) => cli::run(args.log_format, submit::run(args)),
        Some(Command::Status(args)) => cli::run(LogFormat::Human, status::run(args)),
        Some(Command::Reset(args)) => cli::run(LogFormat::Human, reset::run(args)),
        Some(Command::Bench(args)) => finish(run_bench(&args)),
    }
}

fn run_bench(args: &bench::BenchArgs) -> anyhow::Result<String> {
    let program = std::env::current_exe()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(bench::run(args, &program))?;
    if args.json {
        return Ok(serde_json::to_string_pretty(&report)? + "\n");
    }
    Ok(format!(
        "{} no-op tasks through redis-server and {} worker processes ({} slots each): \
         {:.2} s, {:.0} tasks/s end to end (enqueueing alone: {:.0}/s)\n\
         peer: Sidekiq publishes 23 500 jobs/s (its unreliable fetch)\n",
        report.tasks,
        report.workers,
        report.concurrency,
        report.seconds,
        report.tasks_per_second,
        report.enqueue_per_second
    ))
}
