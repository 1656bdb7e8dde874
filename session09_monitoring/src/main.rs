//! `session09_monitoring`: without a command, the demo (three workers under a stress run,
//! measured); with one, the session's monitored processes and views.

use std::process::ExitCode;

use clap::Parser;
use session03_workers::logging::LogFormat;
use session04_redis::cli::run;
use session04_redis::{reset, status};
use session05_distributed::workers;
use session09_monitoring::cli::{Cli, Command};
use session09_monitoring::{api, autoscale, demo, metrics, monitor, stress, worker};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => run(cli.demo.log_format, async move {
            demo::run(cli.demo, &std::env::current_exe()?).await
        }),
        Some(Command::Worker(args)) => run(args.log_format(), worker::run(args)),
        Some(Command::Api(args)) => run(args.log_format(), api::run(args)),
        Some(Command::Autoscale(args)) => {
            // Before the runtime starts its threads: `exec` replaces the whole process.
            let program = std::env::current_exe()
                .map_err(anyhow::Error::from)
                .and_then(|program| autoscale::free_probe_ports(&program).map(|()| program));
            run(args.log_format(), async move {
                autoscale::run(args, &program?).await
            })
        }
        Some(Command::Metrics(args)) => run(LogFormat::Human, metrics::run(args)),
        Some(Command::Monitor(args)) => monitor::main(args),
        Some(Command::Stress(args)) => stress::main(args),
        Some(Command::Status(args)) => run(LogFormat::Human, status::run(args)),
        Some(Command::Workers(args)) => run(LogFormat::Human, workers::command(args)),
        Some(Command::Reset(args)) => run(LogFormat::Human, reset::run(args)),
    }
}
