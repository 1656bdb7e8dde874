//! Your answers to the session's exercises: replace each `todo!` with your code.
//!
//! Grade with `cargo xtask grade 3`, or one exercise with `--exercise ex03_2`.
// The stubs stop at `todo!` without using their arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables, dead_code)]

use std::time::Duration;

use session02_pipelines::PipelineSpec;

// ANCHOR: priority_queue
/// Exercise 3.1: a priority queue.
///
/// Items come out highest `priority` first; items of the same priority come out in the
/// order they went in (first in, first out). `push` and `pop` must not slow down as the
/// queue grows: no scan of every item per call (the graded tests push a million items).
///
/// Choose the fields you need; the one below is only a placeholder.
#[derive(Debug)]
pub struct PriorityQueue<T> {
    items: Vec<(u8, T)>,
}

impl<T> PriorityQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        todo!("exercise 3.1: PriorityQueue::new")
    }

    /// Adds `item` with `priority` (255 is the most urgent).
    pub fn push(&mut self, priority: u8, item: T) {
        todo!("exercise 3.1: PriorityQueue::push")
    }

    /// Removes and returns the most urgent item, the oldest among equals; `None` when empty.
    pub fn pop(&mut self) -> Option<T> {
        todo!("exercise 3.1: PriorityQueue::pop")
    }

    /// How many items are in the queue.
    pub fn len(&self) -> usize {
        todo!("exercise 3.1: PriorityQueue::len")
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Default for PriorityQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}
// ANCHOR_END: priority_queue

// ANCHOR: backoff
/// Exercise 3.2: exponential backoff with jitter.
///
/// How long to wait before attempt `attempt + 1` after attempt `attempt` failed
/// (`attempt` counts from 1; treat 0 as 1):
///
/// - the *ceiling* doubles with each attempt, `base × 2^(attempt − 1)`, but never exceeds
///   `cap`;
/// - the wait is the ceiling times `(1 + random) / 2`, where `random` is a number in
///   `[0, 1)` the caller draws: between half the ceiling and the ceiling ("equal
///   jitter"), so workers that failed together do not retry together.
///
/// It must not overflow or panic for any attempt, however large (the ceiling is then
/// `cap`).
pub fn backoff(attempt: u32, base: Duration, cap: Duration, random: f64) -> Duration {
    todo!("exercise 3.2: backoff")
}
// ANCHOR_END: backoff

// ANCHOR: percentile
/// Exercise 3.3: percentiles.
///
/// The `q`-th percentile (`q` in `[0, 1]`) of `samples` by the nearest-rank definition: the
/// smallest sample such that at least a share `q` of all samples are less than or equal to
/// it. That is the sample at rank `⌈q × n⌉` (ranks from 1) in sorted order, and the
/// smallest sample when `q` is 0. `samples` is in any order, and must be left as it is.
/// `None` when there are no samples or `q` is outside `[0, 1]` (or not a number).
pub fn percentile(samples: &[Duration], q: f64) -> Option<Duration> {
    todo!("exercise 3.3: percentile")
}
// ANCHOR_END: percentile

// ANCHOR: missing_capabilities
/// Exercise 3.4: a capability check.
///
/// The names of the filters in `pipeline` that a worker offering `capabilities` cannot run:
/// in the order they first appear in the pipeline, each once. A capability `*` means every
/// filter. Empty when the worker can run the whole pipeline.
pub fn missing_capabilities(pipeline: &PipelineSpec, capabilities: &[&str]) -> Vec<String> {
    todo!("exercise 3.4: missing_capabilities")
}
// ANCHOR_END: missing_capabilities
