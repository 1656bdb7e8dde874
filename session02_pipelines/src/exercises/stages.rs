//! Exercise 2.4: load, filter and save on three threads at once.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

// ANCHOR: stages
/// Exercise 2.4: a pipeline of three stages, each on its own thread.
///
/// Runs every input through `load`, then `filter`, then `save`, and returns what `save`
/// returned, in the order of `inputs`. Each stage takes its items one at a time, in input
/// order, but the three stages work at the same time on different items: while `save`
/// writes item 0, `filter` can work on item 1 and `load` read item 2.
///
/// - `load` runs on a thread of its own and `filter` on another (`std::thread::scope`);
///   `save` runs on the calling thread.
/// - The stages hand items on through bounded channels (`std::sync::mpsc::sync_channel`)
///   that hold at most `capacity` items each: when `filter` falls behind, `load` waits
///   instead of filling the memory with loaded images. `capacity` may be 0.
pub fn stages<A: Send, B: Send, C: Send, D>(
    inputs: Vec<A>,
    capacity: usize,
    load: impl FnMut(A) -> B + Send,
    filter: impl FnMut(B) -> C + Send,
    save: impl FnMut(C) -> D,
) -> Vec<D> {
    todo!("exercise 2.4: stages")
}
// ANCHOR_END: stages
