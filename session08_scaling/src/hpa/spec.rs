//! An HPA's spec (`minReplicas`, `maxReplicas`, the tolerance, `behavior`), checked
//! against the rules the Kubernetes API server enforces, so a bad setting is refused
//! with the rule it breaks instead of scaling strangely later.

use std::time::Duration;

use super::formula::TOLERANCE;
use super::{Behavior, Rules, SelectPolicy};

/// The longest stabilisation window Kubernetes accepts: one hour.
pub const MAX_WINDOW_SECONDS: f64 = 3600.0;
/// The shortest policy period Kubernetes accepts.
pub const MIN_PERIOD_SECONDS: f64 = 1.0;
/// The longest policy period Kubernetes accepts: 30 minutes.
pub const MAX_PERIOD_SECONDS: f64 = 1800.0;
/// The most seconds a flag may give (about 31 years), so a duration always fits.
const MAX_FLAG_SECONDS: f64 = 1e9;

/// The parts of an HPA's spec the algorithm reads.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Spec {
    /// `minReplicas`: never fewer (at least 1).
    pub min_replicas: u32,
    /// `maxReplicas`: never more.
    pub max_replicas: u32,
    /// Metric ratios within this distance of 1 propose no change (0.1 = 10 %).
    pub tolerance: f64,
    /// `behavior`: the windows and the rate policies.
    pub behavior: Behavior,
}

/// A setting that breaks one of the rules, naming the rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    /// `minReplicas` is 0.
    #[error("minReplicas must be at least 1, not {0}")]
    MinReplicas(u32),
    /// `minReplicas` is above `maxReplicas`.
    #[error("minReplicas ({min}) must not exceed maxReplicas ({max})")]
    MinAboveMax {
        /// `minReplicas`.
        min: u32,
        /// `maxReplicas`.
        max: u32,
    },
    /// A stabilisation window longer than an hour.
    #[error("{direction}.stabilizationWindowSeconds must be between 0 and 3600, not {seconds}")]
    Window {
        /// `scaleUp` or `scaleDown`.
        direction: &'static str,
        /// The window given.
        seconds: f64,
    },
    /// A policy period shorter than a second or longer than 30 minutes.
    #[error(
        "{direction}.policies[{index}].periodSeconds must be between 1 and 1800, not {seconds}"
    )]
    Period {
        /// `scaleUp` or `scaleDown`.
        direction: &'static str,
        /// Which policy.
        index: usize,
        /// The period given.
        seconds: f64,
    },
    /// A policy that allows no change at all.
    #[error("{direction}.policies[{index}].value must be greater than 0")]
    Value {
        /// `scaleUp` or `scaleDown`.
        direction: &'static str,
        /// Which policy.
        index: usize,
    },
    /// No policy, yet scaling that way is not disabled.
    #[error("{direction}.policies must hold at least one policy unless selectPolicy is Disabled")]
    NoPolicy {
        /// `scaleUp` or `scaleDown`.
        direction: &'static str,
    },
    /// A tolerance outside [0, 1).
    #[error("the tolerance must be at least 0 and below 1, not {0}")]
    Tolerance(f64),
    /// A flag's seconds that are negative, not a number, or absurdly many.
    #[error("{name} must be a number of seconds from 0 to 1000000000, not {value}")]
    Seconds {
        /// The flag, such as `--scale-down-window`.
        name: String,
        /// What it was given.
        value: f64,
    },
    /// A speed that is not a positive number.
    #[error("the speed must be a positive number, not {0}")]
    Speed(f64),
    /// A metric's target that is not a positive number.
    #[error("{name} must be a positive number, not {value}")]
    Target {
        /// The flag or field, such as `--target-cpu`.
        name: String,
        /// What it was given.
        value: f64,
    },
}

impl Spec {
    /// A spec with the default tolerance (10 %), checked.
    pub fn new(
        min_replicas: u32,
        max_replicas: u32,
        behavior: Behavior,
    ) -> Result<Self, SpecError> {
        let spec = Spec {
            min_replicas,
            max_replicas,
            tolerance: TOLERANCE,
            behavior,
        };
        spec.check()?;
        Ok(spec)
    }

    /// The same spec with another tolerance, checked.
    pub fn with_tolerance(self, tolerance: f64) -> Result<Self, SpecError> {
        let spec = Spec { tolerance, ..self };
        spec.check()?;
        Ok(spec)
    }

    /// Checks every rule, the first broken one as the error. [`Spec::new`] calls it; call
    /// it again after changing a field by hand.
    pub fn check(&self) -> Result<(), SpecError> {
        if self.min_replicas < 1 {
            return Err(SpecError::MinReplicas(self.min_replicas));
        }
        if self.min_replicas > self.max_replicas {
            return Err(SpecError::MinAboveMax {
                min: self.min_replicas,
                max: self.max_replicas,
            });
        }
        check_rules("scaleUp", &self.behavior.scale_up)?;
        check_rules("scaleDown", &self.behavior.scale_down)?;
        // Written so that NaN fails too: every comparison with NaN is false.
        if !(self.tolerance >= 0.0 && self.tolerance < 1.0) {
            return Err(SpecError::Tolerance(self.tolerance));
        }
        Ok(())
    }
}

/// Checks one direction's window and policies.
fn check_rules(direction: &'static str, rules: &Rules) -> Result<(), SpecError> {
    let window = rules.stabilization_window.as_secs_f64();
    if window > MAX_WINDOW_SECONDS {
        return Err(SpecError::Window {
            direction,
            seconds: window,
        });
    }
    if rules.policies.is_empty() && rules.select != SelectPolicy::Disabled {
        return Err(SpecError::NoPolicy { direction });
    }
    for (index, policy) in rules.policies.iter().enumerate() {
        let period = policy.period.as_secs_f64();
        if !(MIN_PERIOD_SECONDS..=MAX_PERIOD_SECONDS).contains(&period) {
            return Err(SpecError::Period {
                direction,
                index,
                seconds: period,
            });
        }
        if policy.value == 0 {
            return Err(SpecError::Value { direction, index });
        }
    }
    Ok(())
}

/// A flag's seconds as a duration (a window, a period), refusing negatives, NaN, infinity
/// and more than a billion seconds: `seconds("--scale-down-window", -5.0)` is an error
/// that names the flag.
pub fn seconds(name: &str, value: f64) -> Result<Duration, SpecError> {
    let refused = || SpecError::Seconds {
        name: name.to_owned(),
        value,
    };
    // Written so that NaN is refused too.
    if !(0.0..=MAX_FLAG_SECONDS).contains(&value) {
        return Err(refused());
    }
    Duration::try_from_secs_f64(value).map_err(|_| refused())
}
