//! Health as a command: the worker writes its health to a small file every few seconds, and
//! `session06_docker health` reads it and answers with an exit code.
//!
//! Docker's `HEALTHCHECK` runs a command inside the container and reads its exit code: 0
//! healthy, 1 unhealthy. The usual answer is `curl http://localhost:PORT/health`, which
//! needs curl in the image and a port in the worker. Here the worker's own binary is the
//! probe, and a file is the channel:
//!
//! - the worker (a side task beside its pool) writes a [`HealthStatus`] as JSON every
//!   `--health-interval`, atomically (a temporary file renamed over the old one, so a
//!   reader never sees half a file);
//! - `health` reads it and says unhealthy when the file is missing or unreadable, when it
//!   is older than `--max-age` (the process hung: nothing rewrites it), or when the worker
//!   itself says it is not live or not ready (shutting down, its workers not all running,
//!   the queue failing), and prints why.
//!
//! A file needs no port and no network, and works with a read-only root filesystem as long
//! as its folder is writable (`/tmp` on a tmpfs, in the compose file). Session 07 answers
//! the same questions over HTTP, for Kubernetes' probes.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use session03_workers::cli::seconds;
use session03_workers::{Health, StatsHandle};
use session04_redis::Runtime;
use tracing::warn;

/// The health file's path: the worker writes it, `health` reads it, and both take it
/// from the same flag and variable.
#[derive(Debug, Clone, clap::Args)]
pub struct HealthFilePath {
    /// The file the worker writes its health to (its folder must be writable).
    #[arg(
        long = "health-file",
        value_name = "PATH",
        env = "HEALTH_FILE",
        default_value_os_t = default_health_file()
    )]
    pub path: PathBuf,
}

/// Where the worker writes its health, and how often.
#[derive(Debug, Clone, clap::Args)]
pub struct HealthFileArgs {
    /// The file.
    #[command(flatten)]
    pub health_file: HealthFilePath,
    /// Seconds between two writes of the health file.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "HEALTH_INTERVAL",
        default_value_t = 2.0
    )]
    pub health_interval: f64,
}

/// The health file when none is given: `session06-worker-health.json` in the temporary
/// folder (`/tmp` on Linux). Several workers on one machine each need their own.
pub fn default_health_file() -> PathBuf {
    std::env::temp_dir().join("session06-worker-health.json")
}

/// What the worker writes: who it is, when, and its pool's [`Health`].
// ANCHOR: status
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthStatus {
    /// The worker's id (its consumer name in the queue).
    pub worker: String,
    /// Its process id.
    pub pid: u32,
    /// When it wrote this.
    pub written_at: DateTime<Utc>,
    /// Live, ready, and why not.
    pub health: Health,
    /// Attempts it has finished since it started.
    pub processed: u64,
    /// Seconds between its writes: a reader allows at least three of them.
    #[serde(default)]
    pub interval_seconds: f64,
}
// ANCHOR_END: status

/// The answer of the `health` command.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Healthy: exit code 0.
    pub healthy: bool,
    /// Why not; empty when healthy.
    pub reasons: Vec<String>,
    /// What the file said, when it could be read.
    pub status: Option<HealthStatus>,
}

// ANCHOR: judge
/// Judges a health file's contents at time `now`: healthy when it parses, is at most
/// `max_age` old, and says live and ready.
pub fn judge(contents: &str, now: DateTime<Utc>, max_age: Duration) -> Verdict {
    let status: HealthStatus = match serde_json::from_str(contents) {
        Ok(status) => status,
        Err(error) => return unhealthy(format!("the health file is not valid: {error}"), None),
    };
    let mut reasons: Vec<String> = age_problem(&status, now, max_age).into_iter().collect();
    if !status.health.live {
        reasons.push("the worker says it is not live".to_owned());
    }
    reasons.extend(status.health.reasons.iter().cloned());
    if reasons.is_empty() && !status.health.ready {
        reasons.push("the worker says it is not ready".to_owned());
    }
    Verdict {
        healthy: reasons.is_empty(),
        reasons,
        status: Some(status),
    }
}
// ANCHOR_END: judge

/// The most bytes of a health file that are read: a status is a few hundred.
pub const MAX_HEALTH_FILE_BYTES: u64 = 64 * 1024;

/// What is wrong with the status's age at `now`, if anything: older than `max_age` (or
/// three of the worker's own intervals, if longer), or written in the future.
fn age_problem(status: &HealthStatus, now: DateTime<Utc>, max_age: Duration) -> Option<String> {
    // A worker that writes every 5 s is not late after 4 s of `--max-age`.
    let own = Duration::from_secs_f64(3.0 * status.interval_seconds.clamp(0.0, 3600.0));
    let max_age = max_age.max(own);
    if status.written_at > now + chrono::Duration::seconds(5) {
        return Some(format!(
            "the health file was written at {}, in the future: is the clock right?",
            status.written_at
        ));
    }
    let age = (now - status.written_at).to_std().unwrap_or_default();
    (age > max_age).then(|| {
        format!(
            "the health file is {:.1}s old (more than {:.1}s): the worker stopped updating it",
            age.as_secs_f64(),
            max_age.as_secs_f64()
        )
    })
}

/// Reads and judges the health file at `path` now.
pub fn check(path: &Path, max_age: Duration) -> Verdict {
    match read(path) {
        Ok(contents) => judge(&contents, Utc::now(), max_age),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => unhealthy(
            format!(
                "no health file at {}: the worker has not started, has stopped, or writes \
                 elsewhere (--health-file)",
                path.display()
            ),
            None,
        ),
        Err(error) => unhealthy(format!("cannot read {}: {error}", path.display()), None),
    }
}

/// The file's text, at most [`MAX_HEALTH_FILE_BYTES`] of it.
fn read(path: &Path) -> std::io::Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_HEALTH_FILE_BYTES)
        .read_to_string(&mut text)?;
    Ok(text)
}

fn unhealthy(reason: String, status: Option<HealthStatus>) -> Verdict {
    Verdict {
        healthy: false,
        reasons: vec![reason],
        status,
    }
}

/// Writes `status` to `path` atomically: a temporary file beside it, renamed over it.
pub fn write(path: &Path, status: &HealthStatus) -> Result<()> {
    // A name no other writer uses, even one that is PID 1 in another container.
    let mut temporary = path.as_os_str().to_owned();
    let random = uuid::Uuid::new_v4().simple().to_string();
    temporary.push(format!(".{}.tmp", &random[..12]));
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, serde_json::to_vec(status)?)
        .with_context(|| format!("cannot write the health file {}", temporary.display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot write the health file {}", path.display()))
}

/// The health file's settings, checked.
#[derive(Debug, Clone)]
pub struct HealthFile {
    /// The file.
    pub path: PathBuf,
    /// Time between writes.
    pub interval: Duration,
}

impl HealthFileArgs {
    /// The settings, checked; the file's folder must exist and be writable.
    pub fn config(&self) -> Result<HealthFile> {
        let file = HealthFile {
            path: self.health_file.path.clone(),
            interval: seconds("health-interval", self.health_interval)?,
        };
        file.probe()?;
        Ok(file)
    }
}

impl HealthFile {
    /// Refuses a file that another running worker writes (a fresh status with another
    /// process id), then writes a first status (not ready: starting), so a folder that
    /// cannot be written is an error at start, not a silent unhealthy container.
    fn probe(&self) -> Result<()> {
        if let Some(other) = check(&self.path, self.interval * 3).status
            && other.pid != std::process::id()
            && other.health.live
            && judge_age_ok(&other, self.interval)
        {
            anyhow::bail!(
                "{} is the health file of another running worker (pid {}, {}): give each \
                 worker its own --health-file (HEALTH_FILE)",
                self.path.display(),
                other.pid,
                other.worker
            );
        }
        self.write_starting()
    }

    /// Says "starting": the worker is connecting to Redis.
    pub fn write_starting(&self) -> Result<()> {
        write(
            &self.path,
            &HealthStatus {
                worker: String::new(),
                pid: std::process::id(),
                written_at: Utc::now(),
                health: Health::from_reasons(
                    true,
                    vec!["starting: connecting to Redis".to_owned()],
                ),
                processed: 0,
                interval_seconds: self.interval.as_secs_f64(),
            },
        )
    }

    /// Removes the file, if it is this process's.
    pub fn remove(&self) {
        let ours = read(&self.path)
            .ok()
            .and_then(|text| serde_json::from_str::<HealthStatus>(&text).ok())
            .is_none_or(|status| status.pid == std::process::id());
        if ours {
            remove(&self.path);
        }
    }
}

/// Whether `status` was written within three of `interval`s.
fn judge_age_ok(status: &HealthStatus, interval: Duration) -> bool {
    (Utc::now() - status.written_at)
        .to_std()
        .is_ok_and(|age| age <= interval * 3)
}

// ANCHOR: attach
/// Adds the health file to a worker runtime: a side task that rewrites it every interval
/// (and at once when the worker begins to stop) while the pool runs, and removes it when
/// the worker has stopped.
pub fn attach(runtime: Runtime, file: HealthFile) -> Runtime {
    runtime.beside(move |context, stats, done| async move {
        let worker = context.id().to_owned();
        let mut stopping = false;
        loop {
            let mut status = status(&worker, &stats, file.interval);
            if stopping && status.health.ready {
                status.health = Health::from_reasons(true, vec!["shutting down".to_owned()]);
            }
            if let Err(error) = write(&file.path, &status) {
                warn!(%error, "cannot write the health file");
            }
            tokio::select! {
                () = tokio::time::sleep(file.interval) => {}
                () = context.stopping.cancelled(), if !stopping => stopping = true,
                () = done.cancelled() => break,
            }
        }
        file.remove();
    })
}
// ANCHOR_END: attach

fn status(worker: &str, stats: &StatsHandle, interval: Duration) -> HealthStatus {
    HealthStatus {
        worker: worker.to_owned(),
        pid: std::process::id(),
        written_at: Utc::now(),
        health: stats.health(),
        processed: stats.snapshot().processed,
        interval_seconds: interval.as_secs_f64(),
    }
}

/// Removes the health file, if it is there.
pub fn remove(path: &Path) {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => warn!(%error, path = %path.display(), "cannot remove the health file"),
    }
}

/// Checks the health file and renders the verdict: `health` is the command.
#[derive(Debug, Clone, clap::Args)]
pub struct HealthArgs {
    /// The file.
    #[command(flatten)]
    pub health_file: HealthFilePath,
    /// Seconds after which an unchanged file means the worker hung (at least three of
    /// the worker's own intervals are always allowed).
    #[arg(
        long,
        value_name = "SECONDS",
        env = "HEALTH_MAX_AGE",
        default_value_t = 10.0
    )]
    pub max_age: f64,
    /// The verdict as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs the `health` command: the verdict as text (or JSON) and whether it is healthy.
pub fn command(args: &HealthArgs) -> Result<(bool, String)> {
    let verdict = check(&args.health_file.path, seconds("max-age", args.max_age)?);
    let text = if args.json {
        serde_json::to_string_pretty(&verdict)? + "\n"
    } else if verdict.healthy {
        let worker = verdict.status.as_ref().map_or("", |s| s.worker.as_str());
        format!("healthy: worker {worker} is live and ready\n")
    } else {
        let mut text = String::from("unhealthy:\n");
        for reason in &verdict.reasons {
            text.push_str(&format!("  - {reason}\n"));
        }
        text
    };
    Ok((verdict.healthy, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(at: DateTime<Utc>, health: Health) -> String {
        serde_json::to_string(&HealthStatus {
            worker: "w".to_owned(),
            pid: 1,
            written_at: at,
            health,
            processed: 0,
            interval_seconds: 2.0,
        })
        .unwrap()
    }

    #[test]
    fn fresh_live_and_ready_is_healthy() {
        let now = Utc::now();
        let verdict = judge(
            &status(now, Health::from_reasons(true, vec![])),
            now + chrono::Duration::seconds(3),
            Duration::from_secs(10),
        );
        assert!(verdict.healthy, "{verdict:?}");
        assert!(verdict.reasons.is_empty());
    }

    #[test]
    fn a_draining_worker_is_unhealthy_with_its_own_reason() {
        let now = Utc::now();
        let draining = Health::from_reasons(true, vec!["shutting down".to_owned()]);
        let verdict = judge(&status(now, draining), now, Duration::from_secs(10));
        assert!(!verdict.healthy);
        assert_eq!(verdict.reasons, ["shutting down"]);
    }

    #[test]
    fn a_dead_pool_and_an_old_file_both_count() {
        let now = Utc::now();
        let dead = Health::from_reasons(false, vec!["the pool's supervisor stopped".to_owned()]);
        let verdict = judge(
            &status(now, dead),
            now + chrono::Duration::seconds(11),
            Duration::from_secs(10),
        );
        assert!(!verdict.healthy);
        assert_eq!(verdict.reasons.len(), 3, "{:?}", verdict.reasons);
        assert!(verdict.reasons[0].contains("11.0s old"));
    }

    #[test]
    fn writes_replace_the_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.json");
        let first: HealthStatus =
            serde_json::from_str(&status(Utc::now(), Health::from_reasons(true, vec![]))).unwrap();
        write(&path, &first).unwrap();
        write(&path, &first).unwrap();
        assert!(check(&path, Duration::from_secs(10)).healthy);
        // Only the file itself is left: no temporary file beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
