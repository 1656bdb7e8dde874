//! Exercise 8.1: the replica calculator, pod by pod.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use super::{PodCpu, ReplicaError};

// ANCHOR: sort
/// Exercise 8.1: the replicas a HorizontalPodAutoscaler with a CPU target of
/// `target_percent` (`averageUtilization`) asks for, from each pod's measurement, as
/// `GetResourceReplicas` in Kubernetes' `replica_calculator.go` works it out.
///
/// The formula of the chapter, `ceil(current × utilisation / target)`, is the simple case.
/// During a rollout or a scale-up some pods have no measurement yet, and some have just
/// started and burn CPU on their start-up; the HPA sets them aside, then brings them back
/// in on the side that moves *less*, so a scale is never made larger by what it cannot
/// see.
///
/// **Checked first**, in this order; the first problem is the error:
/// `target_percent` is 0 ([`ReplicaError::NoTarget`]); `pods` is empty
/// ([`ReplicaError::NoPods`]); a pod (any pod, in order) requests 0 millicores
/// ([`ReplicaError::NoRequest`], naming it). The last check, no ready pod with a
/// measurement ([`ReplicaError::NoMetrics`]), comes after the sorting below. This is
/// Kubernetes' order: it reads every pod's request before it looks for a measurement.
/// (It has no target check: its API refuses a target of 0 before any of this runs.)
///
/// **Sorting the pods**, each into one group, by the first rule that fits:
///
/// 1. being deleted, or `Failed`: *ignored*, as if it did not exist;
/// 2. `Pending`: *unready*;
/// 3. no measurement: *missing*;
/// 4. not `ready`: *unready*;
/// 5. otherwise *ready*.
///
/// If no pod is ready (with its measurement): [`ReplicaError::NoMetrics`].
// ANCHOR_END: sort
// ANCHOR: ratio
///
/// **The ratio** of a set of (usage, request) pairs is its utilisation in whole percent,
/// rounded down as Kubernetes does, `sum(usage) × 100 / sum(request)` in integers, divided
/// by `target_percent`. A ratio is *within the tolerance* when `0.9 <= ratio <= 1.1`
/// (the default tolerance, [`TOLERANCE`](crate::hpa::TOLERANCE) = 0.1, each way).
///
/// 1. `ratio` = the ratio of the ready pods.
/// 2. If no pod is missing, and either no pod is unready or `ratio <= 1`: within the
///    tolerance, the answer is `current`; otherwise `ceil(ratio × ready pods)`.
/// 3. Otherwise, a second pass, on the ready pods plus:
///    - when `ratio < 1` (a scale-down): each missing pod, as using
///      `max(100, target_percent)` % of its request (`request × that / 100`, rounded
///      down);
///    - when `ratio > 1` (a scale-up): each missing pod and each unready pod, as using 0.
///
///    `new_ratio` = the ratio of those pods. If `new_ratio` is within the tolerance, or
///    on the other side of 1 from `ratio` (the direction would flip), the answer is
///    `current`.
/// 4. Otherwise `ceil(new_ratio × the pods of the second pass)`; but if that goes the
///    other way than `new_ratio` says (more than `current` on a scale-down, fewer on a
///    scale-up), the answer is `current`.
pub fn desired_replicas(
    current: u32,
    target_percent: u32,
    pods: &[PodCpu],
) -> Result<u32, ReplicaError> {
    todo!("exercise 8.1: desired_replicas")
}
// ANCHOR_END: ratio
