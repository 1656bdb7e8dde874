//! An HPA's `spec.behavior`: how fast it may scale each way, and how long it remembers.
//!
//! The field names and defaults are Kubernetes' own (`autoscaling/v2`), so the manifest's
//! block and these values can be compared number for number.

use std::fmt;
use std::time::Duration;

use super::SpecError;

/// How a [`Policy`] measures a change: in pods, or in percent of the replicas at the start
/// of its period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PolicyKind {
    /// `type: Pods`: at most `value` pods per period.
    Pods,
    /// `type: Percent`: at most `value` % of the replicas at the start of the period.
    Percent,
}

/// One entry of `policies`: at most `value` (pods or percent) per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Policy {
    /// Pods or percent.
    pub kind: PolicyKind,
    /// How many pods, or what percentage.
    pub value: u32,
    /// `periodSeconds`: the window the change is counted over.
    pub period: Duration,
}

/// `selectPolicy`: which of several policies' limits applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SelectPolicy {
    /// The policy that allows the largest change (the default).
    Max,
    /// The policy that allows the smallest change.
    Min,
    /// No change at all in this direction.
    Disabled,
}

/// `scaleUp` or `scaleDown`: a stabilisation window and the policies that limit the rate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rules {
    /// `stabilizationWindowSeconds`: recommendations remembered; scaling up takes the
    /// lowest of them, scaling down the highest.
    pub stabilization_window: Duration,
    /// `selectPolicy`.
    pub select: SelectPolicy,
    /// `policies`.
    pub policies: Vec<Policy>,
}

/// `spec.behavior`: the rules for each direction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Behavior {
    /// `scaleUp`.
    pub scale_up: Rules,
    /// `scaleDown`.
    pub scale_down: Rules,
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

impl Behavior {
    /// Kubernetes' defaults, used when a manifest sets no `behavior`: up at once by 100 %
    /// or 4 pods every 15 s (whichever is more), down after a 300 s window by up to 100 %
    /// every 15 s.
    pub fn kubernetes_default() -> Self {
        Behavior {
            scale_up: Rules {
                stabilization_window: secs(0),
                select: SelectPolicy::Max,
                policies: vec![
                    Policy {
                        kind: PolicyKind::Percent,
                        value: 100,
                        period: secs(15),
                    },
                    Policy {
                        kind: PolicyKind::Pods,
                        value: 4,
                        period: secs(15),
                    },
                ],
            },
            scale_down: Rules {
                stabilization_window: secs(300),
                select: SelectPolicy::Max,
                policies: vec![Policy {
                    kind: PolicyKind::Percent,
                    value: 100,
                    period: secs(15),
                }],
            },
        }
    }

    // ANCHOR: course
    /// The original course's block, which the HPA manifest and the local autoscaler share:
    /// up after a 30 s window by at most 100 % a minute, down after a 60 s window by at
    /// most 50 % a minute.
    pub fn course() -> Self {
        Behavior {
            scale_up: Rules {
                stabilization_window: secs(30),
                select: SelectPolicy::Max,
                policies: vec![Policy {
                    kind: PolicyKind::Percent,
                    value: 100,
                    period: secs(60),
                }],
            },
            scale_down: Rules {
                stabilization_window: secs(60),
                select: SelectPolicy::Max,
                policies: vec![Policy {
                    kind: PolicyKind::Percent,
                    value: 50,
                    period: secs(60),
                }],
            },
        }
    }
    // ANCHOR_END: course
}

impl Behavior {
    /// The same behaviour `speed` times faster: every window and every period divided by
    /// `speed` (the demo runs the course's block at 4x: a 60 s window lasts 15 s). The
    /// result still has to pass [`Spec::check`](super::Spec::check): at 100x a 60 s period
    /// would be 0.6 s, shorter than Kubernetes allows.
    pub fn scaled(&self, speed: f64) -> Result<Behavior, SpecError> {
        // Written so that NaN is refused too.
        if !(speed > 0.0 && speed.is_finite()) {
            return Err(SpecError::Speed(speed));
        }
        Ok(Behavior {
            scale_up: self.scale_up.scaled(speed)?,
            scale_down: self.scale_down.scaled(speed)?,
        })
    }
}

impl Rules {
    /// The longest policy period: how long a scale event can still matter.
    pub fn longest_period(&self) -> Duration {
        self.policies
            .iter()
            .map(|policy| policy.period)
            .max()
            .unwrap_or_default()
    }

    fn scaled(&self, speed: f64) -> Result<Rules, SpecError> {
        let mut policies = Vec::with_capacity(self.policies.len());
        for policy in &self.policies {
            policies.push(Policy {
                period: divided(policy.period, speed)?,
                ..*policy
            });
        }
        Ok(Rules {
            stabilization_window: divided(self.stabilization_window, speed)?,
            select: self.select,
            policies,
        })
    }
}

/// `duration / speed`, refusing a result too long for a `Duration` (a tiny speed).
fn divided(duration: Duration, speed: f64) -> Result<Duration, SpecError> {
    Duration::try_from_secs_f64(duration.as_secs_f64() / speed).map_err(|_| SpecError::Speed(speed))
}

/// Seconds as people write them: `60s`, `7.5s`, `3.75s`.
pub(crate) fn show_seconds(duration: Duration) -> String {
    format!("{}s", super::formula::number(duration.as_secs_f64()))
}

/// `100% per 60s`, `4 pods per 15s`.
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PolicyKind::Percent => write!(f, "{}%", self.value)?,
            PolicyKind::Pods if self.value == 1 => write!(f, "1 pod")?,
            PolicyKind::Pods => write!(f, "{} pods", self.value)?,
        }
        write!(f, " per {}", show_seconds(self.period))
    }
}
