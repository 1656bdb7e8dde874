//! Exercise 2.1: each scoped thread takes the next index and keeps its own results.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Exercise 2.1: every item once, on `workers` threads, results in input order.
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<Result<R, String>> {
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(index) else {
                return done;
            };
            let result = catch_unwind(AssertUnwindSafe(|| f(item)));
            done.push((index, result.map_err(|payload| message(&*payload))));
        }
    };
    let mut results: Vec<Option<Result<R, String>>> = items.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..workers.clamp(1, items.len().max(1)))
            .map(|_| scope.spawn(work))
            .collect();
        for thread in threads {
            for (index, result) in thread.join().unwrap_or_default() {
                results[index] = Some(result);
            }
        }
    });
    results
        .into_iter()
        .map(|result| result.unwrap_or_else(|| Err("never run".to_owned())))
        .collect()
}

/// The text a panic was given, when it was given text.
fn message(payload: &(dyn Any + Send)) -> String {
    match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(text), _) => (*text).to_owned(),
        (_, Some(text)) => text.clone(),
        _ => "panicked".to_owned(),
    }
}
