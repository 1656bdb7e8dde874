//! The stabilisation windows: the proposals the controller remembers, and what they allow.
//!
//! Every decision records its proposal (what the metrics asked for, before any limit).
//! Then:
//!
//! - scaling **up** goes no higher than the **lowest** proposal of the scale-up window,
//!   so the load must ask for more for the whole window before it gets more;
//! - scaling **down** goes no lower than the **highest** proposal of the scale-down
//!   window, so the load must ask for less for the whole window before it gets less.
//!
//! A proposal counts while it is younger than the window: one made exactly a window ago
//! no longer does (Kubernetes keeps those strictly after `now - window`).

use std::time::Duration;

/// One remembered proposal (Kubernetes calls it a recommendation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PastProposal {
    /// When it was made.
    pub at: Duration,
    /// The replicas the metrics asked for.
    pub replicas: u32,
}

impl PastProposal {
    /// Whether it still counts at `now` in a window of `window`.
    fn within(&self, now: Duration, window: Duration) -> bool {
        // A proposal from the future (a clock gone back) counts as a fresh one.
        now.saturating_sub(self.at) < window
    }
}

/// The proposals of the last windows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PastProposals {
    history: Vec<PastProposal>,
}

impl PastProposals {
    /// None remembered yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether none is remembered: the controller has not decided yet.
    pub fn is_empty(&self) -> bool {
        self.history.is_empty()
    }

    /// The remembered proposals, oldest first.
    pub fn history(&self) -> &[PastProposal] {
        &self.history
    }

    // ANCHOR: stabilize
    /// What the windows allow at `now`, when `current` replicas run and the metrics ask
    /// for `proposed`: `current`, raised to the lowest proposal of the scale-up window and
    /// lowered to the highest of the scale-down window (both include `proposed`). So the
    /// result lies between `current` and `proposed`. It does not record `proposed`.
    pub fn stabilize(
        &self,
        now: Duration,
        current: u32,
        proposed: u32,
        up_window: Duration,
        down_window: Duration,
    ) -> u32 {
        let mut lowest = proposed;
        let mut highest = proposed;
        for old in &self.history {
            if old.within(now, up_window) {
                lowest = lowest.min(old.replicas);
            }
            if old.within(now, down_window) {
                highest = highest.max(old.replicas);
            }
        }
        // lowest <= proposed <= highest: the result lies between current and proposed.
        current.max(lowest).min(highest)
    }
    // ANCHOR_END: stabilize

    /// Remembers `replicas` proposed at `now`, forgetting proposals that no window of
    /// `longest` can reach again.
    pub fn record(&mut self, now: Duration, replicas: u32, longest: Duration) {
        self.history.retain(|old| old.within(now, longest));
        self.history.push(PastProposal { at: now, replicas });
    }
}
