//! # Session 06: the workers in containers
//!
//! Sessions 04 and 05 built workers that share a Redis queue and survive failure. This
//! session puts them in containers, as the original course did with Docker and compose:
//! one image holds one binary, compose starts a Redis and a fleet of workers, and the
//! failure drills (a worker killed mid-task, Redis restarted, a worker stopped for an
//! update) lose nothing. What a container asks of a process, and where it is answered:
//!
//! | a container needs | answered by |
//! |---|---|
//! | configuration from the environment | every flag has an environment variable (clap's `env`) |
//! | a health check without curl | [`health`]: the worker writes a health file, `health` judges it |
//! | `docker stop` to lose nothing | the worker is PID 1 (exec-form entrypoint) and drains on SIGTERM |
//! | a readable name per replica | `--worker-id`, or the container's host name |
//! | results you can look at | the demos write files into a mounted `output/` folder |
//!
//! | file | teaches |
//! |---|---|
//! | [`health`] | health as a command: a status file written beside the pool, judged for freshness, liveness and readiness |
//! | [`worker`] | the `worker` command: session 05's worker with the health file |
//! | [`batch`] | photos in (bad ones skipped), named tasks out, a bounded wait, results as files |
//! | [`send`] | demo 1: five tasks with different filters |
//! | [`monitor`] | demo 2: tasks by state and live workers, refreshed |
//! | [`full_test`] | demo 3: purge, ten tasks, every result checked, timed |
//! | [`demo`] | the lab without Docker: three workers as processes, the demos, a SIGTERM drain |
//! | [`cli`] | the command line: this session's commands and the earlier sessions' |
//! | [`exercises`] | the graded exercises: configuration, health, drain, a Dockerfile review |
//!
//! The container files are beside the crate: `Dockerfile` (multi-stage, non-root,
//! `HEALTHCHECK` through this binary), `compose.yaml` and `.env`; `cargo xtask lab compose`
//! runs the whole lab on a real Docker engine.

pub mod batch;
pub mod cli;
pub mod demo;
pub mod exercises;
pub mod full_test;
pub mod health;
pub mod monitor;
pub mod send;
pub mod worker;

/// Chapter 6 of the book, whose Rust examples run as this crate's doctests.
#[cfg(doctest)]
#[doc = include_str!("../../book/src/session06.md")]
pub struct BookChapter;
