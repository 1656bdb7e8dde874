//! Shortcut for exercise 6.3: everything is aborted and given back the moment the stop
//! comes, with no grace (and nothing happens before it). Tasks a few milliseconds from
//! their end run again from the start on another worker, and their work is done twice.
//! `ex06_3_a_stop_lets_running_tasks_finish` catches it.

use std::time::Duration;

use redis::RedisResult;
use redis::aio::ConnectionManager;
use tokio_util::sync::CancellationToken;

use super::{DrainReport, InHand, processing_key, ready_key};

/// Exercise 6.3: runs the tasks a worker holds to their end, or gives them back.
pub async fn drain(
    conn: &mut ConnectionManager,
    ns: &str,
    worker: &str,
    in_hand: Vec<InHand>,
    stop: CancellationToken,
    _grace: Duration,
) -> RedisResult<DrainReport> {
    let (processing, ready) = (processing_key(ns, worker), ready_key(ns));
    let running: Vec<(String, tokio::task::JoinHandle<()>)> = in_hand
        .into_iter()
        .map(|held| (held.task, tokio::spawn(held.work)))
        .collect();
    stop.cancelled().await;
    let mut report = DrainReport::default();
    for (task, work) in running.into_iter().rev() {
        work.abort();
        let _ = work.await;
        let () = redis::pipe()
            .atomic()
            .lrem(&processing, 1, &task)
            .ignore()
            .rpush(&ready, &task)
            .ignore()
            .query_async(conn)
            .await?;
        report.released.insert(0, task);
    }
    Ok(report)
}
