//! Exercise 7.4: how the kubelet probes.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use super::{Check, ContainerProbes, ProbeError, ProbeEvent};

// ANCHOR: timing
/// Exercise 7.4: what the kubelet does to a container, second by second, from what its
/// probes answer.
///
/// The kubelet, the agent on each node, checks every container with up to three probes.
/// A failing *liveness* probe gets the container killed and restarted; a failing
/// *readiness* probe only takes it out of its Services' endpoints; a *startup* probe holds
/// the other two back while a slow program starts. This is a model of those rules, in
/// whole seconds, without the kubelet's random jitter, timeouts or restart back-off.
///
/// **Time.** The pod starts at second 0; this looks at the seconds `0..seconds`. The first
/// container (number 0) starts at second 0. A container's *age* at second `t` is `t`
/// minus the second it started. A probe is *due* at the ages `initial_delay_seconds`,
/// `initial_delay_seconds + period_seconds`, `+ 2 * period_seconds`, ... Each check the
/// kubelet makes asks `answers(Check { probe, container, age })`: `true` is a success.
///
/// **The rules.** At each second, the probes due run in the order startup, liveness,
/// readiness:
///
/// - A container has *started* once its startup probe has succeeded once, or at age 0
///   when it has no startup probe. The startup probe runs only until then.
/// - The liveness and readiness probes run only once the container has started; until then
///   their checks are skipped (not put off: a probe next runs at its next due age). A
///   startup probe that succeeds lets the checks due at the same second run.
// ANCHOR_END: timing
// ANCHOR: rules
/// - A container starts NotReady. With a readiness probe, it becomes Ready after
///   `success_threshold` successes in a row, and NotReady again after `failure_threshold`
///   failures in a row; "in a row": a success ends a run of failures, and a failure a run
///   of successes. Without one, it becomes Ready as soon as it has started.
/// - `failure_threshold` failures in a row of the startup or the liveness probe: the
///   kubelet restarts the container. If it was Ready, it becomes NotReady first, at the
///   same second; the checks after that one at that second do not run. The new container
///   (the next number) starts the next second, not started, NotReady, every run at 0.
///
/// Returns the events in the order they happen: [`Ready`](super::EventKind::Ready) and
/// [`NotReady`](super::EventKind::NotReady) only when readiness changes, and
/// [`Restarted`](super::EventKind::Restarted) with the probe that failed.
///
/// The probes are checked first, startup, then liveness, then readiness, as the API server
/// does: `period_seconds`, `failure_threshold` and `success_threshold` of at least 1, and a
/// `success_threshold` of exactly 1 for the startup and liveness probes (a container is
/// started, or alive, on one success). The first problem is the [`ProbeError`].
pub fn probe_events(
    probes: &ContainerProbes,
    answers: &dyn Fn(Check) -> bool,
    seconds: u64,
) -> Result<Vec<ProbeEvent>, ProbeError> {
    todo!("exercise 7.4: probe_events")
}
// ANCHOR_END: rules
