//! Shortcut for exercise 2.4: one stage after the other, each over every item, on the
//! calling thread. The outputs are right, but nothing overlaps and every loaded image is
//! held at once: `ex02_4_the_stages_run_at_the_same_time` catches it.

/// Exercise 2.4, stage by stage.
pub fn stages<A: Send, B: Send, C: Send, D>(
    inputs: Vec<A>,
    _capacity: usize,
    load: impl FnMut(A) -> B + Send,
    filter: impl FnMut(B) -> C + Send,
    save: impl FnMut(C) -> D,
) -> Vec<D> {
    let loaded: Vec<B> = inputs.into_iter().map(load).collect();
    let filtered: Vec<C> = loaded.into_iter().map(filter).collect();
    filtered.into_iter().map(save).collect()
}
