//! Exercise 5.4: assemble exactly once.

use redis::aio::ConnectionManager;
use redis::{ErrorKind, RedisResult};

use super::{TileReport, tiles_key};

/// Exercise 5.4: notes that tile `tile` of job `job` is done, and says what that means.
pub async fn report_tile(
    conn: &mut ConnectionManager,
    ns: &str,
    job: &str,
    tile: u64,
    tiles: u64,
) -> RedisResult<TileReport> {
    if tile >= tiles {
        return Err((ErrorKind::Client, "no such tile").into());
    }
    let key = tiles_key(ns, job);
    // One transaction: no other report runs between the add and the count.
    let (added, done): (u64, u64) = redis::pipe()
        .atomic()
        .sadd(&key, tile)
        .scard(&key)
        .query_async(conn)
        .await?;
    Ok(match (added == 1, done >= tiles) {
        (true, true) => TileReport::Assemble,
        (false, true) => TileReport::AlreadyAssembled,
        (false, false) => TileReport::Duplicate,
        (true, false) => TileReport::Waiting { done, of: tiles },
    })
}
