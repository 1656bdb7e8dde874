//! Exercise 5.4: assemble exactly once.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use redis::RedisResult;
use redis::aio::ConnectionManager;

use super::TileReport;

// ANCHOR: fan_in
/// Exercise 5.4: notes that tile `tile` of job `job` (in namespace `ns`) is done, and says
/// what that means.
///
/// A tiled job of `tiles` tiles (numbered from 0) is assembled once every tile is done. A
/// tile that does not exist (`tile >= tiles`, so any tile when `tiles` is 0) is an error:
/// it returns `Err` and records nothing. Workers on many machines report tiles at once, in any order, and a tile
/// may be reported twice: a worker that finished it and died before saying so, and the
/// one that ran it again. Exactly one report must answer [`TileReport::Assemble`]: the
/// one that completes the set. Two assemblies would write the output twice; none would
/// leave the job waiting forever.
///
/// The tiles done are the set [`tiles_key`](super::tiles_key)`(ns, job)`. A report adds
/// its tile to the set and answers, by the set as that report left it:
///
/// - [`TileReport::AlreadyAssembled`] when every tile was done before this report;
/// - [`TileReport::Duplicate`] when this tile was done before, but not every tile;
/// - [`TileReport::Assemble`] when this report added the last tile missing;
/// - [`TileReport::Waiting`] otherwise, with the number of tiles done and `tiles`.
///
/// Adding and counting must be one atomic step (`MULTI`/`EXEC`, or a Lua script): two
/// workers adding the last two tiles at once must not both see the set complete.
///
/// Checked: during one call, your code may send Redis only script commands
/// (`EVAL`, `EVALSHA`, `SCRIPT LOAD`, `FCALL`, `FUNCTION LOAD`) or a
/// `MULTI`...`EXEC` block whose commands are all queued inside it; any other command fails
/// the test, which names it.
pub async fn report_tile(
    conn: &mut ConnectionManager,
    ns: &str,
    job: &str,
    tile: u64,
    tiles: u64,
) -> RedisResult<TileReport> {
    todo!("exercise 5.4: report_tile")
}
// ANCHOR_END: fan_in
