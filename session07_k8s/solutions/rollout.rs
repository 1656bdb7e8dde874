//! Exercise 7.2: rolling update arithmetic.

use super::{IntOrString, RollingUpdate, RolloutBounds, RolloutError};

/// A field's value, read: pods, or a percentage of the replicas.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Amount {
    Pods(u64),
    Percent(u64),
}

impl Amount {
    /// In pods, of `replicas`; a percentage rounds up or down.
    fn pods(self, replicas: u64, round_up: bool) -> u64 {
        match self {
            Amount::Pods(pods) => pods,
            Amount::Percent(percent) if round_up => (percent * replicas).div_ceil(100),
            Amount::Percent(percent) => percent * replicas / 100,
        }
    }
}

/// Exercise 7.2: how far a rolling update may go above and below `replicas`.
pub fn rollout_bounds(
    replicas: u32,
    strategy: &RollingUpdate,
) -> Result<RolloutBounds, RolloutError> {
    let unavailable = read("maxUnavailable", &strategy.max_unavailable)?;
    let surge = read("maxSurge", &strategy.max_surge)?;
    let zero = [Amount::Pods(0), Amount::Percent(0)];
    let problem = if zero.contains(&unavailable) && zero.contains(&surge) {
        Some("may not be 0 when maxSurge is 0")
    } else if matches!(unavailable, Amount::Percent(p) if p > 100) {
        Some("must not be greater than 100%")
    } else {
        None
    };
    if let Some(reason) = problem {
        return Err(error("maxUnavailable", &strategy.max_unavailable, reason));
    }

    let replicas = u64::from(replicas);
    let max_surge = surge.pods(replicas, true);
    let mut max_unavailable = unavailable.pods(replicas, false);
    if max_surge == 0 && max_unavailable == 0 {
        max_unavailable = 1;
    }
    let max_unavailable = max_unavailable.min(replicas);
    Ok(RolloutBounds {
        max_surge,
        max_unavailable,
        max_pods: replicas + max_surge,
        min_available: replicas - max_unavailable,
    })
}

/// Reads a field: a number of pods at least 0, or digits and `%`.
fn read(field: &str, value: &IntOrString) -> Result<Amount, RolloutError> {
    let amount = match value {
        IntOrString::Int(pods) => u64::try_from(*pods).ok().map(Amount::Pods),
        IntOrString::String(text) => text
            .strip_suffix('%')
            .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse::<u32>().ok())
            .map(|percent| Amount::Percent(u64::from(percent))),
    };
    let reason = "must be a whole number of at least 0, or a percentage such as \"25%\"";
    amount.ok_or_else(|| error(field, value, reason))
}

fn error(field: &str, value: &IntOrString, reason: &str) -> RolloutError {
    RolloutError {
        field: field.to_owned(),
        value: value.to_string(),
        reason: reason.to_owned(),
    }
}
