//! Exercise 9.4: an alerting rule's condition as a function.

use std::time::Duration;

use super::{AlertRule, AlertState, Evaluation, TimelineError};

/// Exercise 9.4: the alert's state after the last evaluation.
pub fn alert_state(
    rule: &AlertRule,
    evaluations: &[Evaluation],
) -> Result<AlertState, TimelineError> {
    for (index, pair) in evaluations.windows(2).enumerate() {
        if pair[1].at <= pair[0].at {
            return Err(TimelineError {
                index: index + 1,
                reason: format!(
                    "an evaluation at {:?} comes at or before the one before it, at {:?}",
                    pair[1].at, pair[0].at
                ),
            });
        }
    }

    let mut state = AlertState::Inactive;
    // The first evaluation that found the condition false while the alert fired.
    let mut quiet_since: Option<Duration> = None;
    for evaluation in evaluations {
        let at = evaluation.at;
        if evaluation.condition {
            quiet_since = None;
            if state == AlertState::Inactive {
                state = AlertState::Pending { since: at };
            }
            if let AlertState::Pending { since } = state
                && at - since >= rule.hold
            {
                state = AlertState::Firing { since: at };
            }
            continue;
        }
        if let AlertState::Firing { .. } = state {
            let first = *quiet_since.get_or_insert(at);
            if at - first < rule.keep_firing_for {
                continue;
            }
        }
        state = AlertState::Inactive;
        quiet_since = None;
    }
    Ok(state)
}
