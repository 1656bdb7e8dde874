//! Session 03's graded exercises. `cargo xtask grade 3` runs these; each test's name starts
//! with its exercise's id (`ex03_2_...` belongs to exercise 3.2), which is how the grader
//! adds up the points in `exercises.toml`.

use std::time::Duration;

use session02_pipelines::PipelineSpec;
use session03_workers::exercises::{PriorityQueue, backoff, missing_capabilities, percentile};

// ---- 3.1 priority queue

#[test]
fn ex03_1_highest_priority_first() {
    let mut queue = PriorityQueue::new();
    assert!(queue.is_empty());
    queue.push(1, "low");
    queue.push(200, "urgent");
    queue.push(50, "normal");
    assert_eq!(queue.len(), 3);
    assert_eq!(queue.pop(), Some("urgent"));
    assert_eq!(queue.pop(), Some("normal"));
    assert_eq!(queue.pop(), Some("low"));
    assert_eq!(queue.pop(), None);
    assert_eq!(queue.len(), 0);
}

#[test]
fn ex03_1_first_in_first_out_among_equals() {
    let mut queue = PriorityQueue::new();
    for i in 0..10 {
        queue.push(if i % 2 == 0 { 5 } else { 9 }, i);
    }
    let order: Vec<i32> = std::iter::from_fn(|| queue.pop()).collect();
    assert_eq!(order, [1, 3, 5, 7, 9, 0, 2, 4, 6, 8]);
}

#[test]
fn ex03_1_interleaved_pushes_and_pops() {
    let mut queue = PriorityQueue::default();
    queue.push(0, 'a');
    queue.push(0, 'b');
    assert_eq!(queue.pop(), Some('a'));
    queue.push(255, 'z');
    queue.push(0, 'c');
    assert_eq!(queue.pop(), Some('z'));
    assert_eq!(queue.pop(), Some('b'));
    assert_eq!(queue.len(), 1);
    assert_eq!(queue.pop(), Some('c'));
    assert!(queue.is_empty());
}

#[test]
fn ex03_1_stays_fast_with_many_items() {
    // A million items with few priorities: a scan per call would take hours, and the
    // grader stops it.
    let mut queue = PriorityQueue::new();
    for i in 0..1_000_000u32 {
        queue.push((i % 3) as u8, i);
    }
    let mut last = [None::<u32>; 3];
    let mut expected_priority = 2;
    for _ in 0..1_000_000 {
        let item = queue.pop().expect("an item");
        let priority = (item % 3) as usize;
        assert!(
            priority <= expected_priority,
            "priority {priority} after a lower one"
        );
        expected_priority = priority;
        if let Some(previous) = last[priority] {
            assert!(item > previous, "{item} came out after {previous}");
        }
        last[priority] = Some(item);
    }
    assert!(queue.is_empty());
}

// ---- 3.2 backoff

const BASE: Duration = Duration::from_millis(100);
const CAP: Duration = Duration::from_secs(10);

/// Equal to a microsecond: floating-point and integer answers may differ in the last digits.
fn assert_close(got: Duration, expected_ms: u64, what: &str) {
    let expected = Duration::from_millis(expected_ms);
    let gap = got.abs_diff(expected);
    assert!(
        gap <= Duration::from_micros(1),
        "{what}: {got:?}, expected {expected:?}"
    );
}

#[test]
fn ex03_2_ceiling_doubles_per_attempt() {
    let almost_one = 1.0 - 1e-12;
    assert_close(backoff(1, BASE, CAP, 0.0), 50, "attempt 1, random 0");
    let top = backoff(1, BASE, CAP, almost_one);
    assert!(
        top <= BASE && top > Duration::from_micros(99_990),
        "{top:?}"
    );
    assert_close(backoff(2, BASE, CAP, 0.0), 100, "attempt 2, random 0");
    assert_close(backoff(3, BASE, CAP, 0.0), 200, "attempt 3, random 0");
    assert_close(backoff(4, BASE, CAP, 0.5), 600, "attempt 4, random 0.5");
    // Attempt 0 counts as the first.
    assert_close(backoff(0, BASE, CAP, 0.0), 50, "attempt 0");
}

#[test]
fn ex03_2_capped_and_never_overflowing() {
    assert_close(backoff(8, BASE, CAP, 0.0), 5000, "attempt 8");
    for attempt in [9, 20, 32, 33, 64, 1000, u32::MAX] {
        assert_close(
            backoff(attempt, BASE, CAP, 0.5),
            7500,
            &format!("attempt {attempt}"),
        );
    }
    let huge = backoff(
        u32::MAX,
        Duration::from_secs(u64::MAX / 4),
        Duration::MAX,
        0.0,
    );
    assert!(huge >= Duration::MAX / 3, "{huge:?}");
}

#[test]
fn ex03_2_jitter_spreads_within_half_to_full_ceiling() {
    for attempt in 1..=12u32 {
        let ceiling = (BASE * 2u32.pow(attempt - 1)).min(CAP);
        let mut previous = Duration::ZERO;
        for step in 0..10 {
            let random = f64::from(step) / 10.0;
            let wait = backoff(attempt, BASE, CAP, random);
            let slack = Duration::from_micros(1);
            assert!(
                wait + slack >= ceiling / 2 && wait <= ceiling + slack,
                "attempt {attempt}, random {random}: {wait:?}"
            );
            assert!(wait >= previous, "more randomness never waits less");
            previous = wait;
        }
    }
}

// ---- 3.3 percentiles

fn ms(values: &[u64]) -> Vec<Duration> {
    values.iter().map(|&v| Duration::from_millis(v)).collect()
}

#[test]
fn ex03_3_nearest_rank_by_definition() {
    let samples = ms(&[15, 20, 35, 40, 50]);
    let p = |q| percentile(&samples, q).map(|d| d.as_millis());
    assert_eq!(p(0.05), Some(15));
    assert_eq!(p(0.30), Some(20));
    assert_eq!(p(0.40), Some(20));
    assert_eq!(p(0.50), Some(35));
    assert_eq!(p(1.0), Some(50));
    assert_eq!(p(0.0), Some(15));
}

#[test]
fn ex03_3_unsorted_input_left_alone() {
    let samples = ms(&[9, 1, 8, 2, 7, 3, 6, 4, 5, 10]);
    let before = samples.clone();
    assert_eq!(percentile(&samples, 0.95), Some(Duration::from_millis(10)));
    assert_eq!(percentile(&samples, 0.9), Some(Duration::from_millis(9)));
    assert_eq!(percentile(&samples, 0.5), Some(Duration::from_millis(5)));
    assert_eq!(percentile(&samples, 0.11), Some(Duration::from_millis(2)));
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
        assert!(at_most >= q * 1000.0 - 1e-9, "q {q}: {got:?}");
        assert!(
            below < q * 1000.0 - 1e-9,
            "q {q}: {got:?} is not the smallest"
        );
    }
}

#[test]
fn ex03_3_no_answer_without_samples_or_with_a_bad_q() {
    assert_eq!(percentile(&[], 0.5), None);
    let samples = ms(&[1, 2, 3]);
    assert_eq!(percentile(&samples, -0.1), None);
    assert_eq!(percentile(&samples, 1.5), None);
    assert_eq!(percentile(&samples, f64::NAN), None);
    assert_eq!(
        percentile(&ms(&[42]), 0.95),
        Some(Duration::from_millis(42))
    );
}

// ---- 3.4 capability check

fn pipeline(text: &str) -> PipelineSpec {
    PipelineSpec::parse(text).expect("a valid spec")
}

#[test]
fn ex03_4_missing_filters_in_pipeline_order() {
    let spec = pipeline("resize:width=100|sharpen|blur:sigma=2|median|edges");
    assert_eq!(
        missing_capabilities(&spec, &["resize", "blur", "brightness"]),
        ["sharpen", "median", "edges"]
    );
    assert_eq!(
        missing_capabilities(&spec, &["edges", "median", "sharpen"]),
        ["resize", "blur"]
    );
}

#[test]
fn ex03_4_each_missing_filter_once() {
    let spec = pipeline("blur:sigma=1|sharpen|blur:sigma=3|sharpen:amount=2|invert");
    assert_eq!(
        missing_capabilities(&spec, &["invert"]),
        ["blur", "sharpen"]
    );
}

#[test]
fn ex03_4_able_workers_and_the_wildcard() {
    let spec = pipeline("resize:width=100|blur:sigma=2");
    assert!(missing_capabilities(&spec, &["blur", "resize"]).is_empty());
    assert!(missing_capabilities(&spec, &["*"]).is_empty());
    assert!(missing_capabilities(&spec, &["edges", "*"]).is_empty());
    assert!(
        missing_capabilities(
            &PipelineSpec {
                filters: Vec::new()
            },
            &[]
        )
        .is_empty()
    );
    assert_eq!(missing_capabilities(&spec, &[]), ["resize", "blur"]);
}
