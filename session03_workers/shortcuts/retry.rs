//! Shortcut for exercise 3.2: the waits between attempts, but no timeout on each attempt.
//! An attempt that hangs hangs the whole retry: `ex03_2_a_hung_attempt_is_cut_at_its_timeout`
//! and `ex03_2_attempts_start_on_schedule` reach their deadline on it.

use std::future::Future;
use std::time::Duration;

use super::AttemptError;

/// Calls `attempt` until it succeeds, at most `waits.len() + 1` times.
pub async fn retry<T, E, F, Fut>(
    waits: &[Duration],
    _timeout: Duration,
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
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) => errors.push(AttemptError::Failed(error)),
        }
    }
    Err(errors)
}
