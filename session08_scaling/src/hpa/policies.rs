//! The scaling policies: how many replicas may be added or removed per period.
//!
//! The controller remembers its own scale events (when, and by how many replicas). For a
//! policy with period `p`, the replicas at the start of the period are worked out from
//! the events of the last `p`:
//!
//! ```text
//! periodStart = current − added in the last p + removed in the last p
//! ```
//!
//! and the policy allows, from there:
//!
//! | policy | scaling up to at most | scaling down to at least |
//! |---|---|---|
//! | `Pods`, value v | periodStart + v | periodStart − v |
//! | `Percent`, value v | ceil(periodStart × (1 + v/100)) | floor(periodStart × (1 − v/100)) |
//!
//! `selectPolicy: Max` takes the policy that allows the biggest change, `Min` the
//! smallest, and `Disabled` allows none. A limit never turns a scale-up into a
//! scale-down (or the other way round): at worst it holds the current count, until the
//! events that used up the allowance are older than the period.

use std::time::Duration;

use super::{Policy, PolicyKind, Rules, SelectPolicy};

/// One change of scale the controller made: when, and by how many replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ScaleChange {
    /// When.
    pub at: Duration,
    /// How many replicas were added (in the scale-up list) or removed (scale-down list).
    pub change: u32,
}

impl ScaleChange {
    /// Whether it still counts at `now` in a period of `period` (strictly younger).
    fn within(&self, now: Duration, period: Duration) -> bool {
        now.saturating_sub(self.at) < period
    }
}

/// The controller's own changes of scale, one list per direction.
///
/// Only an [`Autoscaler`](super::Autoscaler) records them (read them with
/// [`Autoscaler::events`](super::Autoscaler::events)): the limits below judge what the
/// controller did itself, not a history written elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleEvents {
    up: Vec<ScaleChange>,
    down: Vec<ScaleChange>,
}

impl ScaleEvents {
    /// None yet.
    pub(crate) fn new() -> Self {
        ScaleEvents {
            up: Vec::new(),
            down: Vec::new(),
        }
    }

    /// Remembers a change from `from` to `to` replicas at `now` (nothing when they are
    /// equal), in the list of its direction, whose longest policy period is `longest`.
    ///
    /// As Kubernetes' `storeScaleEvent` does: an event *more* than `longest` old is
    /// outdated (no policy of this direction counts it); the new event overwrites the last
    /// outdated one, or is added when none is. The other outdated events stay, so the
    /// other direction's limits may still count those younger than its own periods.
    /// Memory stays bounded: the list grows only when none of its events is outdated,
    /// that is when all of them are at most `longest` old, and there is at most one event
    /// per decision; so it never holds more than one longest period's decisions, plus one.
    pub(crate) fn record(&mut self, now: Duration, from: u32, to: u32, longest: Duration) {
        let (events, change) = match to.cmp(&from) {
            std::cmp::Ordering::Greater => (&mut self.up, to - from),
            std::cmp::Ordering::Less => (&mut self.down, from - to),
            std::cmp::Ordering::Equal => return,
        };
        let event = ScaleChange { at: now, change };
        match events
            .iter()
            .rposition(|old| now.saturating_sub(old.at) > longest)
        {
            Some(outdated) => events[outdated] = event,
            None => events.push(event),
        }
    }

    /// The changes up remembered, in the order of their slots (not always of time).
    pub fn up(&self) -> &[ScaleChange] {
        &self.up
    }

    /// The changes down remembered, in the order of their slots (not always of time).
    pub fn down(&self) -> &[ScaleChange] {
        &self.down
    }

    /// Replicas added in the `period` before `now`.
    pub fn added_within(&self, now: Duration, period: Duration) -> u64 {
        sum_within(&self.up, now, period)
    }

    /// Replicas removed in the `period` before `now`.
    pub fn removed_within(&self, now: Duration, period: Duration) -> u64 {
        sum_within(&self.down, now, period)
    }

    /// The replicas there were at the start of `period`, by the events remembered.
    pub fn period_start(&self, now: Duration, current: u32, period: Duration) -> i64 {
        // i64: an event list that disagrees with `current` must not wrap around.
        i64::from(current) - self.added_within(now, period) as i64
            + self.removed_within(now, period) as i64
    }
}

fn sum_within(events: &[ScaleChange], now: Duration, period: Duration) -> u64 {
    events
        .iter()
        .filter(|event| event.within(now, period))
        .map(|event| u64::from(event.change))
        .sum()
}

/// A limit set by the policies of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyLimit {
    /// The most replicas (scaling up) or the fewest (scaling down) allowed now.
    pub replicas: u32,
    /// The policy that set it; `None` when scaling this way is disabled.
    pub policy: Option<Policy>,
}

// ANCHOR: allowed
/// What one policy allows, counted from `start` replicas (Kubernetes computes the
/// percentages in floating point, as here, so the counts match a real HPA's).
fn allowed(policy: &Policy, start: i64, up: bool) -> i64 {
    let value = i64::from(policy.value);
    let fraction = f64::from(policy.value) / 100.0;
    match (policy.kind, up) {
        (PolicyKind::Pods, true) => start + value,
        (PolicyKind::Pods, false) => start - value,
        // Rounded up, or a small count could never grow (1 × 1.1 is still 1).
        (PolicyKind::Percent, true) => (start as f64 * (1.0 + fraction)).ceil() as i64,
        // Truncated toward zero, as Go's int32() does.
        (PolicyKind::Percent, false) => (start as f64 * (1.0 - fraction)) as i64,
    }
}
// ANCHOR_END: allowed

// ANCHOR: limit
/// The limit `rules` set on scaling up or (`up` false) down from `current` at `now`.
fn limit(
    current: u32,
    events: &ScaleEvents,
    rules: &Rules,
    now: Duration,
    up: bool,
) -> PolicyLimit {
    let hold = PolicyLimit {
        replicas: current,
        policy: None,
    };
    if rules.select == SelectPolicy::Disabled {
        return hold;
    }
    // Up: Max takes the highest limit. Down: Max (the biggest change) takes the lowest.
    let take_highest = up == (rules.select == SelectPolicy::Max);
    let mut best: Option<(i64, Policy)> = None;
    for policy in &rules.policies {
        let start = events.period_start(now, current, policy.period);
        let proposed = allowed(policy, start, up);
        let better = match best {
            None => true,
            Some((so_far, _)) if take_highest => proposed > so_far,
            Some((so_far, _)) => proposed < so_far,
        };
        if better {
            best = Some((proposed, *policy));
        }
    }
    // No policy allows no change.
    let Some((proposed, policy)) = best else {
        return hold;
    };
    // Never the other way: at worst, hold.
    let bounded = if up {
        proposed.max(i64::from(current))
    } else {
        proposed.min(i64::from(current))
    };
    PolicyLimit {
        replicas: u32::try_from(bounded.max(0)).unwrap_or(u32::MAX),
        policy: Some(policy),
    }
}
// ANCHOR_END: limit

/// The most replicas the scale-up policies allow at `now` from `current`.
pub fn scale_up_limit(
    current: u32,
    events: &ScaleEvents,
    rules: &Rules,
    now: Duration,
) -> PolicyLimit {
    limit(current, events, rules, now, true)
}

/// The fewest replicas the scale-down policies allow at `now` from `current`.
pub fn scale_down_limit(
    current: u32,
    events: &ScaleEvents,
    rules: &Rules,
    now: Duration,
) -> PolicyLimit {
    limit(current, events, rules, now, false)
}
