//! Exercise 7.2: rolling update arithmetic.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use super::{RollingUpdate, RolloutBounds, RolloutError};

// ANCHOR: rollout
/// Exercise 7.2: how far a rolling update of a Deployment of `replicas` pods may go above
/// and below `replicas`, by its `strategy`, exactly as Kubernetes works it out.
///
/// A rolling update replaces old pods with new ones a few at a time. `maxSurge` says how
/// many pods it may add above `replicas`, `maxUnavailable` how many may be missing (or
/// not ready) below it. Each is an [`IntOrString`](super::IntOrString): a number of pods,
/// or a percentage of `replicas` written as text (`"25%"`).
///
/// **Checked first**, as the API server does, in this order; the first problem is the
/// [`RolloutError`], naming the field (`maxUnavailable` or `maxSurge`) and its value as
/// written (`IntOrString`'s `Display`):
///
/// 1. each field's form, `maxUnavailable` first, then `maxSurge`: a number must not be
///    negative; text must be one or more digits and then `%`, nothing else (`"25%"`; not
///    `"25"`, `"abc%"`, `"-5%"`, `"+5%"`, `" 5%"`, `"2.5%"`), and the number must fit a
///    `u32`;
/// 2. both 0 (`0` or `"0%"`, in any combination) is an error on `maxUnavailable`: a
///    rollout that may neither add nor remove a pod could never start;
/// 3. `maxUnavailable` above `"100%"` is an error (`maxSurge` may be `"200%"`: twice as
///    many new pods at once).
///
/// **Then resolved** to pods, as `ResolveFenceposts` in Kubernetes' deployment controller:
///
/// - a percentage of `maxSurge` rounds *up* (25% of 10 is 3 pods): a surge of at least
///   one pod whenever it is above 0%;
/// - a percentage of `maxUnavailable` rounds *down* (25% of 10 is 2 pods): never less
///   available than asked for;
/// - if both resolve to 0 (a small Deployment: 25% of 3 rounds down to 0 with `maxSurge:
///   0`), `maxUnavailable` becomes 1, or the rollout could not move;
/// - last, `maxUnavailable` is at most `replicas` (0 when `replicas` is 0).
///
/// The bounds are then `max_pods = replicas + max_surge` and `min_available = replicas -
/// max_unavailable`.
pub fn rollout_bounds(
    replicas: u32,
    strategy: &RollingUpdate,
) -> Result<RolloutBounds, RolloutError> {
    todo!("exercise 7.2: rollout_bounds")
}
// ANCHOR_END: rollout
