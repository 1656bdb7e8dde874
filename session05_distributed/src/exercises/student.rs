//! Your answers to the session's exercises: replace each `todo!` with your code.
//!
//! Grade with `cargo xtask grade 5`, or one exercise with `--exercise ex05_2`.
// The stubs stop at `todo!` without using their arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables, dead_code)]

// ANCHOR: roster
/// One heartbeat of a worker, as the registry keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Heartbeat {
    /// The worker's id: unique per process start, never reused.
    pub worker: String,
    /// When the beat was written, in Unix milliseconds.
    pub at_ms: u64,
    /// How many tasks the worker held when it beat.
    pub tasks: usize,
    /// The worker said it is stopping for good: its last beat before a clean exit.
    pub stopped: bool,
}

/// What a reader makes of a worker. The order of the variants is the roster's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Beating on time, with tasks in hand.
    Busy,
    /// Beating on time, with nothing to do.
    Idle,
    /// Missed two beats: slow, paused or cut off, but not given up on.
    Stale,
    /// Stopped cleanly, or silent past the TTL.
    Gone,
}

/// One line of the roster: a worker, its state, and the age of its last beat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerRow {
    /// The worker's id.
    pub worker: String,
    /// What the reader makes of it.
    pub state: State,
    /// How old its last beat is at `now_ms`, in milliseconds.
    pub age_ms: u64,
}

/// Exercise 5.1: worker states from heartbeats.
///
/// `beats` holds beats of any number of workers, in any order, and a worker may have more
/// than one. The result has one row per worker:
///
/// - Its *last beat* is its beat with the largest `at_ms`; of several with that `at_ms`,
///   the one that comes last in `beats`.
/// - `age_ms` is `now_ms - at_ms` of the last beat, or 0 when that beat is later than
///   `now_ms` (the writer's clock was ahead of the reader's).
/// - `state` is given by the first rule that applies:
///   1. [`State::Gone`] when any of its beats, not only the last, has `stopped` (an id is
///      never reused, so a stopped worker never comes back), or when `age_ms > ttl_ms`;
///   2. [`State::Stale`] when `age_ms > 2 × interval_ms` (two missed beats);
///   3. [`State::Busy`] when the last beat has `tasks > 0`;
///   4. [`State::Idle`] otherwise.
///
/// An age exactly at a limit (`ttl_ms`, `2 × interval_ms`) is still within it. Rows are
/// sorted by `state` (busy, idle, stale, gone), then by `worker` in ascending (`str`)
/// order. No beats, no rows. Nothing may overflow or panic, whatever the numbers.
pub fn roster(now_ms: u64, beats: &[Heartbeat], interval_ms: u64, ttl_ms: u64) -> Vec<WorkerRow> {
    todo!("exercise 5.1: roster")
}
// ANCHOR_END: roster

// ANCHOR: unserved_classes
/// A capability class with tasks waiting that no live worker can run, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unserved {
    /// The class, as given.
    pub class: String,
    /// Why its tasks wait, such as `"no live worker can run sharpen"`.
    pub reason: String,
}

/// Exercise 5.2: which classes nobody can serve.
///
/// `live` holds the capabilities of each live worker, in the form `workers` prints them:
/// `all` or `*` for every filter, or filter names separated by `,`. Spaces around the
/// whole text and around each name do not count: `" resize , blur "` is `resize` and
/// `blur`. `classes` holds the capability classes that have tasks waiting: `copy` is the
/// class of tasks with no filter, and any other class is filter names joined by `+`
/// (`blur+sharpen`). A worker can run a class when it runs every filter of the class, so
/// every worker can run `copy`. A task never runs on two workers.
///
/// Returns one [`Unserved`] for each class that no single live worker can run, in the
/// order of `classes`; a class given more than once is reported once, at its first place.
/// The reason is one of:
///
/// - `no live worker`, when `live` is empty;
/// - `no live worker can run X`, when some filters of the class are run by no live worker
///   at all: X names those filters, in the order they appear in the class, each once;
/// - `no live worker can run X together`, when each filter is run by some live worker but
///   no worker runs them all: X names every filter of the class, in ascending (`str`)
///   order, each once.
///
/// Names are joined as `a`, `a and b`, `a, b and c`, and so on: commas between them, and
/// `and` before the last.
pub fn unserved_classes(live: &[&str], classes: &[&str]) -> Vec<Unserved> {
    todo!("exercise 5.2: unserved_classes")
}
// ANCHOR_END: unserved_classes

// ANCHOR: retry_window
/// The shortest and the longest a wait can be, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// No wait is shorter than this.
    pub shortest_ms: u64,
    /// No wait is longer than this.
    pub longest_ms: u64,
}

/// Exercise 5.3: the window of one retry's wait.
///
/// After attempt `failed` of a task has failed (attempts count from 1), the queue waits
/// `cap / 2 + unit × cap / 2` before the next attempt, where `unit` is drawn at random in
/// `[0, 1)` ("equal jitter") and `cap = min(max_ms, base_ms × 2^(failed − 1))`: the cap
/// doubles with each failure, up to `max_ms`.
///
/// The window of that wait is `cap / 2`, rounded down, to `cap`. When `failed` is 0,
/// nothing has failed and there is no wait: both ends are 0. It must not overflow or
/// panic for any arguments: `base_ms × 2^(failed − 1)` can be far beyond `u64::MAX`, and
/// the cap is then `max_ms` (or 0 when `base_ms` is 0).
pub fn retry_window(base_ms: u64, max_ms: u64, failed: u32) -> Window {
    todo!("exercise 5.3: retry_window")
}

/// Exercise 5.3, continued: the window of a failing task's total wait.
///
/// A task runs at most `attempts` times. When every attempt fails, it waits after each
/// failure but the last, as [`retry_window`] says, and goes to the dead letters after the
/// last. The result is the window of the sum of those waits: the sum of their shortest
/// ends, and the sum of their longest ends, each stopping at `u64::MAX` rather than
/// overflowing. With 0 or 1 attempts there is no wait.
///
/// It must answer at once for any `attempts`, up to `u32::MAX`: a loop over every attempt
/// is too slow (the graded tests call it many times with `u32::MAX`). Once the cap stops
/// changing, every later wait is the same.
pub fn total_wait(base_ms: u64, max_ms: u64, attempts: u32) -> Window {
    todo!("exercise 5.3: total_wait")
}
// ANCHOR_END: retry_window

// ANCHOR: fan_in
/// What one report of a finished tile means for its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanInStep {
    /// A tile not counted before: `done` of the job's `of` tiles are done now, not all.
    Waiting {
        /// How many distinct tiles are done, this one included.
        done: usize,
        /// How many tiles the job has.
        of: usize,
    },
    /// This report completed the set: assemble the job now.
    Assemble,
    /// The tile was counted before and the job is not complete: nothing changes.
    Duplicate,
    /// The job was assembled before: nothing to do.
    AlreadyAssembled,
}

/// A report that cannot be counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanInError {
    /// A job must have at least one tile: nothing would ever complete one without.
    NoTiles,
    /// There is no tile `index` in a job of `tiles` tiles.
    OutOfRange {
        /// The index reported.
        index: usize,
        /// How many tiles the job has.
        tiles: usize,
    },
}

/// Exercise 5.4: assemble exactly once.
///
/// Counts the tiles of one job as workers report them done. Tiles are numbered from 0 and
/// may finish in any order; a tile may be reported more than once (a worker that died
/// after finishing it, and the one that ran it again). The job must be assembled exactly
/// once: [`FanInStep::Assemble`] is returned by the one call that makes every tile done,
/// and by no other call.
///
/// Choose the fields you need; the one below is only a placeholder.
#[derive(Debug, Clone)]
pub struct FanIn {
    tiles: usize,
}

impl FanIn {
    /// A job of `tiles` tiles, none done yet; [`FanInError::NoTiles`] when `tiles` is 0.
    pub fn new(tiles: usize) -> Result<FanIn, FanInError> {
        todo!("exercise 5.4: FanIn::new")
    }

    /// Notes that tile `index` is done, and says what that means:
    ///
    /// - [`FanInError::OutOfRange`] when `index` is not below the number of tiles, at any
    ///   time; such a report changes nothing;
    /// - [`FanInStep::AlreadyAssembled`] when the job was assembled before this call;
    /// - [`FanInStep::Duplicate`] when the tile was done before this call;
    /// - [`FanInStep::Assemble`] when this tile was the last one not done;
    /// - [`FanInStep::Waiting`] otherwise.
    ///
    /// It must not slow down as tiles are done: no search through the tiles done so far
    /// (the graded tests fan in a million tiles).
    pub fn done(&mut self, index: usize) -> Result<FanInStep, FanInError> {
        todo!("exercise 5.4: FanIn::done")
    }

    /// How many distinct tiles are done.
    pub fn done_count(&self) -> usize {
        todo!("exercise 5.4: FanIn::done_count")
    }

    /// The tiles not done yet, in ascending order: what the job still waits for.
    pub fn missing(&self) -> Vec<usize> {
        todo!("exercise 5.4: FanIn::missing")
    }

    /// Whether the job has been assembled, that is, every tile is done.
    pub fn is_assembled(&self) -> bool {
        todo!("exercise 5.4: FanIn::is_assembled")
    }
}
// ANCHOR_END: fan_in
