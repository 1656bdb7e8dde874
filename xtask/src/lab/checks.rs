//! What the lab reads back and how it judges it: the queue's status after the drill (every
//! task succeeded, each once), the workers and the tasks they hold, the users processes run
//! as, the image sizes, and what compose leaves behind. Pure functions of the text the
//! commands print, so each rule is tested here without Docker.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

/// The runtime image must stay under this many bytes (100 MB, as Docker counts).
pub const MAX_RUNTIME_BYTES: u64 = 100_000_000;

/// The user the image runs as: distroless's `nonroot`.
pub const IMAGE_USER: &str = "65532:65532";

/// What `status --json` says about the queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStatus {
    /// Waiting to be reserved.
    pub waiting: u64,
    /// Reserved by a worker.
    pub in_flight: u64,
    /// Tasks ever enqueued.
    pub enqueued: u64,
    /// Tasks that succeeded, each counted once.
    pub succeeded: u64,
    /// Tasks that ended with a job failure.
    pub failed: u64,
    /// Tasks whose attempts ran out.
    pub dead: u64,
    /// Attempts retried after a worker failure.
    pub retried: u64,
    /// Leases that ran out.
    pub expired_leases: u64,
    /// Entries in the dead-letter stream.
    pub dead_letters: u64,
    /// Tasks per state.
    pub counts: BTreeMap<String, u64>,
}

impl QueueStatus {
    /// Reads `status --json`.
    pub fn parse(json: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(json.trim())
            .with_context(|| format!("`status --json` printed no JSON: {json}"))?;
        let stats = &value["stats"];
        let number = |v: &Value, key: &str| {
            v[key]
                .as_u64()
                .with_context(|| format!("`status --json` has no number {key}: {json}"))
        };
        let counts = value["counts"]
            .as_object()
            .context("`status --json` has no counts")?
            .iter()
            .map(|(state, n)| Ok((state.clone(), n.as_u64().context("a count is no number")?)))
            .collect::<Result<_>>()?;
        Ok(Self {
            waiting: number(stats, "waiting")?,
            in_flight: number(stats, "in_flight")?,
            enqueued: number(stats, "enqueued")?,
            succeeded: number(stats, "succeeded")?,
            failed: number(stats, "failed")?,
            dead: number(stats, "dead")?,
            retried: number(stats, "retried")?,
            expired_leases: number(stats, "expired_leases")?,
            dead_letters: number(&value, "dead_letters")?,
            counts,
        })
    }

    /// Whether no task waits or runs any more.
    pub fn is_settled(&self) -> bool {
        self.waiting == 0
            && self.in_flight == 0
            && ["pending", "running", "retrying"]
                .iter()
                .all(|state| self.count(state) == 0)
    }

    /// Tasks in a state.
    pub fn count(&self, state: &str) -> u64 {
        self.counts.get(state).copied().unwrap_or(0)
    }

    /// Checks that the `tasks` submitted since the queue was reset all succeeded, each
    /// exactly once: none lost, none counted twice, none failed or dead.
    pub fn check_exactly_once(&self, tasks: u64) -> Result<()> {
        let mut wrong = Vec::new();
        for (what, got, want) in [
            ("tasks enqueued", self.enqueued, tasks),
            ("successes counted", self.succeeded, tasks),
            ("tasks in state succeeded", self.count("succeeded"), tasks),
            ("failed tasks", self.failed, 0),
            ("dead tasks", self.dead, 0),
            ("dead letters", self.dead_letters, 0),
            ("tasks waiting", self.waiting, 0),
            ("tasks in flight", self.in_flight, 0),
        ] {
            if got != want {
                wrong.push(format!("{what}: {got}, expected {want}"));
            }
        }
        if !wrong.is_empty() {
            bail!(
                "not every task succeeded exactly once: {}",
                wrong.join("; ")
            );
        }
        Ok(())
    }
}

/// A live worker as `workers --json` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSeen {
    /// Its id.
    pub id: String,
    /// The host it runs on: in a container, the container's short id.
    pub host: String,
    /// The tasks it holds now.
    pub current: Vec<String>,
}

/// Reads `workers --json`.
pub fn parse_workers(json: &str) -> Result<Vec<WorkerSeen>> {
    let value: Value = serde_json::from_str(json.trim())
        .with_context(|| format!("`workers --json` printed no JSON: {json}"))?;
    let workers = value["workers"]
        .as_array()
        .context("`workers --json` has no workers list")?;
    workers
        .iter()
        .map(|worker| {
            let text = |v: &Value, what: &str| {
                v.as_str()
                    .map(str::to_owned)
                    .with_context(|| format!("a worker without {what}: {worker}"))
            };
            Ok(WorkerSeen {
                id: text(&worker["info"]["id"], "an id")?,
                host: text(&worker["info"]["host"], "a host")?,
                current: worker["beat"]["current"]
                    .as_array()
                    .context("a worker without its current tasks")?
                    .iter()
                    .map(|task| text(task, "a task id"))
                    .collect::<Result<_>>()?,
            })
        })
        .collect()
}

/// A task's state and attempts, from `status TASK_ID --json`.
pub fn parse_task(json: &str) -> Result<(String, u64)> {
    let value: Value = serde_json::from_str(json.trim())
        .with_context(|| format!("`status TASK_ID --json` printed no JSON: {json}"))?;
    let task = &value["task"];
    let state = task["state"]
        .as_str()
        .with_context(|| format!("no task state in {json}"))?;
    let attempts = task["attempts"]
        .as_u64()
        .with_context(|| format!("no attempts in {json}"))?;
    Ok((state.to_owned(), attempts))
}

/// The task ids `submit` printed, one per line (UUIDs).
pub fn task_ids(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(str::trim)
        .filter(|line| line.len() == 36 && line.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
        .map(str::to_owned)
        .collect()
}

/// Checks that no process of a container runs as root, from `docker top ID -o pid,uid,comm`
/// (a table whose header names the columns).
pub fn check_not_root(container: &str, top: &str) -> Result<()> {
    let mut lines = top.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    let uid = header
        .iter()
        .position(|column| *column == "UID")
        .with_context(|| format!("{container}: `docker top` shows no UID column:\n{top}"))?;
    let mut processes = 0;
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(user) = words.get(uid) else {
            continue;
        };
        processes += 1;
        ensure!(
            *user != "0" && *user != "root",
            "{container}: a process runs as root: {line}"
        );
    }
    ensure!(
        processes > 0,
        "{container}: `docker top` shows no process:\n{top}"
    );
    Ok(())
}

/// Checks the runtime image's size.
pub fn check_runtime_size(bytes: u64) -> Result<()> {
    ensure!(
        bytes < MAX_RUNTIME_BYTES,
        "the runtime image has {} MB, the limit is {} MB",
        megabytes(bytes),
        megabytes(MAX_RUNTIME_BYTES)
    );
    Ok(())
}

/// Bytes in MB as Docker shows them (10^6), one decimal.
pub fn megabytes(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(enqueued: u64, succeeded: u64, waiting: u64) -> String {
        serde_json::json!({
            "stats": {
                "waiting": waiting, "in_flight": 0, "capacity": 100000, "enqueued": enqueued,
                "succeeded": succeeded, "failed": 0, "retried": 1, "dead": 0,
                "expired_leases": 1
            },
            "counts": { "succeeded": succeeded, "pending": waiting },
            "dead_letters": 0,
            "recent_dead_letters": []
        })
        .to_string()
    }

    #[test]
    fn a_drill_where_every_task_succeeded_once_passes() {
        let parsed = QueueStatus::parse(&status(28, 28, 0)).unwrap();
        assert!(parsed.is_settled());
        assert_eq!(parsed.expired_leases, 1);
        parsed.check_exactly_once(28).unwrap();
    }

    #[test]
    fn a_lost_or_doubled_task_fails_the_drill() {
        let lost = QueueStatus::parse(&status(28, 27, 0)).unwrap();
        let error = lost.check_exactly_once(28).unwrap_err().to_string();
        assert!(
            error.contains("successes counted: 27, expected 28"),
            "{error}"
        );
        let doubled = QueueStatus::parse(&status(28, 29, 0)).unwrap();
        assert!(doubled.check_exactly_once(28).is_err());
    }

    #[test]
    fn a_waiting_task_is_not_settled() {
        let parsed = QueueStatus::parse(&status(28, 20, 8)).unwrap();
        assert!(!parsed.is_settled());
    }

    #[test]
    fn workers_and_their_tasks_are_read() {
        let json = r#"{"workers": [{"info": {"id": "3f2a1b4c5d6e-1-ab12cd34", "host": "3f2a1b4c5d6e"},
            "beat": {"current": ["0190f0e4-7c1a-7a35-9c53-2f1d2b1c9e11"]}}], "waiting": []}"#;
        let workers = parse_workers(json).unwrap();
        assert_eq!(workers[0].host, "3f2a1b4c5d6e");
        assert_eq!(workers[0].current.len(), 1);
        assert!(parse_workers("{}").is_err());
    }

    #[test]
    fn a_task_record_gives_its_state_and_attempts() {
        let json = r#"{"task": {"state": "succeeded", "attempts": 2}}"#;
        assert_eq!(parse_task(json).unwrap(), ("succeeded".to_owned(), 2));
        assert!(parse_task(r#"{"task": {"state": "succeeded"}}"#).is_err());
    }

    #[test]
    fn submit_output_gives_the_task_ids_only() {
        let out = "0190f0e4-7c1a-7a35-9c53-2f1d2b1c9e11\nsubmitted 1 task\n";
        assert_eq!(task_ids(out), ["0190f0e4-7c1a-7a35-9c53-2f1d2b1c9e11"]);
    }

    #[test]
    fn a_process_as_root_is_caught() {
        check_not_root("w", "PID   UID   COMMAND\n4242  65532 session06_docker\n").unwrap();
        assert!(check_not_root("w", "PID UID COMMAND\n1 0 sh\n").is_err());
        assert!(check_not_root("w", "PID UID COMMAND\n").is_err());
        assert!(check_not_root("w", "PID COMMAND\n1 sh\n").is_err());
    }

    #[test]
    fn the_runtime_image_limit_is_100_mb() {
        check_runtime_size(99_999_999).unwrap();
        let error = check_runtime_size(100_000_000).unwrap_err().to_string();
        assert!(error.contains("100.0 MB"), "{error}");
    }
}
