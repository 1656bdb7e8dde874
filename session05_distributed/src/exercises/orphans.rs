//! Exercise 5.3: orphan recovery.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use redis::RedisResult;
use redis::aio::ConnectionManager;

// ANCHOR: orphans
/// Exercise 5.3: gives the tasks of dead workers back to the queue.
///
/// A worker takes a task by moving it from the ready list to its own processing list
/// (`LMOVE NS:ready NS:processing:W RIGHT LEFT`: from the right end of one to the left end
/// of the other) and removes it from there when the task is finished. If the worker dies
/// first, the task stays in its processing list, an *orphan* nobody will run.
///
/// For each worker in the set [`workers_key`](super::workers_key)`(ns)` whose heartbeat
/// [`worker_key`](super::worker_key)`(ns, w)` no longer exists, this moves every task of
/// its [`processing_key`](super::processing_key)`(ns, w)` back to the right end of
/// [`ready_key`](super::ready_key)`(ns)`, where workers take them next, in the order the
/// dead worker took them (the one it took first is taken first again), and removes the
/// worker from the set. A worker whose heartbeat exists is alive and keeps its tasks.
///
/// Returns how many tasks it moved. Each worker's check and move must be one atomic step
/// (a Lua script): recoverers may run on several machines at once, and a worker may beat
/// again just as it is being judged, yet no task may be lost, doubled, or taken from a
/// live worker.
///
/// Checked: during one call, besides reading the set of workers (`SMEMBERS`, `SSCAN`),
/// your code may send Redis only script commands
/// (`EVAL`, `EVALSHA`, `SCRIPT LOAD`, `FCALL`, `FUNCTION LOAD`) or a
/// `MULTI`...`EXEC` block whose commands are all queued inside it; any other command fails
/// the test, which names it.
pub async fn recover_orphans(conn: &mut ConnectionManager, ns: &str) -> RedisResult<u64> {
    todo!("exercise 5.3: recover_orphans")
}
// ANCHOR_END: orphans
