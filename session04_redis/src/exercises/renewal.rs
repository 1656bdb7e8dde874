//! Exercise 4.4: renewing a lease while the work runs. Replace the `todo!`s with your code.
// The stubs stop at `todo!` without using their arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use std::time::Duration;

use redis::RedisResult;

use super::{HoldError, Lease, ListQueue};

impl ListQueue {
    // ANCHOR: renewal
    /// Exercise 4.4, part 1: pushes `lease`'s deadline to `lease_ms` after now, by Redis's
    /// clock (`TIME`, in milliseconds, floored, as `reserve` does), and returns the new
    /// deadline.
    ///
    /// In one Lua script: only while the task's `state` is `leased` and its `token` is
    /// `lease.token` does the task's score in `Q:leases` become the new deadline. Otherwise
    /// the lease is no longer ours, nothing changes, and the answer is `None`.
    pub async fn renew(&self, lease: &Lease) -> RedisResult<Option<u64>> {
        todo!("exercise 4.4: ListQueue::renew")
    }

    /// Exercise 4.4, part 2: runs `work` while keeping `lease` alive, and returns its
    /// output.
    ///
    /// While `work` runs, the lease is renewed (with [`renew`](Self::renew)) every `every`,
    /// the first time `every` after the start; when `work` ends, the renewals stop and its
    /// output is returned at once. When a renewal finds the lease no longer ours, `work` is
    /// dropped unfinished (a task someone else now runs must not be finished twice) and the
    /// answer is [`HoldError::LeaseLost`] with the task's id; a Redis error also stops it.
    /// `every` must be longer than zero: on [`Duration::ZERO`] the answer is
    /// [`HoldError::ZeroInterval`], before anything is sent to Redis or `work` is started.
    pub async fn hold<T>(
        &self,
        lease: &Lease,
        every: Duration,
        work: impl Future<Output = T>,
    ) -> Result<T, HoldError> {
        todo!("exercise 4.4: ListQueue::hold")
    }
    // ANCHOR_END: renewal
}
