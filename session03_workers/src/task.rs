//! The task model: what a worker is asked to do, and the life of that request.
//!
//! A [`Task`] is immutable: an id, a pipeline (session 02's [`PipelineSpec`]) and where to
//! read and write the pixels ([`BlobKey`]s, not the pixels themselves, so a task stays a few
//! hundred bytes whatever the image). Everything that changes lives in its [`TaskRecord`]:
//! the state, the attempts, which worker holds it, timestamps, and how it failed.
//!
//! The states and the only moves between them:
//!
//! | from | to | when |
//! |---|---|---|
//! | Pending, Retrying | Running | a worker reserves it: one more attempt |
//! | Running | Succeeded | the worker acknowledges it |
//! | Running | Failed | a job failure |
//! | Running | Retrying | a worker failure, with attempts left |
//! | Running | Dead | a worker failure on the last attempt |
//! | Running | Pending | the worker shuts down before it finishes, and releases it (the attempt does not count) |
//! | Dead | Pending | a person requeues it |
//!
//! A **job failure** (a corrupt image, a parameter out of range) fails the same way on any
//! worker, so it is final. A **worker failure** (a panic, a timeout, a lost lease, a store
//! that did not answer) may not happen again elsewhere, so the task is retried, and after
//! its last attempt it is *dead*: kept aside, with its error, for a person to look at. A
//! worker that shuts down before it finishes *releases* the task: back to pending, with no
//! failure on its record and the attempt given back.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use session02_pipelines::PipelineSpec;
use uuid::Uuid;

use crate::blob::BlobKey;
use crate::worker::WorkerId;

/// A task's id: a UUID v7, so ids sort by creation time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(Uuid);

impl TaskId {
    /// A new, unique id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// The UUID inside.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for TaskId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for TaskId {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(text.trim())
            .map(Self)
            .map_err(|error| format!("{text:?} is not a task id (a UUID): {error}"))
    }
}

/// What a worker is asked to do: run a pipeline on one stored image, store the result.
// ANCHOR: task
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Unique, and the key of everything the queue knows about the task.
    pub id: TaskId,
    /// The filters to run, as session 02's spec (it travels as JSON).
    pub pipeline: PipelineSpec,
    /// Where the input image's bytes are.
    pub input: BlobKey,
    /// Where the result goes; its extension (`.png`, `.jpg`, `.webp`) picks the format.
    pub output: BlobKey,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Metadata for whoever builds on the queue (Celery calls them headers, RQ `meta`):
    /// the queue carries them untouched and never reads them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}
// ANCHOR_END: task

impl Task {
    /// A new task with a fresh id.
    pub fn new(pipeline: PipelineSpec, input: BlobKey, output: BlobKey) -> Self {
        Self {
            id: TaskId::new(),
            pipeline,
            input,
            output,
            created_at: Utc::now(),
            headers: BTreeMap::new(),
        }
    }

    /// The names of the filters it runs, in order.
    pub fn filters(&self) -> impl Iterator<Item = &str> {
        self.pipeline.filters.iter().map(|f| f.name.as_str())
    }
}

/// Where a task is in its life.
// ANCHOR: state
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Waiting in the queue.
    Pending,
    /// Held by a worker, under a lease.
    Running,
    /// Its last attempt hit a worker failure; waiting for another.
    Retrying,
    /// Done; the result is stored.
    Succeeded,
    /// A job failure: it would fail anywhere, so it is not retried.
    Failed,
    /// Worker failures used up its attempts; kept aside for a person.
    Dead,
}
// ANCHOR_END: state

impl TaskState {
    /// Every state, in the order of a task's life.
    pub const ALL: [TaskState; 6] = [
        TaskState::Pending,
        TaskState::Running,
        TaskState::Retrying,
        TaskState::Succeeded,
        TaskState::Failed,
        TaskState::Dead,
    ];

    // ANCHOR: transitions
    /// Whether a task may go from `self` to `next`: the rows of the table above.
    pub fn can_become(self, next: TaskState) -> bool {
        use TaskState::*;
        matches!(
            (self, next),
            (Pending | Retrying, Running)
                | (Running, Pending | Succeeded | Failed | Retrying | Dead)
                | (Dead, Pending)
        )
    }
    // ANCHOR_END: transitions

    /// Whether nothing more will happen to the task unless a person acts.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskState::Succeeded | TaskState::Failed | TaskState::Dead
        )
    }

    /// The state's name, as in JSON.
    pub fn name(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Running => "running",
            TaskState::Retrying => "retrying",
            TaskState::Succeeded => "succeeded",
            TaskState::Failed => "failed",
            TaskState::Dead => "dead",
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TaskState {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        TaskState::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = TaskState::ALL.iter().map(|s| s.name()).collect();
                format!("unknown task state {text:?}; states: {}", names.join(", "))
            })
    }
}

/// Whose fault a failure is, which decides whether a retry can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The task itself is bad (image, parameters): any worker would fail it. Not retried.
    Job,
    /// This attempt went wrong (panic, timeout, lost lease, store error). Retried.
    Worker,
}

/// How a task failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind:?} failure: {message}")]
pub struct TaskError {
    /// Job or worker failure.
    pub kind: FailureKind,
    /// What went wrong, for a person.
    pub message: String,
}

impl TaskError {
    /// A failure of the task itself, not retried.
    pub fn job(message: impl fmt::Display) -> Self {
        Self {
            kind: FailureKind::Job,
            message: message.to_string(),
        }
    }

    /// A failure of one attempt, retried.
    pub fn worker(message: impl fmt::Display) -> Self {
        Self {
            kind: FailureKind::Worker,
            message: message.to_string(),
        }
    }

    /// Whether another attempt could succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind == FailureKind::Worker
    }
}

/// A move the lifecycle does not allow, such as finishing a task nobody started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("task {task}: cannot go from {from} to {to}")]
pub struct IllegalTransition {
    /// The task.
    pub task: TaskId,
    /// Its state.
    pub from: TaskState,
    /// The state it was asked to take.
    pub to: TaskState,
}

/// Everything known about a task: the task, and where it is in its life.
// ANCHOR: record
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The task (shared with the lease a worker holds, not copied).
    pub task: Arc<Task>,
    /// Its state; change it only through the methods, which refuse illegal moves.
    pub state: TaskState,
    /// How many times a worker has started it.
    pub attempts: u32,
    /// The worker that holds it, or held it last.
    pub worker: Option<WorkerId>,
    /// When it entered the queue.
    pub enqueued_at: DateTime<Utc>,
    /// When its latest attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a final state.
    pub finished_at: Option<DateTime<Utc>>,
    /// How long its latest attempt ran, in seconds.
    pub duration_seconds: Option<f64>,
    /// Why its latest attempt failed.
    pub error: Option<TaskError>,
}
// ANCHOR_END: record

impl TaskRecord {
    /// A task that has just been queued.
    pub fn new(task: Arc<Task>, now: DateTime<Utc>) -> Self {
        Self {
            task,
            state: TaskState::Pending,
            attempts: 0,
            worker: None,
            enqueued_at: now,
            started_at: None,
            finished_at: None,
            duration_seconds: None,
            error: None,
        }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.task.id
    }

    fn go(&mut self, to: TaskState) -> Result<(), IllegalTransition> {
        if !self.state.can_become(to) {
            return Err(IllegalTransition {
                task: self.task.id,
                from: self.state,
                to,
            });
        }
        self.state = to;
        Ok(())
    }

    /// A worker takes the task: Pending or Retrying to Running, one more attempt.
    pub fn start(
        &mut self,
        worker: &WorkerId,
        now: DateTime<Utc>,
    ) -> Result<(), IllegalTransition> {
        self.go(TaskState::Running)?;
        self.attempts += 1;
        self.worker = Some(worker.clone());
        self.started_at = Some(now);
        self.duration_seconds = None;
        Ok(())
    }

    /// The attempt succeeded: Running to Succeeded.
    pub fn succeed(&mut self, now: DateTime<Utc>) -> Result<(), IllegalTransition> {
        self.go(TaskState::Succeeded)?;
        self.error = None;
        self.finish(now);
        Ok(())
    }

    /// The attempt failed: a job failure ends in Failed; a worker failure in Retrying while
    /// fewer than `max_attempts` attempts were made, in Dead after the last one. Returns
    /// the new state.
    // ANCHOR: fail
    pub fn fail(
        &mut self,
        error: TaskError,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<TaskState, IllegalTransition> {
        let next = match error.kind {
            FailureKind::Job => TaskState::Failed,
            FailureKind::Worker if self.attempts < max_attempts => TaskState::Retrying,
            FailureKind::Worker => TaskState::Dead,
        };
        self.go(next)?;
        self.error = Some(error);
        if next == TaskState::Retrying {
            self.duration_seconds = self.started_at.map(|start| seconds_between(start, now));
        } else {
            self.finish(now);
        }
        Ok(next)
    }
    // ANCHOR_END: fail

    /// The worker gives the task back unfinished (it is shutting down): Running to Pending,
    /// without a failure, and the attempt does not count, so restarts never make a task
    /// dead.
    pub fn release(&mut self) -> Result<(), IllegalTransition> {
        self.go(TaskState::Pending)?;
        self.attempts = self.attempts.saturating_sub(1);
        self.started_at = None;
        Ok(())
    }

    /// A person sends a dead task back: Dead to Pending, with its attempts reset.
    pub fn requeue(&mut self, now: DateTime<Utc>) -> Result<(), IllegalTransition> {
        self.go(TaskState::Pending)?;
        self.attempts = 0;
        self.enqueued_at = now;
        self.started_at = None;
        self.finished_at = None;
        self.duration_seconds = None;
        self.error = None;
        Ok(())
    }

    fn finish(&mut self, now: DateTime<Utc>) {
        self.finished_at = Some(now);
        self.duration_seconds = self.started_at.map(|start| seconds_between(start, now));
    }
}

fn seconds_between(start: DateTime<Utc>, end: DateTime<Utc>) -> f64 {
    (end - start)
        .to_std()
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
