//! The `worker` command, as a container runs it: session 05's worker (registered, beating,
//! able to run tiled jobs) with its health written to a file for `HEALTHCHECK`.
//!
//! Everything a container needs from a process is already there, and this file only
//! composes it:
//!
//! - configuration from the environment: every flag has an environment variable
//!   (`REDIS_URL`, `WORKER_CONCURRENCY`, `WORKER_ID`, `HEALTH_FILE`, ...);
//! - a readable name: `--worker-id` (the container's host name when unset, since the
//!   queue's consumer name starts with the host name);
//! - signals: the binary is PID 1 in its container (exec-form `ENTRYPOINT`), so `docker
//!   stop`'s SIGTERM reaches it; the worker stops taking tasks, finishes those in hand
//!   within `--shutdown-grace`, gives back the rest, and exits 0. Docker sends SIGKILL
//!   after its own grace period (`stop_grace_period`, 10 s unless set), so set that longer
//!   than `SHUTDOWN_GRACE` plus a few seconds, as the compose file does;
//! - health: [`health::attach`] rewrites the health file while the pool runs.

use anyhow::Result;
use session04_redis::worker::serve;
use session05_distributed::worker::{DistributedWorkerArgs, compose};

use crate::health::{self, HealthFileArgs};

/// Runs a registered worker that reports its health in a file, until SIGTERM or Ctrl-C.
// ANCHOR: args
#[derive(Debug, Clone, clap::Args)]
pub struct ContainerWorkerArgs {
    /// Session 05's worker: queue, concurrency, capabilities, heartbeat, grace.
    #[command(flatten)]
    pub worker: DistributedWorkerArgs,
    /// Where and how often to write the health file.
    #[command(flatten)]
    pub health: HealthFileArgs,
}
// ANCHOR_END: args

// ANCHOR: run
/// Runs the worker until a shutdown signal.
pub async fn run(args: ContainerWorkerArgs) -> Result<String> {
    let heartbeat = args.worker.heartbeat.config()?;
    let folder = args.worker.folder.open()?;
    let file = args.health.config()?;
    // Until Redis answers, the file keeps saying "starting", so it never looks hung.
    let starting = tokio::spawn(keep_starting(file.clone()));
    let report = serve(args.worker.worker, |runtime| {
        starting.abort();
        Ok(health::attach(
            compose(runtime, heartbeat, folder),
            file.clone(),
        ))
    })
    .await;
    // Stopped before Redis answered, or failed to start: no stale health file stays.
    file.remove();
    report
}
// ANCHOR_END: run

/// Rewrites the "starting" status every interval (until aborted).
async fn keep_starting(file: health::HealthFile) {
    loop {
        tokio::time::sleep(file.interval).await;
        if let Err(error) = file.write_starting() {
            tracing::warn!(%error, "cannot write the health file");
        }
    }
}
