//! Throughput from counters: the API samples the queue's "succeeded, ever" counter when
//! asked, and divides the change over the last minute by the time it took.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::Serialize;

/// How far back the rate looks.
pub const WINDOW: Duration = Duration::from_secs(60);
/// The most samples kept (one per request at most, pruned by age as well).
const MAX_SAMPLES: usize = 1024;

/// Tasks finished per second, as `/api/stats` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Throughput {
    /// Tasks that succeeded per second over `window_seconds`; `None` until two samples at
    /// least a second apart exist.
    pub tasks_per_second: Option<f64>,
    /// The time the rate covers.
    pub window_seconds: f64,
}

/// Samples of a growing counter.
#[derive(Debug, Default)]
pub struct Sampler {
    samples: VecDeque<(Instant, u64)>,
}

impl Sampler {
    /// Records `count` at `now` and returns the rate since the oldest sample in the window.
    pub fn record(&mut self, now: Instant, count: u64) -> Throughput {
        // A counter that went down was reset (the namespace purged): start again.
        if self.samples.back().is_some_and(|&(_, last)| count < last) {
            self.samples.clear();
        }
        self.samples.push_back((now, count));
        while self.samples.len() > MAX_SAMPLES
            || self
                .samples
                .front()
                .is_some_and(|&(at, _)| now.duration_since(at) > WINDOW)
        {
            self.samples.pop_front();
        }
        let (first_at, first) = self.samples.front().copied().unwrap_or((now, count));
        let span = now.duration_since(first_at);
        Throughput {
            tasks_per_second: (span >= Duration::from_secs(1))
                .then(|| (count - first) as f64 / span.as_secs_f64()),
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
        assert_eq!(sampler.record(start, 10).tasks_per_second, None);
        let rate = sampler.record(start + Duration::from_secs(4), 30);
        assert_eq!(rate.tasks_per_second, Some(5.0));
        // Past the window, the first sample no longer counts: 30 tasks in 58 s.
        let rate = sampler.record(start + Duration::from_secs(62), 60);
        assert_eq!(rate.tasks_per_second, Some(30.0 / 58.0));
        assert_eq!(rate.window_seconds, 58.0);
        // A purge resets the counter: no negative rate.
        let rate = sampler.record(start + Duration::from_secs(63), 0);
        assert_eq!(rate.tasks_per_second, None);
    }
}
