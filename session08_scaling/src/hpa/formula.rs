//! The formula: how many replicas one metric asks for.
//!
//! ```text
//! desiredReplicas = ceil(currentReplicas × currentMetricValue / desiredMetricValue)
//! ```
//!
//! The ratio `current / target` says how far from its target the metric is: 2.0 is
//! twice too busy, 0.5 half as busy as it should be. Within the tolerance of 1 (by
//! default 0.9 ..= 1.1) nothing changes, so that noise in a metric does not make the
//! replicas flap. Each kind of target computes its ratio as Kubernetes' replica
//! calculator does, with one difference: a utilisation is used as given (93.3 % stays
//! 93.3 %), while Kubernetes first rounds the pods' average utilisation down to a whole
//! percent (exercise 8.1 does that).

use super::SpecError;

/// The default tolerance: ratios from 0.9 to 1.1 propose no change.
pub const TOLERANCE: f64 = 0.1;

/// What a metric aims at (`target:` in a metric of an HPA).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub enum Target {
    /// `type: Utilization`: the pods' average use, in percent of what they request
    /// (`averageUtilization: 70`).
    Utilization(f64),
    /// `type: AverageValue`: a value per pod, such as 10 waiting tasks per worker.
    AverageValue(f64),
    /// `type: Value`: one value for the whole workload.
    Value(f64),
}

impl Target {
    /// The number the target names, whatever its kind.
    pub fn value(&self) -> f64 {
        match *self {
            Target::Utilization(value) | Target::AverageValue(value) | Target::Value(value) => {
                value
            }
        }
    }

    /// Checks that the target is a positive number; `name` names the flag or field in the
    /// error (`--target-cpu must be a positive number, not 0`).
    pub fn check(&self, name: &str) -> Result<(), SpecError> {
        let value = self.value();
        // Written so that NaN is refused too.
        if value > 0.0 && value.is_finite() {
            Ok(())
        } else {
            Err(SpecError::Target {
                name: name.to_owned(),
                value,
            })
        }
    }
}

/// One metric's reading at one sync period.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MetricSample {
    /// Its name, as the reasons quote it (`cpu`, `queue lag`).
    pub name: String,
    /// What it reads now. For a [`Target::Utilization`]: the pods' average, in percent.
    /// For a [`Target::AverageValue`]: the total over all pods (the formula divides).
    /// For a [`Target::Value`]: the value.
    pub current: f64,
    /// What it aims at.
    pub target: Target,
}

impl MetricSample {
    /// The pods use `percent` of what they request on average, aiming at `target` %.
    pub fn utilization(name: &str, percent: f64, target: f64) -> Self {
        Self::new(name, percent, Target::Utilization(target))
    }

    /// `total` over all pods, aiming at `target` per pod.
    pub fn average_value(name: &str, total: f64, target: f64) -> Self {
        Self::new(name, total, Target::AverageValue(target))
    }

    /// One `value` for the workload, aiming at `target`.
    pub fn value(name: &str, value: f64, target: f64) -> Self {
        Self::new(name, value, Target::Value(target))
    }

    fn new(name: &str, current: f64, target: Target) -> Self {
        MetricSample {
            name: name.to_owned(),
            current,
            target,
        }
    }

    /// Why this reading cannot be used, if it cannot: a value that is negative or not a
    /// number, or a target that is not positive.
    pub fn problem(&self) -> Option<String> {
        if !(self.current >= 0.0 && self.current.is_finite()) {
            return Some(format!(
                "{} reads {}, not a usable value",
                self.name, self.current
            ));
        }
        self.target
            .check(&format!("the target of {}", self.name))
            .err()
            .map(|error| error.to_string())
    }

    /// The reading in words, as the reasons quote it, for `replicas` pods:
    /// `cpu 140% of target 70%`, `queue lag 85 per replica (340 in all) against a target
    /// of 10`, `requests 340 against a target of 100`.
    pub fn describe(&self, replicas: u32) -> String {
        let (name, current) = (&self.name, number(self.current));
        match self.target {
            Target::Utilization(target) => {
                format!("{name} {current}% of target {}%", number(target))
            }
            Target::AverageValue(target) if replicas == 0 => format!(
                "{name} {current} in all with no replica, against a target of {} per replica",
                number(target)
            ),
            Target::AverageValue(target) => format!(
                "{name} {} per replica ({current} in all) against a target of {}",
                number(self.current / f64::from(replicas)),
                number(target)
            ),
            Target::Value(target) => {
                format!("{name} {current} against a target of {}", number(target))
            }
        }
    }
}

/// What one metric asks for.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Proposal {
    /// The replicas it asks for.
    pub replicas: u32,
    /// Its value over its target, per replica for an average (2.0: twice too busy). With
    /// no replica, an average's total over one replica's target. Not a number (`null` in
    /// JSON) when the reading cannot be used.
    pub ratio: f64,
    /// Whether the ratio was within the tolerance of 1, so it asks for no change.
    pub within_tolerance: bool,
}

/// Whether `ratio` is close enough to 1 to change nothing (both ends included, as in
/// Kubernetes).
fn within(ratio: f64, tolerance: f64) -> bool {
    1.0 - tolerance <= ratio && ratio <= 1.0 + tolerance
}

/// Replicas from a float, rounded up. The cast saturates: nothing below 0 or above
/// `u32::MAX`.
fn ceil(replicas: f64) -> u32 {
    replicas.ceil() as u32
}

// ANCHOR: proposal
/// How many replicas `sample` asks for when `current_replicas` run:
/// `ceil(current_replicas × ratio)`, or no change when the ratio is within `tolerance`
/// of 1. An average value's total is divided by its target directly,
/// `ceil(total / target)`, which is the same number without the rounding of the ratio.
/// A reading that cannot be used ([`MetricSample::problem`]) asks for no change.
pub fn proposal(current_replicas: u32, sample: &MetricSample, tolerance: f64) -> Proposal {
    if sample.problem().is_some() {
        return Proposal {
            replicas: current_replicas,
            ratio: f64::NAN,
            within_tolerance: false,
        };
    }
    let replicas = f64::from(current_replicas);
    let target = sample.target.value();
    let (ratio, wanted) = match sample.target {
        Target::Utilization(_) => {
            let ratio = sample.current / target;
            (ratio, ceil(ratio * replicas))
        }
        Target::AverageValue(_) if current_replicas == 0 => {
            (sample.current / target, ceil(sample.current / target))
        }
        Target::AverageValue(_) => (
            sample.current / (target * replicas),
            ceil(sample.current / target),
        ),
        // With no replica, a value asks for as many replicas as its ratio, rounded up.
        Target::Value(_) if current_replicas == 0 => {
            let ratio = sample.current / target;
            (ratio, ceil(ratio))
        }
        Target::Value(_) => {
            let ratio = sample.current / target;
            (ratio, ceil(ratio * replicas))
        }
    };
    // With no replica there is nothing to keep: the proposal always stands.
    if current_replicas > 0 && within(ratio, tolerance) {
        return Proposal {
            replicas: current_replicas,
            ratio,
            within_tolerance: true,
        };
    }
    Proposal {
        replicas: wanted,
        ratio,
        within_tolerance: false,
    }
}
// ANCHOR_END: proposal

/// A number as the reasons print it: `140`, `7.5`, `93.33`.
pub(crate) fn number(value: f64) -> String {
    let text = format!("{value:.2}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}
