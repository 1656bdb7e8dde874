//! The command line: the session's own commands (`worker`, `api` and `autoscale` with
//! metrics; `metrics`, `monitor`, `stress`), and the earlier sessions' views.

use clap::{Parser, Subcommand};
use session04_redis::reset::ResetArgs;
use session04_redis::status::StatusArgs;
use session05_distributed::workers::WorkersCommand;

use crate::api::MonitoredApiArgs;
use crate::autoscale::MonitoredAutoscaleArgs;
use crate::demo::DemoArgs;
use crate::metrics::MetricsArgs;
use crate::monitor::MonitorArgs;
use crate::stress::StressArgs;
use crate::worker::MonitoredWorkerArgs;

/// Monitoring you can read: the course's ninth session.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli {
    /// A command; without one, the demo: three workers under a stress run, measured.
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
    /// Run tasks from Redis with probes and `/metrics`, until SIGTERM.
    Worker(MonitoredWorkerArgs),
    /// Serve the status API with `/metrics`, until SIGTERM.
    Api(MonitoredApiArgs),
    /// Scale worker processes to the load, with `/metrics`, until Ctrl-C.
    Autoscale(MonitoredAutoscaleArgs),
    /// Print one snapshot of the system: host, workers, queue, recommendation.
    Metrics(MetricsArgs),
    /// Watch the system in a terminal dashboard.
    Monitor(MonitorArgs),
    /// Submit N tasks and watch the workers take them.
    Stress(StressArgs),
    /// Show what the queue holds (session 04).
    Status(StatusArgs),
    /// List the registered workers and what waits (session 05).
    Workers(WorkersCommand),
    /// Delete every key of the namespace (needs --yes).
    Reset(ResetArgs),
}
// ANCHOR_END: commands
