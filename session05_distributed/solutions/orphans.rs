//! Exercise 5.3: orphan recovery.

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, RedisResult, Script};

use super::{processing_key, ready_key, worker_key, workers_key};

/// One worker: unless its heartbeat exists, its tasks go back newest first to the right
/// end of the ready list, so the oldest ends up rightmost and is taken first.
const RECOVER: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local moved = 0
while redis.call('LMOVE', KEYS[2], KEYS[3], 'LEFT', 'RIGHT') do moved = moved + 1 end
redis.call('SREM', KEYS[4], ARGV[1])
return moved
";

/// Exercise 5.3: gives the tasks of dead workers back to the queue.
pub async fn recover_orphans(conn: &mut ConnectionManager, ns: &str) -> RedisResult<u64> {
    let workers: Vec<String> = conn.smembers(workers_key(ns)).await?;
    let script = Script::new(RECOVER);
    let mut moved = 0;
    for worker in &workers {
        let n: u64 = script
            .key(worker_key(ns, worker))
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
