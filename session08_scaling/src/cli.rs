//! The command line: the session's own commands (`recommend`, `autoscale`, `loadgen`,
//! `bench`), the worker they scale (session 05's), and the earlier sessions' views.

use clap::{Parser, Subcommand};
use session04_redis::reset::ResetArgs;
use session04_redis::status::StatusArgs;
use session05_distributed::worker::DistributedWorkerArgs;
use session05_distributed::workers::WorkersCommand;

use crate::autoscale::AutoscaleArgs;
use crate::bench::BenchArgs;
use crate::demo::DemoArgs;
use crate::loadgen::LoadgenArgs;
use crate::recommend::RecommendArgs;

/// Autoscaling you can watch: the course's eighth session.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli {
    /// A command; without one, the demo: the autoscaler at work under a burst.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The demo's flags.
    #[command(flatten)]
    pub demo: DemoArgs,
}

/// The session's commands.
// ANCHOR: commands
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Recommend a number of workers from the live queue, CPU and memory.
    Recommend(RecommendArgs),
    /// Run worker processes and scale them to the load, until Ctrl-C.
    Autoscale(AutoscaleArgs),
    /// Submit a bounded load (a burst or a rate) and report latency percentiles.
    Loadgen(LoadgenArgs),
    /// Time image size x concurrency x workers; write a CSV file and a scatter plot.
    Bench(BenchArgs),
    /// Run tasks from Redis, registered and beating, until SIGTERM (session 05).
    Worker(DistributedWorkerArgs),
    /// Show what the queue holds (session 04).
    Status(StatusArgs),
    /// List the registered workers and what waits (session 05).
    Workers(WorkersCommand),
    /// Delete every key of the namespace (needs --yes).
    Reset(ResetArgs),
}
// ANCHOR_END: commands
