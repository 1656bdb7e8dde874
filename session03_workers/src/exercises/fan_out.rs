//! Exercise 3.1: a bounded fan-out.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use std::future::Future;

// ANCHOR: fan_out
/// Exercise 3.1: runs `call` on every item, at most `limit` calls at a time.
///
/// Returns one result per item, in the order of `items` (not the order the calls finish
/// in). A call that fails does not stop the others: its error is its item's result.
///
/// - No more than `limit` calls run at once, and up to `limit` do: as soon as one call
///   finishes, the next item starts, even while a slow call is still running.
/// - A `limit` of 0 counts as 1.
///
/// A call "runs" from its future's first poll until it completes. The futures are
/// `Send + 'static`, so they can be handed to `tokio::spawn` or a `tokio::task::JoinSet`.
pub async fn fan_out<T, R, E, F, Fut>(items: Vec<T>, limit: usize, call: F) -> Vec<Result<R, E>>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
    R: Send + 'static,
    E: Send + 'static,
{
    todo!("exercise 3.1: fan_out")
}
// ANCHOR_END: fan_out
