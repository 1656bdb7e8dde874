//! The `worker` command: session 04's worker, registered in the [`Registry`] and beating,
//! and able to run the tiles of a tiled job and assemble it ([`jobs`]).
//!
//! Nothing about taking, running or acknowledging tasks changes: the worker is session
//! 04's [`Runtime`], and this session composes two additions onto it ([`compose`]):
//! [`jobs::attach`] (tiles and assemblies) and [`heartbeat::attach`] (the registry record
//! and its beats).
//!
//! [`Registry`]: crate::Registry

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use session03_workers::FsBlobStore;
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

/// Where tiled jobs may keep their pixels instead of Redis.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SharedFolderArgs {
    /// A folder that every worker and submitter sees (a compose volume, a Kubernetes
    /// volume, a local folder): tiled jobs on it read and write their pixels there, in
    /// place, and only their bookkeeping goes through Redis.
    #[arg(long, value_name = "DIR", env = "SHARED_DIR")]
    pub shared_dir: Option<PathBuf>,
}

impl SharedFolderArgs {
    /// The folder as a blob store, made when missing; `None` without `--shared-dir`.
    pub fn open(&self) -> Result<Option<Arc<FsBlobStore>>> {
        self.shared_dir
            .as_ref()
            .map(|dir| {
                // No cap per file: a band is checked against the decoding limits, and a
                // result is loaded whole only within them.
                FsBlobStore::with_limit(dir, u64::MAX)
                    .map(Arc::new)
                    .with_context(|| format!("cannot use --shared-dir {}", dir.display()))
            })
            .transpose()
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
    /// The shared folder, if any.
    #[command(flatten)]
    pub folder: SharedFolderArgs,
}

// ANCHOR: run
/// Runs a registered worker until a shutdown signal: session 04's worker, able to run
/// tiled jobs, with a heartbeat.
pub async fn run(args: DistributedWorkerArgs) -> Result<String> {
    let config = args.heartbeat.config()?;
    let folder = args.folder.open()?;
    serve(args.worker, |runtime| Ok(compose(runtime, config, folder))).await
}

/// Session 05's additions to a worker runtime: tiled jobs (on `folder` too, if given)
/// and the heartbeat.
pub fn compose(
    runtime: Runtime,
    config: RegistryConfig,
    folder: Option<Arc<FsBlobStore>>,
) -> Runtime {
    heartbeat::attach(jobs::attach(runtime, folder), config)
}
// ANCHOR_END: run
