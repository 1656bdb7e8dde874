//! Exercise 2.1: an ordered parallel map over exactly `workers` threads.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

// ANCHOR: parallel_map
/// Exercise 2.1: a parallel map, as the batch's `threads` strategy runs it.
///
/// Calls `f` once on every item of `items` and returns the results in the order of
/// `items`, whatever the order the calls finished in.
///
/// - The calls run on `workers` threads started with `std::thread::scope` (`0` counts as
///   1; no more threads than items), never on more threads, and up to `workers` of them
///   at the same time.
/// - Each thread takes the next item no thread has taken yet (a shared atomic counter), so
///   one slow item holds up its own thread only, never items waiting behind it.
/// - A call that panics gives `Err` for its item, holding the panic's message (the `&str`
///   or `String` that `panic!` was given, or `"panicked"` for anything else); its thread
///   goes on with the next item, and every other item still gets its `Ok(result)`.
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<Result<R, String>> {
    todo!("exercise 2.1: parallel_map")
}
// ANCHOR_END: parallel_map
