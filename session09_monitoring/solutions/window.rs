//! Exercise 9.3: utilisation over a window.

use std::time::Duration;

use super::{SlotSample, TimelineError};

/// Exercise 9.3: the time-weighted share of busy slots over the window ending at `now`.
pub fn utilisation(
    samples: &[SlotSample],
    now: Duration,
    window: Duration,
) -> Result<Option<f64>, TimelineError> {
    check(samples, now)?;
    let start = now.saturating_sub(window);
    let (mut busy, mut total) = (0.0, 0.0);
    for (i, sample) in samples.iter().enumerate() {
        // Each reading holds until the next one, the last until now; clip it to the window.
        let until = samples.get(i + 1).map_or(now, |next| next.at);
        let from = sample.at.max(start);
        if until > from {
            let seconds = (until - from).as_secs_f64();
            busy += f64::from(sample.busy) * seconds;
            total += f64::from(sample.total) * seconds;
        }
    }
    Ok((total > 0.0).then(|| busy / total))
}

/// The first sample out of order, in the future, or with more busy slots than slots.
fn check(samples: &[SlotSample], now: Duration) -> Result<(), TimelineError> {
    for (index, sample) in samples.iter().enumerate() {
        let reason = if index > 0 && sample.at < samples[index - 1].at {
            format!(
                "a sample at {:?} comes before the sample before it, at {:?}",
                sample.at,
                samples[index - 1].at
            )
        } else if sample.at > now {
            format!("a sample at {:?} is after now, {now:?}", sample.at)
        } else if sample.busy > sample.total {
            format!("{} busy slots of {}", sample.busy, sample.total)
        } else {
            continue;
        };
        return Err(TimelineError { index, reason });
    }
    Ok(())
}
