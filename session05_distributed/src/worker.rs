//! The `worker` command: session 04's worker, registered in the [`Registry`] and beating,
//! and able to run the tiles of a tiled job and assemble it ([`jobs`]).
//!
//! Nothing about taking, running or acknowledging tasks changes: the worker is session
//! 04's [`Runtime`], and this session composes two additions onto it ([`compose`]):
//! [`jobs::attach`] (tiles and assemblies) and [`heartbeat::attach`] (the registry record
//! and its beats).
//!
//! [`Registry`]: crate::Registry

use anyhow::Result;
use session03_workers::cli::seconds;
use session04_redis::Runtime;
use session04_redis::worker::{WorkerArgs, serve};

use crate::registry::RegistryConfig;
use crate::{heartbeat, jobs};

/// How often to beat, and when readers give up on a silent worker.
#[derive(Debug, Clone, clap::Args)]
pub struct HeartbeatArgs {
    /// Seconds between two heartbeats.
    #[arg(
        long = "heartbeat",
        value_name = "SECONDS",
        env = "WORKER_HEARTBEAT",
        default_value_t = 2.0
    )]
    pub interval: f64,
    /// Seconds of silence after which readers count a worker as gone.
    #[arg(
        long = "heartbeat-ttl",
        value_name = "SECONDS",
        env = "WORKER_HEARTBEAT_TTL",
        default_value_t = 10.0
    )]
    pub ttl: f64,
}

impl HeartbeatArgs {
    /// The registry's timing; the TTL must leave room for a few beats.
    pub fn config(&self) -> Result<RegistryConfig> {
        let interval = seconds("heartbeat", self.interval)?;
        let ttl = seconds("heartbeat-ttl", self.ttl)?;
        anyhow::ensure!(
            ttl >= interval * 2,
            "--heartbeat-ttl ({}s) must be at least twice --heartbeat ({}s), or one late beat \
             would count a live worker as gone",
            self.ttl,
            self.interval
        );
        Ok(RegistryConfig {
            interval,
            ttl,
            ..RegistryConfig::default()
        })
    }
}

/// Runs tasks from Redis, registered and beating, until SIGTERM or Ctrl-C.
#[derive(Debug, Clone, clap::Args)]
pub struct DistributedWorkerArgs {
    /// Session 04's worker options.
    #[command(flatten)]
    pub worker: WorkerArgs,
    /// The heartbeat.
    #[command(flatten)]
    pub heartbeat: HeartbeatArgs,
}

// ANCHOR: run
/// Runs a registered worker until a shutdown signal: session 04's worker, able to run
/// tiled jobs, with a heartbeat.
pub async fn run(args: DistributedWorkerArgs) -> Result<String> {
    let config = args.heartbeat.config()?;
    serve(args.worker, |runtime| Ok(compose(runtime, config))).await
}

/// Session 05's additions to a worker runtime: tiled jobs and the heartbeat.
pub fn compose(runtime: Runtime, config: RegistryConfig) -> Runtime {
    heartbeat::attach(jobs::attach(runtime), config)
}
// ANCHOR_END: run
