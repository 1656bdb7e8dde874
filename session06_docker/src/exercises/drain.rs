//! Exercise 6.3: a graceful drain.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use std::time::Duration;

use redis::RedisResult;
use redis::aio::ConnectionManager;
use tokio_util::sync::CancellationToken;

use super::{DrainReport, InHand};

// ANCHOR: drain
/// Exercise 6.3: runs the tasks a worker holds to their end, or gives them back.
///
/// `docker stop` sends SIGTERM to the container's main process, waits (10 s unless told
/// otherwise), then sends SIGKILL. A worker that is killed mid-task leaves its tasks in its
/// processing list until a recoverer finds them (exercise 5.3). A worker that drains loses
/// nothing and delays nothing: at the SIGTERM it stops taking tasks (its caller's loop
/// does that), lets those in hand finish for a while, and gives back the rest itself.
///
/// Every task of `in_hand` is in the processing list
/// [`processing_key`](super::processing_key)`(ns, worker)`. This spawns the work of each
/// at once, and then:
///
/// - a task whose work returns is *finished*: it is removed from the processing list at
///   once (`LREM`), not at the end, since a SIGKILL may come at any moment;
/// - a task whose work panics did not finish: it is *released* at once (see below);
/// - once `stop` is cancelled (the SIGTERM), the tasks still running get `grace` more,
///   counted from the stop, not from the call. When it runs out, their work is aborted
///   and they are released. Their work has stopped by the time this returns (abort it,
///   then wait for it to end): a task given back must not also run here.
// ANCHOR_END: drain
// ANCHOR: release
///
/// Releasing a task removes it from the processing list and pushes it on the right end of
/// the ready list [`ready_key`](super::ready_key)`(ns)`, where workers take tasks next, so
/// it runs again soon. Tasks released together keep their order: the first in hand is
/// taken first. (Do each in one `MULTI`/`EXEC` with `redis::pipe().atomic()`: a crash
/// between the two commands would lose the task or double it.)
///
/// Returns once no task is left running (without a stop: once every work has ended), with
/// what was finished and what released, each in the order of `in_hand`. A Redis command
/// that fails returns its error.
pub async fn drain(
    conn: &mut ConnectionManager,
    ns: &str,
    worker: &str,
    in_hand: Vec<InHand>,
    stop: CancellationToken,
    grace: Duration,
) -> RedisResult<DrainReport> {
    todo!("exercise 6.3: drain")
}
// ANCHOR_END: release
