//! How the kind lab judges what it finds: the tools it needs (and what to install when one
//! is missing), the status API's answers, the worker pod to delete, the image a Deployment
//! names, and the drill's counts. Pure functions of text, tested without a cluster.

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use super::plan::WORKER_POD_PREFIX;
use crate::lab::checks::QueueStatus;

/// The programs the lab runs, and how to get each.
pub const TOOLS: [(&str, &str); 3] = [
    (
        "kind",
        "kind v0.26.0, the release the cluster's node image (Kubernetes 1.32.0) is built for: \
         `go install sigs.k8s.io/kind@v0.26.0`, or its binary \
         https://kind.sigs.k8s.io/dl/v0.26.0/kind-linux-amd64 made executable on your PATH \
         (other systems: https://kind.sigs.k8s.io/docs/user/quick-start/#installation)",
    ),
    (
        "kubectl",
        "kubectl 1.31 to 1.33 (within one minor version of the cluster's 1.32): \
         https://kubernetes.io/docs/tasks/tools/",
    ),
    (
        "docker",
        "Docker: Docker Engine (https://docs.docker.com/engine/install/) or Docker Desktop",
    ),
];

/// What to say when tools are missing: each one and how to install it.
pub fn missing_tools(missing: &[&str]) -> String {
    let mut message = format!(
        "the kind lab needs kind, kubectl and Docker, and cannot run without {}; install:",
        missing.join(" and ")
    );
    for (tool, how) in TOOLS.iter().filter(|(tool, _)| missing.contains(tool)) {
        message.push_str(&format!("\n  - {tool}: {how}"));
    }
    message.push_str(
        "\nthen run `cargo xtask lab kind` again (`cargo xtask lab kind --plan` prints its commands)",
    );
    message
}

/// What to say when `docker version` fails: the client is there, the engine is not.
pub const ENGINE_DOWN: &str = "docker is installed but its engine does not answer: start it \
    (`sudo systemctl start docker`, or Docker Desktop) and run the lab again";

/// Whether `kind get clusters` lists `name`.
pub fn has_cluster(clusters: &str, name: &str) -> bool {
    clusters.lines().any(|line| line.trim() == name)
}

/// `/api/ready`'s verdict: ready, or the reasons it is not.
pub fn readiness(json: &str) -> Result<(bool, Vec<String>)> {
    let value: Value = serde_json::from_str(json.trim())
        .with_context(|| format!("/api/ready answered no JSON: {json}"))?;
    let ready = value["ready"]
        .as_bool()
        .with_context(|| format!("/api/ready has no `ready`: {json}"))?;
    let reasons = value["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|reason| reason.as_str().map(str::to_owned))
        .collect();
    Ok((ready, reasons))
}

/// Whether `/api/health` says the process serves.
pub fn is_alive(json: &str) -> bool {
    serde_json::from_str::<Value>(json.trim()).is_ok_and(|value| value["status"] == "ok")
}

/// From `/api/workers`: the worker pod holding the most tasks right now, and how many.
/// A worker's host is its pod's name; only pods of the workers' Deployment count.
pub fn busy_pod(json: &str) -> Result<Option<(String, usize)>> {
    let value: Value = serde_json::from_str(json.trim())
        .with_context(|| format!("/api/workers answered no JSON: {json}"))?;
    let workers = value["workers"]
        .as_array()
        .with_context(|| format!("/api/workers has no workers list: {json}"))?;
    let busy = workers
        .iter()
        .filter(|worker| worker["state"] == "busy")
        .filter_map(|worker| {
            let host = worker["info"]["host"].as_str()?;
            let held = worker["beat"]["current"].as_array()?.len();
            (host.starts_with(WORKER_POD_PREFIX) && held > 0).then(|| (host.to_owned(), held))
        })
        .max_by_key(|(_, held)| *held);
    Ok(busy)
}

/// Checks the image `kubectl get deployment -o jsonpath=...` printed.
pub fn check_image(printed: &str, expected: &str) -> Result<()> {
    ensure!(
        printed.trim() == expected,
        "the workers' pod template names the image {:?}, expected {expected}",
        printed.trim()
    );
    Ok(())
}

/// Checks a drill: between `before` and `after`, exactly `tasks` tasks were enqueued and
/// each succeeded once; none failed, died or waits; and no worker gave one up: a graceful
/// drain finishes the tasks it holds, so no lease expired and no attempt was retried (a
/// drain cut short by SIGKILL shows up as expired leases, then retries).
pub fn check_drill(before: &QueueStatus, after: &QueueStatus, tasks: u64) -> Result<()> {
    let grown = |after: u64, before: u64| i128::from(after) - i128::from(before);
    let tasks = i128::from(tasks);
    let mut wrong = Vec::new();
    for (what, got, want) in [
        (
            "tasks enqueued",
            grown(after.enqueued, before.enqueued),
            tasks,
        ),
        (
            "successes counted",
            grown(after.succeeded, before.succeeded),
            tasks,
        ),
        ("failed tasks", grown(after.failed, before.failed), 0),
        ("dead tasks", grown(after.dead, before.dead), 0),
        (
            "expired leases",
            grown(after.expired_leases, before.expired_leases),
            0,
        ),
        ("retried attempts", grown(after.retried, before.retried), 0),
        (
            "dead letters",
            grown(after.dead_letters, before.dead_letters),
            0,
        ),
        ("tasks waiting", i128::from(after.waiting), 0),
        ("tasks in flight", i128::from(after.in_flight), 0),
    ] {
        if got != want {
            wrong.push(format!("{what}: {got}, expected {want}"));
        }
    }
    if !wrong.is_empty() {
        bail!(
            "not every task of the drill succeeded exactly once, drained in time: {}",
            wrong.join("; ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_is_named_with_how_to_install_it() {
        let message = missing_tools(&["kind"]);
        assert!(message.contains("cannot run without kind"), "{message}");
        assert!(
            message.contains("go install sigs.k8s.io/kind@v0.26.0"),
            "{message}"
        );
        assert!(
            message.contains("https://kind.sigs.k8s.io/dl/"),
            "{message}"
        );
        assert!(!message.contains("  - kubectl"), "{message}");
        let both = missing_tools(&["kind", "kubectl"]);
        assert!(both.contains("  - kubectl: "), "{both}");
    }

    #[test]
    fn an_existing_cluster_is_seen() {
        assert!(has_cluster("kind\nimgproc\n", "imgproc"));
        assert!(!has_cluster("imgproc-old\n", "imgproc"));
        assert!(!has_cluster("", "imgproc"));
    }

    #[test]
    fn readiness_and_health_are_read() {
        assert_eq!(
            readiness(r#"{"ready":true,"reasons":[]}"#).unwrap(),
            (true, vec![])
        );
        let (ready, reasons) =
            readiness(r#"{"ready":false,"reasons":["no live worker: none has registered"]}"#)
                .unwrap();
        assert!(!ready);
        assert_eq!(reasons, ["no live worker: none has registered"]);
        assert!(readiness("<html>").is_err());
        assert!(is_alive(r#"{"status":"ok"}"#));
        assert!(!is_alive("<html>404</html>"));
    }

    #[test]
    fn the_busiest_worker_pod_is_picked() {
        let json = serde_json::json!({
            "workers": [
                {"info": {"host": "worker-deployment-7d9f-abcde"}, "state": "idle",
                 "beat": {"current": []}},
                {"info": {"host": "worker-deployment-7d9f-fghij"}, "state": "busy",
                 "beat": {"current": ["a"]}},
                {"info": {"host": "worker-deployment-7d9f-klmno"}, "state": "busy",
                 "beat": {"current": ["b", "c"]}},
                {"info": {"host": "laptop"}, "state": "busy", "beat": {"current": ["d", "e", "f"]}},
                {"info": {"host": "worker-deployment-old-pqrst"}, "state": "gone",
                 "beat": {"current": ["g", "h", "i"]}}
            ],
            "waiting": []
        })
        .to_string();
        assert_eq!(
            busy_pod(&json).unwrap(),
            Some(("worker-deployment-7d9f-klmno".to_owned(), 2))
        );
        assert_eq!(busy_pod(r#"{"workers": [], "waiting": []}"#).unwrap(), None);
        assert!(busy_pod("{}").is_err());
    }

    #[test]
    fn the_image_must_be_the_expected_one() {
        check_image("session07-k8s:v1", "session07-k8s:v1").unwrap();
        assert!(check_image("session07-k8s:v2", "session07-k8s:v1").is_err());
    }

    fn status(enqueued: u64, succeeded: u64, dead: u64) -> QueueStatus {
        QueueStatus {
            enqueued,
            succeeded,
            dead,
            ..QueueStatus::default()
        }
    }

    #[test]
    fn the_drill_passes_only_when_each_task_succeeded_once() {
        check_drill(&status(5, 5, 0), &status(10, 10, 0), 5).unwrap();
        let lost = check_drill(&status(5, 5, 0), &status(10, 9, 0), 5)
            .unwrap_err()
            .to_string();
        assert!(lost.contains("successes counted: 4, expected 5"), "{lost}");
        assert!(check_drill(&status(5, 5, 0), &status(10, 11, 0), 5).is_err());
        assert!(check_drill(&status(5, 5, 0), &status(10, 9, 1), 5).is_err());
        // A queue that lost its counts (Redis restarted empty) shows as counts going down.
        let reset = check_drill(&status(5, 5, 0), &status(0, 0, 0), 5)
            .unwrap_err()
            .to_string();
        assert!(reset.contains("tasks enqueued: -5"), "{reset}");
    }

    #[test]
    fn the_drill_fails_when_a_drain_was_cut_short() {
        // Every task succeeded in the end, but one worker lost its tasks: SIGKILL before
        // its drain ended, its leases ran out, and other workers ran them again.
        let before = QueueStatus {
            expired_leases: 1,
            retried: 1,
            ..status(5, 5, 0)
        };
        let killed = QueueStatus {
            expired_leases: 3,
            retried: 3,
            ..status(10, 10, 0)
        };
        let error = check_drill(&before, &killed, 5).unwrap_err().to_string();
        assert!(error.contains("expired leases: 2, expected 0"), "{error}");
        assert!(error.contains("retried attempts: 2, expected 0"), "{error}");
        let only_expired = QueueStatus {
            expired_leases: 2,
            retried: 1,
            ..status(10, 10, 0)
        };
        let error = check_drill(&before, &only_expired, 5)
            .unwrap_err()
            .to_string();
        assert!(error.contains("expired leases: 1, expected 0"), "{error}");
        assert!(!error.contains("retried"), "{error}");
        let drained = QueueStatus {
            expired_leases: 1,
            retried: 1,
            ..status(10, 10, 0)
        };
        check_drill(&before, &drained, 5).unwrap();
    }
}
