//! Exercise 8.1: the replica calculator, pod by pod.

use super::{PodCpu, PodPhase, ReplicaError};
use crate::hpa::TOLERANCE;

/// A pod's CPU as the ratio sees it: (usage, request), in millicores.
type Sample = (u64, u64);

/// Exercise 8.1: the replicas an HPA with a CPU target asks for, pod by pod.
pub fn desired_replicas(
    current: u32,
    target_percent: u32,
    pods: &[PodCpu],
) -> Result<u32, ReplicaError> {
    if target_percent == 0 {
        return Err(ReplicaError::NoTarget);
    }
    if pods.is_empty() {
        return Err(ReplicaError::NoPods);
    }
    if let Some(pod) = pods.iter().find(|p| p.request_millicores == 0) {
        return Err(ReplicaError::NoRequest {
            pod: pod.name.clone(),
        });
    }

    let (mut ready, mut unready, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    for pod in pods {
        let request = u64::from(pod.request_millicores);
        if pod.deleting || pod.phase == PodPhase::Failed {
            continue;
        }
        match (pod.phase, pod.usage_millicores) {
            (PodPhase::Pending, _) => unready.push(request),
            (_, None) => missing.push(request),
            (_, Some(_)) if !pod.ready => unready.push(request),
            (_, Some(usage)) => ready.push((u64::from(usage), request)),
        }
    }
    if ready.is_empty() {
        return Err(ReplicaError::NoMetrics);
    }

    let ratio = utilisation_ratio(&ready, target_percent);
    if missing.is_empty() && (unready.is_empty() || ratio <= 1.0) {
        if within_tolerance(ratio) {
            return Ok(current);
        }
        return Ok(replicas(ratio, ready.len()));
    }

    // Those the first pass set aside, on the side that moves less.
    let mut counted = ready;
    if ratio < 1.0 {
        let assumed = u64::from(target_percent.max(100));
        counted.extend(
            missing
                .iter()
                .map(|&request| (request * assumed / 100, request)),
        );
    } else if ratio > 1.0 {
        counted.extend(missing.iter().chain(&unready).map(|&request| (0, request)));
    }
    let new_ratio = utilisation_ratio(&counted, target_percent);
    let flips = (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0);
    if within_tolerance(new_ratio) || flips {
        return Ok(current);
    }
    let desired = replicas(new_ratio, counted.len());
    if (new_ratio < 1.0 && desired > current) || (new_ratio > 1.0 && desired < current) {
        return Ok(current);
    }
    Ok(desired)
}

/// The utilisation of `samples` in whole percent, rounded down, over the target.
fn utilisation_ratio(samples: &[Sample], target_percent: u32) -> f64 {
    // Each term is below 2^32: the sums would need 2^32 pods to overflow, but `× 100`
    // could, so it saturates instead of panicking.
    let usage: u64 = samples.iter().map(|(usage, _)| usage).sum();
    let requests: u64 = samples.iter().map(|(_, request)| request).sum();
    let utilisation = usage.saturating_mul(100) / requests;
    utilisation as f64 / f64::from(target_percent)
}

fn within_tolerance(ratio: f64) -> bool {
    (1.0 - TOLERANCE..=1.0 + TOLERANCE).contains(&ratio)
}

/// `ceil(ratio × pods)`, as a replica count (`as` saturates: never a panic).
fn replicas(ratio: f64, pods: usize) -> u32 {
    (ratio * pods as f64).ceil() as u32
}
