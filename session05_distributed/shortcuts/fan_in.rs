//! Shortcut for exercise 5.4: a counter of reports (`INCR`) instead of a set of tiles. A
//! tile reported twice counts twice and the job is assembled before its last tile is done:
//! `ex05_4_a_tile_reported_twice_counts_once` catches it.

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, RedisResult};

use super::{TileReport, tiles_key};

/// Exercise 5.4: notes that tile `tile` of job `job` is done, and says what that means.
pub async fn report_tile(
    conn: &mut ConnectionManager,
    ns: &str,
    job: &str,
    tile: u64,
    tiles: u64,
) -> RedisResult<TileReport> {
    let _ = tile;
    let done: u64 = conn
        .incr(format!("{}:count", tiles_key(ns, job)), 1)
        .await?;
    Ok(match done.cmp(&tiles) {
        std::cmp::Ordering::Less => TileReport::Waiting { done, of: tiles },
        std::cmp::Ordering::Equal => TileReport::Assemble,
        std::cmp::Ordering::Greater => TileReport::AlreadyAssembled,
    })
}
