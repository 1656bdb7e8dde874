//! Throughput from a counter: a background task samples the queue's "succeeded, ever"
//! counter every few seconds, and the rate is the change over the last minute divided by
//! the time it took.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::Serialize;

/// How far back the rate looks.
pub const WINDOW: Duration = Duration::from_secs(60);
/// How often the API samples the counter.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// Tasks that succeeded per second, as `/api/stats` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Throughput {
    /// Tasks that succeeded per second over `window_seconds`; `None` until two samples at
    /// least a second apart exist.
    pub tasks_per_second: Option<f64>,
    /// The time the rate covers.
    pub window_seconds: f64,
}

/// Samples of a growing counter, within [`WINDOW`] of the newest.
#[derive(Debug, Default)]
pub struct Sampler {
    samples: VecDeque<(Instant, u64)>,
}

impl Sampler {
    /// Records `count`, read at `at`.
    pub fn record(&mut self, at: Instant, count: u64) {
        // A counter that went down was reset (the namespace purged): start again.
        if self.samples.back().is_some_and(|&(_, last)| count < last) {
            self.samples.clear();
        }
        self.samples.push_back((at, count));
        // One writer every few seconds: the window bounds the length.
        while self
            .samples
            .front()
            .is_some_and(|&(first, _)| at.duration_since(first) > WINDOW)
        {
            self.samples.pop_front();
        }
    }

    /// The rate between the oldest and the newest sample.
    pub fn rate(&self) -> Throughput {
        let (Some(&(first_at, first)), Some(&(last_at, last))) =
            (self.samples.front(), self.samples.back())
        else {
            return Throughput {
                tasks_per_second: None,
                window_seconds: 0.0,
            };
        };
        let span = last_at.duration_since(first_at);
        Throughput {
            tasks_per_second: (span >= Duration::from_secs(1))
                .then(|| (last - first) as f64 / span.as_secs_f64()),
            window_seconds: span.as_secs_f64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_covers_the_window_and_restarts_after_a_reset() {
        let start = Instant::now();
        let mut sampler = Sampler::default();
        assert_eq!(sampler.rate().tasks_per_second, None);
        sampler.record(start, 10);
        assert_eq!(sampler.rate().tasks_per_second, None);
        sampler.record(start + Duration::from_secs(4), 30);
        assert_eq!(sampler.rate().tasks_per_second, Some(5.0));
        // Past the window, the first sample no longer counts: 30 tasks in 58 s.
        sampler.record(start + Duration::from_secs(62), 60);
        let rate = sampler.rate();
        assert_eq!(rate.tasks_per_second, Some(30.0 / 58.0));
        assert_eq!(rate.window_seconds, 58.0);
        // A purge resets the counter: no negative rate.
        sampler.record(start + Duration::from_secs(63), 0);
        assert_eq!(sampler.rate().tasks_per_second, None);
    }
}
