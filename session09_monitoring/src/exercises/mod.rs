//! The session's graded exercises: four pieces of monitoring built by hand, beside the
//! [`telemetry`] module that the session's processes use.
//!
//! A metric is only as good as what it counts, what a dashboard shows is only as good as
//! its arithmetic, and an alert is only as good as its timing. These exercises go through
//! each: a handler that counts and times itself, a dashboard widget, a utilisation that
//! weighs time rather than samples, and the `for:` clause of an alerting rule.
//!
//! Each exercise has its own file and starts as a `todo!`, specified by its doc comment;
//! replace the `todo!`s with your code and run `cargo xtask grade 9`. The types the
//! exercises use are declared here, once; your files hold the functions.
//!
//! | exercise | file | item | what it is for |
//! |---|---|---|---|
//! | 9.1 | `handler.rs` | [`resize_app`] | a handler that counts its outcomes and times itself, read back through `/metrics` |
//! | 9.2 | `widget.rs` | [`render_slots`] | the dashboard's slots gauge and its rows, drawn into any area of a frame |
//! | 9.3 | `window.rs` | [`utilisation`] | the share of slots busy over the last minutes, weighted by time |
//! | 9.4 | `alert.rs` | [`alert_state`] | when an alerting rule with `for:` goes pending, fires and resolves |
//!
//! [`telemetry`]: crate::telemetry

use std::time::Duration;

use serde::{Deserialize, Serialize};

// ---- 9.1

// ANCHOR: resize
/// The body of `POST /resize`: the size an image is to be resized to, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResizeRequest {
    /// The new width.
    pub width: u32,
    /// The new height.
    pub height: u32,
}

/// The largest width or height `POST /resize` accepts.
pub const MAX_SIDE: u32 = 10_000;

/// The upper bounds of `resize_request_duration_seconds`' buckets, in seconds.
pub const RESIZE_BUCKETS: [f64; 8] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];
// ANCHOR_END: resize

// ---- 9.2

// ANCHOR: slots
/// One worker's slots, a row under the gauge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSlots {
    /// The worker's id.
    pub id: String,
    /// Its slots running a task.
    pub busy: u32,
    /// Its slots: how many tasks it runs at once.
    pub slots: u32,
}

/// The slots of the whole pool, as the dashboard reads them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Slots {
    /// Slots running a task, over every worker.
    pub busy: u32,
    /// Slots, over every worker.
    pub total: u32,
    /// Each worker, in the order to show them.
    pub workers: Vec<WorkerSlots>,
}
// ANCHOR_END: slots

// ---- 9.3

// ANCHOR: sample
/// A reading of the pool's slots: `busy` of `total` at `at` (counted from any fixed start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotSample {
    /// When it was read.
    pub at: Duration,
    /// Slots running a task.
    pub busy: u32,
    /// Slots.
    pub total: u32,
}

impl SlotSample {
    /// `busy` of `total` slots, `at` whole seconds from the start.
    pub fn new(at: u64, busy: u32, total: u32) -> Self {
        Self {
            at: Duration::from_secs(at),
            busy,
            total,
        }
    }
}
// ANCHOR_END: sample

// ---- 9.3 and 9.4

/// A series that cannot be read: the entry at `index` is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {index}: {reason}")]
pub struct TimelineError {
    /// The entry at fault, counted from 0.
    pub index: usize,
    /// What is wrong with it.
    pub reason: String,
}

// ---- 9.4

// ANCHOR: alert_rule
/// An alerting rule's timing: how long its condition must hold before it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AlertRule {
    /// `for:`: how long the condition must hold, evaluation after evaluation, before the
    /// alert fires. Zero fires at the first evaluation that finds it true.
    pub hold: Duration,
    /// `keep_firing_for:`: how long a firing alert keeps firing once its condition is
    /// false, counted from the first evaluation that finds it false.
    pub keep_firing_for: Duration,
}

/// One evaluation of the rule's expression: whether it returned anything at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evaluation {
    /// When.
    pub at: Duration,
    /// Whether the condition held (the expression returned a sample).
    pub condition: bool,
}

impl Evaluation {
    /// An evaluation `at` whole seconds from the start.
    pub fn new(at: u64, condition: bool) -> Self {
        Self {
            at: Duration::from_secs(at),
            condition,
        }
    }
}
// ANCHOR_END: alert_rule

// ANCHOR: alert_state_type
/// An alert's state, as Prometheus's rule manager tracks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    /// The condition does not hold (or the alert resolved).
    Inactive,
    /// The condition has held since `since`, not yet for long enough.
    Pending {
        /// The first evaluation of this run that found the condition true.
        since: Duration,
    },
    /// The alert fires, and is sent to the Alertmanager.
    Firing {
        /// When it started firing: the evaluation that found the condition had held for
        /// `hold`. (Prometheus's `activeAt` is another time: when the alert went pending.)
        since: Duration,
    },
}
// ANCHOR_END: alert_state_type

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/handler.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/handler.rs")]
mod handler;
pub use handler::resize_app;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/widget.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/widget.rs")]
mod widget;
pub use widget::render_slots;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/window.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/window.rs")]
mod window;
pub use window::utilisation;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/alert.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/alert.rs")]
mod alert;
pub use alert::alert_state;
