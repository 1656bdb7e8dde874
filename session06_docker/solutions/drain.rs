//! Exercise 6.3: a graceful drain.

use std::collections::HashMap;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, RedisResult};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::{DrainReport, InHand, processing_key, ready_key};

/// Exercise 6.3: runs the tasks a worker holds to their end, or gives them back.
pub async fn drain(
    conn: &mut ConnectionManager,
    ns: &str,
    worker: &str,
    in_hand: Vec<InHand>,
    stop: CancellationToken,
    grace: Duration,
) -> RedisResult<DrainReport> {
    let (processing, ready) = (processing_key(ns, worker), ready_key(ns));
    let tasks: Vec<String> = in_hand.iter().map(|held| held.task.clone()).collect();
    let mut finished = vec![false; tasks.len()];
    let mut running = JoinSet::new();
    let mut index = HashMap::new();
    for (i, held) in in_hand.into_iter().enumerate() {
        index.insert(running.spawn(held.work).id(), i);
    }

    let (mut deadline, mut aborted) = (None, false);
    loop {
        let grace_over = sleep_until(deadline.unwrap_or_else(Instant::now));
        let ended = tokio::select! {
            ended = running.join_next_with_id() => ended,
            () = stop.cancelled(), if deadline.is_none() => {
                deadline = Some(Instant::now() + grace);
                continue;
            }
            () = grace_over, if deadline.is_some() && !aborted => {
                running.abort_all();
                aborted = true;
                continue;
            }
        };
        match ended {
            None => break,
            // Returned (perhaps just before its abort): finished.
            Some(Ok((id, ()))) => {
                if let Some(i) = index.remove(&id) {
                    let () = conn.lrem(&processing, 1, &tasks[i]).await?;
                    finished[i] = true;
                }
            }
            Some(Err(ended)) if ended.is_panic() => {
                if let Some(i) = index.remove(&ended.id()) {
                    give_back(conn, &processing, &ready, &[&tasks[i]]).await?;
                }
            }
            // Aborted: given back below, with the others, in order.
            Some(Err(_)) => {}
        }
    }
    let mut left: Vec<usize> = index.into_values().collect();
    left.sort_unstable();
    let left: Vec<&String> = left.iter().map(|&i| &tasks[i]).collect();
    give_back(conn, &processing, &ready, &left).await?;

    let mut report = DrainReport::default();
    for (task, finished) in tasks.into_iter().zip(finished) {
        match finished {
            true => report.finished.push(task),
            false => report.released.push(task),
        }
    }
    Ok(report)
}

/// Moves `tasks` from the processing list to the right end of the ready list, the first of
/// them rightmost (taken next), each in one transaction.
async fn give_back(
    conn: &mut ConnectionManager,
    processing: &str,
    ready: &str,
    tasks: &[&String],
) -> RedisResult<()> {
    for task in tasks.iter().rev() {
        let () = redis::pipe()
            .atomic()
            .lrem(processing, 1, task)
            .ignore()
            .rpush(ready, task)
            .ignore()
            .query_async(conn)
            .await?;
    }
    Ok(())
}
