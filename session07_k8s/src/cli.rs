//! The command line: one image carries every command a pod of the lab runs. The session's
//! own commands are `api` and `worker`; the rest are the earlier sessions', reused as they
//! are (the Job that submits the sample photos runs `send`).

use clap::{Parser, Subcommand};
use session04_redis::reset::ResetArgs;
use session04_redis::status::StatusArgs;
use session05_distributed::requeue::RequeueArgs;
use session05_distributed::submit::TiledSubmitArgs;
use session05_distributed::workers::WorkersCommand;
use session06_docker::full_test::FullTestArgs;
use session06_docker::monitor::MonitorArgs;
use session06_docker::send::SendArgs;

use crate::demo::DemoArgs;
use crate::server::ApiArgs;
use crate::worker::ProbedWorkerArgs;

/// The system on Kubernetes: the course's seventh session.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli {
    /// A command; without one, the demo: the pods' processes on this machine.
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
    /// Serve the read-only status API (health, readiness, stats, workers, tasks).
    Api(ApiArgs),
    /// Run tasks from Redis with /livez and /readyz on a probe port, until SIGTERM.
    Worker(ProbedWorkerArgs),
    /// Send five tasks with different filters and write their results (session 06).
    Send(SendArgs),
    /// Show the tasks by state and the live workers, every 2 seconds (session 06).
    Monitor(MonitorArgs),
    /// Purge, run ten tasks, check every result, time it (session 06).
    FullTest(FullTestArgs),
    /// Submit images, or each as one tiled job; with --wait --output, write the results.
    Submit(TiledSubmitArgs),
    /// Show what the queue holds (session 04).
    Status(StatusArgs),
    /// List the registered workers and what waits (session 05).
    Workers(WorkersCommand),
    /// Send dead tasks back to the queue (session 05).
    Requeue(RequeueArgs),
    /// Delete every key of the namespace (needs --yes).
    Reset(ResetArgs),
}
// ANCHOR_END: commands
