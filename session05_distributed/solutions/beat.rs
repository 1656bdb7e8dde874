//! Exercise 5.1: a worker's heartbeat.

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, ErrorKind, RedisResult, SetExpiry, SetOptions};
use tokio_util::sync::CancellationToken;

use super::Heartbeat;

/// Exercise 5.1: beat until told to stop, then leave.
pub async fn beat_until_stopped(
    mut conn: ConnectionManager,
    beat: Heartbeat,
    stop: CancellationToken,
) -> RedisResult<()> {
    if beat.every.is_zero() {
        return Err((ErrorKind::Client, "heartbeat interval is zero").into());
    }
    let ttl_ms = u64::try_from(beat.ttl.as_millis()).unwrap_or(u64::MAX);
    let options = SetOptions::default().with_expiration(SetExpiry::PX(ttl_ms));
    let mut ticks = tokio::time::interval(beat.every);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = stop.cancelled() => break,
        }
        let () = conn
            .set_options(&beat.key, &beat.record, options.clone())
            .await?;
    }
    conn.del(&beat.key).await
}
