//! The metric names the monitoring files use, and the ones the binaries serve: the
//! samples of the very registries the worker, the status API and the autoscaler build,
//! encoded as `/metrics` encodes them.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use chrono::Utc;
use prometheus_client::registry::Registry;
use session03_workers::Capabilities;
use session05_distributed::registry::{Beat, WorkerInfo, WorkerState, WorkerView};
use session09_monitoring::telemetry::cluster::{ClusterMetrics, ClusterReading};
use session09_monitoring::telemetry::scaler::ScalerMetrics;
use session09_monitoring::telemetry::tasks::TaskMetrics;
use session09_monitoring::telemetry::{ProcessCollector, encode};

/// The series Prometheus makes itself: `up` for every target, `ALERTS` for the rules.
pub const PROMETHEUS_OWN: [&str; 2] = ["up", "ALERTS"];

/// A registered worker, as the registry lists it.
fn worker() -> WorkerView {
    WorkerView {
        info: WorkerInfo {
            id: "worker-1".to_owned(),
            host: "h".to_owned(),
            pid: 1,
            capabilities: Capabilities::default(),
            concurrency: 2,
            version: "0".to_owned(),
            started_at: Utc::now(),
            heartbeat_ms: 500,
            ttl_ms: 2000,
        },
        beat: Beat::default(),
        last_beat: Utc::now(),
        age_ms: 100,
        state: WorkerState::Idle,
    }
}

/// What each process's `/metrics` serves: its registry as the binary builds it (the
/// API's with one reading of Redis, one worker registered), encoded.
pub fn served() -> Vec<(&'static str, String)> {
    let mut worker_registry = Registry::default();
    TaskMetrics::register(&mut worker_registry, Arc::new(OnceLock::new()));
    ProcessCollector::new().register(&mut worker_registry);
    let mut api_registry = Registry::default();
    let cluster = ClusterMetrics::register(&mut api_registry);
    cluster.set(Some(ClusterReading {
        workers: vec![worker()],
        ..ClusterReading::default()
    }));
    ProcessCollector::new().register(&mut api_registry);
    let mut scaler_registry = Registry::default();
    ScalerMetrics::register(&mut scaler_registry);
    ProcessCollector::new().register(&mut scaler_registry);
    vec![
        ("worker", encode(&worker_registry)),
        ("api", encode(&api_registry)),
        ("autoscale", encode(&scaler_registry)),
    ]
}

/// The sample names of an exposition: each line's first word, comments left out.
pub fn samples(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

/// The metric names a PromQL expression mentions: our prefixes only (`imgproc_`,
/// `process_`) and `up`; functions, labels and keywords are left out.
pub fn metrics_in(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while !rest.is_empty() {
        // Skip a quoted label value: it may hold anything.
        if let Some(quoted) = rest.strip_prefix('"') {
            rest = quoted.split_once('"').map_or("", |(_, after)| after);
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        if end == 0 {
            rest = &rest[rest.chars().next().map_or(1, char::len_utf8)..];
            continue;
        }
        let (word, after) = rest.split_at(end);
        let called = after.trim_start().starts_with('(');
        let ours = word.starts_with("imgproc_") || word.starts_with("process_") || word == "up";
        if ours && !called {
            names.insert(word.to_owned());
        }
        rest = after;
    }
    names
}
