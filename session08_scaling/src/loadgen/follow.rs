//! Following a load's tasks to their end (`--wait`): their states polled from Redis, a
//! thousand tasks per round trip, until each is final or the wait is over.

use std::time::Duration;

use anyhow::{Context as _, Result};
use session03_workers::{TaskId, TaskState};
use session04_redis::RedisQueue;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::send::{Sent, Work};
use super::{LoadPlan, Outcome, TaskOutcome};

/// How often `--wait` asks Redis for the tasks' states.
const POLL: Duration = Duration::from_millis(100);
/// The most tasks one round trip asks Redis about, when following a load.
const SETTLE_AT_ONCE: usize = 1000;

/// What the follower found: every task's outcome, and when the sending and the wait ended.
pub(super) struct Followed {
    /// Every task, in order.
    pub(super) tasks: Vec<TaskOutcome>,
    /// From the start to the last task sent.
    pub(super) submit_seconds: f64,
    /// From the start to the end of the wait.
    pub(super) elapsed_seconds: f64,
}

/// Collects what the submitters sent; with a wait, polls the tasks' states until each is
/// final, or until the wait after the last send is over.
pub(super) async fn follow(
    queue: &RedisQueue,
    mut receiver: mpsc::UnboundedReceiver<Sent>,
    work: &Work,
) -> Result<Followed> {
    let plan = &work.plan;
    let mut tasks = Vec::new();
    // Tasks not final yet: (position in `tasks`, id).
    let mut open: Vec<(usize, TaskId)> = Vec::new();
    let Some(wait) = plan.wait else {
        // Nothing to follow: take each message as it comes, until the sending ends.
        while let Some(sent) = receiver.recv().await {
            accept(plan, sent, &mut tasks, &mut open);
        }
        return Ok(followed(tasks, work, Instant::now()));
    };
    let mut sent_at: Option<Instant> = None;
    loop {
        // Everything the submitters sent since the last look.
        loop {
            match receiver.try_recv() {
                Ok(sent) => accept(plan, sent, &mut tasks, &mut open),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    sent_at.get_or_insert_with(Instant::now);
                    break;
                }
            }
        }
        if !open.is_empty() {
            // While the load is sent, the latest its wait can end: after its duration.
            let deadline = sent_at.unwrap_or(work.start + plan.duration) + wait;
            open = settle(queue, open, &mut tasks, deadline).await?;
        }
        if let Some(sent) = sent_at
            && (open.is_empty() || sent.elapsed() >= wait)
        {
            // Whatever is still open stays `TimedOut`.
            return Ok(followed(tasks, work, sent));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Notes a task a submitter sent (or a full queue refused); with a wait, it is open until
/// seen final, and `TimedOut` unless it is.
fn accept(
    plan: &LoadPlan,
    sent: Sent,
    tasks: &mut Vec<TaskOutcome>,
    open: &mut Vec<(usize, TaskId)>,
) {
    let outcome = match sent.id {
        None => Outcome::Rejected,
        Some(id) if plan.wait.is_some() => {
            open.push((tasks.len(), id));
            Outcome::TimedOut
        }
        Some(_) => Outcome::Submitted,
    };
    tasks.push(TaskOutcome {
        index: sent.index,
        pipeline: sent.index % plan.pipelines.len(),
        outcome,
        latency_ms: None,
    });
}

/// The follower's findings, the tasks in order, once the sending ended at `sent`.
fn followed(mut tasks: Vec<TaskOutcome>, work: &Work, sent: Instant) -> Followed {
    tasks.sort_by_key(|task| task.index);
    Followed {
        tasks,
        submit_seconds: (sent - work.start).as_secs_f64(),
        elapsed_seconds: work.start.elapsed().as_secs_f64(),
    }
}

/// Asks Redis for the open tasks' states, [`SETTLE_AT_ONCE`] tasks per round trip, until
/// each was asked or `deadline` passed; records the final ones (outcome, and latency) in
/// `tasks`, and returns those still open.
pub async fn settle(
    queue: &RedisQueue,
    open: Vec<(usize, TaskId)>,
    tasks: &mut [TaskOutcome],
    deadline: Instant,
) -> Result<Vec<(usize, TaskId)>> {
    let mut still = Vec::new();
    let mut chunks = open.chunks(SETTLE_AT_ONCE);
    for chunk in chunks.by_ref() {
        let hashes = read_tasks(queue, chunk).await?;
        for (&(position, id), (state, enqueued, finished)) in chunk.iter().zip(hashes) {
            let task = &mut tasks[position];
            // No hash: purged or expired before it was seen final.
            let Some(state) = state else {
                task.outcome = Outcome::Lost;
                continue;
            };
            let state: TaskState = state
                .parse()
                .map_err(|_| anyhow::anyhow!("task {id}: its state {state:?} is not a state"))?;
            if !state.is_final() {
                still.push((position, id));
                continue;
            }
            task.outcome = if state == TaskState::Succeeded {
                Outcome::Succeeded
            } else {
                Outcome::Failed
            };
            task.latency_ms = latency_ms(enqueued.as_deref(), finished.as_deref());
        }
        if Instant::now() >= deadline {
            break;
        }
    }
    // Not asked before the deadline: still open.
    still.extend(chunks.flatten().copied());
    Ok(still)
}

/// What a task's hash says (session 04's queue): its state, and when it entered the queue
/// and when it ended, in milliseconds since the epoch by Redis' clock.
type TaskHash = (Option<String>, Option<String>, Option<String>);

/// The hashes of the tasks of `chunk`, in one round trip.
async fn read_tasks(queue: &RedisQueue, chunk: &[(usize, TaskId)]) -> Result<Vec<TaskHash>> {
    let mut pipe = redis::pipe();
    for (_, id) in chunk {
        pipe.cmd("HMGET")
            .arg(queue.keys().task(*id))
            .arg(&["state", "enqueued_at", "finished_at"]);
    }
    let mut conn = queue.connection();
    pipe.query_async(&mut conn)
        .await
        .context("cannot read the tasks' states")
}

/// From entering the queue to the end, in milliseconds; `None` when a time is missing or
/// not a number. Both times come from Redis' clock, so other machines' clocks do not
/// matter.
fn latency_ms(enqueued: Option<&str>, finished: Option<&str>) -> Option<u64> {
    let enqueued: i64 = enqueued?.parse().ok()?;
    let finished: i64 = finished?.parse().ok()?;
    Some(u64::try_from(finished.saturating_sub(enqueued)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_comes_from_two_times_or_is_unknown() {
        assert_eq!(latency_ms(Some("1000"), Some("1250")), Some(250));
        assert_eq!(latency_ms(Some("1000"), None), None);
        assert_eq!(latency_ms(Some("oops"), Some("1250")), None);
        assert_eq!(latency_ms(Some("2000"), Some("1000")), Some(0));
    }
}
