//! Prometheus metrics: what each long-running process counts, measures and serves at
//! `/metrics`.
//!
//! Prometheus pulls: every few seconds it asks each process for its metrics, as text, and
//! stores the numbers with the time it asked. A process only keeps its current values:
//! counters that only go up (tasks done), gauges that go up and down (slots busy), and a
//! histogram (how long tasks take, counted into buckets). Prometheus computes rates,
//! percentiles and alerts from them.
//!
//! | file | what |
//! |---|---|
//! | [`tasks`] | the worker's task counters and duration histogram, and the layer that feeds them |
//! | [`process`] | CPU and memory of this process, read from `sysinfo` at each scrape |
//! | [`cluster`] | the queue's and the workers' gauges, read from Redis at each scrape (the API) |
//! | [`scaler`] | the autoscaler's replicas and decisions |
//! | [`exposition`] | the text Prometheus reads, and the `/metrics` route that serves it |
//!
//! Labels stay bounded: an outcome (three values), a filter name (session 02's registry),
//! a worker id (only while it is registered); never a task id, which would make a series
//! per task.

pub mod cluster;
pub mod exposition;
pub mod process;
pub mod scaler;
pub mod tasks;

pub use exposition::{CLASSIC_CONTENT_TYPE, CONTENT_TYPE, METRICS, classic, encode, router};
pub use process::ProcessCollector;
