//! Exercise 9.3: utilisation over a window.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use std::time::Duration;

use super::{SlotSample, TimelineError};

// ANCHOR: utilisation
/// Exercise 9.3: the share of slots that were busy over the `window` that ends at `now`,
/// weighted by time: a number from 0 to 1.
///
/// The samples are readings of a step function: each one holds from its time until the
/// next sample's, and the last one until `now`. Before the first sample nothing is known,
/// and that time counts for nothing. The utilisation is the area under `busy` divided by
/// the area under `total`, both over the part of `[now - window, now]` the samples cover
/// (the window starts at 0 if `now` is shorter than it):
///
/// - a sample from before the window still counts, for the part of its time inside it;
/// - a reading that held for a minute weighs sixty times one that held for a second;
/// - two samples at the same time are allowed: the later in the slice wins, the earlier
///   held for no time.
///
/// Returns `Ok(None)` when the area under `total` is 0: no sample covers the window, or
/// the pool had no slots throughout.
///
/// A [`TimelineError`] names the first sample at fault: one earlier than the sample
/// before it, one after `now`, or one with more busy slots than slots.
pub fn utilisation(
    samples: &[SlotSample],
    now: Duration,
    window: Duration,
) -> Result<Option<f64>, TimelineError> {
    todo!("exercise 9.3: utilisation")
}
// ANCHOR_END: utilisation
