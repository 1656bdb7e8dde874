//! Exercise 3.1: a sliding window of spawned calls, refilled as each one finishes.

use std::future::Future;

use tokio::task::JoinSet;

/// Runs `call` on every item, at most `limit` calls at a time; results in input order.
pub async fn fan_out<T, R, E, F, Fut>(items: Vec<T>, limit: usize, mut call: F) -> Vec<Result<R, E>>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
    R: Send + 'static,
    E: Send + 'static,
{
    let mut results: Vec<Option<Result<R, E>>> = items.iter().map(|_| None).collect();
    let mut running = JoinSet::new();
    let mut settle = |done: Result<(usize, Result<R, E>), tokio::task::JoinError>| {
        // A call that panicked panics here too, as it would have without the fan-out.
        let (index, result) = done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        results[index] = Some(result);
    };
    for (index, item) in items.into_iter().enumerate() {
        if running.len() >= limit.max(1)
            && let Some(done) = running.join_next().await
        {
            settle(done);
        }
        let future = call(item);
        running.spawn(async move { (index, future.await) });
    }
    while let Some(done) = running.join_next().await {
        settle(done);
    }
    results.into_iter().flatten().collect()
}
