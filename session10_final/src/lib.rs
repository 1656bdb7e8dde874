//! # Session 10: the final system
//!
//! Nine sessions built the parts: filters and pipelines (01-02), a queue with workers
//! (03), Redis under it (04), many workers (05), containers (06), Kubernetes and the first
//! HTTP server (07), scaling (08), metrics (09). This session puts an HTTP API and a web
//! page in front of them, so that `cargo run -p session10_final` opens a working image
//! service in the browser, with nothing installed but Rust.
//!
//! | file | teaches |
//! |---|---|
//! | [`routes`] | the paths, in one place |
//! | [`error`] | every refusal as a status and a JSON reason: 400, 404, 409, 413, 415, 422, 429, 503 |
//! | [`limits`] | what an upload may be, checked from its header: size, format by magic bytes, pixels |
//! | [`request`] | what a client sends: a form, JSON with base64, or a raw body |
//! | [`backend`] | the seam: what the API needs from the system under it |
//! | [`watched`] | a queue that says when a state changes, so event streams need no timer |
//! | [`embedded`] | the default mode: session 03's queue and pool in this process, measured by session 09 |
//! | [`distributed`] | `--redis`: session 04's queue, session 05's registry, separate workers |
//! | [`tiled`] | session 05's tiled jobs through the API, shown as one job |
//! | [`app`] | what every handler shares: storing and queueing a job, the same in both modes |
//! | [`jobs`] | submitting a job, its state, its result with an `ETag` |
//! | [`events`] | a job's progress as Server-Sent Events |
//! | [`compare`] | session 02's strategies compared, over HTTP |
//! | [`stress`] | the original `stress N`, over HTTP and bounded |
//! | [`process`] | work done while the client waits, and a header read |
//! | [`page`] | the web page, compiled in, and its Content-Security-Policy |
//! | [`openapi`] | the API described for machines, generated from the handlers |
//! | [`api`] | the router: the job routes, the mode's routes, the page |
//! | [`server`] | the default command in either mode: bind, serve, shut down gracefully |
//! | [`exercises`] | the graded exercises |

pub mod api;
pub mod app;
pub mod backend;
pub mod compare;
pub mod distributed;
pub mod embedded;
pub mod error;
pub mod events;
pub mod exercises;
pub mod jobs;
pub mod limits;
pub mod openapi;
pub mod page;
pub mod process;
pub mod request;
pub mod routes;
pub mod server;
pub mod stress;
pub mod tiled;
pub mod watched;

/// Chapter 10 of the book, whose Rust examples run as this crate's doctests.
#[cfg(doctest)]
#[doc = include_str!("../../book/src/session10.md")]
pub struct BookChapter;
