//! The session's graded exercises: four things an autoscaler does that the [`hpa`]
//! library of this crate does not.
//!
//! The library computes from averages and from its own history, forwards. These go where
//! it does not: the pods one by one, the step from zero that KEDA takes, a history that
//! someone else wrote, and the worker processes themselves.
//!
//! Each exercise has its own file and starts as a `todo!`, specified by its doc comment;
//! replace the `todo!`s with your code and run `cargo xtask grade 8`. The types the
//! exercises use are declared here, once; your files hold the functions.
//!
//! | exercise | file | item | what it is for |
//! |---|---|---|---|
//! | 8.1 | `pods.rs` | [`desired_replicas`] | the HPA's replica count from each pod's CPU, with pods that are missing or not ready |
//! | 8.2 | `keda.rs` | [`scale_to_zero`] | when KEDA takes a Deployment from zero to one and back |
//! | 8.3 | `audit.rs` | [`audit`] | the first change in a history that the behaviour forbids, and the rule it breaks |
//! | 8.4 | `drain.rs` | [`drain_one`] | remove one worker process without losing or repeating a task |
//!
//! [`hpa`]: crate::hpa

use std::process::ExitStatus;
use std::time::Duration;

pub use crate::hpa::behavior::{Behavior, Policy, PolicyKind, Rules, SelectPolicy};
pub use session03_workers::TaskId;

// ---- 8.1

// ANCHOR: pods
/// A pod's `status.phase`, as `kubectl get pods` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodPhase {
    /// Accepted, but not running yet: waiting for a node, or pulling its image.
    Pending,
    /// Running on a node.
    Running,
    /// Its containers stopped with an error, for good.
    Failed,
}

/// One pod of the scaled Deployment, as the HorizontalPodAutoscaler sees it at a sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodCpu {
    /// Its name.
    pub name: String,
    /// Its phase.
    pub phase: PodPhase,
    /// Whether it is being deleted (it has a `deletionTimestamp`): on its way out.
    pub deleting: bool,
    /// Whether the HPA trusts its CPU: it is Ready, and past the start-up burst of CPU
    /// that every new process makes. (Kubernetes decides this from the times the pod
    /// started and last changed readiness; here it is decided for you.)
    pub ready: bool,
    /// `resources.requests.cpu`, summed over its containers, in millicores (`500m` is
    /// half a core). Utilisation is a percentage of this.
    pub request_millicores: u32,
    /// What the metrics server measured, in millicores; `None` when it has no sample for
    /// the pod (it has just started, or its node's kubelet did not answer).
    pub usage_millicores: Option<u32>,
}
// ANCHOR_END: pods

/// Why [`desired_replicas`] cannot compute a replica count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplicaError {
    /// The target utilisation is 0 %.
    #[error("the target utilisation must be above 0 %")]
    NoTarget,
    /// The selector found no pod.
    #[error("no pods: the HPA has nothing to measure")]
    NoPods,
    /// A pod requests no CPU, so its utilisation means nothing.
    #[error("pod {pod} has no CPU request: utilisation is a percentage of the request")]
    NoRequest {
        /// The pod's name.
        pod: String,
    },
    /// No pod that counts has a measurement.
    #[error("no metrics for any ready pod")]
    NoMetrics,
}

// ---- 8.2 and 8.3

// ANCHOR: scale_event
/// A change of a Deployment's replicas: `from` to `to`, at `at` (counted from the start
/// of the timeline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleEvent {
    /// When it happened.
    pub at: Duration,
    /// The replicas before.
    pub from: u32,
    /// The replicas after.
    pub to: u32,
}

impl ScaleEvent {
    /// `from` to `to` replicas, `at` whole seconds from the start.
    pub fn new(at: u64, from: u32, to: u32) -> Self {
        Self {
            at: Duration::from_secs(at),
            from,
            to,
        }
    }
}
// ANCHOR_END: scale_event

// ---- 8.2

// ANCHOR: keda
/// A KEDA `ScaledObject`'s settings for the step between zero and one replica, with a
/// Redis Streams trigger on the queue's lag (entries no worker has taken yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaledObject {
    /// `activationLagCount`: the trigger is active when the lag is *above* this.
    pub activation_lag: u64,
    /// `cooldownPeriod`: how long after the last active poll it scales to zero.
    pub cooldown: Duration,
    /// `initialCooldownPeriod`: how long after its creation it may scale to zero when it
    /// has never been active.
    pub initial_cooldown: Duration,
}

/// KEDA's defaults: active on any lag, a cooldown of 300 s, no initial cooldown.
impl Default for ScaledObject {
    fn default() -> Self {
        Self {
            activation_lag: 0,
            cooldown: Duration::from_secs(300),
            initial_cooldown: Duration::ZERO,
        }
    }
}

/// One poll of the trigger: the lag it read, `at` this long after the `ScaledObject` was
/// created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Poll {
    /// When.
    pub at: Duration,
    /// The lag it read.
    pub lag: u64,
}

impl Poll {
    /// A lag of `lag` read `at` whole seconds after the creation.
    pub fn new(at: u64, lag: u64) -> Self {
        Self {
            at: Duration::from_secs(at),
            lag,
        }
    }
}
// ANCHOR_END: keda

/// A timeline that cannot be read: the entry at `index` is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {index}: {reason}")]
pub struct TimelineError {
    /// The entry at fault, counted from 0.
    pub index: usize,
    /// What is wrong with it.
    pub reason: String,
}

// ---- 8.3

// ANCHOR: audit_types
/// Which way a change goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// More replicas: `scaleUp` applies.
    Up,
    /// Fewer replicas: `scaleDown` applies.
    Down,
}

/// The field of `spec.behavior` that rules the direction: `scaleUp` or `scaleDown`.
impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::Up => "scaleUp",
            Direction::Down => "scaleDown",
        })
    }
}

/// The rule a change broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The direction's `selectPolicy` is `Disabled`: no change that way at all.
    Disabled,
    /// The policy that `selectPolicy` chose, whose limit the change went past.
    Policy(Policy),
}

/// A change a real HPA could not have made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Violation {
    /// Which event, counted from 0.
    pub index: usize,
    /// Its direction.
    pub direction: Direction,
    /// The furthest the HPA could have gone from `from`: the most replicas for a change up,
    /// the fewest for a change down.
    pub limit: u32,
    /// The rule it broke.
    pub rule: Rule,
}

/// Why [`audit`] cannot judge a history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The behaviour is one Kubernetes would refuse.
    #[error("{direction}: {reason}")]
    Behavior {
        /// The direction whose rules are at fault.
        direction: Direction,
        /// What is wrong.
        reason: String,
    },
    /// The history cannot be read.
    #[error(transparent)]
    Events(#[from] TimelineError),
}
// ANCHOR_END: audit_types

// ---- 8.4

// ANCHOR: drained
/// What [`drain_one`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drained {
    /// The worker's id in the registry.
    pub worker: String,
    /// Its process id.
    pub pid: u32,
    /// The tasks it held when it was chosen (its last heartbeat's `current`), in that
    /// order.
    pub held: Vec<TaskId>,
    /// Those of them in a final state (succeeded, failed or dead) once it had exited, in
    /// the same order: all of them, when it drained.
    pub finished: Vec<TaskId>,
    /// How the process exited.
    pub status: ExitStatus,
}
// ANCHOR_END: drained

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/pods.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/pods.rs")]
mod pods;
pub use pods::desired_replicas;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/keda.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/keda.rs")]
mod keda;
pub use keda::scale_to_zero;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/audit.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/audit.rs")]
mod audit;
pub use audit::audit;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/drain.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/drain.rs")]
mod drain;
pub use drain::drain_one;
