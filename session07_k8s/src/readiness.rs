//! The status API's readiness rule: should Kubernetes send it traffic? Only when its
//! answers mean something: Redis answers, and at least one worker is live to run what
//! is submitted. Each "no" comes with a reason, so `kubectl describe` and a `curl` of
//! `/api/ready` say what to fix.

use serde::Serialize;
use session05_distributed::registry::WorkerView;

/// The readiness answer: `ready`, or the reasons it is not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// Traffic is welcome.
    pub ready: bool,
    /// Why not; empty when ready.
    pub reasons: Vec<String>,
}

// ANCHOR: judge
/// Judges readiness from a Redis round trip (`Err` with what went wrong) and the
/// registry's workers (read only when Redis answered).
pub fn judge(redis: Result<(), String>, workers: &[WorkerView]) -> Readiness {
    let mut reasons = Vec::new();
    match redis {
        Err(error) => reasons.push(format!("Redis unreachable: {error}")),
        Ok(()) => {
            let live = workers.iter().filter(|w| w.state.is_live()).count();
            if live == 0 {
                reasons.push(match workers.len() {
                    0 => "no live worker: none has registered".to_owned(),
                    gone => format!("no live worker: {gone} registered, none beating"),
                });
            }
        }
    }
    Readiness {
        ready: reasons.is_empty(),
        reasons,
    }
}
// ANCHOR_END: judge

#[cfg(test)]
mod tests {
    use session05_distributed::registry::{Beat, WorkerInfo, WorkerState};

    use super::*;

    fn worker(state: WorkerState) -> WorkerView {
        WorkerView {
            info: WorkerInfo {
                id: "w".to_owned(),
                host: "h".to_owned(),
                pid: 1,
                capabilities: "all".parse().unwrap(),
                concurrency: 1,
                version: "0".to_owned(),
                started_at: chrono::Utc::now(),
                heartbeat_ms: 500,
                ttl_ms: 2000,
            },
            beat: Beat::default(),
            last_beat: chrono::Utc::now(),
            age_ms: 0,
            state,
        }
    }

    #[test]
    fn ready_needs_redis_and_one_live_worker_and_says_why_not() {
        assert!(judge(Ok(()), &[worker(WorkerState::Idle)]).ready);
        assert!(
            judge(
                Ok(()),
                &[worker(WorkerState::Gone), worker(WorkerState::Stale)]
            )
            .ready
        );
        let none = judge(Ok(()), &[]);
        assert_eq!(none.reasons, ["no live worker: none has registered"]);
        let gone = judge(
            Ok(()),
            &[worker(WorkerState::Gone), worker(WorkerState::Gone)],
        );
        assert_eq!(gone.reasons, ["no live worker: 2 registered, none beating"]);
        let down = judge(
            Err("connection refused".to_owned()),
            &[worker(WorkerState::Busy)],
        );
        assert!(!down.ready);
        assert_eq!(down.reasons, ["Redis unreachable: connection refused"]);
    }
}
