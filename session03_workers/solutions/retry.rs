//! Exercise 3.2: each attempt under `tokio::time::timeout`, a sleep between attempts.

use std::future::Future;
use std::time::Duration;

use super::AttemptError;

/// Calls `attempt` until it succeeds, at most `waits.len() + 1` times, each under `timeout`.
pub async fn retry<T, E, F, Fut>(
    waits: &[Duration],
    timeout: Duration,
    mut attempt: F,
) -> Result<T, Vec<AttemptError<E>>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut errors = Vec::new();
    for k in 0..=waits.len() {
        if k > 0 {
            tokio::time::sleep(waits[k - 1]).await;
        }
        // Dropping the timed-out future cancels the attempt.
        match tokio::time::timeout(timeout, attempt()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => errors.push(AttemptError::Failed(error)),
            Err(_elapsed) => errors.push(AttemptError::TimedOut),
        }
    }
    Err(errors)
}
