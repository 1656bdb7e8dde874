//! Shortcut for exercise 3.1: batches of `limit` calls, each batch awaited whole before the
//! next starts. Never more than `limit` at once, but one slow call holds up every item
//! after its batch: `ex03_1_a_slow_call_does_not_hold_up_the_rest` times out on it.

use std::future::Future;

use tokio::task::JoinSet;

/// Runs `call` on every item in batches of `limit`; results in input order.
pub async fn fan_out<T, R, E, F, Fut>(items: Vec<T>, limit: usize, mut call: F) -> Vec<Result<R, E>>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
    R: Send + 'static,
    E: Send + 'static,
{
    let mut items = items.into_iter().enumerate().peekable();
    let mut results = Vec::new();
    while items.peek().is_some() {
        let mut batch = JoinSet::new();
        for (index, item) in items.by_ref().take(limit.max(1)) {
            let future = call(item);
            batch.spawn(async move { (index, future.await) });
        }
        let mut done: Vec<(usize, Result<R, E>)> = batch.join_all().await;
        done.sort_by_key(|(index, _)| *index);
        results.extend(done.into_iter().map(|(_, result)| result));
    }
    results
}
