//! # Session 07: the system on Kubernetes
//!
//! Session 06 put the workers in containers on one machine. This session runs them on a
//! Kubernetes cluster (kind, on a laptop), as the original course did: Deployments keep
//! the workers running, a StatefulSet keeps Redis and its data, Services give them names,
//! probes tell the kubelet when to restart a container and when to send it traffic. Two
//! things are new in the code, and both speak HTTP, the course's first servers:
//!
//! | Kubernetes needs | answered by |
//! |---|---|
//! | probes without a shell in the image | the worker's `/livez` and `/readyz` on a probe port ([`probes`]) |
//! | something for the Ingress to expose | the read-only status API ([`api`]) |
//! | a rolling update that loses nothing | readiness turns false on SIGTERM, the worker drains, `terminationGracePeriodSeconds` covers it |
//! | configuration and secrets | flags with environment variables; `REDIS_PASSWORD` from a Secret |
//!
//! | file | teaches |
//! |---|---|
//! | [`routes`] | the paths and ports, in one place the manifests are checked against |
//! | [`api`] | an axum router: handlers, extractors, JSON, the `--json` shapes over HTTP |
//! | [`error`] | errors as HTTP statuses with a JSON reason |
//! | [`readiness`] | the status API's readiness rule, with reasons |
//! | [`state`] | the handlers' shared state; connecting to Redis in the background |
//! | [`throughput`] | a rate from a counter sampled over a window |
//! | [`server`] | the `api` command: bind, serve, shut down gracefully under a deadline |
//! | [`probes`] | `/livez` and `/readyz` from the worker's pool and phase |
//! | [`worker`] | the `worker` command: session 05's worker with the probes |
//! | [`demo`] | the pods' processes on this machine: API, workers, probes through a drain |
//! | [`cli`] | the command line: this session's commands and the earlier sessions' |
//! | [`exercises`] | the graded exercises |
//!
//! Beside the crate: `Dockerfile` (the image every pod runs), `k8s/` (kustomize base and
//! overlays `kind` and `prod`, the kind cluster, the Job and the bare Pod example).
//! `cargo xtask lab kind` runs the lab where kind exists; `--plan` prints its commands.

pub mod api;
pub mod cli;
pub mod demo;
pub mod error;
pub mod exercises;
pub mod probes;
pub mod readiness;
pub mod routes;
pub mod server;
pub mod state;
pub mod throughput;
pub mod worker;

/// Chapter 7 of the book, whose Rust examples run as this crate's doctests.
#[cfg(doctest)]
#[doc = include_str!("../../book/src/session07.md")]
pub struct BookChapter;
