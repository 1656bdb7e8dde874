//! Exercise 8.2: scale to zero and back, KEDA's activation and cooldown.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use super::{Poll, ScaleEvent, ScaledObject, TimelineError};

// ANCHOR: scale_to_zero
/// Exercise 8.2: the changes KEDA's operator makes between zero and some replicas, poll by
/// poll, as its scale executor does for a `ScaledObject` with `minReplicaCount: 0`.
///
/// An HPA never goes below one replica: it needs a pod to measure. KEDA adds the step
/// below: it polls its trigger (here, the lag of a Redis stream) and, when the trigger is
/// *active*, scales a Deployment at 0 to 1, handing over to the HPA it made; when the
/// trigger has been inactive long enough, it scales the Deployment to 0. Between 1 and
/// the maximum the HPA decides, and this function leaves it out.
///
/// The Deployment has `replicas` when the `ScaledObject` is created, at time 0. At each
/// poll, in order:
///
/// - The trigger is *active* when `lag > activation_lag` (a lag equal to it is not).
/// - Active: the last active time becomes the poll's time; if the Deployment is at 0, it
///   goes to 1 (an event `0 → 1`).
/// - Inactive, with the Deployment above 0: it goes to 0 (an event `n → 0`) once the
///   cooldown has passed, that is when the poll is *more than* `cooldown` after the last
///   active time. A `ScaledObject` that has never been active counts from its creation
///   with `initial_cooldown` instead: the poll must be more than `initial_cooldown` after
///   time 0.
/// - Otherwise nothing changes.
///
/// Returns the events in order. The polls' times must increase strictly: a poll at or
/// before the one before it is a [`TimelineError`] with its index.
pub fn scale_to_zero(
    settings: &ScaledObject,
    replicas: u32,
    polls: &[Poll],
) -> Result<Vec<ScaleEvent>, TimelineError> {
    todo!("exercise 8.2: scale_to_zero")
}
// ANCHOR_END: scale_to_zero
