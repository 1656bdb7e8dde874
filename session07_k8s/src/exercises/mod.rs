//! The session's graded exercises: four things Kubernetes does with what you give it, and
//! one route of the status API.
//!
//! Each exercise has its own file and starts as a `todo!`, specified by its doc comment;
//! replace the `todo!`s with your code and run `cargo xtask grade 7`. The types the
//! exercises use are declared here, once; your files hold the functions.
//!
//! | exercise | file | items | what it is for |
//! |---|---|---|---|
//! | 7.1 | `selectors.rs` | [`selects`], [`selecting_nothing`] | label selectors, and the Services that find no pod |
//! | 7.2 | `rollout.rs` | [`rollout_bounds`] | how many pods a rolling update may add and take away |
//! | 7.3 | `task_list.rs` | [`router`] | `GET /api/tasks?state=...&limit=...` on the status API, over real HTTP |
//! | 7.4 | `kubelet.rs` | [`probe_events`] | how the kubelet turns probe answers into Ready, NotReady and restarts |

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use session03_workers::{TaskId, TaskState};

// ---- 7.1

// ANCHOR: selector
/// How a [`Requirement`] compares a label's value with its `values`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// The label is set, to one of `values`.
    In,
    /// The label is not set to any of `values` (or is not set at all).
    NotIn,
    /// The label is set, to anything. `values` must be empty.
    Exists,
    /// The label is not set. `values` must be empty.
    DoesNotExist,
}

/// One entry of a selector's `matchExpressions`:
/// `{key: tier, operator: In, values: [web, api]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The label's name.
    pub key: String,
    /// How the label is compared.
    pub operator: Operator,
    /// What it is compared with.
    pub values: Vec<String>,
}

/// A Kubernetes label selector, as a Deployment's `spec.selector`, a
/// PodDisruptionBudget's `spec.selector` or a NetworkPolicy's `spec.podSelector` holds it.
/// A Service's `spec.selector` is a plain map of labels: its `match_labels`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    /// `matchLabels`: each label must be set to exactly this value.
    pub match_labels: BTreeMap<String, String>,
    /// `matchExpressions`: each must hold.
    pub match_expressions: Vec<Requirement>,
}
// ANCHOR_END: selector

// ANCHOR: objects
/// An object that picks pods by a selector: a Service, a PodDisruptionBudget, a
/// NetworkPolicy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selecting {
    /// Its kind, as in its manifest: `Service`, `PodDisruptionBudget`, `NetworkPolicy`.
    pub kind: String,
    /// Its namespace: it only ever selects pods of its own.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its selector (for a Service, `match_labels` only).
    pub selector: LabelSelector,
}

/// The pods an object will make: a Deployment's or a StatefulSet's `spec.template`, or a
/// bare Pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodTemplate {
    /// Who makes the pods: `Deployment/worker-deployment`.
    pub owner: String,
    /// The namespace the pods run in.
    pub namespace: String,
    /// The pods' labels (`spec.template.metadata.labels`).
    pub labels: BTreeMap<String, String>,
}
// ANCHOR_END: objects

/// A selector Kubernetes would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError {
    /// The key of the expression at fault.
    pub key: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "matchExpressions key {:?}: {}", self.key, self.reason)
    }
}

impl std::error::Error for SelectorError {}

// ---- 7.2

// ANCHOR: strategy
/// A field that holds a whole number or a percentage, as Kubernetes' `IntOrString`:
/// `maxSurge: 1` or `maxSurge: "25%"` in YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntOrString {
    /// A number of pods.
    Int(i64),
    /// Text, which must be a percentage of the replicas: `"25%"`.
    String(String),
}

/// A Deployment's `spec.strategy.rollingUpdate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollingUpdate {
    /// How many pods above `replicas` may exist during the update.
    pub max_surge: IntOrString,
    /// How many pods below `replicas` may be unavailable during the update.
    pub max_unavailable: IntOrString,
}

/// Kubernetes' defaults: `maxSurge: 25%`, `maxUnavailable: 25%`.
impl Default for RollingUpdate {
    fn default() -> Self {
        Self {
            max_surge: IntOrString::String("25%".to_owned()),
            max_unavailable: IntOrString::String("25%".to_owned()),
        }
    }
}

// ANCHOR_END: strategy

// ANCHOR: bounds
/// What a rolling update of a Deployment may do, in pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RolloutBounds {
    /// `maxSurge`, resolved to pods.
    pub max_surge: u64,
    /// `maxUnavailable`, resolved to pods.
    pub max_unavailable: u64,
    /// The most pods, old and new, that may exist at once.
    pub max_pods: u64,
    /// The fewest pods that must stay available.
    pub min_available: u64,
}
// ANCHOR_END: bounds

/// A `rollingUpdate` Kubernetes would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutError {
    /// The field at fault: `maxSurge` or `maxUnavailable`.
    pub field: String,
    /// Its value, as written: `abc%`, `-1`.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for RolloutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?}: {}", self.field, self.value, self.reason)
    }
}

impl std::error::Error for RolloutError {}

/// `1` or `25%`, as written in YAML.
impl fmt::Display for IntOrString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntOrString::Int(n) => write!(f, "{n}"),
            IntOrString::String(text) => f.write_str(text),
        }
    }
}

// ---- 7.3

// ANCHOR: task_list
/// The path of the route of exercise 7.3: `GET /api/tasks?state=STATE&limit=N`.
pub const API_TASKS: &str = "/api/tasks";
/// How many ids the route lists when the request gives no `limit`.
pub const DEFAULT_LIST_LIMIT: usize = 20;
/// The most ids one request may ask for.
pub const MAX_LIST_LIMIT: usize = 100;

/// The JSON the route answers: `{"state": "pending", "limit": 20, "ids": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskList {
    /// The state asked for.
    pub state: TaskState,
    /// The limit that applied.
    pub limit: usize,
    /// The ids of the tasks in that state, oldest first, at most `limit` of them.
    pub ids: Vec<TaskId>,
}
// ANCHOR_END: task_list

// ---- 7.4

// ANCHOR: probes
/// Which of a container's three probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    /// `startupProbe`: has the program finished starting?
    Startup,
    /// `livenessProbe`: is it still working, or should it be restarted?
    Liveness,
    /// `readinessProbe`: should it get traffic (be in its Services' endpoints)?
    Readiness,
}

/// One probe's timing and thresholds, as in a pod's manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeSpec {
    /// `initialDelaySeconds`: the container's age at its first check.
    pub initial_delay_seconds: u64,
    /// `periodSeconds`: the seconds between two checks (at least 1).
    pub period_seconds: u64,
    /// `failureThreshold`: failures in a row that count (at least 1).
    pub failure_threshold: u32,
    /// `successThreshold`: successes in a row that count (at least 1; exactly 1 for the
    /// startup and liveness probes).
    pub success_threshold: u32,
}

/// Kubernetes' defaults: no delay, every 10 s, 3 failures, 1 success.
impl Default for ProbeSpec {
    fn default() -> Self {
        Self {
            initial_delay_seconds: 0,
            period_seconds: 10,
            failure_threshold: 3,
            success_threshold: 1,
        }
    }
}

/// A container's probes; `None` for one it does not have.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContainerProbes {
    /// `startupProbe`.
    pub startup: Option<ProbeSpec>,
    /// `livenessProbe`.
    pub liveness: Option<ProbeSpec>,
    /// `readinessProbe`.
    pub readiness: Option<ProbeSpec>,
}

// ANCHOR_END: probes

// ANCHOR: events
/// One check the kubelet makes: which probe, of which container, at what age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    /// The probe.
    pub probe: ProbeKind,
    /// Which container: 0 for the first, 1 after the first restart, ...
    pub container: u32,
    /// The container's age, in seconds since it started.
    pub age: u64,
}

/// What the kubelet does to the container, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeEvent {
    /// The second it happens at, counted from the pod's start.
    pub at: u64,
    /// What happens.
    pub kind: EventKind,
}

impl ProbeEvent {
    /// `kind` at second `at`.
    pub fn new(at: u64, kind: EventKind) -> Self {
        Self { at, kind }
    }
}

/// The events of [`ProbeEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The container becomes Ready: it gets traffic.
    Ready,
    /// The container stops being Ready.
    NotReady,
    /// The kubelet kills the container and starts a new one, because of this probe.
    Restarted {
        /// The probe that failed: `Startup` or `Liveness`.
        by: ProbeKind,
    },
}
// ANCHOR_END: events

/// A probe Kubernetes would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeError {
    /// The probe at fault.
    pub probe: ProbeKind,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} probe: {}", self.probe, self.reason)
    }
}

impl std::error::Error for ProbeError {}

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/selectors.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/selectors.rs")]
mod selectors;
pub use selectors::{selecting_nothing, selects};

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/rollout.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/rollout.rs")]
mod rollout;
pub use rollout::rollout_bounds;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/task_list.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/task_list.rs")]
mod task_list;
pub use task_list::router;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/kubelet.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/kubelet.rs")]
mod kubelet;
pub use kubelet::probe_events;
