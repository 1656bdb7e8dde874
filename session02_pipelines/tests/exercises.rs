//! Session 02's graded exercises. `cargo xtask grade 2` runs these; each test's name starts
//! with its exercise's id (`ex02_3_...` belongs to exercise 2.3), which is how the grader
//! adds up the points in `exercises.toml`.
//!
//! Tests that need calls to overlap make each call wait for the others, through
//! [`wait_until`], which gives up at a deadline: a wrong answer fails, it never hangs.

use std::cell::Cell;
use std::collections::HashSet;
use std::ops::{Add, Sub};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use session02_pipelines::exercises::{Band, halo_bands, parallel_map, stages, window_sums};

/// How long a test waits for calls that should run at the same time. A right answer gets
/// there in milliseconds; a wrong one pays this once per test (the waits share it).
const PATIENCE: Duration = Duration::from_secs(5);

/// Polls `ready` until it holds (true) or `deadline` passes (false).
fn wait_until(deadline: Instant, ready: impl Fn() -> bool) -> bool {
    while !ready() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

// ---- 2.1 an ordered parallel map

#[test]
fn ex02_1_results_come_back_in_input_order() {
    let items: Vec<u64> = (0..200).collect();
    for workers in [0, 1, 3, 16, 500] {
        // Later items are quicker, so they tend to finish first.
        let got = parallel_map(&items, workers, |&x| {
            (0..(200 - x) * 50).fold(x, |acc, i| acc ^ i)
                ^ (0..(200 - x) * 50).fold(0, |a, i| a ^ i)
        });
        let want: Vec<Result<u64, String>> = items.iter().map(|&x| Ok(x)).collect();
        assert_eq!(
            got, want,
            "{workers} workers: results in the order of the items"
        );
    }
    let none: &[u64] = &[];
    assert!(
        parallel_map(none, 4, |&x| x).is_empty(),
        "no items, no results"
    );
}

#[test]
fn ex02_1_a_panic_fails_its_item_alone() {
    let calls = AtomicUsize::new(0);
    let items: Vec<u32> = (0..20).collect();
    // The panics below are expected: the test output shows them, then the test passes.
    let got = parallel_map(&items, 3, |&x| {
        calls.fetch_add(1, Ordering::Relaxed);
        match x {
            7 => panic!("cannot decode image {x}"),
            13 => panic!("a bug in the filter"),
            17 => std::panic::panic_any(17),
            _ => x * 2,
        }
    });
    assert_eq!(calls.into_inner(), 20, "every item is called once");
    assert_eq!(got.len(), 20, "one result per item");
    assert_eq!(
        got[7],
        Err("cannot decode image 7".to_owned()),
        "a `String` panic"
    );
    assert_eq!(
        got[13],
        Err("a bug in the filter".to_owned()),
        "a `&str` panic"
    );
    assert_eq!(got[17], Err("panicked".to_owned()), "a panic with no text");
    for (x, result) in got.iter().enumerate() {
        if ![7, 13, 17].contains(&x) {
            assert_eq!(result, &Ok(x as u32 * 2), "item {x} did not panic");
        }
    }
}

#[test]
fn ex02_1_exactly_workers_run_at_once() {
    // One worker more than rayon's pool has threads (one per core): an answer that ignores
    // `workers` never gets them all running.
    let workers = rayon::current_num_threads() + 1;
    let deadline = Instant::now() + PATIENCE;
    let (in_flight, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let threads = Mutex::new(HashSet::<ThreadId>::new());
    let items: Vec<usize> = (0..3 * workers).collect();
    parallel_map(&items, workers, |_| {
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        peak.fetch_max(now, Ordering::SeqCst);
        threads.lock().unwrap().insert(std::thread::current().id());
        // Each call waits until `workers` calls have run at once.
        wait_until(deadline, || peak.load(Ordering::SeqCst) >= workers);
        in_flight.fetch_sub(1, Ordering::SeqCst);
    });
    let peak = peak.into_inner();
    assert_eq!(
        peak, workers,
        "with {workers} workers, {peak} calls ran at the same time at most: expected {workers}"
    );
    let threads = threads.into_inner().unwrap().len();
    assert!(
        threads <= workers,
        "{threads} different threads made the calls, for {workers} workers"
    );
}

#[test]
fn ex02_1_a_slow_item_does_not_hold_up_the_others() {
    let deadline = Instant::now() + PATIENCE;
    let done = AtomicUsize::new(0);
    let items: Vec<usize> = (0..12).collect();
    // Item 0 is slow: it lasts until all the others are done, by the other worker.
    let got = parallel_map(&items, 2, |&x| {
        let waited = x != 0 || wait_until(deadline, || done.load(Ordering::SeqCst) == 11);
        done.fetch_add(1, Ordering::SeqCst);
        waited
    });
    assert_eq!(
        got[0],
        Ok(true),
        "while one worker was busy with item 0, the other did not take every other item: \
         each worker should take the next item nobody has taken yet"
    );
}

// ---- 2.2 sliding window sums

/// The obvious version: every window added up.
fn brute_force(row: &[u32], channels: usize, radius: usize) -> Vec<u32> {
    let width = row.len() / channels;
    (0..row.len())
        .map(|i| {
            let (x, c) = ((i / channels) as isize, i % channels);
            (x - radius as isize..=x + radius as isize)
                .map(|sx| row[sx.clamp(0, width as isize - 1) as usize * channels + c])
                .sum()
        })
        .collect()
}

fn noise(len: usize, seed: u32) -> Vec<u32> {
    (0..len as u32)
        .map(|i| u32::from(((i.wrapping_mul(2_654_435_761) ^ seed) >> 7) as u8))
        .collect()
}

/// A number that counts every addition and subtraction made with it.
#[derive(Debug, Clone, Copy)]
struct Counted<'a> {
    value: i64,
    operations: &'a Cell<usize>,
}

impl Add for Counted<'_> {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        self.operations.set(self.operations.get() + 1);
        Counted {
            value: self.value + other.value,
            ..self
        }
    }
}

impl Sub for Counted<'_> {
    type Output = Self;
    fn sub(self, other: Self) -> Self {
        self.operations.set(self.operations.get() + 1);
        Counted {
            value: self.value - other.value,
            ..self
        }
    }
}

#[test]
fn ex02_2_window_sums_match_adding_every_term() {
    for channels in [1, 3, 4] {
        for width in [1, 2, 5, 31] {
            for radius in [0, 1, 2, 7, 40] {
                let row = noise(width * channels, (width * 31 + radius) as u32);
                assert_eq!(
                    window_sums(&row, channels, radius),
                    brute_force(&row, channels, radius),
                    "{channels} channels, {width} pixels, radius {radius}"
                );
            }
        }
    }
}

#[test]
fn ex02_2_the_edges_repeat() {
    // One channel: [10, 20, 30], radius 1: [10+10+20, 10+20+30, 20+30+30].
    assert_eq!(window_sums(&[10, 20, 30], 1, 1), vec![40, 60, 80]);
    // Radius far beyond the row: every window is mostly edge pixels.
    assert_eq!(window_sums(&[0, 255], 1, 3), vec![255 * 3, 255 * 4]);
    assert!(window_sums::<u32>(&[], 3, 2).is_empty());
}

#[test]
fn ex02_2_the_work_does_not_grow_with_the_radius() {
    for (channels, width, radius) in [(3, 2_000, 500), (1, 300, 2_000), (4, 1_000, 5)] {
        let operations = Cell::new(0);
        let values = noise(channels * width, 7);
        let row: Vec<Counted<'_>> = values
            .iter()
            .map(|&v| Counted {
                value: i64::from(v),
                operations: &operations,
            })
            .collect();
        let sums: Vec<u32> = window_sums(&row, channels, radius)
            .iter()
            .map(|sum| sum.value as u32)
            .collect();
        assert_eq!(sums, brute_force(&values, channels, radius));
        let (used, allowed) = (
            operations.get(),
            4 * row.len() + channels * (2 * radius + 1),
        );
        assert!(
            used <= allowed,
            "{used} additions and subtractions for {} samples, radius {radius}: at most \
             {allowed} allowed (slide the window instead of adding it up again)",
            row.len()
        );
    }
}

// ---- 2.3 bands with halos

fn check_bands(height: usize, bands: usize, halo: usize) {
    let got = halo_bands(height, bands, halo);
    let context = format!("height {height}, {bands} bands, halo {halo}: {got:?}");
    assert_eq!(got.len(), bands.min(height), "number of bands, {context}");
    let mut next = 0;
    let lengths: Vec<usize> = got.iter().map(|b| b.write.len()).collect();
    for Band { read, write } in &got {
        assert_eq!(write.start, next, "bands follow each other, {context}");
        assert!(!write.is_empty(), "no empty band, {context}");
        assert_eq!(read.start, write.start.saturating_sub(halo), "{context}");
        assert_eq!(read.end, (write.end + halo).min(height), "{context}");
        next = write.end;
    }
    assert_eq!(next, if got.is_empty() { 0 } else { height }, "{context}");
    if let (Some(max), Some(min)) = (lengths.iter().max(), lengths.iter().min()) {
        assert!(
            max - min <= 1,
            "band lengths differ by one at most, {context}"
        );
        assert!(
            lengths.windows(2).all(|w| w[0] >= w[1]),
            "longer bands first, {context}"
        );
    }
}

#[test]
fn ex02_3_bands_cover_the_rows_evenly() {
    for height in [1, 2, 7, 100, 2160] {
        for bands in [1, 2, 3, 8, 16] {
            for halo in [0, 1, 9] {
                check_bands(height, bands, halo);
            }
        }
    }
}

#[test]
fn ex02_3_a_worked_example() {
    let band = |read, write| Band { read, write };
    assert_eq!(
        halo_bands(10, 3, 2),
        vec![band(0..6, 0..4), band(2..9, 4..7), band(5..10, 7..10)],
        "10 rows in 3 bands, with halos of 2 rows (Band {{ read, write }})"
    );
}

#[test]
fn ex02_3_no_rows_or_no_threads_gives_no_bands() {
    assert!(halo_bands(0, 4, 1).is_empty());
    assert!(halo_bands(5, 0, 1).is_empty());
    assert_eq!(halo_bands(3, 8, 1).len(), 3);
}

// ---- 2.4 stages on threads

#[test]
fn ex02_4_outputs_come_in_input_order() {
    for capacity in [0, 1, 4] {
        let (loaded, saved) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let ahead = AtomicUsize::new(0);
        let mut filtered = Vec::new();
        let mut saves = 0;
        let out = stages(
            (0..50).collect(),
            capacity,
            |x: usize| {
                let started = loaded.fetch_add(1, Ordering::SeqCst) + 1;
                ahead.fetch_max(started - saved.load(Ordering::SeqCst), Ordering::SeqCst);
                format!("image {x}")
            },
            |image: String| {
                filtered.push(image.clone());
                image.to_uppercase()
            },
            |image: String| {
                saves += 1;
                saved.fetch_add(1, Ordering::SeqCst);
                format!("{saves}: {image}")
            },
        );
        let want: Vec<String> = (0..50).map(|x| format!("{}: IMAGE {x}", x + 1)).collect();
        assert_eq!(out, want, "capacity {capacity}: outputs in input order");
        let want: Vec<String> = (0..50).map(|x| format!("image {x}")).collect();
        assert_eq!(
            filtered, want,
            "capacity {capacity}: filter saw the items in order"
        );
        // Saving item s, the others are at most in: two channels, filter, and load.
        let (ahead, most) = (ahead.into_inner(), 2 * capacity + 3);
        assert!(
            ahead <= most,
            "load ran {ahead} items ahead of save with channels of {capacity}: at most \
             {most} (use bounded channels, `sync_channel({capacity})`)"
        );
    }
    let out = stages(Vec::<u8>::new(), 1, |x| x, |x| x, |x| x);
    assert!(out.is_empty(), "no inputs, no outputs");
}

#[test]
fn ex02_4_the_stages_run_at_the_same_time() {
    for capacity in [0, 2] {
        let deadline = Instant::now() + PATIENCE;
        let (loads, filters, saves) = (
            AtomicUsize::new(0),
            AtomicUsize::new(0),
            AtomicUsize::new(0),
        );
        let overlapped = Mutex::new(Vec::new());
        // Each wait below is for another stage to start an item, as it does only when the
        // stages run at the same time.
        let wait = |what: &str, ready: &dyn Fn() -> bool| {
            if !wait_until(deadline, ready) {
                overlapped.lock().unwrap().push(what.to_owned());
            }
        };
        let out = stages(
            (0..6).collect(),
            capacity,
            |x: u32| {
                loads.fetch_add(1, Ordering::SeqCst);
                if x == 1 {
                    wait("load 1 waited for save 0 to start", &|| {
                        saves.load(Ordering::SeqCst) >= 1
                    });
                }
                x
            },
            |x: u32| {
                filters.fetch_add(1, Ordering::SeqCst);
                if x == 0 {
                    wait("filter 0 waited for load 1 to start", &|| {
                        loads.load(Ordering::SeqCst) >= 2
                    });
                }
                x * 10
            },
            |x: u32| {
                saves.fetch_add(1, Ordering::SeqCst);
                if x == 0 {
                    wait("save 0 waited for filter 1 to start", &|| {
                        filters.load(Ordering::SeqCst) >= 2
                    });
                }
                x + 1
            },
        );
        assert_eq!(out, vec![1, 11, 21, 31, 41, 51], "capacity {capacity}");
        let stuck = overlapped.into_inner().unwrap();
        assert!(
            stuck.is_empty(),
            "capacity {capacity}: these waits gave up: {stuck:?}; the three stages \
             should run on three threads at once"
        );
    }
}
