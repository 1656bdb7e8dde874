//! Session 03's graded exercises. `cargo xtask grade 3` runs these; each test's name starts
//! with its exercise's id (`ex03_2_...` belongs to exercise 3.2), which is how the grader
//! adds up the points in `exercises.toml`.
//!
//! The async tests run on tokio's paused clock: `sleep` and `timeout` take no real time,
//! the clock jumps to the next timer whenever every task waits, and each wait of a test has
//! a deadline on that clock, so an answer that hangs fails at once instead of hanging.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use session03_workers::exercises::{AttemptError, SingleFlight, fan_out, percentile, retry};
use tokio::sync::watch;
use tokio::time::{Instant, sleep};

/// Longer than any answer needs: on the paused clock it passes in no real time.
const DEADLINE: Duration = Duration::from_secs(3600);

/// Awaits `future`, or fails the test with `what` when the deadline passes first.
async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(DEADLINE, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: still waiting after an hour (of the test's clock)"))
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

// ---- 3.1 bounded fan-out

/// Counts the calls running now, the most that ever ran at once, and all calls made.
#[derive(Debug, Default)]
struct Gauge {
    now: AtomicUsize,
    most: AtomicUsize,
    calls: AtomicUsize,
}

impl Gauge {
    fn enter(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }

    fn most(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// One call's future, boxed so every call has the same type.
type Call = Pin<Box<dyn Future<Output = Result<u32, String>> + Send>>;

/// A call on item `(id, millis)` that takes `millis` of the clock and returns `id`; items
/// in `failing` fail instead.
fn timed_call(gauge: &Arc<Gauge>, failing: &'static [u32]) -> impl FnMut((u32, u64)) -> Call {
    let gauge = Arc::clone(gauge);
    move |(id, millis)| {
        let gauge = Arc::clone(&gauge);
        Box::pin(async move {
            gauge.enter();
            sleep(ms(millis)).await;
            gauge.leave();
            if failing.contains(&id) {
                Err(format!("item {id} failed"))
            } else {
                Ok(id)
            }
        })
    }
}

#[tokio::test(start_paused = true)]
async fn ex03_1_results_in_input_order() {
    let gauge = Arc::new(Gauge::default());
    // Later items finish first.
    let items: Vec<(u32, u64)> = (0..8).map(|id| (id, 100 - 10 * u64::from(id))).collect();
    let results = within("fan_out", fan_out(items, 3, timed_call(&gauge, &[]))).await;
    let expected: Vec<Result<u32, String>> = (0..8).map(Ok).collect();
    assert_eq!(
        results, expected,
        "one result per item, in the order of the items (not the order the calls finish)"
    );
}

#[tokio::test(start_paused = true)]
async fn ex03_1_never_more_than_limit_at_once() {
    let gauge = Arc::new(Gauge::default());
    let items: Vec<(u32, u64)> = (0..20).map(|id| (id, 10)).collect();
    let results = within("fan_out", fan_out(items, 4, timed_call(&gauge, &[]))).await;
    assert_eq!(results.len(), 20, "one result per item");
    assert_eq!(gauge.calls(), 20, "every item is called once");
    assert!(
        gauge.most() <= 4,
        "a limit of 4, but {} calls ran at once",
        gauge.most()
    );
    assert_eq!(
        gauge.most(),
        4,
        "20 items and a limit of 4: 4 calls should run at once (are they run one by one?)"
    );
}

#[tokio::test(start_paused = true)]
async fn ex03_1_a_failure_does_not_stop_the_rest() {
    let gauge = Arc::new(Gauge::default());
    let items: Vec<(u32, u64)> = (0..10).map(|id| (id, 5 + u64::from(id % 3))).collect();
    let results = within("fan_out", fan_out(items, 3, timed_call(&gauge, &[3, 7]))).await;
    assert_eq!(gauge.calls(), 10, "every item is called, failures or not");
    let expected: Vec<Result<u32, String>> = (0..10)
        .map(|id| {
            if id == 3 || id == 7 {
                Err(format!("item {id} failed"))
            } else {
                Ok(id)
            }
        })
        .collect();
    assert_eq!(
        results, expected,
        "a failed call's error is its item's result"
    );
}

#[tokio::test(start_paused = true)]
async fn ex03_1_a_slow_call_does_not_hold_up_the_rest() {
    // Item 0 finishes only once the 5 others have: a window that refills as each call ends
    // gets there; batches of `limit` wait for item 0 forever.
    let (finished, watcher) = watch::channel(0usize);
    let finished = Arc::new(finished);
    let call = move |id: u32| {
        let finished = Arc::clone(&finished);
        let mut watcher = watcher.clone();
        async move {
            if id == 0 {
                watcher
                    .wait_for(|n| *n == 5)
                    .await
                    .map_err(|e| e.to_string())?;
            } else {
                sleep(ms(10)).await;
                finished.send_modify(|n| *n += 1);
            }
            Ok::<u32, String>(id)
        }
    };
    let results = within(
        "a slow call held up the items after it (does a new call start as soon as one ends?)",
        fan_out((0..6).collect(), 2, call),
    )
    .await;
    assert_eq!(results, (0..6).map(Ok).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn ex03_1_no_items_a_zero_limit_and_a_large_one() {
    let gauge = Arc::new(Gauge::default());
    let none = within("no items", fan_out(Vec::new(), 3, timed_call(&gauge, &[]))).await;
    assert!(none.is_empty(), "no items, no results");

    let items: Vec<(u32, u64)> = (0..5).map(|id| (id, 10)).collect();
    let results = within("limit 0", fan_out(items, 0, timed_call(&gauge, &[]))).await;
    assert_eq!(
        results,
        (0..5).map(Ok).collect::<Vec<_>>(),
        "a limit of 0 counts as 1"
    );
    assert_eq!(gauge.most(), 1, "a limit of 0 counts as 1");

    let gauge = Arc::new(Gauge::default());
    let items: Vec<(u32, u64)> = (0..5).map(|id| (id, 10)).collect();
    let results = within("limit 100", fan_out(items, 100, timed_call(&gauge, &[]))).await;
    assert_eq!(results.len(), 5, "one result per item");
    assert_eq!(
        gauge.most(),
        5,
        "5 items under a limit of 100 all run at once"
    );
}

// ---- 3.2 retries with a timeout per attempt

type Attempt = Pin<Box<dyn Future<Output = Result<&'static str, String>>>>;

/// Hangs until dropped, and says so when it is.
struct Hang(Arc<AtomicBool>);

impl Drop for Hang {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn ex03_2_attempts_start_on_schedule() {
    let start = Instant::now();
    let called = Mutex::new(Vec::new());
    let attempt = || -> Attempt {
        let mut called = called.lock().unwrap();
        called.push(start.elapsed().as_millis());
        match called.len() {
            // Hangs: cut at the 1 s timeout.
            1 => Box::pin(std::future::pending()),
            2 => Box::pin(async { Err("refused".to_owned()) }),
            3 => Box::pin(async {
                sleep(ms(50)).await;
                Err("reset".to_owned())
            }),
            _ => Box::pin(async {
                sleep(ms(10)).await;
                Ok("done")
            }),
        }
    };
    let result = within(
        "retry (is each attempt cut at its timeout?)",
        retry(&[ms(100), ms(200), ms(400)], ms(1000), attempt),
    )
    .await;
    assert_eq!(result, Ok("done"), "the fourth attempt succeeds");
    assert_eq!(
        *called.lock().unwrap(),
        [0, 1100, 1300, 1750],
        "the milliseconds at which each attempt started: the first at once; each next one \
         the wait after the previous ended (failed, or cut at the 1000 ms timeout)"
    );
}

#[tokio::test(start_paused = true)]
async fn ex03_2_a_hung_attempt_is_cut_at_its_timeout() {
    let dropped = Arc::new(AtomicBool::new(false));
    let calls = AtomicUsize::new(0);
    let start = Instant::now();
    let attempt = || -> Attempt {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            let hang = Hang(Arc::clone(&dropped));
            Box::pin(async move {
                let _hang = hang;
                std::future::pending().await
            })
        } else {
            let was_dropped = dropped.load(Ordering::SeqCst);
            let at = start.elapsed();
            Box::pin(async move {
                if !was_dropped {
                    return Err("the hung attempt was still alive".to_owned());
                }
                assert_eq!(
                    at,
                    ms(5000),
                    "the second attempt starts when the first times out"
                );
                Ok("second")
            })
        }
    };
    let result = within(
        "retry with a hung first attempt (is each attempt cut at its timeout?)",
        retry(&[Duration::ZERO], ms(5000), attempt),
    )
    .await;
    assert_eq!(
        result,
        Ok("second"),
        "the hung attempt must be dropped at its timeout, before the next starts"
    );
}

#[tokio::test(start_paused = true)]
async fn ex03_2_every_error_in_order() {
    let calls = AtomicUsize::new(0);
    let attempt = || -> Attempt {
        match calls.fetch_add(1, Ordering::SeqCst) {
            0 => Box::pin(async {
                sleep(ms(500)).await;
                Ok("too late")
            }),
            n => Box::pin(async move { Err(format!("failure {n}")) }),
        }
    };
    let start = Instant::now();
    let result = within("retry", retry(&[ms(10), ms(20)], ms(100), attempt)).await;
    assert_eq!(
        result,
        Err(vec![
            AttemptError::TimedOut,
            AttemptError::Failed("failure 1".to_owned()),
            AttemptError::Failed("failure 2".to_owned()),
        ]),
        "3 attempts (2 waits + 1): each attempt's error, in order"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3, "2 waits allow 3 attempts");
    assert_eq!(
        start.elapsed(),
        ms(130),
        "the timeout and the 2 waits: no wait before the first attempt or after the last"
    );
}

#[tokio::test(start_paused = true)]
async fn ex03_2_success_at_once_and_no_waits() {
    let calls = AtomicUsize::new(0);
    let start = Instant::now();
    let result = within(
        "retry",
        retry(&[ms(100), ms(100)], ms(1000), || -> Attempt {
            calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok("first") })
        }),
    )
    .await;
    assert_eq!(result, Ok("first"));
    assert_eq!(calls.load(Ordering::SeqCst), 1, "a success is not retried");
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "no wait before the first attempt"
    );

    let calls = AtomicUsize::new(0);
    let result = within(
        "retry",
        retry(&[], ms(1000), || -> Attempt {
            calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Err("no".to_owned()) })
        }),
    )
    .await;
    assert_eq!(result, Err(vec![AttemptError::Failed("no".to_owned())]));
    assert_eq!(calls.load(Ordering::SeqCst), 1, "no waits: one attempt");
}

// ---- 3.3 percentiles

fn millis(values: &[u64]) -> Vec<Duration> {
    values.iter().map(|&v| ms(v)).collect()
}

#[test]
fn ex03_3_nearest_rank_by_definition() {
    let samples = millis(&[15, 20, 35, 40, 50]);
    let p = |q| percentile(&samples, q);
    assert_eq!(p(0.05), Some(ms(15)), "q 0.05 of [15, 20, 35, 40, 50] ms");
    assert_eq!(p(0.30), Some(ms(20)), "q 0.30 of [15, 20, 35, 40, 50] ms");
    assert_eq!(p(0.40), Some(ms(20)), "q 0.40 of [15, 20, 35, 40, 50] ms");
    assert_eq!(p(0.50), Some(ms(35)), "q 0.50 of [15, 20, 35, 40, 50] ms");
    assert_eq!(p(1.0), Some(ms(50)), "q 1 of [15, 20, 35, 40, 50] ms");
    assert_eq!(p(0.0), Some(ms(15)), "q 0 of [15, 20, 35, 40, 50] ms");
}

#[test]
fn ex03_3_exact_to_the_nanosecond() {
    // A histogram keeps 3 significant digits; the answer is one of the samples, exactly.
    let samples: Vec<Duration> = [1_234_567_891, 987_654_321, 5_555_555, 42, 123_456_789]
        .into_iter()
        .map(Duration::from_nanos)
        .collect();
    let at = |nanos| Some(Duration::from_nanos(nanos));
    assert_eq!(
        percentile(&samples, 0.5),
        at(123_456_789),
        "the median, exactly"
    );
    assert_eq!(
        percentile(&samples, 0.95),
        at(1_234_567_891),
        "the p95, exactly"
    );
    assert_eq!(percentile(&samples, 0.2), at(42), "the p20, exactly");
}

#[test]
fn ex03_3_unsorted_input_left_alone() {
    let samples = millis(&[9, 1, 8, 2, 7, 3, 6, 4, 5, 10]);
    let before = samples.clone();
    assert_eq!(
        percentile(&samples, 0.95),
        Some(ms(10)),
        "q 0.95 of 1..=10 ms"
    );
    assert_eq!(percentile(&samples, 0.9), Some(ms(9)), "q 0.9 of 1..=10 ms");
    assert_eq!(percentile(&samples, 0.5), Some(ms(5)), "q 0.5 of 1..=10 ms");
    assert_eq!(
        percentile(&samples, 0.11),
        Some(ms(2)),
        "q 0.11 of 1..=10 ms"
    );
    assert_eq!(samples, before, "the samples must not be reordered");
}

#[test]
fn ex03_3_matches_the_definition_on_many_samples() {
    // A scrambled 1..=1000: the q-th percentile is the smallest value v with
    // count(samples <= v) >= q * n.
    let samples: Vec<Duration> = (0..1000u64)
        .map(|i| Duration::from_micros((i * 7919) % 1000 + 1))
        .collect();
    for q in [0.001, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999] {
        let got = percentile(&samples, q).expect("a value");
        let at_most = samples.iter().filter(|s| **s <= got).count() as f64;
        let below = samples.iter().filter(|s| **s < got).count() as f64;
        assert!(
            at_most >= q * 1000.0 - 1e-9,
            "q {q}: {got:?} has fewer than {q} of the samples at or below it"
        );
        assert!(
            below < q * 1000.0 - 1e-9,
            "q {q}: {got:?} is not the smallest such sample"
        );
    }
}

#[test]
fn ex03_3_no_answer_without_samples_or_with_a_bad_q() {
    assert_eq!(percentile(&[], 0.5), None, "no samples");
    let samples = millis(&[1, 2, 3]);
    assert_eq!(percentile(&samples, -0.1), None, "q -0.1");
    assert_eq!(percentile(&samples, 1.5), None, "q 1.5");
    assert_eq!(percentile(&samples, f64::NAN), None, "q NaN");
    assert_eq!(percentile(&millis(&[42]), 0.95), Some(ms(42)), "one sample");
}

// ---- 3.4 single-flight loading

#[tokio::test(start_paused = true)]
async fn ex03_4_one_load_for_many_callers() {
    let cache = Arc::new(SingleFlight::<&'static str, u64>::new());
    let loads = Arc::new(AtomicUsize::new(0));
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let cache = Arc::clone(&cache);
        let loads = Arc::clone(&loads);
        callers.spawn(async move {
            cache
                .get("chelsea.png", || async move {
                    loads.fetch_add(1, Ordering::SeqCst);
                    sleep(ms(100)).await;
                    Ok::<u64, String>(42)
                })
                .await
        });
    }
    let results = within("10 callers of one key", callers.join_all()).await;
    assert_eq!(
        results,
        vec![Ok(42); 10],
        "every caller gets the loaded value"
    );
    assert_eq!(
        loads.load(Ordering::SeqCst),
        1,
        "10 callers of one key at once: the loader must run once"
    );
}

#[tokio::test(start_paused = true)]
async fn ex03_4_a_stored_value_is_not_loaded_again() {
    let cache = SingleFlight::<String, u64>::default();
    let first = within(
        "get",
        cache.get("a.png".to_owned(), || async { Ok::<u64, String>(7) }),
    )
    .await;
    assert_eq!(first, Ok(7));
    let loaded_again = AtomicBool::new(false);
    let second = within(
        "get",
        cache.get("a.png".to_owned(), || async {
            loaded_again.store(true, Ordering::SeqCst);
            Ok::<u64, String>(8)
        }),
    )
    .await;
    assert_eq!(second, Ok(7), "the stored value, not a new load");
    assert!(
        !loaded_again.load(Ordering::SeqCst),
        "a stored key must not load again"
    );
    let other = within(
        "get",
        cache.get("b.png".to_owned(), || async { Ok::<u64, String>(9) }),
    )
    .await;
    assert_eq!(other, Ok(9), "another key has its own value");
}

#[tokio::test(start_paused = true)]
async fn ex03_4_different_keys_load_at_the_same_time() {
    // Key a's load finishes only once key b's load has started.
    let cache = Arc::new(SingleFlight::<&'static str, u64>::new());
    let (a_started, mut a_started_rx) = watch::channel(false);
    let (b_started, b_started_rx) = watch::channel(false);
    let a = tokio::spawn({
        let cache = Arc::clone(&cache);
        let mut b_started_rx = b_started_rx.clone();
        async move {
            cache
                .get("a.png", || async move {
                    a_started.send_replace(true);
                    b_started_rx
                        .wait_for(|s| *s)
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok::<u64, String>(1)
                })
                .await
        }
    });
    within("key a's load to start", a_started_rx.wait_for(|s| *s))
        .await
        .expect("key a's load started");
    let b = tokio::spawn({
        let cache = Arc::clone(&cache);
        async move {
            cache
                .get("b.png", || async move {
                    b_started.send_replace(true);
                    Ok::<u64, String>(2)
                })
                .await
        }
    });
    let what = "key b waited for key a's load (is a lock held while a load runs?)";
    let b = within(what, b).await.expect("no panic");
    let a = within(what, a).await.expect("no panic");
    assert_eq!((a, b), (Ok(1), Ok(2)));
}

#[tokio::test(start_paused = true)]
async fn ex03_4_a_failed_load_is_not_stored() {
    let cache = SingleFlight::<&'static str, u64>::new();
    let failed = within(
        "get",
        cache.get("a.png", || async {
            Err::<u64, _>("store unavailable".to_owned())
        }),
    )
    .await;
    assert_eq!(
        failed,
        Err("store unavailable".to_owned()),
        "the load's error"
    );
    let retried = within("get", cache.get("a.png", || async { Ok::<u64, String>(5) })).await;
    assert_eq!(
        retried,
        Ok(5),
        "after a failed load, the next caller loads again"
    );
    let stored = within("get", cache.get("a.png", || async { Ok::<u64, String>(6) })).await;
    assert_eq!(stored, Ok(5), "a successful load is stored");
}

#[tokio::test(start_paused = true)]
async fn ex03_4_a_waiting_caller_loads_after_a_failure() {
    let cache = Arc::new(SingleFlight::<&'static str, u64>::new());
    let (started, mut started_rx) = watch::channel(false);
    let first = tokio::spawn({
        let cache = Arc::clone(&cache);
        async move {
            cache
                .get("a.png", || async move {
                    started.send_replace(true);
                    sleep(ms(100)).await;
                    Err::<u64, _>("store unavailable".to_owned())
                })
                .await
        }
    });
    within("the first load to start", started_rx.wait_for(|s| *s))
        .await
        .expect("the first load started");
    // The second caller comes while the first load runs, and waits for it.
    let second = within(
        "a caller waiting on a load that fails",
        cache.get("a.png", || async { Ok::<u64, String>(5) }),
    )
    .await;
    let first = within("the failing load", first).await.expect("no panic");
    assert_eq!(
        first,
        Err("store unavailable".to_owned()),
        "the failed load's caller gets its error"
    );
    assert_eq!(
        second,
        Ok(5),
        "a caller that waited on a failed load runs its own load"
    );
}
