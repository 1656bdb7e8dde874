//! Exercise 8.3: audit a scaling history against a behaviour.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use super::{AuditError, Behavior, ScaleEvent, Violation};

// ANCHOR: checks
/// Exercise 8.3: the first change in `events` that an HPA with `behavior` could not have
/// made, and the rule it breaks; `None` when every change keeps to the rules.
///
/// The crate's controller works forwards: from its own history it computes how far it
/// may go now. An audit works on a history someone else wrote (the events of
/// `kubectl describe hpa`, a CSV file from a load test) and asks, change by change,
/// whether the rules allowed it. Only the policies are judged here (the stabilisation
/// windows need the metrics, and `minReplicas`/`maxReplicas` are not in `behavior`).
///
/// **Checked first**, the behaviour, then every event, before any is judged:
///
/// - each direction's rules, `scaleUp` first, unless its `select` is `Disabled`: at
///   least one policy, and each policy with a `value` above 0 and a `period` above 0
///   ([`AuditError::Behavior`], naming the direction);
/// - each event: `from` and `to` differ; from the second on, its time is after the time
///   of the event before it, and its `from` is that event's `to`
///   ([`AuditError::Events`], with the event's index).
// ANCHOR_END: checks
// ANCHOR: limits
///
/// **Judging** an event `from → to` at time `t`: it goes *up* when `to > from`, by the
/// `scale_up` rules, *down* otherwise, by the `scale_down` rules.
///
/// - `select: Disabled`: no change that way is allowed ([`Rule::Disabled`], limit `from`).
/// - Otherwise each policy gives a limit. Its *period start* is the number of replicas
///   `period` ago: `from`, minus what the earlier changes up added and plus what the
///   earlier changes down removed, counting only the changes less than `period` before
///   `t` (one exactly `period` before is out). Then, with `start` the period start and
///   `value` the policy's:
///   - up, `Pods`: `start + value`; up, `Percent`: `ceil(start × (1 + value / 100))`;
///   - down, `Pods`: `start - value`; down, `Percent`: `start × (1 - value / 100)`,
///     truncated to a whole number; below 0 is 0.
///
///   Compute the percentages in `f64`, exactly as written, as Kubernetes does in Go
///   (`math.Ceil(float64(start) * (1 + float64(value)/100))` up, `int32(float64(start) *
///   (1 - float64(value)/100))` down): floating point decides some limits. Up by 10 %
///   from 50, `50 × 1.1` is `55.00000000000001`, so a real HPA allows 56; down by 80 %
///   from 10, `10 × 0.2` is `1.9999999999999996`, so it allows 1.
/// - `select` picks one policy: `Max` the one that allows the biggest change (up: the
///   highest limit; down: the lowest), `Min` the one that allows the smallest (up: the
///   lowest; down: the highest); on a tie, the first in the list.
/// - The limit is that policy's, but never a change the other way: up, at least `from`;
///   down, at most `from`.
/// - The event breaks the rule when it goes past the limit: up, `to > limit`; down,
///   `to < limit` ([`Rule::Policy`] with the policy picked).
///
/// [`Rule::Disabled`]: super::Rule::Disabled
/// [`Rule::Policy`]: super::Rule::Policy
pub fn audit(behavior: &Behavior, events: &[ScaleEvent]) -> Result<Option<Violation>, AuditError> {
    todo!("exercise 8.3: audit")
}
// ANCHOR_END: limits
