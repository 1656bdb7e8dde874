//! # Session 05: distributed workers that survive failure, and seamless tiled images
//!
//! Session 04 put the queue in Redis, so workers can run on many machines. This session
//! makes that crowd visible and safe: each worker registers and beats, so `workers` shows
//! who is alive and what each can run; a task goes only to a worker that can run every one
//! of its filters, and when no live worker can, it waits and says why; and a large image is
//! cut into tiles with a halo, processed anywhere, and stitched into exactly the image one
//! process would have made.
//!
//! | file | teaches |
//! |---|---|
//! | [`registry`] | [`Registry`]: worker records, heartbeats by Redis's clock, idle/busy/stale/gone, why a task waits |
//! | [`heartbeat`] | a worker's record and beats, composed onto session 04's worker runtime |
//! | [`cli`] | the command line: the commands, each with its flags in its own file |
//! | [`worker`] | the `worker` command: session 04's worker with tiled jobs and a heartbeat |
//! | [`workers`] | the `workers` command, once or redrawn (`--watch`) |
//! | [`submit`] | the `submit` command: session 04's, or each image as a tiled job (`--tiled`) |
//! | [`requeue`] | the `requeue` command: dead letters back into the queue |
//! | [`demo`] | the one-command demo: three specialised workers, a tiled image, a kill |
//! | [`bench`](mod@bench) | the tiling benchmark: a 100-megapixel blur across worker processes |
//! | [`exercises`] | the graded exercises, on a real Redis: a heartbeat, a fencing lock, orphan recovery, an exactly-once fan-in |
//! | [`tiles`] | [`TilePlan`], halos, [`Stitcher`]: tiles that stitch without seams |
//! | [`jobs`] | tiled jobs on the queue: a task per tile, assembled exactly once, clients told through a stream |

pub mod bench;
pub mod cli;
pub mod demo;
pub mod exercises;
pub mod heartbeat;
pub mod jobs;
pub mod registry;
pub mod requeue;
pub mod submit;
pub mod tiles;
pub mod worker;
pub mod workers;

pub use registry::{Registry, RegistryConfig, WorkerInfo, WorkerState, WorkerView};
pub use tiles::{Stitcher, Tile, TilePlan, TiledPipeline};

/// Chapter 5 of the book, whose Rust examples run as this crate's doctests.
#[cfg(doctest)]
#[doc = include_str!("../../book/src/session05.md")]
pub struct BookChapter;
