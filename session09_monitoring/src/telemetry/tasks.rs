//! The worker's task metrics, and the layer around its task runner that feeds them.
//!
//! The layer wraps session 04's runner with [`Runtime::wrap`]: it times each task, counts
//! it once by outcome and by filter, and runs it inside a `task` span carrying `task_id`
//! and `worker_id`, so every log line the task writes names both (in JSON logs, under
//! `span`). The pool has its own `task` span (with the slot's id and the attempt); this one
//! names the worker as the registry and the queue know it.
//!
//! [`Runtime::wrap`]: session04_redis::runtime::Runtime::wrap

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use session03_workers::{Capabilities, FailureKind, PoolStats, Task, TaskError, Worker};
use tokio::sync::mpsc;
use tracing::Instrument as _;

use crate::published::RecentTask;

/// How a task's run ended, as the metrics label it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// It succeeded.
    Succeeded,
    /// A job failure (bad input, an unknown filter): it would fail anywhere, so it is not
    /// retried.
    Failed,
    /// A worker failure (an error, a panic, a timeout): the queue runs it again, or
    /// dead-letters it when its attempts are used up.
    Retried,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 3] = [Outcome::Succeeded, Outcome::Failed, Outcome::Retried];

    /// The outcome of a run that returned `result`.
    pub fn of(result: &Result<(), TaskError>) -> Self {
        match result {
            Ok(()) => Outcome::Succeeded,
            Err(error) if error.kind == FailureKind::Job => Outcome::Failed,
            Err(_) => Outcome::Retried,
        }
    }

    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Retried => "retried",
        }
    }
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, self.name())
    }
}

/// The labels of the task counter and the histogram.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// How it ended.
    pub outcome: Outcome,
}

/// The labels of the per-filter counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct FilterLabels {
    /// A filter of session 01's catalog, or `unknown`: never a name taken from the task as
    /// is, or a bad spec could make a series per typo.
    pub filter: &'static str,
    /// How the task ended.
    pub outcome: Outcome,
}

// ANCHOR: histogram
/// The task duration histogram's buckets, in seconds: the upper bound of each. A small
/// resize takes tens of milliseconds, a large blur seconds, a timeout minutes; Prometheus
/// estimates percentiles between the bounds, so they are dense where tasks usually land.
pub const DURATION_BUCKETS: [f64; 12] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// A histogram with [`DURATION_BUCKETS`].
fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}
// ANCHOR_END: histogram

// ANCHOR: families
/// The worker's metrics; clones share them.
#[derive(Debug, Clone)]
pub struct TaskMetrics {
    /// `imgproc_tasks_total{outcome}`: every task once.
    tasks: Family<OutcomeLabels, Counter>,
    /// `imgproc_filter_tasks_total{filter,outcome}`: once per distinct filter of a task.
    filter_tasks: Family<FilterLabels, Counter>,
    /// `imgproc_task_duration_seconds{outcome}`: how long each run took.
    duration: Family<OutcomeLabels, Histogram, fn() -> Histogram>,
    /// `imgproc_worker_slots`: tasks run at once.
    slots: Gauge,
    /// `imgproc_worker_busy_slots`: tasks running now.
    busy_slots: Gauge,
}
// ANCHOR_END: families

impl TaskMetrics {
    /// The metrics, registered in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            tasks: Family::default(),
            filter_tasks: Family::default(),
            duration: Family::new_with_constructor(duration_histogram),
            slots: Gauge::default(),
            busy_slots: Gauge::default(),
        };
        registry.register(
            "imgproc_tasks",
            "Tasks this worker ran, each counted once, by outcome",
            metrics.tasks.clone(),
        );
        registry.register(
            "imgproc_filter_tasks",
            "Tasks this worker ran, counted once per filter of their pipeline, by outcome",
            metrics.filter_tasks.clone(),
        );
        registry.register_with_unit(
            "imgproc_task_duration",
            "How long this worker's tasks took, by outcome",
            Unit::Seconds,
            metrics.duration.clone(),
        );
        registry.register(
            "imgproc_worker_slots",
            "Tasks run at once",
            metrics.slots.clone(),
        );
        registry.register(
            "imgproc_worker_busy_slots",
            "Tasks running now",
            metrics.busy_slots.clone(),
        );
        // Every outcome from the start, at zero: a rate needs the series before it moves.
        for outcome in Outcome::ALL {
            let labels = OutcomeLabels { outcome };
            metrics.tasks.get_or_create_owned(&labels);
            metrics.duration.get_or_create_owned(&labels);
        }
        metrics
    }

    /// Counts one finished run of `task`.
    pub fn record(&self, task: &Task, outcome: Outcome, took: Duration) {
        let labels = OutcomeLabels { outcome };
        self.tasks.get_or_create(&labels).inc();
        self.duration
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
        for filter in filters_of(task) {
            self.filter_tasks
                .get_or_create(&FilterLabels { filter, outcome })
                .inc();
        }
    }

    /// Sets the slot gauges from the pool's statistics.
    pub fn set_slots(&self, stats: &PoolStats) {
        self.slots.set(gauge_value(stats.workers));
        self.busy_slots.set(gauge_value(stats.in_flight));
    }
}

/// A count as a gauge's value.
fn gauge_value(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The distinct filters of `task`'s pipeline, as catalog names (`unknown` for the rest).
pub fn filters_of(task: &Task) -> BTreeSet<&'static str> {
    let catalog = session01_image_basics::catalog();
    task.pipeline
        .filters
        .iter()
        .map(|filter| {
            catalog
                .iter()
                .find(|known| known.name == filter.name)
                .map_or("unknown", |known| known.name)
        })
        .collect()
}

/// Session 04's task runner, measured: the layer [`instrument`] puts around it.
struct Instrumented {
    inner: Arc<dyn Worker>,
    metrics: TaskMetrics,
    worker_id: Arc<str>,
    recent: Option<mpsc::Sender<RecentTask>>,
}

/// The layer: `Runtime::wrap(|inner, context| instrument(inner, metrics, context.id(), recent))`.
/// Each run is counted once, the recent list (when given) gets it, and the inner runner
/// runs inside the `task` span.
pub fn instrument(
    inner: Arc<dyn Worker>,
    metrics: TaskMetrics,
    worker_id: &str,
    recent: Option<mpsc::Sender<RecentTask>>,
) -> Arc<dyn Worker> {
    Arc::new(Instrumented {
        inner,
        metrics,
        worker_id: worker_id.into(),
        recent,
    })
}

// ANCHOR: layer
#[async_trait]
impl Worker for Instrumented {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn process(&self, task: &Task) -> Result<(), TaskError> {
        let span = tracing::info_span!("task", task_id = %task.id, worker_id = %self.worker_id);
        let mut run = Run::start(self, task);
        let result = async {
            tracing::info!(filters = %task.pipeline, "task started");
            self.inner.process(task).await
        }
        .instrument(span)
        .await;
        run.finish(Outcome::of(&result));
        result
    }
}
// ANCHOR_END: layer

/// One run being timed. The pool drops a run that times out (and a panic unwinds through
/// it): dropped unfinished, it counts as retried, as the pool reports it.
struct Run<'a> {
    layer: &'a Instrumented,
    task: &'a Task,
    started: Instant,
    finished: bool,
}

impl<'a> Run<'a> {
    fn start(layer: &'a Instrumented, task: &'a Task) -> Self {
        Self {
            layer,
            task,
            started: Instant::now(),
            finished: false,
        }
    }

    fn finish(&mut self, outcome: Outcome) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let took = self.started.elapsed();
        self.layer.metrics.record(self.task, outcome, took);
        if let Some(recent) = &self.layer.recent {
            // A full channel drops the entry: the list is for a person, the counters stay
            // exact.
            let _ = recent.try_send(RecentTask::new(self.task, outcome, took));
        }
    }
}

impl Drop for Run<'_> {
    fn drop(&mut self) {
        self.finish(Outcome::Retried);
    }
}

#[cfg(test)]
mod tests {
    use session02_pipelines::PipelineSpec;
    use session03_workers::BlobKey;

    use super::*;

    /// A runner that sleeps `delay`, then answers `result`.
    struct Fixed {
        delay: Duration,
        result: Result<(), TaskError>,
    }

    #[async_trait]
    impl Worker for Fixed {
        fn capabilities(&self) -> Capabilities {
            Capabilities::default()
        }

        async fn process(&self, _: &Task) -> Result<(), TaskError> {
            tokio::time::sleep(self.delay).await;
            self.result.clone()
        }
    }

    fn task(pipeline: &str) -> Task {
        let key = BlobKey::new("in.png").unwrap();
        Task::new(PipelineSpec::parse(pipeline).unwrap(), key.clone(), key)
    }

    fn measured(delay: Duration, result: Result<(), TaskError>) -> (Registry, Arc<dyn Worker>) {
        let mut registry = Registry::default();
        let metrics = TaskMetrics::register(&mut registry);
        let inner = Arc::new(Fixed { delay, result });
        (registry, instrument(inner, metrics, "w-1", None))
    }

    fn line(registry: &Registry, series: &str) -> Option<String> {
        let text = crate::telemetry::encode(registry);
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ').map(str::to_owned))
    }

    #[test]
    fn outcomes_follow_the_failure_kind() {
        assert_eq!(Outcome::of(&Ok(())), Outcome::Succeeded);
        assert_eq!(Outcome::of(&Err(TaskError::job("bad"))), Outcome::Failed);
        assert_eq!(
            Outcome::of(&Err(TaskError::worker("oom"))),
            Outcome::Retried
        );
    }

    #[test]
    fn filters_count_once_each_and_unknown_names_share_one_label() {
        let filters = filters_of(&task("grayscale|resize:width=4|grayscale"));
        assert_eq!(
            filters.into_iter().collect::<Vec<_>>(),
            ["grayscale", "resize"]
        );
        let mut typo = task("grayscale|grayscale");
        typo.pipeline.filters[0].name = "grayscael".to_owned();
        let filters: Vec<_> = filters_of(&typo).into_iter().collect();
        assert_eq!(filters, ["grayscale", "unknown"]);
    }

    #[tokio::test]
    async fn a_job_failure_is_counted_once_as_failed_per_filter() {
        let (registry, worker) = measured(Duration::ZERO, Err(TaskError::job("bad input")));
        assert!(worker.process(&task("grayscale")).await.is_err());
        assert_eq!(
            line(&registry, r#"imgproc_tasks_total{outcome="failed"}"#).unwrap(),
            "1"
        );
        let filter = r#"imgproc_filter_tasks_total{filter="grayscale",outcome="failed"}"#;
        assert_eq!(line(&registry, filter).unwrap(), "1");
        let count = r#"imgproc_task_duration_seconds_count{outcome="failed"}"#;
        assert_eq!(line(&registry, count).unwrap(), "1");
    }

    #[tokio::test]
    async fn a_run_the_pool_drops_at_its_timeout_counts_as_retried() {
        let (registry, worker) = measured(Duration::from_secs(60), Ok(()));
        let task = task("grayscale");
        let run = tokio::time::timeout(Duration::from_millis(20), worker.process(&task)).await;
        assert!(run.is_err());
        assert_eq!(
            line(&registry, r#"imgproc_tasks_total{outcome="retried"}"#).unwrap(),
            "1"
        );
        assert_eq!(
            line(&registry, r#"imgproc_tasks_total{outcome="succeeded"}"#).unwrap(),
            "0"
        );
    }
}
