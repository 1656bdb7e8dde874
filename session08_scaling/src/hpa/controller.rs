//! One decision per sync period: the formula, the windows, the policies and the bounds,
//! in the order Kubernetes' HPA controller applies them, with the reason in words.
//!
//! The controller keeps two memories between decisions: the proposals (for the
//! stabilisation windows) and its own scale events (for the policies). It records a scale
//! event whenever it decides on a count other than the current one, assuming the change
//! happens, as the HPA controller does once it has updated the target's scale.

use std::time::Duration;

use serde::Serializer;

use super::behavior::show_seconds;
use super::formula::number;
use super::policies::{ScaleEvents, scale_down_limit, scale_up_limit};
use super::stabilization::PastProposals;
use super::{MetricSample, Policy, Proposal, Spec, proposal};

/// What held the desired count away from the metrics' proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Limit {
    /// `minReplicas`.
    MinReplicas,
    /// `maxReplicas`.
    MaxReplicas,
    /// A stabilisation window.
    Stabilization,
    /// A rate policy.
    Policy,
    /// `selectPolicy: Disabled`: no scaling this way.
    Disabled,
}

/// One decision.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Decision {
    /// When (in seconds, in JSON).
    #[serde(serialize_with = "as_seconds")]
    pub at: Duration,
    /// The replicas running before.
    pub current: u32,
    /// What the metrics asked for (the largest proposal), before any limit.
    pub proposed: u32,
    /// After the stabilisation windows.
    pub stabilized: u32,
    /// After the policies and the bounds: what to scale to.
    pub desired: u32,
    /// The metric whose proposal won, when one did.
    pub metric: Option<String>,
    /// What held `desired` away from `proposed`, the last limit applied.
    pub limit: Option<Limit>,
    /// All of it in words: `cpu 280% of target 70%: 2 → 8, held at 4 by the scale-up
    /// policy (100% per 60s)`.
    pub reason: String,
}

impl Decision {
    /// Whether it changes the number of replicas.
    pub fn changed(&self) -> bool {
        self.desired != self.current
    }
}

fn as_seconds<S: Serializer>(at: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(at.as_secs_f64())
}

/// Why the policies or the bounds held a count.
enum Held {
    Policy(Policy),
    Disabled,
    Max(u32),
    Min(u32),
}

/// The HPA controller's state for one target: its spec, the proposals of the last
/// windows and its scale events of the last periods.
#[derive(Debug, Clone)]
pub struct Autoscaler {
    spec: Spec,
    proposals: PastProposals,
    events: ScaleEvents,
}

impl Autoscaler {
    /// A controller for `spec`, with nothing remembered yet.
    pub fn new(spec: Spec) -> Self {
        Autoscaler {
            spec,
            proposals: PastProposals::new(),
            events: ScaleEvents::new(),
        }
    }

    /// Its spec.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// The proposals it remembers (for the windows).
    pub fn proposals(&self) -> &PastProposals {
        &self.proposals
    }

    /// The scale events it remembers (for the policies).
    pub fn events(&self) -> &ScaleEvents {
        &self.events
    }

    // ANCHOR: decide
    /// One sync period's decision at `now`, with `current` replicas running and the
    /// metrics read now. `now` is any monotonic time, such as the time since start.
    pub fn decide(&mut self, now: Duration, current: u32, metrics: &[MetricSample]) -> Decision {
        self.remember_start(now, current);
        if let Some(decision) = self.bring_within_bounds(now, current) {
            return decision;
        }
        // 1. The formula, for each metric: the largest proposal wins.
        let mut best: Option<(&MetricSample, Proposal)> = None;
        let mut problems = Vec::new();
        for sample in metrics {
            if let Some(problem) = sample.problem() {
                problems.push(problem);
                continue;
            }
            let asked = proposal(current, sample, self.spec.tolerance);
            if best
                .as_ref()
                .is_none_or(|(_, so_far)| asked.replicas > so_far.replicas)
            {
                best = Some((sample, asked));
            }
        }
        let Some((sample, asked)) = best else {
            let why = if problems.is_empty() {
                "no metric".to_owned()
            } else {
                problems.join("; ")
            };
            return self.hold(now, current, &why);
        };
        // Part of the metrics missing: scale up on the others, never down.
        if !problems.is_empty() && asked.replicas < current {
            let why = format!(
                "{}; not scaling down on part of the metrics",
                problems.join("; ")
            );
            return self.hold(now, current, &why);
        }
        let proposed = asked.replicas;

        // 2. The stabilisation windows, then the proposal is remembered.
        let behavior = &self.spec.behavior;
        let (up, down) = (&behavior.scale_up, &behavior.scale_down);
        let stabilized = self.proposals.stabilize(
            now,
            current,
            proposed,
            up.stabilization_window,
            down.stabilization_window,
        );
        let longest = up.stabilization_window.max(down.stabilization_window);
        self.proposals.record(now, proposed, longest);

        // 3. and 4. The policies and the bounds.
        let (desired, held) = self.limit_rate(now, current, stabilized);
        self.record_scale(now, current, desired);
        // ANCHOR_END: decide

        let limit = match &held {
            Some(Held::Policy(_)) => Some(Limit::Policy),
            Some(Held::Disabled) => Some(Limit::Disabled),
            Some(Held::Max(_)) => Some(Limit::MaxReplicas),
            Some(Held::Min(_)) => Some(Limit::MinReplicas),
            None if stabilized != proposed => Some(Limit::Stabilization),
            None => None,
        };
        let mut reason = self.reason(sample, &asked, current, stabilized, desired, held);
        // Part of the metrics missing, yet not scaling down: say what was left out.
        if !problems.is_empty() {
            reason.push_str("; ignoring: ");
            reason.push_str(&problems.join("; "));
        }
        Decision {
            at: now,
            current,
            proposed,
            stabilized,
            desired,
            metric: Some(sample.name.clone()),
            limit,
            reason,
        }
    }

    /// No usable metric at `now`: keep `current`, saying `why`, as the HPA controller does
    /// when it cannot read its metrics. Only a count outside minReplicas..=maxReplicas
    /// changes, to the nearest bound, so missing data never scales to zero. (From 0 it
    /// goes to minReplicas, where Kubernetes would leave a target at 0 alone.)
    pub fn hold(&mut self, now: Duration, current: u32, why: &str) -> Decision {
        self.remember_start(now, current);
        if let Some(decision) = self.bring_within_bounds(now, current) {
            return decision;
        }
        Decision {
            at: now,
            current,
            proposed: current,
            stabilized: current,
            desired: current,
            metric: None,
            limit: None,
            reason: format!("holding {current}: {why}"),
        }
    }

    /// The first decision remembers the count it found as a proposal, as Kubernetes does:
    /// a scale-up window then holds the first scale-up back a whole window.
    fn remember_start(&mut self, now: Duration, current: u32) {
        if self.proposals.is_empty() {
            let behavior = &self.spec.behavior;
            let longest = behavior
                .scale_up
                .stabilization_window
                .max(behavior.scale_down.stabilization_window);
            self.proposals.record(now, current, longest);
        }
    }

    /// A count outside minReplicas..=maxReplicas goes to the nearest bound at once,
    /// before any metric is read.
    ///
    /// A deliberate difference from Kubernetes: its HPA leaves a target at 0 replicas
    /// alone (scaling is off until something else, such as KEDA, scales it up), while
    /// this controller raises 0 to minReplicas, because every worker gone here means
    /// that they died, not that someone scaled to zero on purpose.
    fn bring_within_bounds(&mut self, now: Duration, current: u32) -> Option<Decision> {
        let (min, max) = (self.spec.min_replicas, self.spec.max_replicas);
        let (desired, limit, reason) = if current > max {
            let reason = format!("{current} replicas, above maxReplicas ({max}): scaling to {max}");
            (max, Limit::MaxReplicas, reason)
        } else if current < min {
            let reason = format!("{current} replicas, below minReplicas ({min}): scaling to {min}");
            (min, Limit::MinReplicas, reason)
        } else {
            return None;
        };
        self.record_scale(now, current, desired);
        Some(Decision {
            at: now,
            current,
            proposed: desired,
            stabilized: desired,
            desired,
            metric: None,
            limit: Some(limit),
            reason,
        })
    }

    /// Steps 3 and 4: the policies of the direction, then maxReplicas or minReplicas.
    fn limit_rate(&self, now: Duration, current: u32, stabilized: u32) -> (u32, Option<Held>) {
        let behavior = &self.spec.behavior;
        if stabilized > current {
            let limit = scale_up_limit(current, &self.events, &behavior.scale_up, now);
            let max = self.spec.max_replicas;
            let (allowed, why) = if max > limit.replicas {
                (
                    limit.replicas,
                    limit.policy.map_or(Held::Disabled, Held::Policy),
                )
            } else {
                (max, Held::Max(max))
            };
            if stabilized > allowed {
                return (allowed, Some(why));
            }
        } else if stabilized < current {
            let limit = scale_down_limit(current, &self.events, &behavior.scale_down, now);
            let min = self.spec.min_replicas;
            let (allowed, why) = if min < limit.replicas {
                (
                    limit.replicas,
                    limit.policy.map_or(Held::Disabled, Held::Policy),
                )
            } else {
                (min, Held::Min(min))
            };
            if stabilized < allowed {
                return (allowed, Some(why));
            }
        }
        (stabilized, None)
    }

    /// Remembers the change from `from` to `to` as a scale event.
    fn record_scale(&mut self, now: Duration, from: u32, to: u32) {
        let behavior = &self.spec.behavior;
        let rules = if to > from {
            &behavior.scale_up
        } else {
            &behavior.scale_down
        };
        self.events.record(now, from, to, rules.longest_period());
    }

    /// The decision in words.
    fn reason(
        &self,
        sample: &MetricSample,
        asked: &Proposal,
        current: u32,
        stabilized: u32,
        desired: u32,
        held: Option<Held>,
    ) -> String {
        let reading = sample.describe(current);
        let proposed = asked.replicas;
        if proposed == current {
            return if asked.within_tolerance {
                let tolerance = number(self.spec.tolerance * 100.0);
                format!("{reading}: within the {tolerance}% tolerance, stays at {current}")
            } else {
                format!("{reading}: stays at {current}")
            };
        }
        let (direction, word) = if proposed > current {
            ("up", "lowest")
        } else {
            ("down", "highest")
        };
        let mut clauses = Vec::new();
        if stabilized != proposed {
            let behavior = &self.spec.behavior;
            let window = if proposed > current {
                behavior.scale_up.stabilization_window
            } else {
                behavior.scale_down.stabilization_window
            };
            clauses.push(format!(
                "at {stabilized} by the scale-{direction} window (the {word} recommendation of \
                 the last {})",
                show_seconds(window)
            ));
        }
        match held {
            Some(Held::Policy(policy)) => {
                clauses.push(format!(
                    "at {desired} by the scale-{direction} policy ({policy})"
                ));
            }
            Some(Held::Disabled) => {
                clauses.push(format!("at {desired}: scaling {direction} is disabled"));
            }
            Some(Held::Max(max)) => clauses.push(format!("at {desired} by maxReplicas ({max})")),
            Some(Held::Min(min)) => clauses.push(format!("at {desired} by minReplicas ({min})")),
            None => {}
        }
        let mut reason = format!("{reading}: {current} → {proposed}");
        if !clauses.is_empty() {
            reason.push_str(", held ");
            reason.push_str(&clauses.join(", then "));
        }
        reason
    }
}
