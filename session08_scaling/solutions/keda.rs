//! Exercise 8.2: scale to zero and back, KEDA's activation and cooldown.

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
                reason: format!(
                    "a poll at {:?} comes at or before the poll before it, at {:?}",
                    pair[1].at, pair[0].at
                ),
            });
        }
    }

    let mut replicas = replicas;
    let mut last_active: Option<Duration> = None;
    let mut events = Vec::new();
    for poll in polls {
        if poll.lag > settings.activation_lag {
            last_active = Some(poll.at);
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
        // Inactive: the cooldown counts from the last active poll, or from the creation.
        let (since, cooldown) = match last_active {
            Some(at) => (at, settings.cooldown),
            None => (Duration::ZERO, settings.initial_cooldown),
        };
        let cooled = poll.at > since.saturating_add(cooldown);
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
