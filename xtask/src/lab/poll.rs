//! Waiting for an HTTP answer: a GET sent again until the answer is the one expected, or a
//! deadline passes. Both labs wait this way (a route not synced yet, a target not scraped
//! yet, an alert not firing yet).

use std::fmt::Display;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};

/// What a look found: what the lab waits for, or why not yet.
pub enum Answer<T> {
    /// The answer expected, and what the lab took from it.
    Done(T),
    /// Not yet, and why.
    NotYet(String),
}

/// Calls `fetch` every `every` until `judge` says done (returning what it took and the
/// body), or `timeout` passes (an error naming `what` and the last reason). A fetch that
/// fails (nothing listening yet, say) is looked at again.
pub fn until<T>(
    what: &dyn Display,
    timeout: Duration,
    every: Duration,
    mut fetch: impl FnMut() -> Result<(u16, String)>,
    mut judge: impl FnMut(u16, &str) -> Result<Answer<T>>,
) -> Result<(T, String)> {
    let started = Instant::now();
    loop {
        let reason = match fetch() {
            Ok((status, body)) => match judge(status, &body)? {
                Answer::Done(found) => return Ok((found, body)),
                Answer::NotYet(reason) => reason,
            },
            Err(error) => format!("{error:#}"),
        };
        ensure!(
            started.elapsed() < timeout,
            "`{what}`: not the answer expected within {}s; the last: {reason}",
            timeout.as_secs()
        );
        thread::sleep(every);
    }
}

/// `Done(found)` when `done`, else `NotYet` with the reason `why` gives.
pub fn answer<T>(done: bool, found: T, why: impl FnOnce() -> String) -> Answer<T> {
    if done {
        Answer::Done(found)
    } else {
        Answer::NotYet(why())
    }
}
