//! Exercise 4.3: taking back expired leases. Replace the `todo!` with your code.
// The stub stops at `todo!`, on purpose: the workspace builds and every test outside the
// exercises passes before you start.
#![allow(clippy::todo)]

use redis::RedisResult;

use super::{ListQueue, Reclaimed};

impl ListQueue {
    // ANCHOR: reclaim
    /// Exercise 4.3: takes back every task whose lease has run out.
    ///
    /// A lease has run out when its deadline (its score in `Q:leases`) is at or before
    /// *now by Redis's clock*: the script reads `TIME`, never the worker's clock, since
    /// every worker's machine keeps its own time and only Redis's is the same for all.
    /// For each such task, earliest deadline first:
    ///
    /// - its id leaves `Q:leases`, its `attempts` grows by one and its `token` is removed;
    /// - when `attempts` is now below `max_attempts`, its `state` becomes `ready` and its
    ///   id goes back into `Q:ready` the way `enqueue` puts a new one (`LPUSH`): it is
    ///   listed in [`Reclaimed::requeued`];
    /// - otherwise it has had all its chances: its `state` becomes `dead` and its id goes
    ///   to the end of `Q:dead` (`RPUSH`): it is listed in [`Reclaimed::dead`].
    ///
    /// All of it is one Lua script, so it is one atomic step: no acknowledgement or other
    /// sweep can come in between, and the only commands this client sends are script
    /// commands (`EVAL`/`EVALSHA`/`SCRIPT LOAD`, or `FCALL`/`FUNCTION LOAD` if you use a
    /// Redis Function).
    pub async fn reclaim(&self) -> RedisResult<Reclaimed> {
        todo!("exercise 4.3: ListQueue::reclaim")
    }
    // ANCHOR_END: reclaim
}
