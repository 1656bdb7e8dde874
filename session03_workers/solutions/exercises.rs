//! Reference solutions to session 03's exercises (`--features solutions`).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use session02_pipelines::PipelineSpec;

/// Exercise 3.1: one FIFO per priority level, in a map ordered by priority.
#[derive(Debug)]
pub struct PriorityQueue<T> {
    levels: BTreeMap<u8, VecDeque<T>>,
    len: usize,
}

impl<T> PriorityQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self {
            levels: BTreeMap::new(),
            len: 0,
        }
    }

    /// Adds `item` with `priority` (255 is the most urgent).
    pub fn push(&mut self, priority: u8, item: T) {
        self.levels.entry(priority).or_default().push_back(item);
        self.len += 1;
    }

    /// Removes and returns the most urgent item, the oldest among equals.
    pub fn pop(&mut self) -> Option<T> {
        let mut level = self.levels.last_entry()?;
        let item = level.get_mut().pop_front();
        if level.get().is_empty() {
            level.remove();
        }
        self.len -= usize::from(item.is_some());
        item
    }

    /// How many items are in the queue.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T> Default for PriorityQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Exercise 3.2: the ceiling doubles up to the cap; the wait is half fixed, half random.
pub fn backoff(attempt: u32, base: Duration, cap: Duration, random: f64) -> Duration {
    let doublings = attempt.max(1) - 1;
    let ceiling = 2u32
        .checked_pow(doublings)
        .and_then(|factor| base.checked_mul(factor))
        .map_or(cap, |ceiling| ceiling.min(cap));
    // Half fixed, half scaled: never above the ceiling, so never an overflow.
    let half = ceiling / 2;
    half + half.mul_f64(random.clamp(0.0, 1.0))
}

/// Exercise 3.3: nearest rank, on a sorted copy.
pub fn percentile(samples: &[Duration], q: f64) -> Option<Duration> {
    if samples.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Exercise 3.4: walk the pipeline, keep what is not offered, once.
pub fn missing_capabilities(pipeline: &PipelineSpec, capabilities: &[&str]) -> Vec<String> {
    if capabilities.contains(&"*") {
        return Vec::new();
    }
    let mut missing: Vec<String> = Vec::new();
    for filter in &pipeline.filters {
        if !capabilities.contains(&filter.name.as_str()) && !missing.contains(&filter.name) {
            missing.push(filter.name.clone());
        }
    }
    missing
}
