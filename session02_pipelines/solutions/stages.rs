//! Exercise 2.4: two scoped threads and two bounded channels; `save` on the caller.

use std::sync::mpsc::sync_channel;

/// Exercise 2.4: load, filter and save at the same time, each in input order.
pub fn stages<A: Send, B: Send, C: Send, D>(
    inputs: Vec<A>,
    capacity: usize,
    mut load: impl FnMut(A) -> B + Send,
    mut filter: impl FnMut(B) -> C + Send,
    save: impl FnMut(C) -> D,
) -> Vec<D> {
    let (loaded, to_filter) = sync_channel(capacity);
    let (filtered, to_save) = sync_channel(capacity);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for input in inputs {
                if loaded.send(load(input)).is_err() {
                    break;
                }
            }
        });
        scope.spawn(move || {
            for item in to_filter {
                if filtered.send(filter(item)).is_err() {
                    break;
                }
            }
        });
        to_save.into_iter().map(save).collect()
    })
}
