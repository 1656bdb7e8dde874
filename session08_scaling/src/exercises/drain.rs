//! Exercise 8.4: a drain that loses nothing.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use std::time::Duration;

use session04_redis::RedisQueue;
use session04_redis::server::Children;
use session05_distributed::Registry;

use super::Drained;

// ANCHOR: choose
/// Exercise 8.4: scales down by one: chooses a worker process from the live registry and
/// stops it so that nothing it holds is lost or run twice.
///
/// `workers` are the worker processes this program started (session 05's `worker`
/// command), which register in `registry` with their process id (`info.pid`). They are
/// held in session 04's [`Children`], a `Vec<Child>` (`workers.0`) that kills and waits
/// for them when it is dropped, so none outlives a program that fails. The registry may
/// list other workers too, of other machines or of other programs: this stops only one
/// of `workers`.
///
/// **Choosing.** Read the registry once. Among the workers whose `state` is `Busy` or
/// `Idle` (beating on time), which are not already stopping (`beat.stopping`), and whose
/// `info.pid` is the id of one of `workers`: the one holding the fewest tasks
/// (`beat.current`), because it has the least to finish; on a tie, the newest (the
/// latest `info.started_at`), because the oldest have warm caches; on a tie again, the
/// smallest `info.id`. None such: `Ok(None)`, and nothing is stopped.
// ANCHOR_END: choose
// ANCHOR: stop
///
/// **Stopping.** Send it SIGTERM (session 04's `server::terminate`), as Kubernetes does
/// to a pod it removes. Session 05's worker then stops taking tasks, finishes those it
/// holds and leaves the registry. Wait for the process to exit, at most `deadline` from
/// the SIGTERM, never blocking the async runtime (session 06's `demo::exited` waits so).
/// If it has not exited by then, kill it (SIGKILL), wait for it (with a deadline of its
/// own: a killed process exits at once), and return an error that names the worker and
/// the deadline. Either way it leaves `workers`.
///
/// **Reporting.** Once it has exited, ask the queue for the state of each task it held
/// (`RedisQueue::states`): the [`Drained`] report lists those in a final state. SIGKILL
/// instead of SIGTERM would lose nothing forever either, but the tasks held would come
/// back only when their lease ran out, and run a second time.
pub async fn drain_one(
    registry: &Registry,
    queue: &RedisQueue,
    workers: &mut Children,
    deadline: Duration,
) -> anyhow::Result<Option<Drained>> {
    todo!("exercise 8.4: drain_one")
}
// ANCHOR_END: stop
