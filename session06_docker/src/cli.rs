//! The command line: one binary is the container's entrypoint, so it carries every command
//! a lab needs. The session's own commands are defined here; the rest are the earlier
//! sessions' commands, reused as they are.

use clap::{Parser, Subcommand};
use session04_redis::reset::ResetArgs;
use session04_redis::status::StatusArgs;
use session05_distributed::requeue::RequeueArgs;
use session05_distributed::submit::TiledSubmitArgs;
use session05_distributed::workers::WorkersCommand;

use crate::demo::DemoArgs;
use crate::full_test::FullTestArgs;
use crate::health::HealthArgs;
use crate::monitor::MonitorArgs;
use crate::send::SendArgs;
use crate::worker::ContainerWorkerArgs;

/// The workers in containers: the course's sixth session.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli {
    /// A command; without one, the lab without Docker.
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
    /// Run tasks from Redis, registered, beating and writing a health file, until SIGTERM.
    Worker(ContainerWorkerArgs),
    /// Check a worker's health file: exit 0 when healthy, 1 when not (Docker's HEALTHCHECK).
    Health(HealthArgs),
    /// Send five tasks with different filters and write their results (demo 1).
    Send(SendArgs),
    /// Show the tasks by state and the live workers, every 2 seconds (demo 2).
    Monitor(MonitorArgs),
    /// Purge, run ten tasks, check every result, time it (demo 3).
    FullTest(FullTestArgs),
    /// Submit images, or each as one tiled job; with --wait --output, write the results.
    Submit(TiledSubmitArgs),
    /// Show what the queue holds; --watch redraws it every 2 seconds (session 04).
    Status(StatusArgs),
    /// List the registered workers and what waits; --watch redraws (session 05).
    Workers(WorkersCommand),
    /// Send dead tasks back to the queue (session 05).
    Requeue(RequeueArgs),
    /// Delete every key of the namespace, between two lab runs (needs --yes).
    Reset(ResetArgs),
}
// ANCHOR_END: commands
