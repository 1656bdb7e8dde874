//! Exercise 9.2: a widget rendered to `TestBackend`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Gauge, Paragraph};

use super::Slots;

/// Exercise 9.2: the dashboard's slots panel.
pub fn render_slots(frame: &mut Frame<'_>, area: Rect, slots: &Slots) {
    let block = Block::bordered().title("Slots");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [gauge_area, rows_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);

    if slots.total == 0 {
        frame.render_widget(Paragraph::new("no slots"), gauge_area);
    } else {
        let ratio = (f64::from(slots.busy) / f64::from(slots.total)).min(1.0);
        let percent = (ratio * 100.0).round();
        let colour = if slots.busy >= slots.total {
            Color::Red
        } else {
            Color::Green
        };
        let gauge = Gauge::default()
            .ratio(ratio)
            .label(format!("{}/{} busy ({percent} %)", slots.busy, slots.total))
            .gauge_style(Style::default().fg(colour));
        frame.render_widget(gauge, gauge_area);
    }

    let rows: Vec<Line<'_>> = slots
        .workers
        .iter()
        .map(|w| Line::from(format!("{}  {}/{}", w.id, w.busy, w.slots)))
        .collect();
    frame.render_widget(Paragraph::new(rows), rows_area);
}
