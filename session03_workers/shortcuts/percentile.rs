//! Shortcut for exercise 3.3: the HDR histogram the pool's statistics use
//! (`value_at_quantile`). It rounds to 3 significant digits, so its answer is near a sample
//! but not one: `ex03_3_nearest_rank_by_definition` catches it.

use std::time::Duration;

use hdrhistogram::Histogram;

/// The `q`-th percentile of `samples`, read from a histogram of their microseconds.
pub fn percentile(samples: &[Duration], q: f64) -> Option<Duration> {
    if samples.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    // 1 µs to an hour at 3 significant digits, as the pool's statistics keep them.
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).ok()?;
    for sample in samples {
        let micros = u64::try_from(sample.as_micros()).unwrap_or(u64::MAX);
        histogram.saturating_record(micros.max(1));
    }
    Some(Duration::from_micros(histogram.value_at_quantile(q)))
}
