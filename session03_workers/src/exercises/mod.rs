//! The session's graded exercises: four pieces of async plumbing a worker system needs.
//!
//! Each lives in its own file under `src/exercises/` and starts as a `todo!`, specified by
//! its doc comment; replace the `todo!`s with your code and run `cargo xtask grade 3`.
//!
//! | exercise | file | item | what it is for |
//! |---|---|---|---|
//! | 3.1 | `src/exercises/fan_out.rs` | [`fan_out`] | many calls at once, but never more than a limit |
//! | 3.2 | `src/exercises/retry.rs` | [`retry`] | a call that may fail or hang: a timeout per attempt, waits between attempts |
//! | 3.3 | `src/exercises/percentile.rs` | [`percentile`] | the p95 a dashboard shows, by its definition |
//! | 3.4 | `src/exercises/single_flight.rs` | [`SingleFlight`] | many tasks need one photo: fetch it once |
//!
//! The types the exercises use are declared here, once; your files hold the functions.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{Mutex, OnceCell};

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/fan_out.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/fan_out.rs")]
mod fan_out;
pub use fan_out::fan_out;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/retry.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/retry.rs")]
mod retry;
pub use retry::retry;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/percentile.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/percentile.rs")]
mod percentile;
pub use percentile::percentile;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/single_flight.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/single_flight.rs")]
mod single_flight;

/// Why one attempt of [`retry`] did not succeed (exercise 3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptError<E> {
    /// The attempt had not finished when its time was up; it was dropped unfinished.
    TimedOut,
    /// The attempt finished with this error.
    Failed(E),
}

// ANCHOR: single_flight_struct
/// A cache that loads each key at most once at a time (exercise 3.4).
///
/// `get` returns the value stored for a key, or runs a loader to produce it. Callers that
/// ask for the same key while its load runs wait for that load instead of starting their
/// own; loads of different keys run at the same time.
#[derive(Debug)]
pub struct SingleFlight<K, V> {
    /// One cell per key asked for: empty until a load of that key succeeds. The map's lock
    /// guards the map only; each cell guards its own load.
    #[allow(dead_code, reason = "only `get` reads it, and it starts as a `todo!`")]
    cells: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}
// ANCHOR_END: single_flight_struct

impl<K, V> SingleFlight<K, V> {
    /// An empty cache.
    pub fn new() -> Self {
        Self {
            cells: Mutex::new(HashMap::new()),
        }
    }
}

impl<K, V> Default for SingleFlight<K, V> {
    fn default() -> Self {
        Self::new()
    }
}
