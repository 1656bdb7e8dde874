//! # Session 08: autoscaling you can watch
//!
//! Session 07 ran a fixed number of workers on Kubernetes. This session makes the number
//! follow the load, as the original course's HorizontalPodAutoscaler did, and lets you
//! watch it happen on one laptop first: real worker processes added and drained under a
//! real load, by the same algorithm and the same behaviour block as the HPA manifest.
//!
//! | file | teaches |
//! |---|---|
//! | [`hpa`] | the HPA algorithm: the formula, tolerance, stabilisation windows, policies |
//! | [`recommend`] | the original course's advisory recommendation, on the same algorithm |
//! | [`metrics`] | the signals: queue lag and pending from Redis, CPU and memory from sysinfo |
//! | [`supervisor`] | worker processes started, drained gracefully, replaced when they die |
//! | [`autoscale`] | the `autoscale` command: metrics, a decision, a change, every period |
//! | [`timeline`] | what the autoscaler did, as a CSV file and a PNG plot |
//! | [`plot`] | PNG plots with plotters, and the font they need |
//! | [`loadgen`] | a bounded load: a burst or a rate, concurrent submitters, latency percentiles |
//! | [`bench`](mod@bench) | image size x concurrency x workers, as a CSV file and a scatter plot |
//! | [`demo`] | the autoscaler at work under a burst, in under three minutes |
//! | [`cli`] | the command line |
//! | [`exercises`] | the graded exercises |
//!
//! Beside the crate: `k8s/` (the HPA and the KEDA ScaledObject over session 07's kind
//! overlay). `cargo xtask lab kind` runs the scaling drill where kind exists; `--plan`
//! prints its commands.

pub mod autoscale;
pub mod bench;
pub mod cli;
pub mod demo;
pub mod exercises;
pub mod hpa;
pub mod loadgen;
pub mod metrics;
pub mod plot;
pub mod recommend;
pub mod supervisor;
pub mod timeline;

/// Chapter 8 of the book, whose Rust examples run as this crate's doctests.
#[cfg(doctest)]
#[doc = include_str!("../../book/src/session08.md")]
pub struct BookChapter;
