//! Exercise 9.4: an alerting rule's condition as a function.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use super::{AlertRule, AlertState, Evaluation, TimelineError};

// ANCHOR: alert_state
/// Exercise 9.4: the alert's state after the last of `evaluations`, as Prometheus's rule
/// manager computes it for a rule with `for:` and `keep_firing_for:`.
///
/// The alert starts [`Inactive`](AlertState::Inactive). At each evaluation, in order:
///
/// - The condition holds:
///   - an inactive alert becomes [`Pending`](AlertState::Pending) since this evaluation;
///   - a pending alert whose condition has held for `hold` or more (this evaluation's time
///     minus its `since`) becomes [`Firing`](AlertState::Firing) since this evaluation.
///     An alert that has just become pending checks this too, so a `hold` of 0 fires at
///     once;
///   - a firing alert stays firing, and forgets any count towards `keep_firing_for`.
/// - The condition does not hold:
///   - a pending alert becomes inactive: the next run starts from zero;
///   - a firing alert keeps firing while this evaluation is less than `keep_firing_for`
///     after the first evaluation that found the condition false, and becomes inactive
///     otherwise.
///
/// The evaluations' times must increase strictly: one at or before the evaluation before
/// it is a [`TimelineError`] with its index.
pub fn alert_state(
    rule: &AlertRule,
    evaluations: &[Evaluation],
) -> Result<AlertState, TimelineError> {
    todo!("exercise 9.4: alert_state")
}
// ANCHOR_END: alert_state
