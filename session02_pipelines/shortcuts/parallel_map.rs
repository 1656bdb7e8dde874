//! Shortcut for exercise 2.1: rayon's `par_iter`, which runs on rayon's own pool (one
//! thread per core) whatever `workers` says. `ex02_1_exactly_workers_run_at_once` catches
//! it: with one worker more than rayon has threads, they never all run at once.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use rayon::prelude::*;

/// Exercise 2.1, on rayon's global pool.
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    _workers: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<Result<R, String>> {
    items
        .par_iter()
        .map(|item| catch_unwind(AssertUnwindSafe(|| f(item))).map_err(|p| message(&*p)))
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
