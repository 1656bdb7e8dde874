//! Shortcut for exercise 7.2: both percentages rounded the same way, up. With 10 replicas
//! and the defaults (25% and 25%), 3 pods may be unavailable instead of 2, so a Deployment
//! sized to keep 8 pods serving drops to 7 during every rollout.
//! `ex07_2_surge_rounds_up_and_unavailable_rounds_down` catches it.

use super::{IntOrString, RollingUpdate, RolloutBounds, RolloutError};

/// Exercise 7.2: how far a rolling update may go above and below `replicas`.
pub fn rollout_bounds(
    replicas: u32,
    strategy: &RollingUpdate,
) -> Result<RolloutBounds, RolloutError> {
    let unavailable = read("maxUnavailable", &strategy.max_unavailable, replicas)?;
    let surge = read("maxSurge", &strategy.max_surge, replicas)?;
    if unavailable.0 == 0 && surge.0 == 0 {
        return Err(RolloutError {
            field: "maxUnavailable".to_owned(),
            value: strategy.max_unavailable.to_string(),
            reason: "may not be 0 when maxSurge is 0".to_owned(),
        });
    }
    if unavailable.1 && unavailable.0 > 100 {
        return Err(RolloutError {
            field: "maxUnavailable".to_owned(),
            value: strategy.max_unavailable.to_string(),
            reason: "must not be greater than 100%".to_owned(),
        });
    }
    let replicas = u64::from(replicas);
    let max_surge = surge.2;
    let mut max_unavailable = unavailable.2;
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

/// (the number as written, whether it is a percentage, in pods rounded up).
fn read(field: &str, value: &IntOrString, replicas: u32) -> Result<(u64, bool, u64), RolloutError> {
    let refused = |reason: &str| RolloutError {
        field: field.to_owned(),
        value: value.to_string(),
        reason: reason.to_owned(),
    };
    match value {
        IntOrString::Int(pods) => u64::try_from(*pods)
            .map(|pods| (pods, false, pods))
            .map_err(|_| refused("must not be negative")),
        IntOrString::String(text) => {
            let digits = text
                .strip_suffix('%')
                .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| refused("not a percentage"))?;
            let percent = u64::from(digits.parse::<u32>().map_err(|_| refused("too large"))?);
            Ok((percent, true, (percent * u64::from(replicas)).div_ceil(100)))
        }
    }
}
