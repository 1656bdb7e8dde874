//! Shortcut for exercise 8.1: the ready pods' average, and nothing else. The pods set
//! aside never come back in, so a pod without a measurement during a scale-down counts
//! for nothing: 4 pods, 2 measured at 24 %, shrink to 1 instead of 3.
//! `ex08_1_missing_pods_count_as_busy_on_a_scale_down` catches it.

use super::{PodCpu, PodPhase, ReplicaError};
use crate::hpa::TOLERANCE;

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
    let ready: Vec<(u64, u64)> = pods
        .iter()
        .filter(|p| !p.deleting && p.phase == PodPhase::Running && p.ready)
        .filter_map(|p| {
            let usage = p.usage_millicores?;
            Some((u64::from(usage), u64::from(p.request_millicores)))
        })
        .collect();
    if ready.is_empty() {
        return Err(ReplicaError::NoMetrics);
    }
    let usage: u64 = ready.iter().map(|(usage, _)| usage).sum();
    let requests: u64 = ready.iter().map(|(_, request)| request).sum();
    let ratio = (usage.saturating_mul(100) / requests) as f64 / f64::from(target_percent);
    if (1.0 - TOLERANCE..=1.0 + TOLERANCE).contains(&ratio) {
        return Ok(current);
    }
    Ok((ratio * ready.len() as f64).ceil() as u32)
}
