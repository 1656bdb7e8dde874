//! Shortcut for exercise 9.4: the alert fires as soon as its condition holds, as if `for:`
//! were not there: one slow scrape pages someone at three in the morning.
//! `ex09_4_the_condition_must_hold_for_the_whole_hold` catches it.

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
                reason: "an evaluation at or before the one before it".to_owned(),
            });
        }
    }
    let mut state = AlertState::Inactive;
    let mut quiet_since: Option<Duration> = None;
    for evaluation in evaluations {
        let at = evaluation.at;
        if evaluation.condition {
            quiet_since = None;
            if !matches!(state, AlertState::Firing { .. }) {
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
