//! Shortcut for exercise 3.4: the map's lock held while the load runs. One key loads once,
//! but a slow load of one key holds up every other key:
//! `ex03_4_different_keys_load_at_the_same_time` reaches its deadline on it.

use std::future::Future;
use std::hash::Hash;

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
        let mut cells = self.cells.lock().await;
        let cell = cells.entry(key).or_default();
        cell.get_or_try_init(load).await.cloned()
    }
}
