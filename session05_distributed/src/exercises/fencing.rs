//! Exercise 5.2: a lock with fencing tokens.
// The stubs stop at `todo!` without using their arguments, on purpose: the workspace
// builds and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use std::time::Duration;

use redis::RedisResult;
use redis::aio::ConnectionManager;

// ANCHOR: fencing
/// Exercise 5.2: takes the lock at key `lock` for `ttl`, unless someone holds it.
///
/// A holder may stall (a long pause, a lost network) past its `ttl`: Redis then deletes
/// the lock and someone else takes it, while the first holder still believes it holds it.
/// A *fencing token* tells the two apart: each time the lock is taken, the counter at
/// [`fencing_key`](super::fencing_key)`(lock)` goes up by one (`INCR`), and the new holder
/// gets the new value. Whoever receives work from a holder (a store, say) refuses a token
/// lower than one it has seen, so a holder that woke up late cannot overwrite newer work.
///
/// Returns `Some(token)` when the lock was taken: the key `lock` now holds the token, as
/// decimal text, and expires after `ttl` in whole milliseconds (`SET lock token NX PX ms`),
/// at least 1 ms: a `ttl` under a millisecond is rounded up to 1 ms, never refused. Returns
/// `None` when the lock is held, and then the counter does not move: tokens are handed out
/// one by one, 1, 2, 3, ..., and each holder's token is greater than every earlier
/// holder's. Do it in one atomic step (a Lua script), or two holders could end up with
/// tokens out of order.
///
/// Checked: during one call, your code may send Redis only script commands
/// (`EVAL`, `EVALSHA`, `SCRIPT LOAD`, `FCALL`, `FUNCTION LOAD`) or a
/// `MULTI`...`EXEC` block whose commands are all queued inside it; any other command fails
/// the test, which names it.
pub async fn acquire_lock(
    conn: &mut ConnectionManager,
    lock: &str,
    ttl: Duration,
) -> RedisResult<Option<u64>> {
    todo!("exercise 5.2: acquire_lock")
}

/// Exercise 5.2, continued: releases the lock at key `lock` taken with `token`.
///
/// Deletes `lock` only while it still holds `token`, and says whether it did. The lock may
/// have expired and been taken by someone else since: then it is theirs, and must stay.
/// Comparing and deleting must be one atomic step (a Lua script): a `GET` then a `DEL`
/// could delete a lock taken in between. Checked as for [`acquire_lock`].
pub async fn release_lock(
    conn: &mut ConnectionManager,
    lock: &str,
    token: u64,
) -> RedisResult<bool> {
    todo!("exercise 5.2: release_lock")
}
// ANCHOR_END: fencing
