//! A load's plan: its bounds and pace, checked before anything is sent.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result};
use session01_image_basics::Limits;
use session02_pipelines::PipelineSpec;
use session06_docker::batch;

use super::{Mode, default_pipelines};

/// The most tasks, submitters and tasks per batch a load may have.
pub(super) const MAX_TASKS: usize = 1_000_000;
const MAX_CONCURRENCY: usize = 256;
const MAX_BATCH: usize = 500;
/// The slowest and the fastest pace, in tasks a second (at the slowest, a task every
/// 1000 s).
pub(super) const MIN_RATE: f64 = 0.001;
const MAX_RATE: f64 = 100_000.0;
/// The longest a load may send, and wait for its results after: a day.
const MAX_TIME: Duration = Duration::from_secs(24 * 3600);

/// What a load is, checked: everything [`generate`](super::generate) needs.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// How it is paced (for the report; `rate` says the pace).
    pub mode: Mode,
    /// The most tasks to send.
    pub tasks: usize,
    /// The most time to send for.
    pub duration: Duration,
    /// Tasks a second; `None`: as fast as the submitters go.
    pub rate: Option<f64>,
    /// Tasks per batch (one round trip to Redis each).
    pub batch: usize,
    /// Submitters sending at the same time.
    pub concurrency: usize,
    /// The pipelines, as text or JSON, used in turn.
    pub pipelines: Vec<String>,
    /// The photos, used in turn.
    pub inputs: Vec<PathBuf>,
    /// With `Some(timeout)`: follow each task to its result, at most `timeout` after the
    /// last one is sent.
    pub wait: Option<Duration>,
}

impl LoadPlan {
    /// A burst of `tasks` tasks within `duration`, in batches of 10 by 4 submitters, on
    /// the default mix and the bundled photos, not waited for.
    pub fn burst(tasks: usize, duration: Duration) -> Result<Self> {
        Ok(Self {
            mode: Mode::Burst,
            tasks,
            duration,
            rate: None,
            batch: 10,
            concurrency: 4,
            pipelines: default_pipelines(),
            inputs: batch::photos(None, &Limits::default())?,
            wait: None,
        })
    }

    /// Checks every bound and parses every pipeline, before anything is sent.
    pub fn check(&self) -> Result<Vec<PipelineSpec>> {
        anyhow::ensure!(
            (1..=MAX_TASKS).contains(&self.tasks),
            "--tasks must be 1 to {MAX_TASKS}, got {}",
            self.tasks
        );
        anyhow::ensure!(
            (1..=MAX_CONCURRENCY).contains(&self.concurrency),
            "--concurrency must be 1 to {MAX_CONCURRENCY}, got {}",
            self.concurrency
        );
        anyhow::ensure!(
            (1..=MAX_BATCH).contains(&self.batch),
            "--batch must be 1 to {MAX_BATCH}, got {}",
            self.batch
        );
        anyhow::ensure!(
            !self.duration.is_zero() && self.duration <= MAX_TIME,
            "--duration must be more than 0 seconds and at most {}, got {}",
            MAX_TIME.as_secs(),
            self.duration.as_secs_f64()
        );
        if let Some(wait) = self.wait {
            anyhow::ensure!(
                wait <= MAX_TIME,
                "--timeout must be at most {} seconds, got {}",
                MAX_TIME.as_secs(),
                wait.as_secs_f64()
            );
        }
        if let Some(rate) = self.rate {
            // Written so that NaN is refused too.
            anyhow::ensure!(
                (MIN_RATE..=MAX_RATE).contains(&rate),
                "--rate must be from {MIN_RATE} to {MAX_RATE} tasks a second, got {rate}"
            );
        }
        anyhow::ensure!(
            !self.pipelines.is_empty(),
            "a load needs at least one pipeline"
        );
        self.pipelines
            .iter()
            .map(|text| {
                let spec = PipelineSpec::parse_any(text)
                    .and_then(|spec| spec.build().map(|_| spec))
                    .with_context(|| format!("--pipeline {text:?} is not a pipeline"))?;
                Ok(spec)
            })
            .collect()
    }

    /// When the task numbered `first` is due, after the start (never, for a pace too slow
    /// to say).
    pub(super) fn due(&self, first: usize) -> Duration {
        match self.rate {
            Some(rate) => Duration::try_from_secs_f64(first as f64 / rate).unwrap_or(Duration::MAX),
            None => Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_is_paced_by_its_number() {
        let mut plan = LoadPlan {
            mode: Mode::Rate,
            rate: Some(4.0),
            ..LoadPlan::burst(100, Duration::from_secs(60)).unwrap()
        };
        assert_eq!(plan.due(0), Duration::ZERO);
        assert_eq!(plan.due(6), Duration::from_millis(1500));
        // The slowest pace allowed, at the last task: far, yet a duration.
        plan.rate = Some(MIN_RATE);
        assert!(plan.due(MAX_TASKS) > Duration::from_secs(999_999_000));
        plan.rate = None;
        assert_eq!(plan.due(6), Duration::ZERO);
    }
}
