//! # Session 09: monitoring you can read
//!
//! Sessions 05 to 08 built workers, an API and an autoscaler; this session makes them
//! observable. Every long-running process serves Prometheus metrics at `/metrics`; the
//! `metrics` command prints a snapshot of the whole system; `monitor` draws it as a live
//! terminal dashboard; `stress` loads the system and times how fast the dashboard sees it.
//! In the compose lab, Prometheus scrapes the processes and Grafana draws them.
//!
//! | file | teaches |
//! |---|---|
//! | [`telemetry`] | Prometheus metrics: counters, gauges, a histogram, bounded labels, the exposition |
//! | [`published`] | what a worker publishes for the dashboard: its CPU, memory and recent tasks |
//! | [`worker`] | the `worker` command: session 07's worker with `/metrics` and a span per task |
//! | [`api`] | the `api` command: session 07's status API with `/metrics` |
//! | [`autoscale`] | the `autoscale` command: session 08's autoscaler with `/metrics` |
//! | [`snapshot`] | one reading of the whole system: host, workers, queue, recommendation |
//! | [`metrics`] | the `metrics` command: the snapshot as a table or JSON |
//! | [`monitor`] | the `monitor` command: a ratatui dashboard |
//! | [`stress`] | the `stress` command: a load, and how fast the dashboard sees it |
//! | [`demo`] | three workers, a stress run, and what their metrics say |
//! | [`cli`] | the command line |
//! | [`exercises`] | the graded exercises |
//!
//! Beside the crate: `compose.yaml` and `monitoring/` (Prometheus and Grafana over session
//! 06's compose lab), `k8s/` (a Prometheus for the kind cluster).

pub mod api;
pub mod autoscale;
pub mod cli;
pub mod demo;
pub mod exercises;
pub mod metrics;
pub mod monitor;
pub mod published;
pub mod snapshot;
pub mod stress;
pub mod telemetry;
pub mod worker;

/// Chapter 9 of the book, whose Rust examples run as this crate's doctests.
#[cfg(doctest)]
#[doc = include_str!("../../book/src/session09.md")]
pub struct BookChapter;
