//! The session's graded exercises: four things a program needs from itself, and from its
//! image, to live well in a container.
//!
//! Each exercise has its own file and starts as a `todo!`, specified by its doc comment;
//! replace the `todo!`s with your code and run `cargo xtask grade 6`. The types the
//! exercises use are declared here, once; your files hold the functions.
//!
//! | exercise | file | item | what it is for |
//! |---|---|---|---|
//! | 6.1 | `config.rs` | [`config_from_env`] | a worker's settings from its environment, every mistake named at once |
//! | 6.2 | `healthcheck.rs` | [`health_states`] | how Docker turns health probes into `starting`, `healthy` and `unhealthy` |
//! | 6.3 | `drain.rs` | [`drain`] | `docker stop`: finish the tasks in hand within a grace period, give back the rest |
//! | 6.4 | `dockerfile.rs` | [`review_dockerfile`] | a Dockerfile's mistakes, found stage by stage, with line numbers |
//!
//! Exercise 6.3 works on the lists of exercise 5.3 (session 05): a worker takes a task by
//! moving it from the ready list [`ready_key`]`(ns)` = `NS:ready` to its processing list
//! [`processing_key`]`(ns, w)` = `NS:processing:W`, and workers take tasks from the right
//! end of the ready list.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use session03_workers::Capabilities;
use session04_redis::connect::redact;
pub use session05_distributed::exercises::{processing_key, ready_key};

// ---- 6.1

// ANCHOR: config_types
/// A worker's settings, read from its environment by [`config_from_env`].
#[derive(Clone, PartialEq)]
pub struct WorkerConfig {
    /// `REDIS_URL`: where Redis is (required).
    pub redis_url: String,
    /// `REDIS_PASSWORD`, or the contents of the file `REDIS_PASSWORD_FILE` names.
    pub redis_password: Option<String>,
    /// `WORKER_CONCURRENCY`: tasks run at once; `None` when unset (one per CPU).
    pub concurrency: Option<usize>,
    /// `WORKER_CAPABILITIES`: the filters the worker runs (default: all).
    pub capabilities: Capabilities,
    /// `SHUTDOWN_GRACE`: how long tasks in hand may run after SIGTERM (default: 30 s).
    pub shutdown_grace: Duration,
}

/// One environment variable that is missing or holds a bad value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable's name: `WORKER_CONCURRENCY`.
    pub variable: String,
    /// What it holds, as set (for `REDIS_PASSWORD_FILE`, the path; for `REDIS_URL`, with its
    /// password masked); empty when unset.
    pub value: String,
    /// What is wrong with it, in words.
    pub problem: String,
}
// ANCHOR_END: config_types

/// Shows every setting but the passwords (`redis_password`, and the one a URL may hold),
/// so that a logged configuration leaks no secret.
impl fmt::Debug for WorkerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerConfig")
            .field("redis_url", &redact(&self.redis_url))
            .field(
                "redis_password",
                &self.redis_password.as_ref().map(|_| "<hidden>"),
            )
            .field("concurrency", &self.concurrency)
            .field("capabilities", &self.capabilities)
            .field("shutdown_grace", &self.shutdown_grace)
            .finish()
    }
}

/// `WORKER_CONCURRENCY="four": not a whole number`, or `REDIS_URL: not set` when the
/// variable holds nothing.
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}: {}", self.variable, self.problem)
        } else {
            write!(f, "{}=\"{}\": {}", self.variable, self.value, self.problem)
        }
    }
}

impl std::error::Error for ConfigError {}

/// The default of `SHUTDOWN_GRACE`.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The most bytes `REDIS_PASSWORD_FILE` may hold: a password, not a disk image.
pub const MAX_SECRET_BYTES: u64 = 4096;

// ---- 6.2

/// Docker's `--timeout` when it is 0 or not given.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// Docker's `--retries` when it is 0 or not given.
pub const DEFAULT_RETRIES: u32 = 3;

// ANCHOR: probe
/// A `HEALTHCHECK`'s options, as Docker reads them (`--timeout`, `--start-period`,
/// `--retries`; `--interval` only spaces the probes and plays no part here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthcheckOptions {
    /// How long one probe may run before it is killed and counts as failed (0: 30 s).
    pub timeout: Duration,
    /// How long after the container starts failures do not count while it is `starting`.
    pub start_period: Duration,
    /// Consecutive failures that make the container `unhealthy` (0: 3).
    pub retries: u32,
}

/// One run of the health check command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// When it started, counted from the container's start.
    pub started: Duration,
    /// How long it ran.
    pub took: Duration,
    /// Its exit code: 0 healthy, anything else unhealthy.
    pub exit_code: i32,
}
// ANCHOR_END: probe

/// A container's health status, as `docker ps` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerHealth {
    /// No probe has succeeded yet, and not enough have failed.
    Starting,
    /// The last probe succeeded.
    Healthy,
    /// `retries` probes in a row failed.
    Unhealthy,
}

/// What Docker knows after a probe: the status, and the failures in a row that count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthState {
    /// The container's status.
    pub status: ContainerHealth,
    /// Consecutive failed probes that counted (`FailingStreak` in `docker inspect`).
    pub failing_streak: u32,
}

// ---- 6.3

// ANCHOR: drain_types
/// The work of one task, not started yet: [`drain`] spawns it.
pub type Work = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A task a worker holds: it is in the worker's processing list, and its work runs.
pub struct InHand {
    /// The task, as it is stored in the lists.
    pub task: String,
    /// Its work: the task is finished when this future returns.
    pub work: Work,
}

/// What happened to the tasks in hand, from [`drain`]; each list in the order the tasks
/// were in hand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// The tasks whose work returned: acknowledged, removed from the processing list.
    pub finished: Vec<String>,
    /// The tasks given back to the ready list, for another worker to run.
    pub released: Vec<String>,
}
// ANCHOR_END: drain_types

// ---- 6.4

// ANCHOR: finding
/// A problem [`review_dockerfile`] found, at a line (counted from 1).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The line where the instruction at fault starts.
    pub line: usize,
    /// What is wrong.
    pub kind: FindingKind,
}

/// What is wrong with a Dockerfile. Findings on one line come in this order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum FindingKind {
    /// A base image without a tag, or tagged `latest`: it changes when its publisher pushes.
    UnpinnedImage {
        /// The image as written: `debian`, `rust:latest`.
        image: String,
    },
    /// The whole build context is copied before the dependencies are built.
    SourcesBeforeDependencies,
    /// The final image runs as root.
    RunsAsRoot,
    /// The final image's `ENTRYPOINT` or `CMD` is in shell form: the program runs under
    /// `/bin/sh -c`, which does not pass `docker stop`'s SIGTERM on; or, for a `CMD` under an
    /// exec-form `ENTRYPOINT`, the entrypoint gets `/bin/sh -c "..."` as its arguments.
    ShellForm {
        /// `ENTRYPOINT` or `CMD`.
        instruction: String,
    },
    /// The final image has no `HEALTHCHECK`: a hung container looks like a working one.
    NoHealthcheck,
}
// ANCHOR_END: finding

/// A Dockerfile [`review_dockerfile`] cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerfileError {
    /// No `FROM`: there is no image to build.
    NoFrom,
    /// The instruction at `line` is not one Docker knows, or is where it may not be.
    Invalid {
        /// The line where the instruction starts.
        line: usize,
        /// What is wrong, naming the instruction.
        reason: String,
    },
}

impl fmt::Display for DockerfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DockerfileError::NoFrom => f.write_str("the Dockerfile has no FROM instruction"),
            DockerfileError::Invalid { line, reason } => write!(f, "line {line}: {reason}"),
        }
    }
}

impl std::error::Error for DockerfileError {}

/// The instructions Docker knows, in capitals.
pub const INSTRUCTIONS: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/config.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/config.rs")]
mod config;
pub use config::config_from_env;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/healthcheck.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/healthcheck.rs")]
mod healthcheck;
pub use healthcheck::health_states;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/drain.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/drain.rs")]
mod drain;
pub use drain::drain;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/dockerfile.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/dockerfile.rs")]
mod dockerfile;
pub use dockerfile::review_dockerfile;
