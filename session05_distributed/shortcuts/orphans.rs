//! Shortcut for exercise 5.3: every worker's tasks go back, without asking whether the
//! worker is alive. `ex05_3_live_workers_keep_their_tasks` catches it: a live worker's
//! tasks end up in the ready list too, to be run twice.

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, RedisResult, Script};

use super::{processing_key, ready_key, workers_key};

/// One worker's tasks back, newest first to the right end of the ready list.
const RECOVER: &str = r"
local moved = 0
while redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') do moved = moved + 1 end
redis.call('SREM', KEYS[3], ARGV[1])
return moved
";

/// Exercise 5.3: gives the tasks of dead workers back to the queue.
pub async fn recover_orphans(conn: &mut ConnectionManager, ns: &str) -> RedisResult<u64> {
    let workers: Vec<String> = conn.smembers(workers_key(ns)).await?;
    let script = Script::new(RECOVER);
    let mut moved = 0;
    for worker in &workers {
        let n: u64 = script
            .key(processing_key(ns, worker))
            .key(ready_key(ns))
            .key(workers_key(ns))
            .arg(worker)
            .invoke_async(conn)
            .await?;
        moved += n;
    }
    Ok(moved)
}
