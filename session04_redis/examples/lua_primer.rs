//! The Lua primer's example: a tiny library of Redis functions (`lua_primer.lua`), loaded
//! with session 04's [`Library`] and called a few times, printing what each call replied.
//!
//! It needs a Redis: `REDIS_URL=redis://127.0.0.1:6379 cargo run -p session04_redis
//! --example lua_primer`. It deletes its own keys (`primer:*`) first, so every run prints
//! the same lines, and it leaves them afterwards for you to look at with `redis-cli`.

use anyhow::{Context, Result};
use redis::aio::ConnectionManager;
use session04_redis::functions::Library;

// ANCHOR: library
/// The library, compiled into the program and sent to Redis with `FUNCTION LOAD`.
const PRIMER: Library = Library::new(include_str!("lua_primer.lua"));
// ANCHOR_END: library

const UPLOADS: &str = "primer:uploads";
const TODO: &str = "primer:todo";
const DONE: &str = "primer:done";
const STAMPS: &str = "primer:stamps";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    // ANCHOR: connect
    let Ok(url) = std::env::var("REDIS_URL") else {
        eprintln!("REDIS_URL is not set: start a Redis (redis-server --port 6379)");
        eprintln!("and run this again with REDIS_URL=redis://127.0.0.1:6379");
        std::process::exit(2);
    };
    let client = redis::Client::open(url.as_str()).context("REDIS_URL is not a Redis URL")?;
    let mut conn = ConnectionManager::new(client)
        .await
        .context("cannot reach the Redis at REDIS_URL")?;
    // ANCHOR_END: connect

    // ANCHOR: load
    // A clean start: the same lines on every run.
    redis::cmd("DEL")
        .arg(&[UPLOADS, TODO, DONE, STAMPS])
        .exec_async(&mut conn)
        .await?;
    PRIMER.load(&mut conn).await?;
    println!("loaded the Lua library `primer`");
    // ANCHOR_END: load

    // ANCHOR: take
    for cap in ["3", "3", "3", "3", "lots"] {
        let mut call = PRIMER.call("primer_take", &[UPLOADS]);
        call.arg(cap);
        match PRIMER.run::<i64>(&conn, &call).await {
            Ok(count) => println!("primer_take cap={cap}: {UPLOADS} is now {count}"),
            Err(error) => println!(
                "primer_take cap={cap}: refused, code {}: {}",
                error.code().unwrap_or("?"),
                error.detail().unwrap_or("?")
            ),
        }
    }
    // ANCHOR_END: take

    // ANCHOR: move
    redis::cmd("RPUSH")
        .arg(TODO)
        .arg(&["chelsea.png", "coffee.png"])
        .exec_async(&mut conn)
        .await?;
    let count = PRIMER.call("primer_count", &[TODO]);
    let waiting: i64 = PRIMER.run(&conn, &count).await?;
    println!("primer_count: {TODO} holds {waiting} items");
    for _ in 0..3 {
        let call = PRIMER.call("primer_move", &[TODO, DONE, STAMPS]);
        match PRIMER.run::<Option<(String, i64)>>(&conn, &call).await? {
            Some((item, ms)) => println!("primer_move: {item} to {DONE} at {ms} ms"),
            None => println!("primer_move: {TODO} is empty, nothing moved"),
        }
    }
    // ANCHOR_END: move

    let done: Vec<String> = redis::cmd("LRANGE")
        .arg(DONE)
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await?;
    println!("{DONE} holds {}", done.join(", "));
    Ok(())
}
