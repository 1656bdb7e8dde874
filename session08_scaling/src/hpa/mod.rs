//! The HorizontalPodAutoscaler's algorithm, as Kubernetes runs it every sync period
//! (`autoscaling/v2`), written out so that you can run it, test it and watch it.
//!
//! Every 15 s the HPA controller makes one [`Decision`] per autoscaler, in four steps:
//!
//! 1. **The formula** ([`formula`]): each metric proposes
//!    `ceil(current replicas × current value / target value)`, unless the ratio is within
//!    the tolerance (10 %) of 1, when it proposes no change. With several metrics the
//!    largest proposal wins.
//! 2. **The stabilisation windows** ([`stabilization`]): the controller remembers every
//!    proposal. Scaling up goes no higher than the *lowest* proposal of the scale-up
//!    window; scaling down goes no lower than the *highest* proposal of the scale-down
//!    window. A spike or a dip shorter than the window changes nothing.
//! 3. **The policies** ([`policies`]): the controller remembers its own scale events, and
//!    each policy allows so many pods, or so many percent, per period; `selectPolicy`
//!    picks the policy that allows the most change (`Max`), the least (`Min`), or none
//!    (`Disabled`).
//! 4. **The bounds**: `minReplicas` and `maxReplicas` ([`spec`]).
//!
//! | file | holds |
//! |---|---|
//! | [`behavior`] | `spec.behavior`: the windows and policies of each direction, and their defaults |
//! | [`spec`] | the whole spec, checked against the rules the Kubernetes API enforces |
//! | [`formula`] | one metric's proposal, and the tolerance |
//! | [`stabilization`] | the proposals remembered, and the windows over them |
//! | [`policies`] | the scale events remembered, and the limits the policies set |
//! | [`controller`] | the four steps together, with the reason in words |
//!
//! Time is a [`Duration`](std::time::Duration) since any fixed origin, given by the
//! caller: the local autoscaler passes the time since it started, the tests pass
//! simulated seconds, so a test can run an hour of autoscaling in a microsecond.
//!
//! ```
//! use std::time::Duration;
//! use session08_scaling::hpa::{Autoscaler, Behavior, MetricSample, Spec};
//!
//! let spec = Spec::new(1, 10, Behavior::kubernetes_default()).unwrap();
//! let mut hpa = Autoscaler::new(spec);
//! // Two pods at 140 % CPU against a 70 % target: the formula asks for 4.
//! let decision = hpa.decide(Duration::ZERO, 2, &[MetricSample::utilization("cpu", 140.0, 70.0)]);
//! assert_eq!(decision.desired, 4);
//! assert_eq!(decision.reason, "cpu 140% of target 70%: 2 → 4");
//! ```

pub mod behavior;
pub mod controller;
pub mod formula;
pub mod policies;
pub mod spec;
pub mod stabilization;

pub use behavior::{Behavior, Policy, PolicyKind, Rules, SelectPolicy};
pub use controller::{Autoscaler, Decision, Limit};
pub use formula::{MetricSample, Proposal, TOLERANCE, Target, proposal};
pub use spec::{Spec, SpecError};
