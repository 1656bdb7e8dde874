//! Shortcut for exercise 9.3: the plain average of the samples inside the window, as if
//! they were evenly spaced: a burst sampled often outweighs a long quiet spell sampled
//! once, and the reading that was still holding when the window opened is left out.
//! `ex09_3_each_reading_weighs_as_long_as_it_held` catches it.

use std::time::Duration;

use super::{SlotSample, TimelineError};

/// Exercise 9.3: the time-weighted share of busy slots over the window ending at `now`.
pub fn utilisation(
    samples: &[SlotSample],
    now: Duration,
    window: Duration,
) -> Result<Option<f64>, TimelineError> {
    for (index, sample) in samples.iter().enumerate() {
        let out_of_order = index > 0 && sample.at < samples[index - 1].at;
        if out_of_order || sample.at > now || sample.busy > sample.total {
            return Err(TimelineError {
                index,
                reason: "a sample out of order, in the future, or over its slots".to_owned(),
            });
        }
    }
    let start = now.saturating_sub(window);
    let inside = samples.iter().filter(|s| s.at >= start);
    let (busy, total) = inside.fold((0, 0), |(b, t), s| (b + s.busy, t + s.total));
    Ok((total > 0).then(|| f64::from(busy) / f64::from(total)))
}
