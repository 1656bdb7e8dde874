//! A client waiting for a job: it blocks on the job's events stream, and looks at the
//! job's tasks only when nothing happened for a while.

use std::time::{Duration, Instant};

use redis::AsyncCommands;
use session03_workers::{Queue, TaskId, TaskState};
use session04_redis::RedisQueue;

use super::{JobKeys, JobOutcome, JobRecord};

// ANCHOR: wait
/// Waits for `job` to end, blocking on its events stream (no polling), for at most `limit`.
///
/// Uses a connection of its own: a blocking read holds its connection until it returns.
pub async fn wait_for_job(
    queue: &RedisQueue,
    job: TaskId,
    limit: Duration,
) -> anyhow::Result<JobOutcome> {
    let client = queue.options().client()?;
    let config = redis::AsyncConnectionConfig::new()
        .set_response_timeout(Some(session04_redis::connect::MAX_BLOCK * 2));
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    let keys = JobKeys::new(queue.keys(), job);
    let deadline = Instant::now() + limit;
    let mut last = "0-0".to_owned();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        anyhow::ensure!(
            !left.is_zero(),
            "job {job} did not finish within {:.0} s",
            limit.as_secs_f64()
        );
        let block = left.min(session04_redis::connect::MAX_BLOCK);
        let options = redis::streams::StreamReadOptions::default()
            .block(
                usize::try_from(block.as_millis())
                    .unwrap_or(usize::MAX)
                    .max(1),
            )
            .count(1000);
        let reply: Option<redis::streams::StreamReadReply> = conn
            .xread_options(&[&keys.events], &[&last], &options)
            .await?;
        if reply.is_none()
            && let Some(reason) = stuck(&mut conn, queue, &keys, job).await?
        {
            // Nothing happened for a while: a tile or the assembly may have died in the
            // queue (out of attempts), where no job code runs to say so.
            return Ok(JobOutcome::Failed { reason });
        }
        for entry in reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids) {
            last = entry.id.clone();
            let field = |name: &str| entry.get::<String>(name).unwrap_or_default();
            match field("event").as_str() {
                "assembled" => {
                    return Ok(JobOutcome::Assembled {
                        output: field("output"),
                    });
                }
                "failed" => {
                    return Ok(JobOutcome::Failed {
                        reason: field("reason"),
                    });
                }
                _ => {}
            }
        }
    }
}
// ANCHOR_END: wait

/// Why `job` can never finish, when one of its tasks ended dead or failed.
async fn stuck(
    conn: &mut redis::aio::MultiplexedConnection,
    queue: &RedisQueue,
    keys: &JobKeys,
    job: TaskId,
) -> anyhow::Result<Option<String>> {
    let text: Option<String> = conn.hget(&keys.job, "record").await?;
    let Some(text) = text else {
        return Ok(Some(format!(
            "job {job} is unknown (expired or never made)"
        )));
    };
    let record: JobRecord = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("job {job}: unreadable record: {e}"))?;
    let ids: Vec<TaskId> = record.tiles.iter().copied().chain([job]).collect();
    let states = queue.states(ids.iter().copied()).await?;
    let Some((id, state)) = ids.iter().zip(states).find_map(|(id, state)| match state {
        Some(state @ (TaskState::Dead | TaskState::Failed)) => Some((*id, state)),
        _ => None,
    }) else {
        return Ok(None);
    };
    let error = queue
        .status(id)
        .await?
        .and_then(|record| record.error)
        .map(|error| error.message)
        .unwrap_or_default();
    let what = if id == job {
        "the assembly".to_owned()
    } else {
        format!("tile task {id}")
    };
    Ok(Some(format!("{what} is {state}: {error}")))
}
