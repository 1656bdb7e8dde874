//! The dashboard's state: the last snapshot, what went wrong reading the next one, the
//! keys' effects (pause, sort order, selection), and a bounded history for the
//! sparklines. No terminal and no Redis here: the keys and the readings come in as
//! values, so tests drive it directly.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::published::RecentTask;
use crate::snapshot::{Snapshot, WorkerRow};

/// How many readings the sparklines keep: the oldest is dropped past it.
pub const HISTORY: usize = 120;

/// How the workers table is sorted; `s` moves to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// By id.
    #[default]
    Id,
    /// Busy first, then idle, stale, gone.
    State,
    /// Most CPU first.
    Cpu,
    /// Most tasks done first.
    Done,
}

impl SortOrder {
    /// The order after this one.
    pub fn next(self) -> Self {
        match self {
            SortOrder::Id => SortOrder::State,
            SortOrder::State => SortOrder::Cpu,
            SortOrder::Cpu => SortOrder::Done,
            SortOrder::Done => SortOrder::Id,
        }
    }

    /// Its name, as the table's title shows it.
    pub fn name(self) -> &'static str {
        match self {
            SortOrder::Id => "id",
            SortOrder::State => "state",
            SortOrder::Cpu => "cpu",
            SortOrder::Done => "done",
        }
    }

    /// Sorts `rows` in this order (ties by id, so rows never swap places between readings).
    pub fn sort(self, rows: &mut [WorkerRow]) {
        rows.sort_by(|a, b| {
            let first = match self {
                SortOrder::Id => std::cmp::Ordering::Equal,
                SortOrder::State => a.state.cmp(&b.state),
                SortOrder::Cpu => b
                    .cpu_percent
                    .unwrap_or(-1.0)
                    .total_cmp(&a.cpu_percent.unwrap_or(-1.0)),
                SortOrder::Done => b.tasks_done.cmp(&a.tasks_done),
            };
            first.then_with(|| a.id.cmp(&b.id))
        });
    }
}

/// The last [`HISTORY`] values of one series.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History(VecDeque<u64>);

impl History {
    /// Adds a value, dropping the oldest past [`HISTORY`].
    pub fn push(&mut self, value: u64) {
        if self.0.len() == HISTORY {
            self.0.pop_front();
        }
        self.0.push_back(value);
    }

    /// The values, oldest first.
    pub fn values(&self) -> Vec<u64> {
        self.0.iter().copied().collect()
    }

    /// The newest value.
    pub fn last(&self) -> Option<u64> {
        self.0.back().copied()
    }
}

/// What the dashboard shows.
#[derive(Debug, Clone)]
pub struct App {
    /// Time between two readings.
    pub interval: Duration,
    /// The last reading, kept while Redis is unreachable.
    pub snapshot: Option<Snapshot>,
    /// Why the last reading failed, when it did: the banner.
    pub error: Option<String>,
    /// Readings are not applied while paused.
    pub paused: bool,
    /// How the workers table is sorted.
    pub sort: SortOrder,
    /// The selected worker's id.
    pub selected: Option<String>,
    /// The selected worker's recent tasks, newest first.
    pub recent: Vec<RecentTask>,
    /// Tasks waiting, one value per reading.
    pub depth: History,
    /// Tasks finished per minute, one value per reading.
    pub throughput: History,
    /// Tasks finished (succeeded, failed or dead) at the last reading, and when.
    last_finished: Option<(u64, Instant)>,
    /// Set by `q`: the loop ends.
    pub quit: bool,
}

impl App {
    /// A dashboard with nothing read yet.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            snapshot: None,
            error: None,
            paused: false,
            sort: SortOrder::default(),
            selected: None,
            recent: Vec::new(),
            depth: History::default(),
            throughput: History::default(),
            last_finished: None,
            quit: false,
        }
    }

    /// Takes a reading made at `at`, with the recent tasks of worker `recent_of`: the
    /// sparklines get a value each; the tasks are kept only when that worker is still the
    /// selected one (the selection may have moved while reading); a paused dashboard keeps
    /// what it shows.
    pub fn update(
        &mut self,
        snapshot: Snapshot,
        recent_of: Option<&str>,
        recent: Vec<RecentTask>,
        at: Instant,
    ) {
        if self.paused {
            return;
        }
        self.error = None;
        // The counters only grow: their growth over the time between readings is the rate.
        let queue = &snapshot.queue;
        let finished = [queue.succeeded, queue.failed, queue.dead]
            .into_iter()
            .fold(0, u64::saturating_add);
        if let Some((before, then)) = self.last_finished {
            let seconds = at.saturating_duration_since(then).as_secs_f64();
            if seconds > 0.0 {
                let per_minute = finished.saturating_sub(before) as f64 * 60.0 / seconds;
                self.throughput.push(per_minute.round() as u64);
            }
        }
        self.last_finished = Some((finished, at));
        self.depth.push(snapshot.queue.length);
        self.snapshot = Some(snapshot);
        if recent_of == self.selected.as_deref() {
            self.recent = recent;
        } else {
            // Another worker's: the next reading brings the selected one's.
            self.recent.clear();
        }
        // A selected worker that left the registry is no longer selected.
        if let Some(id) = &self.selected
            && !self.rows().iter().any(|row| &row.id == id)
        {
            self.selected = None;
            self.recent.clear();
        }
    }

    /// A reading failed: the banner says why, the last reading stays on screen.
    pub fn failed(&mut self, error: String) {
        self.error = Some(error);
    }

    /// The workers, in the table's order.
    pub fn rows(&self) -> Vec<WorkerRow> {
        let mut rows = self
            .snapshot
            .as_ref()
            .map(|s| s.worker_rows.clone())
            .unwrap_or_default();
        self.sort.sort(&mut rows);
        rows
    }

    /// Where the selected worker is in the table.
    pub fn selected_index(&self) -> Option<usize> {
        let id = self.selected.as_ref()?;
        self.rows().iter().position(|row| &row.id == id)
    }

    // ANCHOR: keys
    /// What a key does: `q` quits, `p` pauses, `s` sorts, Up and Down select a worker.
    pub fn on_key(&mut self, key: KeyEvent) {
        let ctrl_c =
            key.modifiers.contains(KeyModifiers::CONTROL) && matches!(key.code, KeyCode::Char('c'));
        match key.code {
            _ if ctrl_c => self.quit = true,
            KeyCode::Char('q' | 'Q') | KeyCode::Esc => self.quit = true,
            KeyCode::Char('p' | 'P') => self.paused = !self.paused,
            KeyCode::Char('s' | 'S') => self.sort = self.sort.next(),
            KeyCode::Down => self.select(1),
            KeyCode::Up => self.select(-1),
            _ => {}
        }
    }

    // ANCHOR_END: keys

    /// Moves the selection `step` rows, staying within the table; the first move selects
    /// the first (or last) row.
    fn select(&mut self, step: isize) {
        let rows = self.rows();
        let Some(last) = rows.len().checked_sub(1) else {
            return;
        };
        let next = match self.selected_index() {
            None if step > 0 => 0,
            None => last,
            Some(now) => now.saturating_add_signed(step).min(last),
        };
        if self.selected.as_ref() != Some(&rows[next].id) {
            self.selected = Some(rows[next].id.clone());
            // The next reading brings its tasks.
            self.recent.clear();
        }
    }
}
