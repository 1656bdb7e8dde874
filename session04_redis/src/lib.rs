//! # Session 04: a Redis queue that loses nothing
//!
//! Session 03's queue lived in one process: when the process ended, so did the queue. This
//! session moves it into Redis, behind the same [`Queue`](session03_workers::Queue) and
//! [`BlobStore`](session03_workers::BlobStore) traits, so session 03's worker pool runs on
//! it unchanged, in as many processes on as many machines as can reach Redis.
//!
//! The original course's Redis queue used `LPUSH`/`BRPOP`, and lost a task whenever a
//! worker died holding it. This one uses a Redis stream with a consumer group: a delivered
//! task stays pending until it is acknowledged, and a lease that runs out hands it to
//! another worker. At-least-once, with idempotent completion.
//!
//! | file | teaches |
//! |---|---|
//! | [`connect`] | `REDIS_URL`, credentials, a connection that reconnects, and the 500 ms timeout that breaks blocking reads |
//! | [`encoding`] | versioned JSON for tasks; malformed entries named, not guessed at |
//! | [`keys`] | [`Keys`]: every Redis key of a queue, built in one place |
//! | [`functions`] | Lua libraries: each queue step one atomic round trip |
//! | [`queue`] | [`RedisQueue`]: streams, consumer groups, leases as pending entries, dead letters, calls in groups |
//! | [`blob`] | [`RedisBlobStore`]: images and results in Redis with a size cap and a TTL |
//! | [`server`] | [`RedisServer`]: a real redis-server per test or demo, on a free port |
//! | [`runtime`] | [`Runtime`]: a worker process, and how later sessions add layers and side tasks to it |
//! | [`cli`] | what the commands share: the queue's flags, running a command, `--watch` |
//! | [`worker`], [`submit`], [`status`], [`reset`] | the `worker`, `submit` (`--output` writes the results as files), `status` and `reset` commands |
//! | [`demo`], [`bench`](mod@bench) | the one-command demo and the throughput benchmark |
//! | [`exercises`] | the graded exercises: one file per exercise, `src/exercises/stream_id.rs` to `renewal.rs`, on a reliable list queue |

pub mod bench;
pub mod blob;
pub mod cli;
pub mod connect;
pub mod demo;
pub mod encoding;
pub mod exercises;
pub mod functions;
pub mod keys;
pub mod queue;
pub mod reset;
pub mod runtime;
pub mod server;
pub mod status;
pub mod submit;
pub mod worker;

pub use blob::RedisBlobStore;
pub use connect::RedisOptions;
pub use keys::Keys;
pub use queue::{RedisQueue, RedisQueueConfig};
pub use runtime::{Context, Runtime};
pub use server::{RedisServer, ServerOptions};

/// Chapter 4 of the book, whose Rust examples run as this crate's doctests.
#[cfg(doctest)]
#[doc = include_str!("../../book/src/session04.md")]
pub struct BookChapter;

/// The book's chapter "Primer: Lua inside Redis": its examples run as this crate's doctests.
#[cfg(doctest)]
#[doc = include_str!("../../book/src/primer-lua.md")]
pub struct PrimerLua;
