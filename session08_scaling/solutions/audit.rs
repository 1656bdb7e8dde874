//! Exercise 8.3: audit a scaling history against a behaviour.

use std::time::Duration;

use super::{
    AuditError, Behavior, Direction, Policy, PolicyKind, Rule, Rules, ScaleEvent, SelectPolicy,
    TimelineError, Violation,
};

/// Exercise 8.3: the first change an HPA with `behavior` could not have made.
pub fn audit(behavior: &Behavior, events: &[ScaleEvent]) -> Result<Option<Violation>, AuditError> {
    check_rules(Direction::Up, &behavior.scale_up)?;
    check_rules(Direction::Down, &behavior.scale_down)?;
    check_events(events)?;

    for (index, event) in events.iter().enumerate() {
        let (direction, rules) = if event.to > event.from {
            (Direction::Up, &behavior.scale_up)
        } else {
            (Direction::Down, &behavior.scale_down)
        };
        let earlier = &events[..index];
        let picked = match rules.select {
            SelectPolicy::Disabled => None,
            select => pick(direction, select, &rules.policies, event, earlier),
        };
        // No policy to pick: no change this way, as with `Disabled`.
        let (limit, rule) = match picked {
            Some((limit, policy)) => (limit, Rule::Policy(policy)),
            None => (event.from, Rule::Disabled),
        };
        let broken = match direction {
            Direction::Up => event.to > limit,
            Direction::Down => event.to < limit,
        };
        if broken {
            return Ok(Some(Violation {
                index,
                direction,
                limit,
                rule,
            }));
        }
    }
    Ok(None)
}

/// The policy `select` picks for `event` and its limit, kept on the side of `from`.
fn pick(
    direction: Direction,
    select: SelectPolicy,
    policies: &[Policy],
    event: &ScaleEvent,
    earlier: &[ScaleEvent],
) -> Option<(u32, Policy)> {
    // Up, `Max` wants the highest limit; down, `Max` wants the lowest.
    let wants_higher = (direction == Direction::Up) == (select == SelectPolicy::Max);
    let (limit, policy) = policies
        .iter()
        .map(|policy| (policy_limit(direction, policy, event, earlier), *policy))
        .reduce(|best, next| {
            let better = if wants_higher {
                next.0 > best.0
            } else {
                next.0 < best.0
            };
            if better { next } else { best }
        })?;
    let from = i64::from(event.from);
    let limit = match direction {
        Direction::Up => limit.max(from),
        Direction::Down => limit.clamp(0, from),
    };
    Some((u32::try_from(limit).unwrap_or(u32::MAX), policy))
}

/// One policy's limit for `event`, from the replicas at the start of its period.
fn policy_limit(
    direction: Direction,
    policy: &Policy,
    event: &ScaleEvent,
    earlier: &[ScaleEvent],
) -> i64 {
    let mut start = i64::from(event.from);
    for change in earlier {
        if event.at.saturating_sub(change.at) < policy.period {
            start -= i64::from(change.to) - i64::from(change.from);
        }
    }
    let value = i64::from(policy.value);
    let fraction = f64::from(policy.value) / 100.0;
    // In f64, as Kubernetes computes them; `as` truncates toward zero and saturates.
    match (direction, policy.kind) {
        (Direction::Up, PolicyKind::Pods) => start + value,
        (Direction::Up, PolicyKind::Percent) => (start as f64 * (1.0 + fraction)).ceil() as i64,
        (Direction::Down, PolicyKind::Pods) => start - value,
        (Direction::Down, PolicyKind::Percent) => (start as f64 * (1.0 - fraction)) as i64,
    }
}

fn check_rules(direction: Direction, rules: &Rules) -> Result<(), AuditError> {
    if rules.select == SelectPolicy::Disabled {
        return Ok(());
    }
    let problem = if rules.policies.is_empty() {
        Some("no policies, and selectPolicy is not Disabled")
    } else if rules.policies.iter().any(|p| p.value == 0) {
        Some("a policy's value must be above 0")
    } else if rules.policies.iter().any(|p| p.period == Duration::ZERO) {
        Some("a policy's periodSeconds must be above 0")
    } else {
        None
    };
    match problem {
        Some(reason) => Err(AuditError::Behavior {
            direction,
            reason: reason.to_owned(),
        }),
        None => Ok(()),
    }
}

fn check_events(events: &[ScaleEvent]) -> Result<(), TimelineError> {
    for (index, event) in events.iter().enumerate() {
        let reason = if event.from == event.to {
            Some(format!(
                "{} to {} replicas is not a change",
                event.from, event.to
            ))
        } else if index > 0 && event.at <= events[index - 1].at {
            Some(format!("at {:?}, not after the event before it", event.at))
        } else if index > 0 && event.from != events[index - 1].to {
            Some(format!(
                "starts from {} replicas, but the event before it left {}",
                event.from,
                events[index - 1].to
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(TimelineError { index, reason });
        }
    }
    Ok(())
}
