//! The command line: the binary's commands (clap's derive API), each with its flags in its
//! own file. What they share, the queue's flags and running a command on a runtime with
//! logs, is session 04's [`cli`](session04_redis::cli).

use clap::{Parser, Subcommand};

use crate::{bench, demo, requeue, submit, worker, workers};

/// Distributed workers that survive failure: the course's fifth session.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli {
    /// A command; without one, the demo.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The demo's flags.
    #[command(flatten)]
    pub demo: demo::DemoArgs,
}

/// The session's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Take tasks from the queue and run them, registered and beating, until SIGTERM.
    Worker(worker::DistributedWorkerArgs),
    /// List the registered workers and the tasks no live worker can run.
    Workers(workers::WorkersCommand),
    /// Submit images: as tasks (session 04's submit), or with --tiled as tiled jobs.
    Submit(submit::TiledSubmitArgs),
    /// Send dead tasks back to the queue with fresh attempts.
    Requeue(requeue::RequeueArgs),
    /// Measure a tiled blur of a very large image against the whole-image fast kernel.
    Bench(bench::BenchArgs),
}
