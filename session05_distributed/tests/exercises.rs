//! Session 05's graded exercises. `cargo xtask grade 5` runs these; each test's name starts
//! with its exercise's id (`ex05_2_...` belongs to exercise 5.2), which is how the grader
//! adds up the points in `exercises.toml`. Every test starts a redis-server of its own
//! (session 04's `RedisServer`), so tests never see each other's keys.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use session04_redis::RedisServer;
use session05_distributed::exercises::{
    Heartbeat, TileReport, acquire_lock, beat_until_stopped, fencing_key, processing_key,
    ready_key, recover_orphans, release_lock, report_tile, tiles_key, worker_key, workers_key,
};
use tokio_util::sync::CancellationToken;

/// The longest any step of a test may take before it fails.
const LIMIT: Duration = Duration::from_secs(5);

const NS: &str = "t";

/// A fresh redis-server and a connection to it.
async fn redis() -> (RedisServer, ConnectionManager) {
    let server = RedisServer::start_async().await.unwrap();
    let conn = connect(&server).await;
    (server, conn)
}

/// Another connection to `server`: another worker, as Redis sees it.
async fn connect(server: &RedisServer) -> ConnectionManager {
    redis::Client::open(server.url())
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap()
}

/// Runs `future` to its end, failing the test after [`LIMIT`].
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {LIMIT:?}"))
}

/// The time to live of `key` in milliseconds: -2 when it does not exist, -1 when it
/// never expires.
async fn pttl(conn: &mut ConnectionManager, key: &str) -> i64 {
    conn.pttl(key).await.unwrap()
}

async fn exists(conn: &mut ConnectionManager, key: &str) -> bool {
    conn.exists(key).await.unwrap()
}

async fn get(conn: &mut ConnectionManager, key: &str) -> Option<String> {
    conn.get(key).await.unwrap()
}

/// What the client sent Redis while `call` ran, checked to be atomic: only script commands
/// (`EVAL`, `EVALSHA`, `SCRIPT`, `FCALL`), `MULTI`...`EXEC` blocks with every command queued
/// inside, and the commands of `also` (reads that need no atomicity). `MONITOR` shows each
/// command with its client's address, or `lua` for a command a script ran.
async fn assert_atomic<T>(
    server: &RedisServer,
    conn: &mut ConnectionManager,
    what: &str,
    also: &[&str],
    call: impl Future<Output = T>,
) -> T {
    const MARK: &str = "end-of-call";
    let mut monitor = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    monitor
        .send_packed_command(&redis::cmd("MONITOR").get_packed_command())
        .unwrap();
    monitor.recv_response().unwrap();
    monitor.set_read_timeout(Some(LIMIT)).unwrap();
    let result = within(what, call).await;
    let _: String = redis::cmd("ECHO")
        .arg(MARK)
        .query_async(conn)
        .await
        .unwrap();
    let sent = within(
        "MONITOR",
        tokio::task::spawn_blocking(move || {
            let mut sent = Vec::new();
            loop {
                let line: String =
                    redis::from_redis_value(monitor.recv_response().unwrap()).unwrap();
                if line.contains(MARK) {
                    return sent;
                }
                // `1700000000.123456 [0 127.0.0.1:5555] "EVALSHA" "..."`
                let (_, rest) = line.split_once(" [").unwrap();
                let (source, rest) = rest.split_once("] ").unwrap();
                if !source.ends_with(" lua") {
                    sent.push(rest.split('"').nth(1).unwrap_or_default().to_uppercase());
                }
            }
        }),
    )
    .await
    .unwrap();
    let scripts = [
        "EVAL",
        "EVALSHA",
        "EVAL_RO",
        "EVALSHA_RO",
        "SCRIPT",
        "FCALL",
        "FCALL_RO",
        "FUNCTION",
    ];
    let mut in_multi = false;
    for command in &sent {
        match command.as_str() {
            "MULTI" => in_multi = true,
            "EXEC" | "DISCARD" => in_multi = false,
            _ if in_multi => {}
            c if scripts.contains(&c) || also.contains(&c) => {}
            c => panic!(
                "{what} must be one atomic step: it sent {c} on its own (all it sent: \
                 {sent:?}); another client could run between that and the next command"
            ),
        }
    }
    result
}

// ---- 5.1 a heartbeat

fn heartbeat(record: &str, every: Duration, ttl: Duration) -> Heartbeat {
    Heartbeat {
        key: worker_key(NS, "w1"),
        record: record.to_owned(),
        every,
        ttl,
    }
}

#[tokio::test]
async fn ex05_1_beats_until_stopped_then_leaves() {
    let (_server, mut conn) = redis().await;
    let beat = heartbeat(
        "host-a sharpen,blur",
        Duration::from_millis(50),
        Duration::from_secs(1),
    );
    let key = beat.key.clone();
    let stop = CancellationToken::new();
    let task = tokio::spawn(beat_until_stopped(conn.clone(), beat, stop.clone()));

    // Each beat puts the time to live back up: watch it go up three times.
    let deadline = Instant::now() + LIMIT;
    let (mut refreshes, mut last) = (0, None);
    while refreshes < 3 {
        if task.is_finished() {
            let result = task.await;
            panic!("beat_until_stopped ended before it was stopped: {result:?}");
        }
        let ttl = pttl(&mut conn, &key).await;
        if last.is_some() {
            assert!(
                ttl > 0,
                "the heartbeat key expired: rewrite it every `every`, each time with the TTL"
            );
        }
        if ttl > 0 {
            assert!(
                ttl <= 1_000,
                "the key lives {ttl} ms, longer than the TTL of 1000 ms (PX takes milliseconds)"
            );
            assert_eq!(
                get(&mut conn, &key).await.as_deref(),
                Some("host-a sharpen,blur"),
                "the key holds the record"
            );
            if last.is_some_and(|last| ttl > last) {
                refreshes += 1;
            }
            last = Some(ttl);
        }
        assert!(
            Instant::now() < deadline,
            "the heartbeat's TTL was refreshed {refreshes} times within {LIMIT:?}, not 3"
        );
        tokio::time::sleep(Duration::from_millis(7)).await;
    }

    stop.cancel();
    let result = within("beat_until_stopped after the stop", task).await;
    assert!(
        matches!(result, Ok(Ok(()))),
        "a clean stop returns Ok(()): {result:?}"
    );
    assert!(
        !exists(&mut conn, &key).await,
        "a worker that stops cleanly deletes its heartbeat key"
    );
}

#[tokio::test]
async fn ex05_1_beats_at_once_and_stops_without_waiting_out_the_interval() {
    let (_server, mut conn) = redis().await;
    let hour = Duration::from_secs(3600);
    let beat = heartbeat("host-b all", hour, 2 * hour);
    let key = beat.key.clone();
    let stop = CancellationToken::new();
    let task = tokio::spawn(beat_until_stopped(conn.clone(), beat, stop.clone()));

    let deadline = Instant::now() + LIMIT;
    while !exists(&mut conn, &key).await {
        assert!(
            Instant::now() < deadline,
            "no heartbeat within {LIMIT:?} of the start, with beats every hour: beat at once"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(get(&mut conn, &key).await.as_deref(), Some("host-b all"));
    let ttl = pttl(&mut conn, &key).await;
    assert!(
        (3_600_000..=7_200_000).contains(&ttl),
        "the key lives {ttl} ms: its TTL is 2 hours, in milliseconds with PX"
    );

    stop.cancel();
    let result = within(
        "beat_until_stopped, stopped in the middle of an hour-long interval,",
        task,
    )
    .await;
    assert!(
        matches!(result, Ok(Ok(()))),
        "a clean stop returns Ok(()): {result:?}"
    );
    assert!(
        !exists(&mut conn, &key).await,
        "a worker that stops cleanly deletes its heartbeat key"
    );
}

#[tokio::test]
async fn ex05_1_a_failed_write_ends_the_loop() {
    let (_server, conn) = redis().await;
    // Redis refuses `SET ... PX 0`: the first write fails, as the spec says.
    let beat = heartbeat("host-c", Duration::from_millis(10), Duration::ZERO);
    let stop = CancellationToken::new();
    let result = within(
        "beat_until_stopped with a write that fails",
        beat_until_stopped(conn, beat, stop),
    )
    .await;
    assert!(
        result.is_err(),
        "a command that fails ends the loop with its error, not Ok"
    );
}

#[tokio::test]
async fn ex05_1_a_zero_interval_is_an_error_before_any_write() {
    let (_server, mut conn) = redis().await;
    let beat = heartbeat("host-d", Duration::ZERO, Duration::from_secs(1));
    let key = beat.key.clone();
    let result = within(
        "beat_until_stopped with a zero interval",
        beat_until_stopped(conn.clone(), beat, CancellationToken::new()),
    )
    .await;
    assert!(
        result.is_err(),
        "a zero `every` is refused with an error: {result:?}"
    );
    assert!(
        !exists(&mut conn, &key).await,
        "a zero `every` is refused before any write: the heartbeat key was written"
    );
}

// ---- 5.2 a lock with fencing tokens

const LOCK: &str = "t:lock:job-7";

#[tokio::test]
async fn ex05_2_one_holder_at_a_time() {
    let (_server, mut conn) = redis().await;
    let ttl = Duration::from_secs(10);
    assert_eq!(acquire_lock(&mut conn, LOCK, ttl).await.unwrap(), Some(1));
    assert_eq!(
        get(&mut conn, LOCK).await.as_deref(),
        Some("1"),
        "the lock key holds its token"
    );
    let left = pttl(&mut conn, LOCK).await;
    assert!(
        (1..=10_000).contains(&left),
        "the lock lives {left} ms: it must expire after the TTL (10 s)"
    );
    assert_eq!(
        acquire_lock(&mut conn, LOCK, ttl).await.unwrap(),
        None,
        "a held lock cannot be taken"
    );
    assert_eq!(
        get(&mut conn, &fencing_key(LOCK)).await.as_deref(),
        Some("1"),
        "a failed attempt must not move the fencing counter"
    );
    assert!(
        release_lock(&mut conn, LOCK, 1).await.unwrap(),
        "the holder releases its lock"
    );
    assert!(!exists(&mut conn, LOCK).await, "a released lock is deleted");
    assert_eq!(
        acquire_lock(&mut conn, LOCK, ttl).await.unwrap(),
        Some(2),
        "the next holder gets the next token"
    );
}

#[tokio::test]
async fn ex05_2_a_late_release_leaves_the_next_holder_alone() {
    let (_server, mut conn) = redis().await;
    let first = acquire_lock(&mut conn, LOCK, Duration::from_millis(50))
        .await
        .unwrap()
        .expect("a free lock is taken");
    // The first holder stalls past its TTL: Redis deletes the lock.
    let deadline = Instant::now() + LIMIT;
    while exists(&mut conn, LOCK).await {
        assert!(
            Instant::now() < deadline,
            "a lock taken for 50 ms still exists after {LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let second = acquire_lock(&mut conn, LOCK, Duration::from_secs(10))
        .await
        .unwrap()
        .expect("an expired lock is free");
    assert!(
        second > first,
        "each holder's token is greater than every earlier holder's: {second} after {first}"
    );
    assert!(
        !release_lock(&mut conn, LOCK, first).await.unwrap(),
        "the first holder woke up late: its release must not succeed"
    );
    assert_eq!(
        get(&mut conn, LOCK).await,
        Some(second.to_string()),
        "a late release deleted the lock of the holder that took it next"
    );
    assert!(release_lock(&mut conn, LOCK, second).await.unwrap());
}

#[tokio::test]
async fn ex05_2_releases_only_with_the_holders_token() {
    let (_server, mut conn) = redis().await;
    assert!(
        !release_lock(&mut conn, LOCK, 1).await.unwrap(),
        "there is no lock to release"
    );
    let token = acquire_lock(&mut conn, LOCK, Duration::from_secs(10))
        .await
        .unwrap()
        .expect("a free lock is taken");
    assert!(
        !release_lock(&mut conn, LOCK, token + 1).await.unwrap(),
        "a release with another token must fail"
    );
    assert_eq!(
        get(&mut conn, LOCK).await,
        Some(token.to_string()),
        "a release with another token must leave the lock alone"
    );
    assert!(release_lock(&mut conn, LOCK, token).await.unwrap());
    assert!(
        !release_lock(&mut conn, LOCK, token).await.unwrap(),
        "a lock is released once"
    );
    // Each lock has its own counter.
    assert_eq!(
        acquire_lock(&mut conn, "t:lock:other", Duration::from_secs(10))
            .await
            .unwrap(),
        Some(1)
    );
}

#[tokio::test]
async fn ex05_2_many_contenders_one_holder_and_tokens_one_by_one() {
    let (server, mut conn) = redis().await;
    let mut contenders = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let mut conn = connect(&server).await;
        contenders
            .spawn(async move { acquire_lock(&mut conn, LOCK, Duration::from_secs(10)).await });
    }
    let won: Vec<u64> = within("16 contenders", contenders.join_all())
        .await
        .into_iter()
        .filter_map(|taken| taken.unwrap())
        .collect();
    assert_eq!(won, [1], "exactly one of 16 contenders takes the lock");
    assert_eq!(
        get(&mut conn, &fencing_key(LOCK)).await.as_deref(),
        Some("1"),
        "failed attempts must not move the fencing counter"
    );
    assert!(release_lock(&mut conn, LOCK, 1).await.unwrap());
    for expected in 2..=11 {
        let token = acquire_lock(&mut conn, LOCK, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(token, Some(expected), "tokens are handed out one by one");
        assert!(release_lock(&mut conn, LOCK, expected).await.unwrap());
    }
}

#[tokio::test]
async fn ex05_2_each_call_is_one_atomic_step() {
    let (server, mut conn) = redis().await;
    let mut other = connect(&server).await;
    let ttl = Duration::from_secs(10);
    let token = assert_atomic(
        &server,
        &mut other,
        "acquire_lock",
        &[],
        acquire_lock(&mut conn, LOCK, ttl),
    )
    .await
    .unwrap();
    assert_eq!(token, Some(1), "a free lock is taken with token 1");
    let released = assert_atomic(
        &server,
        &mut other,
        "release_lock",
        &[],
        release_lock(&mut conn, LOCK, 1),
    )
    .await
    .unwrap();
    assert!(released, "the holder releases its lock");
    assert!(!exists(&mut conn, LOCK).await, "a released lock is deleted");
}

// ---- 5.3 orphans back to the queue

/// Makes worker `id` known, alive or not, holding `tasks` (taken in that order).
async fn worker(conn: &mut ConnectionManager, id: &str, alive: bool, tasks: &[&str]) {
    let () = conn.sadd(workers_key(NS), id).await.unwrap();
    if alive {
        let () = conn.set_ex(worker_key(NS, id), "alive", 60).await.unwrap();
    }
    for task in tasks {
        // What `LMOVE ready processing RIGHT LEFT` leaves: the newest on the left.
        let () = conn.lpush(processing_key(NS, id), task).await.unwrap();
    }
}

/// Queues `tasks`, the first to be taken first.
async fn ready(conn: &mut ConnectionManager, tasks: &[&str]) {
    for task in tasks {
        let () = conn.lpush(ready_key(NS), task).await.unwrap();
    }
}

/// The ready tasks in the order workers will take them (from the right end).
async fn next_tasks(conn: &mut ConnectionManager) -> Vec<String> {
    let mut tasks: Vec<String> = conn.lrange(ready_key(NS), 0, -1).await.unwrap();
    tasks.reverse();
    tasks
}

/// Worker `id`'s tasks, in the order it took them.
async fn held(conn: &mut ConnectionManager, id: &str) -> Vec<String> {
    let mut tasks: Vec<String> = conn.lrange(processing_key(NS, id), 0, -1).await.unwrap();
    tasks.reverse();
    tasks
}

async fn known_workers(conn: &mut ConnectionManager) -> BTreeSet<String> {
    conn.smembers(workers_key(NS)).await.unwrap()
}

#[tokio::test]
async fn ex05_3_a_dead_workers_tasks_are_taken_next_in_order() {
    let (_server, mut conn) = redis().await;
    ready(&mut conn, &["r1", "r2"]).await;
    worker(&mut conn, "dead", false, &["d1", "d2", "d3"]).await;
    let moved = within("recover_orphans", recover_orphans(&mut conn, NS))
        .await
        .unwrap();
    assert_eq!(moved, 3, "three tasks were moved back");
    assert_eq!(
        next_tasks(&mut conn).await,
        ["d1", "d2", "d3", "r1", "r2"],
        "orphans go to the end workers take from, the one taken first still first"
    );
    assert!(
        held(&mut conn, "dead").await.is_empty(),
        "the dead worker's processing list is emptied"
    );
    assert_eq!(
        known_workers(&mut conn).await,
        BTreeSet::new(),
        "a recovered worker leaves the set of workers"
    );
}

#[tokio::test]
async fn ex05_3_live_workers_keep_their_tasks() {
    let (_server, mut conn) = redis().await;
    ready(&mut conn, &["r1"]).await;
    worker(&mut conn, "live", true, &["l1", "l2"]).await;
    worker(&mut conn, "dead", false, &["d1"]).await;
    let moved = within("recover_orphans", recover_orphans(&mut conn, NS))
        .await
        .unwrap();
    assert_eq!(
        held(&mut conn, "live").await,
        ["l1", "l2"],
        "a worker whose heartbeat exists is alive: its tasks stay where they are"
    );
    assert_eq!(moved, 1, "only the dead worker's task was moved");
    assert_eq!(next_tasks(&mut conn).await, ["d1", "r1"]);
    assert_eq!(
        known_workers(&mut conn).await,
        BTreeSet::from(["live".to_owned()]),
        "a live worker stays in the set of workers"
    );
}

#[tokio::test]
async fn ex05_3_nothing_to_recover_changes_nothing() {
    let (_server, mut conn) = redis().await;
    let moved = within("recover_orphans", recover_orphans(&mut conn, NS))
        .await
        .unwrap();
    assert_eq!(moved, 0, "no workers, no orphans");
    ready(&mut conn, &["r1", "r2"]).await;
    worker(&mut conn, "idle-dead", false, &[]).await;
    worker(&mut conn, "dead", false, &["d1"]).await;
    worker(&mut conn, "live", true, &[]).await;
    let moved = within("recover_orphans", recover_orphans(&mut conn, NS))
        .await
        .unwrap();
    assert_eq!(moved, 1);
    assert_eq!(
        known_workers(&mut conn).await,
        BTreeSet::from(["live".to_owned()]),
        "every dead worker leaves the set, with tasks or without"
    );
    let moved = within("recover_orphans", recover_orphans(&mut conn, NS))
        .await
        .unwrap();
    assert_eq!(moved, 0, "a second recovery finds nothing left");
    assert_eq!(
        next_tasks(&mut conn).await,
        ["d1", "r1", "r2"],
        "a second recovery leaves the ready list as it was"
    );
}

#[tokio::test]
async fn ex05_3_many_recoverers_lose_and_double_nothing() {
    let (server, mut conn) = redis().await;
    let mut expected = BTreeSet::new();
    for w in 0..10 {
        let tasks: Vec<String> = (0..100).map(|t| format!("w{w}-t{t:03}")).collect();
        expected.extend(tasks.iter().cloned());
        let tasks: Vec<&str> = tasks.iter().map(String::as_str).collect();
        worker(&mut conn, &format!("w{w}"), false, &tasks).await;
    }
    worker(&mut conn, "live", true, &["l1", "l2", "l3"]).await;

    let mut recoverers = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let mut conn = connect(&server).await;
        recoverers.spawn(async move { recover_orphans(&mut conn, NS).await });
    }
    let moved: u64 = within("6 recoverers at once", recoverers.join_all())
        .await
        .into_iter()
        .map(Result::unwrap)
        .sum();
    assert_eq!(
        moved, 1_000,
        "6 recoverers at once moved {moved} tasks in all, not 1000"
    );
    let next = next_tasks(&mut conn).await;
    assert_eq!(next.len(), 1_000, "each orphan is in the ready list once");
    assert_eq!(
        next.iter().cloned().collect::<BTreeSet<_>>(),
        expected,
        "each orphan is in the ready list once"
    );
    for w in 0..10 {
        let prefix = format!("w{w}-");
        let own: Vec<&String> = next.iter().filter(|t| t.starts_with(&prefix)).collect();
        assert!(
            own.is_sorted(),
            "worker w{w}'s tasks are taken again in the order it took them"
        );
    }
    assert_eq!(held(&mut conn, "live").await, ["l1", "l2", "l3"]);
}

#[tokio::test]
async fn ex05_3_each_workers_check_and_move_is_one_atomic_step() {
    let (server, mut conn) = redis().await;
    let mut other = connect(&server).await;
    ready(&mut conn, &["r1"]).await;
    worker(&mut conn, "live", true, &["l1"]).await;
    worker(&mut conn, "dead", false, &["d1", "d2"]).await;
    let moved = assert_atomic(
        &server,
        &mut other,
        "recover_orphans (each worker's check and move)",
        &["SMEMBERS", "SSCAN"],
        recover_orphans(&mut conn, NS),
    )
    .await
    .unwrap();
    assert_eq!(moved, 2, "the dead worker's two tasks were moved back");
    assert_eq!(next_tasks(&mut conn).await, ["d1", "d2", "r1"]);
    assert_eq!(held(&mut conn, "live").await, ["l1"]);
}

// ---- 5.4 assemble exactly once

#[tokio::test]
async fn ex05_4_the_report_that_completes_the_set_assembles() {
    let (_server, mut conn) = redis().await;
    let mut report = async |tile| report_tile(&mut conn, NS, "job-1", tile, 3).await.unwrap();
    assert_eq!(report(2).await, TileReport::Waiting { done: 1, of: 3 });
    assert_eq!(report(0).await, TileReport::Waiting { done: 2, of: 3 });
    assert_eq!(report(1).await, TileReport::Assemble);
    assert_eq!(
        report(1).await,
        TileReport::AlreadyAssembled,
        "the last tile reported again, after the job was complete"
    );
    assert_eq!(report(0).await, TileReport::AlreadyAssembled);
    let done: BTreeSet<u64> = conn.smembers(tiles_key(NS, "job-1")).await.unwrap();
    assert_eq!(
        done,
        BTreeSet::from([0, 1, 2]),
        "the tiles done are kept in Redis, in the set at tiles_key"
    );
}

#[tokio::test]
async fn ex05_4_a_tile_reported_twice_counts_once() {
    let (_server, mut conn) = redis().await;
    let mut report = async |tile| report_tile(&mut conn, NS, "job-2", tile, 3).await.unwrap();
    assert_eq!(report(0).await, TileReport::Waiting { done: 1, of: 3 });
    assert_eq!(
        report(0).await,
        TileReport::Duplicate,
        "tile 0 reported again: it was done before"
    );
    assert_eq!(
        report(1).await,
        TileReport::Waiting { done: 2, of: 3 },
        "two distinct tiles of three are done: tile 2 is missing"
    );
    assert_eq!(report(1).await, TileReport::Duplicate);
    assert_eq!(report(2).await, TileReport::Assemble);
}

#[tokio::test]
async fn ex05_4_jobs_are_counted_apart() {
    let (_server, mut conn) = redis().await;
    let mut report =
        async |job, tile, tiles| report_tile(&mut conn, NS, job, tile, tiles).await.unwrap();
    assert_eq!(
        report("a", 0, 2).await,
        TileReport::Waiting { done: 1, of: 2 }
    );
    assert_eq!(
        report("b", 0, 2).await,
        TileReport::Waiting { done: 1, of: 2 },
        "job b's tile 0 is not job a's"
    );
    assert_eq!(report("a", 1, 2).await, TileReport::Assemble);
    assert_eq!(report("b", 1, 2).await, TileReport::Assemble);
    assert_eq!(
        report("single", 0, 1).await,
        TileReport::Assemble,
        "a job of one tile is assembled on its first report"
    );
}

#[tokio::test]
async fn ex05_4_many_workers_at_once_assemble_once() {
    let (server, _conn) = redis().await;
    let tiles = 64;
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..8 {
        let mut conn = connect(&server).await;
        workers.spawn(async move {
            let mut reports = Vec::new();
            // Each tile three times in all, by the same worker, in scattered orders: the
            // race between reports of different tiles is what this test looks at.
            for k in 0..tiles * 3 / 8 {
                let tile = (w + 8 * k) * 37 % tiles;
                reports.push(report_tile(&mut conn, NS, "big", tile, tiles).await);
            }
            reports
        });
    }
    let reports: Vec<TileReport> = within("8 workers reporting 192 tiles", workers.join_all())
        .await
        .into_iter()
        .flatten()
        .map(Result::unwrap)
        .collect();
    let assembled = reports
        .iter()
        .filter(|r| **r == TileReport::Assemble)
        .count();
    assert_eq!(assembled, 1, "{assembled} reports were told to assemble");
    let mut counts: Vec<u64> = reports
        .iter()
        .filter_map(|r| match r {
            TileReport::Waiting { done, .. } => Some(*done),
            _ => None,
        })
        .collect();
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..tiles).collect::<Vec<_>>(),
        "each first report of a tile but the last counts one more tile done"
    );
}

#[tokio::test]
async fn ex05_4_add_and_count_are_one_atomic_step() {
    let (server, mut conn) = redis().await;
    let mut other = connect(&server).await;
    for (tile, expected) in [
        (0, TileReport::Waiting { done: 1, of: 2 }),
        (1, TileReport::Assemble),
    ] {
        let report = assert_atomic(
            &server,
            &mut other,
            "report_tile",
            &[],
            report_tile(&mut conn, NS, "job-3", tile, 2),
        )
        .await
        .unwrap();
        assert_eq!(report, expected);
    }
}

#[tokio::test]
async fn ex05_4_a_tile_out_of_range_is_an_error_and_records_nothing() {
    let (_server, mut conn) = redis().await;
    for (tile, tiles) in [(3, 3), (7, 3), (0, 0)] {
        let result = within(
            "report_tile",
            report_tile(&mut conn, NS, "job-4", tile, tiles),
        )
        .await;
        assert!(
            result.is_err(),
            "tile {tile} of a job of {tiles} tiles does not exist: an error, not {result:?}"
        );
    }
    assert!(
        !exists(&mut conn, &tiles_key(NS, "job-4")).await,
        "a tile out of range records nothing"
    );
    assert_eq!(
        report_tile(&mut conn, NS, "job-4", 2, 3).await.unwrap(),
        TileReport::Waiting { done: 1, of: 3 },
        "the errors left nothing behind: tile 2 is the first done"
    );
}
