//! Exercise 5.1: a worker's heartbeat.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables, unused_mut)]

use redis::RedisResult;
use redis::aio::ConnectionManager;
use tokio_util::sync::CancellationToken;

use super::Heartbeat;

// ANCHOR: beat
/// Exercise 5.1: beat until told to stop, then leave.
///
/// Writes `beat.record` at `beat.key` with a time to live of `beat.ttl`, in one command
/// (`SET key value PX milliseconds`): at once, then again every `beat.every`. Redis
/// deletes the key by its own clock once `beat.ttl` has passed without a write, so the key
/// exists exactly as long as the worker keeps beating: a worker that dies without a word
/// disappears by itself.
///
/// When `stop` is cancelled (the worker is shutting down cleanly), it deletes the key, so
/// readers see at once that the worker left, and returns `Ok(())`. It must notice `stop`
/// while it waits between two beats, not only after the wait: a worker told to stop does
/// not sit out the rest of a long interval.
///
/// A zero `beat.every` is refused: it returns an error before any write. A command that
/// fails ends the loop and returns its error: Redis refuses a write it cannot do, such as
/// `SET ... PX 0` (a zero `beat.ttl`), and the first such write ends the loop.
pub async fn beat_until_stopped(
    mut conn: ConnectionManager,
    beat: Heartbeat,
    stop: CancellationToken,
) -> RedisResult<()> {
    todo!("exercise 5.1: beat_until_stopped")
}
// ANCHOR_END: beat
