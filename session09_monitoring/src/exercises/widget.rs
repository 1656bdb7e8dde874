//! Exercise 9.2: a widget rendered to `TestBackend`.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use ratatui::Frame;
use ratatui::layout::Rect;

use super::Slots;

// ANCHOR: render_slots
/// Exercise 9.2: the dashboard's slots panel, drawn into `area` of `frame` and nowhere
/// else.
///
/// The panel is `Block::bordered()` (plain borders: its corner is `┌`) with the title
/// `Slots`. Inside it:
///
/// - The first line is a ratatui `Gauge` (the block gauge, not a `LineGauge`) across the
///   whole first line inside the borders, filled in proportion to `busy / total`, with the
///   label `{busy}/{total} busy ({percent} %)`, the percentage of the gauge's ratio rounded
///   to the nearest whole number (2 of 3 is `67 %`). Its `gauge_style` has the foreground
///   `Color::Green`, or `Color::Red` when the pool is full (every slot busy). Data read
///   from Redis can be out of date: `busy` above `total` counts as full, the gauge never
///   fills past its end, and its percentage stops at `100 %` (4 of 3 reads
///   `4/3 busy (100 %)`).
/// - With `total` at 0 (no worker), the first line reads `no slots` instead, and nothing
///   divides by zero.
/// - Then one line per worker, in order, as many as fit: its id, then
///   `{busy}/{slots}`, separated by at least one space.
pub fn render_slots(frame: &mut Frame<'_>, area: Rect, slots: &Slots) {
    todo!("exercise 9.2: render_slots")
}
// ANCHOR_END: render_slots
