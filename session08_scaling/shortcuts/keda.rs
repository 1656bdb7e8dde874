//! Shortcut for exercise 8.2: the cooldown counted from the first quiet poll (when the
//! lag fell), not from the last active one: every scale to zero comes a poll late, and
//! the Deployment holds its pods for nothing.
//! `ex08_2_the_cooldown_counts_from_the_last_active_poll` catches it.

use std::time::Duration;

use super::{Poll, ScaleEvent, ScaledObject, TimelineError};

/// Exercise 8.2: the changes KEDA makes between zero and some replicas.
pub fn scale_to_zero(
    settings: &ScaledObject,
    replicas: u32,
    polls: &[Poll],
) -> Result<Vec<ScaleEvent>, TimelineError> {
    for (index, pair) in polls.windows(2).enumerate() {
        if pair[1].at <= pair[0].at {
            return Err(TimelineError {
                index: index + 1,
                reason: "a poll at or before the poll before it".to_owned(),
            });
        }
    }
    let mut replicas = replicas;
    let mut ever_active = false;
    let mut quiet_since: Option<Duration> = None;
    let mut events = Vec::new();
    for poll in polls {
        if poll.lag > settings.activation_lag {
            ever_active = true;
            quiet_since = None;
            if replicas == 0 {
                events.push(ScaleEvent {
                    at: poll.at,
                    from: 0,
                    to: 1,
                });
                replicas = 1;
            }
            continue;
        }
        let cooled = if ever_active {
            let since = *quiet_since.get_or_insert(poll.at);
            poll.at > since + settings.cooldown
        } else {
            poll.at > settings.initial_cooldown
        };
        if replicas > 0 && cooled {
            events.push(ScaleEvent {
                at: poll.at,
                from: replicas,
                to: 0,
            });
            replicas = 0;
        }
    }
    Ok(events)
}
