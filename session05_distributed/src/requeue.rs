//! The `requeue` command: dead tasks back into the queue, once what killed them is fixed.
//!
//! A dead task used up its attempts on worker failures: a store that was down, workers
//! that kept dying on it. Its dead letter keeps its history (who held each attempt and how
//! it ended); once the cause is fixed, `requeue` gives it a fresh set of attempts.

use std::fmt::Write as _;

use anyhow::Result;
use session03_workers::TaskId;
use session04_redis::cli::QueueArgs;

/// Sends dead tasks back to the queue with their attempts reset.
#[derive(Debug, Clone, clap::Args)]
pub struct RequeueArgs {
    /// The queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// The dead tasks to send back.
    #[arg(value_name = "TASK_ID", required_unless_present = "all")]
    pub ids: Vec<TaskId>,
    /// Every task in the newest `--limit` dead letters that is still dead.
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,
    /// How many dead letters `--all` looks at.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub limit: usize,
}

/// Requeues the tasks and says what became of each.
pub async fn run(args: RequeueArgs) -> Result<String> {
    let (queue, _) = args.queue.open().await?;
    let mut ids = args.ids.clone();
    if args.all {
        for letter in queue.dead_letters(args.limit).await? {
            if let Ok(id) = letter.task.parse::<TaskId>()
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
    }
    let mut out = String::new();
    let mut failed = 0;
    for id in &ids {
        match queue.requeue(*id).await {
            Ok(()) => writeln!(out, "{id}: back in the queue")?,
            // Already requeued, or a dead letter of an entry that never was a task.
            Err(error) if args.all => writeln!(out, "{id}: left alone ({error})")?,
            Err(error) => {
                failed += 1;
                writeln!(out, "{id}: {error}")?;
            }
        }
    }
    if ids.is_empty() {
        out.push_str("no dead task to requeue\n");
    }
    anyhow::ensure!(
        failed == 0,
        "{out}{failed} of {} tasks not requeued",
        ids.len()
    );
    Ok(out)
}
