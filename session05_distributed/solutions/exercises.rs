//! Reference solutions to session 05's exercises (`--features solutions`).

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

/// One heartbeat of a worker, as the registry keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Heartbeat {
    /// The worker's id: unique per process start, never reused.
    pub worker: String,
    /// When the beat was written, in Unix milliseconds.
    pub at_ms: u64,
    /// How many tasks the worker held when it beat.
    pub tasks: usize,
    /// The worker said it is stopping for good.
    pub stopped: bool,
}

/// What a reader makes of a worker, in the roster's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Beating on time, with tasks in hand.
    Busy,
    /// Beating on time, with nothing to do.
    Idle,
    /// Missed two beats.
    Stale,
    /// Stopped cleanly, or silent past the TTL.
    Gone,
}

/// One line of the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerRow {
    /// The worker's id.
    pub worker: String,
    /// What the reader makes of it.
    pub state: State,
    /// How old its last beat is, in milliseconds.
    pub age_ms: u64,
}

/// Exercise 5.1: the last beat per worker, any stop, then the state by age.
pub fn roster(now_ms: u64, beats: &[Heartbeat], interval_ms: u64, ttl_ms: u64) -> Vec<WorkerRow> {
    // Per worker: its last beat so far, and whether any beat said it stopped.
    let mut last: BTreeMap<&str, (&Heartbeat, bool)> = BTreeMap::new();
    for beat in beats {
        match last.entry(beat.worker.as_str()) {
            Entry::Vacant(slot) => {
                slot.insert((beat, beat.stopped));
            }
            Entry::Occupied(mut slot) => {
                let (kept, stopped) = slot.get_mut();
                // `>=`: of equal times, the later in `beats` wins.
                if beat.at_ms >= kept.at_ms {
                    *kept = beat;
                }
                *stopped |= beat.stopped;
            }
        }
    }
    let mut rows: Vec<WorkerRow> = last
        .into_iter()
        .map(|(worker, (beat, stopped))| {
            let age_ms = now_ms.saturating_sub(beat.at_ms);
            let state = if stopped || age_ms > ttl_ms {
                State::Gone
            } else if age_ms > interval_ms.saturating_mul(2) {
                State::Stale
            } else if beat.tasks > 0 {
                State::Busy
            } else {
                State::Idle
            };
            WorkerRow {
                worker: worker.to_owned(),
                state,
                age_ms,
            }
        })
        .collect();
    // Stable: equal states stay in the map's order, which is by worker.
    rows.sort_by_key(|row| row.state);
    rows
}

/// A class with tasks waiting that no live worker can run, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unserved {
    /// The class, as given.
    pub class: String,
    /// Why its tasks wait.
    pub reason: String,
}

/// A worker's capabilities: `None` for every filter, else the names.
fn parse_capabilities(text: &str) -> Option<Vec<&str>> {
    let text = text.trim();
    if text == "all" || text == "*" {
        None
    } else {
        Some(text.split(',').map(str::trim).collect())
    }
}

/// Whether a worker with `capabilities` runs the filter `name`.
fn runs(capabilities: Option<&[&str]>, name: &str) -> bool {
    capabilities.is_none_or(|names| names.contains(&name))
}

/// `a`, `a and b`, `a, b and c`.
fn join_names(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Exercise 5.2: per class, served by one worker, or missing filters, or split filters.
pub fn unserved_classes(live: &[&str], classes: &[&str]) -> Vec<Unserved> {
    let workers: Vec<Option<Vec<&str>>> = live.iter().map(|c| parse_capabilities(c)).collect();
    let mut seen: Vec<&str> = Vec::new();
    let mut report = Vec::new();
    for &class in classes {
        if seen.contains(&class) {
            continue;
        }
        seen.push(class);
        let mut filters: Vec<&str> = Vec::new();
        if class != "copy" {
            for name in class.split('+') {
                if !filters.contains(&name) {
                    filters.push(name);
                }
            }
        }
        let reason = if workers.is_empty() {
            "no live worker".to_owned()
        } else if workers
            .iter()
            .any(|w| filters.iter().all(|f| runs(w.as_deref(), f)))
        {
            continue;
        } else {
            let nobody: Vec<&str> = filters
                .iter()
                .copied()
                .filter(|f| !workers.iter().any(|w| runs(w.as_deref(), f)))
                .collect();
            if nobody.is_empty() {
                filters.sort_unstable();
                format!("no live worker can run {} together", join_names(&filters))
            } else {
                format!("no live worker can run {}", join_names(&nobody))
            }
        };
        report.push(Unserved {
            class: class.to_owned(),
            reason,
        });
    }
    report
}

/// The shortest and the longest a wait can be, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// No wait is shorter than this.
    pub shortest_ms: u64,
    /// No wait is longer than this.
    pub longest_ms: u64,
}

/// `min(max_ms, base_ms × 2^(failed − 1))` for `failed` from 1, saturating.
fn cap(base_ms: u64, max_ms: u64, failed: u32) -> u64 {
    let factor = 1u64.checked_shl(failed - 1).unwrap_or(u64::MAX);
    base_ms.saturating_mul(factor).min(max_ms)
}

/// Exercise 5.3: half the cap, rounded down, to the cap.
pub fn retry_window(base_ms: u64, max_ms: u64, failed: u32) -> Window {
    if failed == 0 {
        return Window::default();
    }
    let cap = cap(base_ms, max_ms, failed);
    Window {
        shortest_ms: cap / 2,
        longest_ms: cap,
    }
}

/// Exercise 5.3, continued: add the waits while the cap grows, then multiply the rest.
pub fn total_wait(base_ms: u64, max_ms: u64, attempts: u32) -> Window {
    let waits = u64::from(attempts.saturating_sub(1));
    let mut total = Window::default();
    let mut failed: u32 = 1;
    while u64::from(failed) <= waits {
        let window = retry_window(base_ms, max_ms, failed);
        // Caps never shrink, and two equal ones mean the cap has stopped changing (at
        // `max_ms`, or at 0): every wait left is this one. That happens by failure 65.
        if retry_window(base_ms, max_ms, failed + 1) == window {
            let left = waits - u64::from(failed) + 1;
            total.shortest_ms = total
                .shortest_ms
                .saturating_add(window.shortest_ms.saturating_mul(left));
            total.longest_ms = total
                .longest_ms
                .saturating_add(window.longest_ms.saturating_mul(left));
            break;
        }
        total.shortest_ms = total.shortest_ms.saturating_add(window.shortest_ms);
        total.longest_ms = total.longest_ms.saturating_add(window.longest_ms);
        failed += 1;
    }
    total
}

/// What one report of a finished tile means for its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanInStep {
    /// A tile not counted before; `done` of `of` tiles are done now.
    Waiting {
        /// How many distinct tiles are done.
        done: usize,
        /// How many tiles the job has.
        of: usize,
    },
    /// This report completed the set.
    Assemble,
    /// The tile was counted before.
    Duplicate,
    /// The job was assembled before.
    AlreadyAssembled,
}

/// A report that cannot be counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanInError {
    /// A job of no tile.
    NoTiles,
    /// There is no tile `index` in a job of `tiles` tiles.
    OutOfRange {
        /// The index reported.
        index: usize,
        /// How many tiles the job has.
        tiles: usize,
    },
}

/// Exercise 5.4: a flag per tile and a count, so each report takes the same time.
#[derive(Debug, Clone)]
pub struct FanIn {
    done: Vec<bool>,
    count: usize,
}

impl FanIn {
    /// A job of `tiles` tiles, none done yet.
    pub fn new(tiles: usize) -> Result<FanIn, FanInError> {
        if tiles == 0 {
            return Err(FanInError::NoTiles);
        }
        Ok(FanIn {
            done: vec![false; tiles],
            count: 0,
        })
    }

    /// Notes that tile `index` is done.
    pub fn done(&mut self, index: usize) -> Result<FanInStep, FanInError> {
        let tiles = self.done.len();
        let Some(flag) = self.done.get_mut(index) else {
            return Err(FanInError::OutOfRange { index, tiles });
        };
        if self.count == tiles {
            return Ok(FanInStep::AlreadyAssembled);
        }
        if *flag {
            return Ok(FanInStep::Duplicate);
        }
        *flag = true;
        self.count += 1;
        Ok(if self.count == tiles {
            FanInStep::Assemble
        } else {
            FanInStep::Waiting {
                done: self.count,
                of: tiles,
            }
        })
    }

    /// How many distinct tiles are done.
    pub fn done_count(&self) -> usize {
        self.count
    }

    /// The tiles not done yet, ascending.
    pub fn missing(&self) -> Vec<usize> {
        (0..self.done.len()).filter(|&i| !self.done[i]).collect()
    }

    /// Whether every tile is done.
    pub fn is_assembled(&self) -> bool {
        self.count == self.done.len()
    }
}
