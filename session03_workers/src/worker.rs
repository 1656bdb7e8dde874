//! Workers: the [`Worker`] trait (the original course's `BaseWorker`), and the workers that
//! implement it: [`ImageWorker`] (its `SimpleWorker`, which runs pipelines) and
//! [`NoopWorker`] (for measuring the queue itself).
//!
//! A worker only says how to run one task. Taking tasks from a queue, timeouts, retries,
//! panics and shutdown are the [pool](crate::pool)'s job, written once for every worker.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use session01_image_basics::{Filter, Limits, catalog, decode, encode, io::format_for_path};
use session02_pipelines::PipelineSpec;

use crate::blob::{BlobError, BlobStore};
use crate::task::{Task, TaskError};

/// A worker's name: unique to one run of one worker, never given out again.
///
/// A restarted or replaced worker gets a new id, so the history of a task (which worker
/// held it, which one lost it) never mixes two lives of a worker.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkerId(Arc<str>);

impl WorkerId {
    /// A fresh id for the worker in `slot` of a pool: `w<slot>-<12 random hex digits>`.
    pub fn generate(slot: usize) -> Self {
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self(format!("w{slot}-{}", &random[..12]).into())
    }

    /// An id chosen by the caller (later sessions add the host and process).
    pub fn named(name: impl AsRef<str>) -> Self {
        Self(name.as_ref().into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which filters a worker runs: all of them, or a named few.
///
/// The queue gives a worker only tasks whose every filter it can run, so a task never goes
/// to a worker that would have to fail it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capabilities {
    /// Every filter of the catalog.
    #[default]
    All,
    /// Only these filters.
    Only(BTreeSet<String>),
}

impl Capabilities {
    /// Whether the worker runs the filter called `name`.
    pub fn allows(&self, name: &str) -> bool {
        match self {
            Capabilities::All => true,
            Capabilities::Only(names) => names.contains(name),
        }
    }

    /// Whether the worker runs every filter of `pipeline`.
    pub fn can_run(&self, pipeline: &PipelineSpec) -> bool {
        pipeline.filters.iter().all(|f| self.allows(&f.name))
    }

    /// The filters of `pipeline` the worker does not run, in pipeline order, each once.
    pub fn missing<'a>(&self, pipeline: &'a PipelineSpec) -> Vec<&'a str> {
        let mut missing: Vec<&str> = Vec::new();
        for filter in &pipeline.filters {
            if !self.allows(&filter.name) && !missing.contains(&filter.name.as_str()) {
                missing.push(&filter.name);
            }
        }
        missing
    }
}

impl FromStr for Capabilities {
    type Err = String;

    /// `all` (or `*`), or filter names separated by commas: `resize,blur,brightness`. Every
    /// name must be in session 01's catalog.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("all") || text == "*" {
            return Ok(Capabilities::All);
        }
        let mut names = BTreeSet::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if !catalog().iter().any(|f| f.name == name) {
                let known: Vec<&str> = catalog().iter().map(|f| f.name).collect();
                return Err(format!(
                    "unknown filter {name:?} in capabilities; filters: {}",
                    known.join(", ")
                ));
            }
            names.insert(name.to_owned());
        }
        if names.is_empty() {
            return Err("capabilities name no filter; use `all` for every filter".to_owned());
        }
        Ok(Capabilities::Only(names))
    }
}

impl fmt::Display for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capabilities::All => f.write_str("all"),
            Capabilities::Only(names) => {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                f.write_str(&names.join(","))
            }
        }
    }
}

/// How to run one task.
// ANCHOR: worker
#[async_trait]
pub trait Worker: Send + Sync + 'static {
    /// The filters this worker runs; the queue routes tasks by it.
    fn capabilities(&self) -> Capabilities {
        Capabilities::All
    }

    /// Runs the task to the end: its result is stored when this returns `Ok`.
    ///
    /// Return a job failure for a bad task and a worker failure for anything a retry could
    /// fix. CPU-heavy work must leave the async threads ([`run_blocking`]); a panic is
    /// caught by the pool and counts as a worker failure.
    async fn process(&self, task: &Task) -> Result<(), TaskError>;
}
// ANCHOR_END: worker

/// The worker that does the course's work: reads an image, runs the task's pipeline with
/// session 02's fast kernels, writes the result.
#[derive(Debug, Clone)]
pub struct ImageWorker {
    blobs: Arc<dyn BlobStore>,
    limits: Limits,
    capabilities: Capabilities,
}

impl ImageWorker {
    /// A worker reading and writing `blobs`, refusing images over `limits`, running every
    /// filter.
    pub fn new(blobs: Arc<dyn BlobStore>, limits: Limits) -> Self {
        Self {
            blobs,
            limits,
            capabilities: Capabilities::All,
        }
    }

    /// The same worker, running only the filters `capabilities` names.
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }
}

/// A store error as a task failure: a missing or oversized input is the task's fault; an
/// I/O error may pass.
pub fn blob_failure(error: BlobError) -> TaskError {
    if error.is_transient() {
        TaskError::worker(error)
    } else {
        TaskError::job(error)
    }
}

#[async_trait]
impl Worker for ImageWorker {
    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    // ANCHOR: image_worker
    async fn process(&self, task: &Task) -> Result<(), TaskError> {
        let format = format_for_path(Path::new(task.output.as_str())).map_err(TaskError::job)?;
        let input = self.blobs.get(&task.input).await.map_err(blob_failure)?;
        let pipeline = task.pipeline.clone();
        let limits = self.limits;
        // Decoding, filtering and encoding take milliseconds of CPU: off the async threads.
        let bytes = run_blocking(move || {
            let pipeline = pipeline.build().map_err(TaskError::job)?;
            let image = decode(&input, &limits).map_err(TaskError::job)?;
            let filtered = pipeline.apply(&image).map_err(TaskError::job)?;
            encode(&filtered, format).map_err(TaskError::job)
        })
        .await?;
        self.blobs
            .put(&task.output, Bytes::from(bytes))
            .await
            .map_err(blob_failure)
    }
    // ANCHOR_END: image_worker
}

// ANCHOR: run_blocking
/// Runs CPU-heavy `work` on tokio's blocking threads, so the async threads stay free to
/// renew leases and take other tasks.
///
/// A panic in `work` resumes in the caller, so the pool catches and reports it like a
/// panic anywhere else in a worker.
pub async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, TaskError> + Send + 'static,
) -> Result<T, TaskError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(error) => Err(TaskError::worker(error)),
    }
}
// ANCHOR_END: run_blocking

/// A worker that does nothing: what is left to measure is the queue and the pool.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopWorker;

#[async_trait]
impl Worker for NoopWorker {
    async fn process(&self, _task: &Task) -> Result<(), TaskError> {
        Ok(())
    }
}
