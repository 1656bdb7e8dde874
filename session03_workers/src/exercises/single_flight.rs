//! Exercise 3.4: single-flight loading.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use std::future::Future;
use std::hash::Hash;

use super::SingleFlight;

// ANCHOR: single_flight
impl<K, V> SingleFlight<K, V>
where
    K: Eq + Hash,
    V: Clone,
{
    /// Exercise 3.4: the value for `key`, loaded by `load` if it is not stored yet.
    ///
    /// - A stored value is returned at once; `load` is not called.
    /// - Callers that ask for the same key while its load runs wait for that load and get
    ///   its value: the loader runs once, however many ask.
    /// - Loads of different keys run at the same time: a slow load of one key holds up
    ///   no caller of another.
    /// - A load that fails stores nothing: its caller gets the error, and the next caller
    ///   of that key (one waiting already, or a later one) runs its own `load`.
    pub async fn get<E, F, Fut>(&self, key: K, load: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        todo!("exercise 3.4: SingleFlight::get")
    }
}
// ANCHOR_END: single_flight
