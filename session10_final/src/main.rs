//! `session10_final`: the course's system. Without a command it serves the API and the page
//! (in one process, or on Redis with `--redis`); `worker` runs a worker process for the
//! distributed mode; `full-test` sends ten jobs through the API and checks every result.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use session01_image_basics::Limits;
use session01_image_basics::cli::finish;
use session02_pipelines::cli::ProcessWorkerArgs;
use session02_pipelines::commands::process_worker;
use session03_workers::cli::run;
use session03_workers::logging;
use session09_monitoring::worker::{self, MonitoredWorkerArgs};
use session10_final::server::{self, ServeArgs};

mod full_test;

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
    Worker(Box<MonitoredWorkerArgs>),
    /// The original course's third demo through the API: ten jobs, every result checked,
    /// timed (the embedded system in this process, or the service at `--url`).
    FullTest(full_test::FullTestArgs),
    /// Session 02's batch worker process, which `/api/compare` starts for its `processes`
    /// strategy.
    #[command(hide = true)]
    ProcessWorker(ProcessWorkerArgs),
}

/// Serves until a signal. The runtime is shut down without waiting for work on its
/// blocking threads (a filter that outlived the grace period): the process exits then.
fn serve(args: ServeArgs) -> ExitCode {
    let outcome = logging::init(args.log_format).and_then(|()| {
        let runtime = tokio::runtime::Runtime::new()?;
        let report = runtime.block_on(server::run(args));
        runtime.shutdown_timeout(Duration::from_secs(1));
        report
    });
    finish(outcome)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => serve(cli.serve),
        Some(Command::Worker(args)) => run(args.log_format(), worker::run(*args)),
        Some(Command::FullTest(args)) => finish(full_test::run(&args)),
        Some(Command::ProcessWorker(args)) => finish(process_worker(&args, &Limits::default())),
    }
}
