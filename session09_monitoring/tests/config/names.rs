//! The metric names the monitoring files use, and the ones the binaries expose.

use std::collections::BTreeSet;

/// Every metric the worker, the status API and the autoscaler expose, as the session
/// defines them (histograms by their base name), plus Prometheus's own `up`.
pub const DEFINED: [&str; 28] = [
    // The worker's.
    "imgproc_tasks_total",
    "imgproc_filter_tasks_total",
    "imgproc_task_duration_seconds",
    "imgproc_worker_slots",
    "imgproc_worker_busy_slots",
    // Every process's.
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_start_time_seconds",
    "imgproc_process_cpu_percent",
    // The status API's, read from Redis.
    "imgproc_queue_depth",
    "imgproc_queue_lag",
    "imgproc_queue_pending",
    "imgproc_queue_oldest_pending_age_seconds",
    "imgproc_dead_letters",
    "imgproc_queue_tasks",
    "imgproc_workers",
    "imgproc_slots",
    "imgproc_busy_slots",
    "imgproc_worker_heartbeat_age_seconds",
    "imgproc_redis_up",
    "imgproc_scrape_duration_seconds",
    // The autoscaler's.
    "imgproc_autoscaler_replicas",
    "imgproc_autoscaler_desired_replicas",
    "imgproc_autoscaler_decisions_total",
    "imgproc_autoscaler_replaced_total",
    // Prometheus's, for every target.
    "up",
    "ALERTS",
];

/// The series a histogram `NAME` is queried by.
const HISTOGRAM_SERIES: [&str; 3] = ["_bucket", "_sum", "_count"];

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

/// Whether `name` is a defined metric, or one of a defined histogram's series.
pub fn is_defined(name: &str) -> bool {
    DEFINED.contains(&name)
        || HISTOGRAM_SERIES.iter().any(|suffix| {
            name.strip_suffix(suffix)
                .is_some_and(|base| base.ends_with("_seconds") && DEFINED.contains(&base))
        })
}
