//! The `reset` command: deletes everything a queue keeps in Redis, for a fresh start
//! between lab runs.
//!
//! It cannot be undone, so it asks for `--yes`, and it only touches the keys of its own
//! namespace ([`RedisQueue::purge`](crate::RedisQueue::purge)): another queue, or anything
//! else sharing the Redis, stays.

use anyhow::Result;

use crate::cli::QueueArgs;

/// Deletes every key of the queue's namespace: tasks, results, images, workers' records.
#[derive(Debug, Clone, clap::Args)]
pub struct ResetArgs {
    /// The queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// Yes, delete them: without it, nothing is deleted.
    #[arg(long)]
    pub yes: bool,
}

/// Deletes the namespace's keys, once confirmed with `--yes`, and says how many went.
pub async fn run(args: ResetArgs) -> Result<String> {
    let namespace = &args.queue.namespace;
    let redis = args.queue.redis.display_url();
    anyhow::ensure!(
        args.yes,
        "reset would delete every key of namespace {namespace:?} on {redis} (its tasks, \
         results, images, dead letters and workers' records), for good: add --yes to confirm"
    );
    let (queue, _) = args.queue.open().await?;
    let deleted = queue.purge().await?;
    Ok(format!(
        "deleted {deleted} keys of namespace {namespace:?} on {redis}\n"
    ))
}
