//! Exercise 8.4: a drain that loses nothing.

use std::process::Child;
use std::time::Duration;

use anyhow::Context as _;
use session04_redis::RedisQueue;
use session04_redis::server::Children;
use session04_redis::server::terminate;
use session05_distributed::{Registry, WorkerState};
use session06_docker::demo::exited;

use super::Drained;

/// Exercise 8.4: scales down by one, losing nothing and running nothing twice.
pub async fn drain_one(
    registry: &Registry,
    queue: &RedisQueue,
    workers: &mut Children,
    deadline: Duration,
) -> anyhow::Result<Option<Drained>> {
    let ours: Vec<u32> = workers.0.iter().map(Child::id).collect();
    let chosen = registry
        .list()
        .await?
        .into_iter()
        .filter(|w| matches!(w.state, WorkerState::Busy | WorkerState::Idle))
        .filter(|w| !w.beat.stopping && ours.contains(&w.info.pid))
        .min_by(|a, b| {
            // Fewest tasks; then the newest; then the smallest id.
            a.beat
                .current
                .len()
                .cmp(&b.beat.current.len())
                .then(b.info.started_at.cmp(&a.info.started_at))
                .then(a.info.id.cmp(&b.info.id))
        });
    let Some(view) = chosen else {
        return Ok(None);
    };
    let worker = view.info.id;
    let index = workers
        .0
        .iter()
        .position(|child| child.id() == view.info.pid)
        .with_context(|| format!("worker {worker}: its process is not among `workers`"))?;

    terminate(&mut workers.0[index])?;
    let mut child = workers.0.remove(index);
    let status = match exited(&mut child, deadline).await {
        Ok(status) => status,
        Err(error) => {
            let _ = child.kill();
            let _ = exited(&mut child, Duration::from_secs(5)).await;
            return Err(error.context(format!(
                "worker {worker} did not drain within {deadline:?} of SIGTERM: killed"
            )));
        }
    };

    let held = view.beat.current;
    let states = queue.states(held.iter().copied()).await?;
    let finished = held
        .iter()
        .zip(states)
        .filter(|(_, state)| state.is_some_and(|s| s.is_final()))
        .map(|(id, _)| *id)
        .collect();
    Ok(Some(Drained {
        worker,
        pid: view.info.pid,
        held,
        finished,
        status,
    }))
}
