//! The worker's task metrics, and the layer around its task runner that feeds them.
//!
//! Two sources. What became of each task (`imgproc_tasks_total`) is the pool's to say: it
//! acks, retries or dead-letters, so the counter is read from its statistics
//! ([`StatsHandle`]) at each scrape, as are the slot gauges. How long each attempt took, and
//! which filters it ran, only the runner sees: the layer wraps session 04's runner with
//! [`Runtime::wrap`], times each attempt, and counts it by filter.
//!
//! The layer also runs each attempt inside a `task` span carrying `task_id` and
//! `worker_id`, so every log line the task writes names both (in JSON logs, under `span`),
//! down to the last one, `task finished`, with the outcome and the seconds. The pool's own
//! lines (`task succeeded`, `attempt failed`, `task dead`) are written outside it: they name
//! the pool's slot, not the worker.
//!
//! [`Runtime::wrap`]: session04_redis::runtime::Runtime::wrap

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use session03_workers::{
    Capabilities, FailureKind, PoolStats, StatsHandle, Task, TaskError, Worker,
};
use tokio::sync::mpsc;
use tracing::Instrument as _;

use crate::published::RecentTask;

/// How one attempt of a task ended, as the runner returned it (the histogram's and the
/// per-filter counter's label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// It succeeded.
    Succeeded,
    /// A job failure (bad input, an unknown filter): it would fail anywhere, so it is not
    /// retried.
    Failed,
    /// A worker failure (an error, a panic, a timeout): the queue runs it again, or
    /// dead-letters it when its attempts are used up (the pool counts that one `dead`).
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

/// The labels of the histogram.
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
    /// How the attempt ended.
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
/// What the layer measures; clones share it. The task counter and the slot gauges are the
/// pool's ([`PoolCollector`]).
#[derive(Debug, Clone)]
pub struct TaskMetrics {
    /// `imgproc_filter_tasks_total{filter,outcome}`: once per distinct filter of an attempt.
    filter_tasks: Family<FilterLabels, Counter>,
    /// `imgproc_task_duration_seconds{outcome}`: how long each attempt took.
    duration: Family<OutcomeLabels, Histogram, fn() -> Histogram>,
}
// ANCHOR_END: families

/// Where the pool's statistics will be: set once the pool runs.
pub type PoolSource = Arc<OnceLock<StatsHandle>>;

impl TaskMetrics {
    /// The metrics, registered in `registry`, with the pool's counter and gauges read from
    /// `pool` at each scrape.
    pub fn register(registry: &mut Registry, pool: PoolSource) -> Self {
        let metrics = Self {
            filter_tasks: Family::default(),
            duration: Family::new_with_constructor(duration_histogram),
        };
        registry.register_collector(Box::new(PoolCollector { pool }));
        registry.register(
            "imgproc_filter_tasks",
            "Task attempts this worker finished, counted once per distinct filter of their \
             pipeline, by how the attempt ended",
            metrics.filter_tasks.clone(),
        );
        registry.register_with_unit(
            "imgproc_task_duration",
            "How long this worker's task attempts took, by how the attempt ended",
            Unit::Seconds,
            metrics.duration.clone(),
        );
        // Every series from the start, at zero: a rate needs the series before it moves.
        // Bounded: the catalog's filters and `unknown`, times three outcomes.
        let filters = session01_image_basics::catalog().iter().map(|f| f.name);
        for filter in filters.chain(["unknown"]) {
            for outcome in Outcome::ALL {
                metrics
                    .filter_tasks
                    .get_or_create_owned(&FilterLabels { filter, outcome });
            }
        }
        for outcome in Outcome::ALL {
            metrics
                .duration
                .get_or_create_owned(&OutcomeLabels { outcome });
        }
        metrics
    }

    /// Counts one finished attempt of `task`.
    pub fn record(&self, task: &Task, outcome: Outcome, took: Duration) {
        self.duration
            .get_or_create(&OutcomeLabels { outcome })
            .observe(took.as_secs_f64());
        for filter in filters_of(task) {
            self.filter_tasks
                .get_or_create(&FilterLabels { filter, outcome })
                .inc();
        }
    }
}

/// The label of the task counter: what the pool made of an attempt.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PoolOutcome {
    outcome: &'static str,
}

/// Writes the pool's counts at each scrape: `imgproc_tasks_total{outcome}` and the slot
/// gauges (zeros until the pool runs).
#[derive(Debug)]
pub struct PoolCollector {
    pool: PoolSource,
}

/// The task counter's outcomes, each with its count in the pool's statistics (all zero
/// before the pool runs). `lost`: the queue refused the result (the lease had passed to
/// another worker), what the pool processed beyond the other five.
pub fn pool_outcomes(stats: Option<&PoolStats>) -> [(&'static str, u64); 6] {
    let Some(stats) = stats else {
        return ["succeeded", "failed", "retried", "dead", "released", "lost"].map(|o| (o, 0));
    };
    let named = stats.succeeded + stats.failed + stats.retried + stats.dead + stats.released;
    [
        ("succeeded", stats.succeeded),
        ("failed", stats.failed),
        ("retried", stats.retried),
        ("dead", stats.dead),
        ("released", stats.released),
        ("lost", stats.processed.saturating_sub(named)),
    ]
}

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let stats = self.pool.get().map(StatsHandle::snapshot);
        let mut family = encoder.encode_descriptor(
            "imgproc_tasks",
            "Task attempts this worker finished, by what the queue made of them: succeeded \
             (acked), failed (job failure, dead-lettered), retried (worker failure, runs \
             again), dead (worker failure on the last attempt, dead-lettered), released \
             (given back at shutdown), lost (result refused, the lease had passed on)",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for (outcome, count) in pool_outcomes(stats.as_ref()) {
            ConstCounter::new(count).encode(family.encode_family(&PoolOutcome { outcome })?)?;
        }
        let (slots, busy) = stats.map_or((0, 0), |s| (s.workers, s.in_flight));
        let gauges = [
            (
                "imgproc_worker_slots",
                "Tasks this worker runs at once",
                slots,
            ),
            (
                "imgproc_worker_busy_slots",
                "Tasks this worker runs now",
                busy,
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(gauge_value(value));
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

/// A count as a gauge's value.
fn gauge_value(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The distinct filters of `task`'s pipeline, as catalog names (`unknown` for the rest),
/// matched as session 01 matches them: whatever the case.
pub fn filters_of(task: &Task) -> BTreeSet<&'static str> {
    task.pipeline
        .filters
        .iter()
        .map(|filter| session01_image_basics::find(&filter.name).map_or("unknown", |f| f.name))
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
/// Each attempt is timed and counted by filter, the recent list (when given) gets it, and
/// the inner runner runs inside the `task` span, which also writes its outcome.
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
        let mut run = Run::start(self, task, span.clone());
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

/// One attempt being timed. The pool drops an attempt that times out (and a panic unwinds
/// through it): dropped unfinished, it counts as a worker failure, `retried`.
struct Run<'a> {
    layer: &'a Instrumented,
    task: &'a Task,
    span: tracing::Span,
    started: Instant,
    finished: bool,
}

impl<'a> Run<'a> {
    fn start(layer: &'a Instrumented, task: &'a Task, span: tracing::Span) -> Self {
        Self {
            layer,
            task,
            span,
            started: Instant::now(),
            finished: false,
        }
    }

    fn finish(&mut self, outcome: Outcome) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let took = self.started.elapsed();
        // Inside the span, so the last line of the task names it and the worker too.
        self.span.in_scope(|| {
            let seconds = took.as_secs_f64();
            tracing::info!(outcome = outcome.name(), seconds, "task finished");
        });
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
        let metrics = TaskMetrics::register(&mut registry, PoolSource::default());
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
        let mut cased = task("grayscale|resize:width=4");
        cased.pipeline.filters[0].name = "GrayScale".to_owned();
        cased.pipeline.filters[1].name = "Resize".to_owned();
        let filters: Vec<_> = filters_of(&cased).into_iter().collect();
        assert_eq!(filters, ["grayscale", "resize"]);
    }

    #[tokio::test]
    async fn a_job_failure_is_counted_once_as_failed_per_filter() {
        let (registry, worker) = measured(Duration::ZERO, Err(TaskError::job("bad input")));
        let resize = r#"imgproc_filter_tasks_total{filter="resize",outcome="failed"}"#;
        assert_eq!(
            line(&registry, resize).unwrap(),
            "0",
            "at zero from the start"
        );
        assert!(worker.process(&task("grayscale")).await.is_err());
        // The task counter is the pool's: with no pool yet, every outcome reads zero.
        assert_eq!(
            line(&registry, r#"imgproc_tasks_total{outcome="failed"}"#).unwrap(),
            "0"
        );
        assert_eq!(line(&registry, "imgproc_worker_slots").unwrap(), "0");
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
        let count = |outcome: &str| {
            line(
                &registry,
                &format!(r#"imgproc_task_duration_seconds_count{{outcome="{outcome}"}}"#),
            )
        };
        assert_eq!(count("retried").unwrap(), "1");
        assert_eq!(count("succeeded").unwrap(), "0");
    }
}
