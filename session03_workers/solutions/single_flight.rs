//! Exercise 3.4: the map's lock only to find the key's cell; the cell runs one load at a time.

use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;

use super::SingleFlight;

impl<K, V> SingleFlight<K, V>
where
    K: Eq + Hash,
    V: Clone,
{
    /// The value for `key`, loaded by `load` if it is not stored yet.
    pub async fn get<E, F, Fut>(&self, key: K, load: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        // The guard is dropped at the end of this statement, before any load is awaited.
        let cell = Arc::clone(self.cells.lock().await.entry(key).or_default());
        cell.get_or_try_init(load).await.cloned()
    }
}
