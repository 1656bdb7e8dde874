//! Sending a load: concurrent submitters, each with a connection of its own, taking
//! batches in turn and sending each when it is due.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context as _, Result};
use session02_pipelines::PipelineSpec;
use session03_workers::{BlobKey, BlobStore, QueueError, Task, TaskId};
use session04_redis::{RedisBlobStore, RedisQueue};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::follow::follow;
use super::{CONNECT, LoadPlan, LoadReport, report};

/// What a submitter tells the follower about one task.
#[derive(Debug)]
pub(super) struct Sent {
    /// The task's number in the load.
    pub(super) index: usize,
    /// The task's id when the queue took it; `None` when a full queue refused it.
    pub(super) id: Option<TaskId>,
}

/// What every submitter shares: the plan, the uploaded photos, and the next batch's number.
#[derive(Debug)]
pub(super) struct Work {
    /// The load.
    pub(super) plan: LoadPlan,
    /// Its pipelines, parsed.
    specs: Vec<PipelineSpec>,
    /// Its photos, uploaded.
    inputs: Vec<BlobKey>,
    /// Names this run's results, so runs never overwrite each other's.
    run: String,
    /// When the sending started, every submitter connected.
    pub(super) start: Instant,
    /// The next batch to send.
    next_batch: AtomicUsize,
}

impl Work {
    /// The task numbered `index`: pipelines and photos in turn.
    fn task(&self, index: usize) -> Result<Task> {
        let spec = self.specs[index % self.specs.len()].clone();
        let input = self.inputs[index % self.inputs.len()].clone();
        // JPEG results: a load of thousands of tasks keeps Redis' memory small.
        let output = BlobKey::new(format!("results/{}/{index}.jpg", self.run))?;
        Ok(Task::new(spec, input, output))
    }
}

/// Sends the load `plan` describes to `queue` (its photos uploaded once to `blobs`), and
/// with `plan.wait`, follows every task to its end. Stops by itself: after `plan.tasks`
/// tasks or `plan.duration`, whichever comes first, then at most `plan.wait` later.
pub async fn generate(
    queue: &RedisQueue,
    blobs: &Arc<RedisBlobStore>,
    plan: &LoadPlan,
) -> Result<LoadReport> {
    let specs = plan.check()?;
    anyhow::ensure!(!plan.inputs.is_empty(), "a load needs at least one photo");
    let run = TaskId::new().to_string().replace('-', "")[..16].to_owned();
    let mut inputs = Vec::with_capacity(plan.inputs.len());
    for (n, path) in plan.inputs.iter().enumerate() {
        let bytes = tokio::fs::read(path)
            .await
            .with_context(|| format!("cannot read {}", path.display()))?;
        let key = BlobKey::new(format!("inputs/{run}/{n}"))?;
        blobs.put(&key, bytes.into()).await?;
        inputs.push(key);
    }
    // Every submitter connects first, then the clock starts: connecting takes none of the
    // duration, and a paced load starts on time instead of with a burst.
    let mut connections = Vec::with_capacity(plan.concurrency);
    for _ in 0..plan.concurrency {
        let own = tokio::time::timeout(
            CONNECT,
            RedisQueue::connect(queue.options(), queue.config().clone()),
        )
        .await
        .context("a submitter could not connect to Redis")??;
        connections.push(own);
    }
    let work = Arc::new(Work {
        plan: plan.clone(),
        specs,
        inputs,
        run,
        start: Instant::now(),
        next_batch: AtomicUsize::new(0),
    });
    let (sender, receiver) = mpsc::unbounded_channel();
    let mut submitters = JoinSet::new();
    for own in connections {
        submitters.spawn(submit(own, Arc::clone(&work), sender.clone()));
    }
    // The follower knows the load is sent when every submitter has dropped its sender.
    drop(sender);
    let all_sent = async {
        while let Some(joined) = submitters.join_next().await {
            joined.context("a submitter panicked")??;
        }
        anyhow::Ok(())
    };
    let ((), followed) = tokio::try_join!(all_sent, follow(queue, receiver, &work))?;
    Ok(report(&work.plan, followed))
}

/// One submitter: takes the next batch, waits until it is due, sends it; until the tasks
/// or the time run out.
async fn submit(
    queue: RedisQueue,
    work: Arc<Work>,
    sent: mpsc::UnboundedSender<Sent>,
) -> Result<()> {
    let plan = &work.plan;
    loop {
        let first = work.next_batch.fetch_add(1, Ordering::Relaxed) * plan.batch;
        if first >= plan.tasks {
            return Ok(());
        }
        let due = plan.due(first);
        if due >= plan.duration || work.start.elapsed() >= plan.duration {
            return Ok(());
        }
        tokio::time::sleep_until(work.start + due).await;
        let last = (first + plan.batch).min(plan.tasks);
        let tasks: Vec<Task> = (first..last)
            .map(|index| work.task(index))
            .collect::<Result<_>>()?;
        let results = queue.enqueue_many(&tasks).await?;
        for (index, result) in (first..last).zip(results) {
            let id = match result {
                Ok(id) => Some(id),
                Err(QueueError::Full { .. }) => None,
                Err(error) => return Err(error.into()),
            };
            // The follower only goes away on an error, which ends the load anyway.
            if sent.send(Sent { index, id }).is_err() {
                return Ok(());
            }
        }
    }
}
