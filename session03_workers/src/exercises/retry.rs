//! Exercise 3.2: retries with a timeout per attempt.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use std::future::Future;
use std::time::Duration;

use super::AttemptError;

// ANCHOR: retry
/// Exercise 3.2: calls `attempt` until it succeeds, at most `waits.len() + 1` times.
///
/// - Each attempt gets `timeout`: an attempt that has not finished by then is dropped
///   (cancelled, never polled again) and counts as [`AttemptError::TimedOut`]. An attempt
///   that returns `Err(e)` in time counts as [`AttemptError::Failed`]`(e)`.
/// - After attempt `k` (from 0) fails or times out, wait `waits[k]`, then start attempt
///   `k + 1`. No wait after the last attempt, and none before the first.
/// - Starting an attempt means calling `attempt()` (which creates its future) and then
///   awaiting that future under its timeout. Call `attempt()` only after the wait: the
///   tests record the moment of each call, so the first call comes at once and call `k + 1`
///   comes `waits[k]` after attempt `k` ended.
///
/// Returns the first success, or, when every attempt failed, each attempt's error in order.
pub async fn retry<T, E, F, Fut>(
    waits: &[Duration],
    timeout: Duration,
    attempt: F,
) -> Result<T, Vec<AttemptError<E>>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    todo!("exercise 3.2: retry")
}
// ANCHOR_END: retry
