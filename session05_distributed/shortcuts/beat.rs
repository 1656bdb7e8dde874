//! Shortcut for exercise 5.1: one beat with the TTL, then a wait for the stop. The key
//! expires after one TTL, so `ex05_1_beats_until_stopped_then_leaves` never sees its TTL
//! refreshed.

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, RedisResult, SetExpiry, SetOptions};
use tokio_util::sync::CancellationToken;

use super::Heartbeat;

/// Exercise 5.1: beat until told to stop, then leave.
pub async fn beat_until_stopped(
    mut conn: ConnectionManager,
    beat: Heartbeat,
    stop: CancellationToken,
) -> RedisResult<()> {
    let ttl_ms = u64::try_from(beat.ttl.as_millis()).unwrap_or(u64::MAX);
    let options = SetOptions::default().with_expiration(SetExpiry::PX(ttl_ms));
    let () = conn.set_options(&beat.key, &beat.record, options).await?;
    stop.cancelled().await;
    conn.del(&beat.key).await
}
