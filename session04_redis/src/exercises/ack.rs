//! Exercise 4.2: acknowledging a task. Replace the `todo!` with your code.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use redis::RedisResult;

use super::{AckOutcome, Lease, ListQueue};

impl ListQueue {
    // ANCHOR: ack
    /// Exercise 4.2: the worker holding `lease` finished its task with `result`.
    ///
    /// One Lua script, run with [`redis::Script`], decides and writes in one atomic step,
    /// by the task's hash (`Q:task:ID`):
    ///
    /// - `state` is `done`: the task was already finished (by this worker, whose reply got
    ///   lost and who tries again, or by another). Nothing changes:
    ///   [`AckOutcome::AlreadyDone`].
    /// - `state` is not `leased`, or `token` is not `lease.token`: this lease is not the
    ///   current one (it ran out, and the task was taken back and perhaps leased again).
    ///   Nothing changes: [`AckOutcome::LeaseLost`].
    /// - Otherwise: `state` becomes `done`, `result` is set, `token` is removed, the id
    ///   leaves `Q:leases`, and the `done` counter of `Q:stats` grows by one:
    ///   [`AckOutcome::Acked`].
    ///
    /// So a task is counted once however often it is acknowledged, and a worker whose
    /// lease was taken back can never overwrite the work of the one holding it now.
    pub async fn ack(&self, lease: &Lease, result: &str) -> RedisResult<AckOutcome> {
        todo!("exercise 4.2: ListQueue::ack")
    }
    // ANCHOR_END: ack
}
