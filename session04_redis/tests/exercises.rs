//! Session 04's graded exercises. `cargo xtask grade 4` runs these; each test's name starts
//! with its exercise's id (`ex04_2_...` belongs to exercise 4.2), which is how the grader
//! adds up the points in `exercises.toml`. The tests of 4.2 to 4.4 start a redis-server
//! of their own each.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use session04_redis::RedisServer;
use session04_redis::exercises::{AckOutcome, HoldError, Lease, ListQueue, Reclaimed, StreamId};
use tokio::sync::oneshot;
use tokio::time::timeout;

/// How long a test waits for something that should happen within milliseconds.
const PATIENCE: Duration = Duration::from_secs(5);

// ---- 4.1 stream ids

fn id(text: &str) -> StreamId {
    text.parse()
        .unwrap_or_else(|error| panic!("{text:?} should parse: {error}"))
}

#[test]
fn ex04_1_parses_both_forms() {
    assert_eq!(
        id("1700000000000-5"),
        StreamId {
            ms: 1_700_000_000_000,
            seq: 5
        }
    );
    assert_eq!(
        id("1700000000000"),
        StreamId {
            ms: 1_700_000_000_000,
            seq: 0
        }
    );
    assert_eq!(id("0-0"), StreamId { ms: 0, seq: 0 });
    assert_eq!(id("0"), StreamId { ms: 0, seq: 0 });
    assert_eq!(id("007-01"), StreamId { ms: 7, seq: 1 });
    assert_eq!(
        id("18446744073709551615-18446744073709551615"),
        StreamId {
            ms: u64::MAX,
            seq: u64::MAX
        }
    );
}

#[test]
fn ex04_1_rejects_what_is_not_an_id() {
    assert!("".parse::<StreamId>().is_err(), "an empty text");
    for text in [
        "-",
        "5-",
        "-5",
        "+5",
        "5-+1",
        "-5-1",
        "1-2-3",
        "5--1",
        "5-a",
        "a",
        "a-5",
        " 5",
        "5 ",
        "5- 1",
        "1.5",
        "0x10",
        "1_000",
        "٣-1",
        "*",
        "$",
        ">",
        "18446744073709551616",
        "1-18446744073709551616",
        "99999999999999999999999-0",
    ] {
        match text.parse::<StreamId>() {
            Ok(parsed) => panic!("{text:?} is not a stream id, but parsed as {parsed:?}"),
            Err(message) => assert!(
                message.contains(text.trim()),
                "the message for {text:?} should quote it: {message:?}"
            ),
        }
    }
}

#[test]
fn ex04_1_displays_as_ms_dash_seq() {
    assert_eq!(id("1700000000000-5").to_string(), "1700000000000-5");
    assert_eq!(id("1700000000000").to_string(), "1700000000000-0");
    assert_eq!(id("007-01").to_string(), "7-1");
    let max = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };
    assert_eq!(max.to_string(), "18446744073709551615-18446744073709551615");
    for original in [max, StreamId { ms: 12, seq: 34 }, StreamId::default()] {
        assert_eq!(id(&original.to_string()), original, "a round trip");
    }
}

#[test]
fn ex04_1_orders_by_number_not_by_text() {
    let mut ids: Vec<StreamId> = [
        "10-0",
        "9-100",
        "1700000000000-1",
        "9-99",
        "1700000000000",
        "9",
        "10-1",
    ]
    .into_iter()
    .map(id)
    .collect();
    ids.sort();
    let sorted: Vec<String> = ids.iter().map(ToString::to_string).collect();
    assert_eq!(
        sorted,
        [
            "9-0",
            "9-99",
            "9-100",
            "10-0",
            "10-1",
            "1700000000000-0",
            "1700000000000-1"
        ]
    );
    assert!(id("9-18446744073709551615") < id("10"));
}

#[test]
fn ex04_1_next_is_the_smallest_larger_id() {
    assert_eq!(id("5-1").next(), Some(id("5-2")));
    assert_eq!(id("5").next(), Some(id("5-1")));
    assert_eq!(id("5-18446744073709551615").next(), Some(id("6-0")));
    assert_eq!(
        id("18446744073709551615-18446744073709551614").next(),
        Some(id("18446744073709551615-18446744073709551615"))
    );
    assert_eq!(id("18446744073709551615-18446744073709551615").next(), None);
    for text in ["0-0", "3-7", "4-18446744073709551615"] {
        let current = id(text);
        let next = current.next().expect("a next id");
        assert!(next > current, "{next} should come after {current}");
    }
}

// ---- the list queue, for 4.2 to 4.4

/// A redis-server of the test's own, and a queue on it.
async fn queue(lease_ms: u64, max_attempts: u32) -> (RedisServer, ListQueue) {
    let server = RedisServer::start_async().await.unwrap();
    let queue = ListQueue::connect(&server.url(), "q", lease_ms, max_attempts)
        .await
        .unwrap();
    (server, queue)
}

/// Enqueues each of `ids`, then reserves them all (in that order), with `lease_ms` leases.
async fn reserved(queue: &ListQueue, ids: &[&str]) -> Vec<Lease> {
    for id in ids {
        queue
            .enqueue(id, &format!("payload of {id}"))
            .await
            .unwrap();
    }
    let mut leases = Vec::new();
    for id in ids {
        let lease = queue.reserve().await.unwrap().expect("a ready task");
        assert_eq!(lease.id, *id);
        leases.push(lease);
    }
    leases
}

/// Takes task `id` back from its worker and leases it again: what a sweep and another
/// worker's `reserve` do once the lease has run out. Returns the new lease.
async fn take_over(queue: &ListQueue, id: &str) -> Lease {
    let task = queue.task_key(id);
    redis::pipe()
        .atomic()
        .zrem(queue.leases_key(), id)
        .hset(&task, "state", "ready")
        .hdel(&task, "token")
        .rpush(queue.ready_key(), id)
        .exec_async(&mut queue.connection())
        .await
        .unwrap();
    let lease = queue.reserve().await.unwrap().expect("the task again");
    assert_eq!(lease.id, id);
    lease
}

/// Now by Redis's clock, in Unix milliseconds.
async fn redis_now(queue: &ListQueue) -> u64 {
    let (secs, micros): (u64, u64) = redis::cmd("TIME")
        .query_async(&mut queue.connection())
        .await
        .unwrap();
    secs * 1000 + micros / 1000
}

/// Sets the lease deadline of task `id`.
async fn set_deadline(queue: &ListQueue, id: &str, deadline_ms: u64) {
    let _: () = queue
        .connection()
        .zadd(queue.leases_key(), id, deadline_ms)
        .await
        .unwrap();
}

/// The lease deadline of task `id`, if it is in `Q:leases`.
async fn deadline(queue: &ListQueue, id: &str) -> Option<u64> {
    queue
        .connection()
        .zscore(queue.leases_key(), id)
        .await
        .unwrap()
}

/// The members of `Q:leases`, earliest deadline first.
async fn leased(queue: &ListQueue) -> Vec<String> {
    queue
        .connection()
        .zrange(queue.leases_key(), 0, -1)
        .await
        .unwrap()
}

/// The whole list at `key`, left to right.
async fn list(queue: &ListQueue, key: &str) -> Vec<String> {
    queue.connection().lrange(key, 0, -1).await.unwrap()
}

/// The `done` counter of `Q:stats` (0 when absent).
async fn done_count(queue: &ListQueue) -> u64 {
    let count: Option<u64> = queue
        .connection()
        .hget(queue.stats_key(), "done")
        .await
        .unwrap();
    count.unwrap_or(0)
}

fn field<'a>(task: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    task.get(name).map(String::as_str)
}

// ---- 4.2 acknowledging

#[tokio::test]
async fn ex04_2_acks_the_current_lease() {
    let (_server, queue) = queue(60_000, 3).await;
    let [lease] = &reserved(&queue, &["t1"]).await[..] else {
        unreachable!()
    };
    assert_eq!(
        queue.ack(lease, "done: 3 tiles").await.unwrap(),
        AckOutcome::Acked,
        "the current lease holder acknowledges"
    );
    let task = queue.task("t1").await.unwrap();
    assert_eq!(
        field(&task, "state"),
        Some("done"),
        "the task is done: {task:?}"
    );
    assert_eq!(
        field(&task, "result"),
        Some("done: 3 tiles"),
        "the result is stored: {task:?}"
    );
    assert_eq!(
        field(&task, "token"),
        None,
        "the token is removed: {task:?}"
    );
    assert_eq!(
        field(&task, "payload"),
        Some("payload of t1"),
        "the payload stays: {task:?}"
    );
    assert!(
        leased(&queue).await.is_empty(),
        "the task leaves Q:leases: {:?}",
        leased(&queue).await
    );
    assert_eq!(done_count(&queue).await, 1, "Q:stats counts one done task");
}

#[tokio::test]
async fn ex04_2_a_second_ack_counts_once() {
    let (_server, queue) = queue(60_000, 3).await;
    let leases = reserved(&queue, &["t1", "t2"]).await;
    assert_eq!(
        queue.ack(&leases[0], "first").await.unwrap(),
        AckOutcome::Acked
    );
    assert_eq!(
        queue.ack(&leases[0], "second").await.unwrap(),
        AckOutcome::AlreadyDone,
        "acknowledging a done task again (a retry after a lost reply) changes nothing"
    );
    let task = queue.task("t1").await.unwrap();
    assert_eq!(
        field(&task, "result"),
        Some("first"),
        "the second ack must not overwrite the result: {task:?}"
    );
    assert_eq!(done_count(&queue).await, 1, "a task is counted once");
    assert_eq!(leased(&queue).await, ["t2"], "the other lease is untouched");
    assert_eq!(
        queue.ack(&leases[1], "t2").await.unwrap(),
        AckOutcome::Acked
    );
    assert_eq!(
        done_count(&queue).await,
        2,
        "two tasks done, each counted once"
    );
}

#[tokio::test]
async fn ex04_2_a_stale_lease_is_refused() {
    let (_server, queue) = queue(60_000, 3).await;
    let [stale] = &reserved(&queue, &["t1"]).await[..] else {
        unreachable!()
    };
    let current = take_over(&queue, "t1").await;
    assert_ne!(stale.token, current.token, "each lease has its own token");
    assert_eq!(
        queue.ack(stale, "late").await.unwrap(),
        AckOutcome::LeaseLost,
        "a worker whose lease was taken back must be refused"
    );
    let task = queue.task("t1").await.unwrap();
    assert_eq!(
        (
            field(&task, "state"),
            field(&task, "token"),
            field(&task, "result")
        ),
        (Some("leased"), Some(current.token.as_str()), None),
        "a refused ack changes nothing: {task:?}"
    );
    assert_eq!(leased(&queue).await, ["t1"], "the task stays leased");
    assert_eq!(done_count(&queue).await, 0, "nothing is counted");
    assert_eq!(
        queue.ack(&current, "on time").await.unwrap(),
        AckOutcome::Acked
    );
    assert_eq!(
        queue.ack(stale, "late").await.unwrap(),
        AckOutcome::AlreadyDone,
        "once the task is done, any later ack is told so"
    );
    let task = queue.task("t1").await.unwrap();
    assert_eq!(field(&task, "result"), Some("on time"), "{task:?}");
    assert_eq!(done_count(&queue).await, 1, "a task is counted once");
}

#[tokio::test]
async fn ex04_2_an_unreserved_task_cannot_be_acked() {
    let (_server, queue) = queue(60_000, 3).await;
    queue.enqueue("t1", "waiting").await.unwrap();
    for id in ["t1", "no-such-task"] {
        let lease = Lease {
            id: id.to_owned(),
            token: "1".to_owned(),
            deadline_ms: 0,
        };
        assert_eq!(
            queue.ack(&lease, "result").await.unwrap(),
            AckOutcome::LeaseLost,
            "task {id:?} was never reserved: an ack with a made-up token must be refused"
        );
    }
    let task = queue.task("t1").await.unwrap();
    assert_eq!(field(&task, "state"), Some("ready"), "{task:?}");
    assert_eq!(field(&task, "result"), None, "{task:?}");
    assert_eq!(
        queue.task("no-such-task").await.unwrap(),
        BTreeMap::new(),
        "an ack must not create a task"
    );
    assert_eq!(list(&queue, &queue.ready_key()).await, ["t1"]);
    assert_eq!(done_count(&queue).await, 0, "nothing is counted");
}

// ---- 4.3 reclaiming expired leases

#[tokio::test]
async fn ex04_3_requeues_expired_leases() {
    let (_server, queue) = queue(60_000, 3).await;
    reserved(&queue, &["a", "b", "c", "d"]).await;
    let now = redis_now(&queue).await;
    set_deadline(&queue, "b", 1_000).await;
    set_deadline(&queue, "a", 2_000).await;
    set_deadline(&queue, "d", now.saturating_sub(1)).await;
    set_deadline(&queue, "c", now + 60_000).await;
    assert_eq!(
        queue.reclaim().await.unwrap(),
        Reclaimed {
            requeued: vec!["b".into(), "a".into(), "d".into()],
            dead: vec![],
        },
        "the three leases whose deadline has passed, earliest first"
    );
    assert_eq!(leased(&queue).await, ["c"], "only the live lease stays");
    for id in ["a", "b", "d"] {
        let task = queue.task(id).await.unwrap();
        assert_eq!(
            (
                field(&task, "state"),
                field(&task, "attempts"),
                field(&task, "token")
            ),
            (Some("ready"), Some("1"), None),
            "task {id}: ready again, one attempt used, no token: {task:?}"
        );
    }
    let task = queue.task("c").await.unwrap();
    assert_eq!(
        (field(&task, "state"), field(&task, "attempts")),
        (Some("leased"), None),
        "the live lease is untouched: {task:?}"
    );
    assert!(field(&task, "token").is_some(), "{task:?}");
    for id in ["b", "a", "d"] {
        let lease = queue.reserve().await.unwrap().expect("a requeued task");
        assert_eq!(
            lease.id, id,
            "requeued tasks are reserved in the order found"
        );
    }
    assert_eq!(queue.reserve().await.unwrap(), None, "and nothing else");
}

#[tokio::test]
async fn ex04_3_dead_letters_at_max_attempts() {
    let (_server, queue) = queue(60_000, 2).await;
    reserved(&queue, &["a", "b"]).await;
    let _: () = queue
        .connection()
        .hset(queue.task_key("a"), "attempts", 1)
        .await
        .unwrap();
    set_deadline(&queue, "a", 1_000).await;
    set_deadline(&queue, "b", 2_000).await;
    assert_eq!(
        queue.reclaim().await.unwrap(),
        Reclaimed {
            requeued: vec!["b".into()],
            dead: vec!["a".into()],
        },
        "with 2 attempts allowed, a task whose lease runs out a second time is dead"
    );
    let task = queue.task("a").await.unwrap();
    assert_eq!(
        (
            field(&task, "state"),
            field(&task, "attempts"),
            field(&task, "token")
        ),
        (Some("dead"), Some("2"), None),
        "{task:?}"
    );
    assert_eq!(list(&queue, &queue.ready_key()).await, ["b"]);
    assert_eq!(list(&queue, &queue.dead_key()).await, ["a"]);
    queue.reserve().await.unwrap().expect("b again");
    set_deadline(&queue, "b", 3_000).await;
    assert_eq!(
        queue.reclaim().await.unwrap(),
        Reclaimed {
            requeued: vec![],
            dead: vec!["b".into()],
        }
    );
    assert_eq!(
        list(&queue, &queue.dead_key()).await,
        ["a", "b"],
        "Q:dead lists the dead, oldest first"
    );
    assert!(leased(&queue).await.is_empty());
    assert!(list(&queue, &queue.ready_key()).await.is_empty());
}

#[tokio::test]
async fn ex04_3_nothing_expired_changes_nothing() {
    let (_server, queue) = queue(60_000, 3).await;
    assert_eq!(
        queue.reclaim().await.unwrap(),
        Reclaimed::default(),
        "an empty queue"
    );
    reserved(&queue, &["a"]).await;
    queue.enqueue("b", "waiting").await.unwrap();
    assert_eq!(
        queue.reclaim().await.unwrap(),
        Reclaimed::default(),
        "a lease of a minute has not run out yet"
    );
    assert_eq!(leased(&queue).await, ["a"]);
    assert_eq!(list(&queue, &queue.ready_key()).await, ["b"]);
    assert_eq!(field(&queue.task("a").await.unwrap(), "attempts"), None);
}

/// What Redis ran while `queue.reclaim()` did, as `(source, command)` pairs: `MONITOR`
/// shows each command with its client's address, or `lua` for a command a script ran.
async fn monitored_reclaim(server: &RedisServer, queue: &ListQueue) -> Vec<(String, String)> {
    const MARK: &str = "end-of-reclaim";
    let mut monitor = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    monitor
        .send_packed_command(&redis::cmd("MONITOR").get_packed_command())
        .unwrap();
    monitor.recv_response().unwrap();
    monitor.set_read_timeout(Some(PATIENCE)).unwrap();
    queue.reclaim().await.unwrap();
    let _: String = redis::cmd("ECHO")
        .arg(MARK)
        .query_async(&mut queue.connection())
        .await
        .unwrap();
    tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        loop {
            let line: String = redis::from_redis_value(monitor.recv_response().unwrap()).unwrap();
            if line.contains(MARK) {
                return seen;
            }
            // `1700000000.123456 [0 127.0.0.1:5555] "EVALSHA" "..."`
            let (_, rest) = line.split_once(" [").unwrap();
            let (source, rest) = rest.split_once("] ").unwrap();
            let command = rest.split('"').nth(1).unwrap_or_default().to_uppercase();
            let source = source.split_once(' ').map_or(source, |(_, s)| s).to_owned();
            seen.push((source, command));
        }
    })
    .await
    .unwrap()
}

/// The commands that load or run a script (or a Redis Function), as `MONITOR` names them.
const SCRIPT_COMMANDS: [&str; 7] = [
    "EVAL",
    "EVALSHA",
    "EVAL_RO",
    "EVALSHA_RO",
    "SCRIPT",
    "FCALL",
    "FUNCTION",
];

#[tokio::test]
async fn ex04_3_is_one_script_call() {
    let (server, queue) = queue(60_000, 3).await;
    reserved(&queue, &["a", "b", "c"]).await;
    for (id, deadline) in [("a", 1_000), ("b", 2_000), ("c", 3_000)] {
        set_deadline(&queue, id, deadline).await;
    }
    let seen = timeout(PATIENCE, monitored_reclaim(&server, &queue))
        .await
        .expect("MONITOR showed the reclaim in time");
    let outside: Vec<&str> = seen
        .iter()
        .filter(|(source, _)| source != "lua")
        .map(|(_, command)| command.as_str())
        .collect();
    assert!(
        outside
            .iter()
            .all(|command| SCRIPT_COMMANDS.contains(command)),
        "reclaim must be one Lua script: the client sent {outside:?}, and every command \
         other than the script's (EVAL, EVALSHA, SCRIPT, FCALL, FUNCTION) could let an ack \
         or another sweep in between"
    );
    let inside: Vec<&str> = seen
        .iter()
        .filter(|(source, _)| source == "lua")
        .map(|(_, command)| command.as_str())
        .collect();
    assert!(
        inside.contains(&"TIME"),
        "the script reads the time from Redis (`TIME`); it ran {inside:?}"
    );
    assert_eq!(leased(&queue).await, Vec::<String>::new());
}

// ---- 4.4 renewing leases

#[tokio::test]
async fn ex04_4_renew_pushes_the_deadline() {
    let (_server, queue) = queue(10_000, 3).await;
    let [lease] = &reserved(&queue, &["t1"]).await[..] else {
        unreachable!()
    };
    set_deadline(&queue, "t1", 5_000).await;
    let before = redis_now(&queue).await;
    let renewed = queue.renew(lease).await.unwrap();
    let after = redis_now(&queue).await;
    let renewed = renewed.expect("the current lease holder may renew");
    assert!(
        (before + 10_000..=after + 10_000).contains(&renewed),
        "the new deadline is Redis's TIME plus the lease (10 s): between {} and {}, not {renewed}",
        before + 10_000,
        after + 10_000
    );
    assert_eq!(
        deadline(&queue, "t1").await,
        Some(renewed),
        "Q:leases holds the new deadline"
    );
}

#[tokio::test]
async fn ex04_4_renew_refuses_a_lease_that_is_not_current() {
    let (_server, queue) = queue(10_000, 3).await;
    let [stale] = &reserved(&queue, &["t1"]).await[..] else {
        unreachable!()
    };
    let current = take_over(&queue, "t1").await;
    assert_eq!(
        queue.renew(stale).await.unwrap(),
        None,
        "a lease that was taken back cannot be renewed"
    );
    assert_eq!(
        deadline(&queue, "t1").await,
        Some(current.deadline_ms),
        "a refused renewal leaves the current lease's deadline alone"
    );
    let _: () = queue
        .connection()
        .hset(queue.task_key("t1"), "state", "done")
        .await
        .unwrap();
    assert_eq!(
        queue.renew(&current).await.unwrap(),
        None,
        "a task that is done has no lease to renew"
    );
}

#[tokio::test]
async fn ex04_4_hold_returns_when_the_work_ends() {
    let (_server, queue) = queue(10_000, 3).await;
    let [lease] = &reserved(&queue, &["t1"]).await[..] else {
        unreachable!()
    };
    set_deadline(&queue, "t1", 5_000).await;
    let output = timeout(
        PATIENCE,
        // The work is not ready at its first poll, as real work never is: a renewal that
        // is ready at once (`interval` ticks at the start) then always runs first.
        queue.hold(lease, Duration::from_secs(3600), async {
            tokio::task::yield_now().await;
            7
        }),
    )
    .await
    .expect("hold returns as soon as the work ends, without waiting for a renewal");
    assert_eq!(output.unwrap(), 7, "hold returns the work's output");
    assert_eq!(
        deadline(&queue, "t1").await,
        Some(5_000),
        "work that ends at once needs no renewal: the first comes `every` after the start"
    );
}

#[tokio::test]
async fn ex04_4_hold_refuses_a_zero_interval() {
    let (_server, queue) = queue(10_000, 3).await;
    let [lease] = &reserved(&queue, &["t1"]).await[..] else {
        unreachable!()
    };
    set_deadline(&queue, "t1", 5_000).await;
    let started = std::cell::Cell::new(false);
    let work = async {
        started.set(true);
        7
    };
    let outcome = timeout(PATIENCE, queue.hold(lease, Duration::ZERO, work))
        .await
        .expect("hold refuses a zero interval at once");
    assert!(
        matches!(outcome, Err(HoldError::ZeroInterval)),
        "renewing every 0 s is refused with HoldError::ZeroInterval, got {outcome:?}"
    );
    assert!(
        !started.get(),
        "on a zero interval, the work is not started"
    );
    assert_eq!(
        deadline(&queue, "t1").await,
        Some(5_000),
        "on a zero interval, nothing is sent to Redis: the deadline stays"
    );
}

#[tokio::test]
async fn ex04_4_hold_renews_while_the_work_runs() {
    let (_server, queue) = queue(10_000, 3).await;
    let [lease] = &reserved(&queue, &["t1"]).await[..] else {
        unreachable!()
    };
    let (finish, finished) = oneshot::channel::<u32>();
    let holder = tokio::spawn({
        let (queue, lease) = (queue.clone(), lease.clone());
        async move {
            let work = async { finished.await.unwrap() };
            queue.hold(&lease, Duration::from_millis(20), work).await
        }
    });
    let (mut last, mut pushes) = (lease.deadline_ms, 0);
    let give_up = Instant::now() + PATIENCE;
    while pushes < 3 {
        assert!(!holder.is_finished(), "hold ended before the work did");
        assert!(
            Instant::now() < give_up,
            "the lease should be renewed every 20 ms while the work runs: its deadline \
             moved {pushes} times in {PATIENCE:?}"
        );
        let now = deadline(&queue, "t1").await.expect("the task stays leased");
        if now > last {
            (last, pushes) = (now, pushes + 1);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    finish.send(42).unwrap();
    let output = timeout(PATIENCE, holder)
        .await
        .expect("hold returns once the work ends")
        .unwrap();
    assert_eq!(output.unwrap(), 42, "hold returns the work's output");
}

#[tokio::test]
async fn ex04_4_hold_reports_a_lost_lease() {
    let (_server, queue) = queue(10_000, 3).await;
    let [lease] = &reserved(&queue, &["t1"]).await[..] else {
        unreachable!()
    };
    // The work never ends by itself; `dropped` hears when it is dropped.
    let (guard, dropped) = oneshot::channel::<()>();
    let holder = tokio::spawn({
        let (queue, lease) = (queue.clone(), lease.clone());
        async move {
            let work = async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            };
            queue.hold(&lease, Duration::from_millis(20), work).await
        }
    });
    // Once the lease has been renewed, another worker takes the task over.
    let give_up = Instant::now() + PATIENCE;
    while deadline(&queue, "t1").await == Some(lease.deadline_ms) {
        assert!(!holder.is_finished(), "hold ended before the work did");
        assert!(
            Instant::now() < give_up,
            "the lease should be renewed every 20 ms while the work runs"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    take_over(&queue, "t1").await;
    let outcome = timeout(PATIENCE, holder)
        .await
        .expect("hold must stop at the first renewal after the lease was taken over")
        .unwrap();
    match outcome {
        Err(HoldError::LeaseLost(id)) => assert_eq!(id, "t1", "the error names the task"),
        other => panic!("expected HoldError::LeaseLost(\"t1\"), got {other:?}"),
    }
    assert!(
        timeout(PATIENCE, dropped).await.is_ok(),
        "hold must drop the work when the lease is lost"
    );
}
