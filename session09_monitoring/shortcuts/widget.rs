//! Shortcut for exercise 9.2: the ratio in integers, `busy / total`, which is 0 until the
//! pool is full: 2 busy slots of 3 show an empty gauge at 0 %.
//! `ex09_2_the_gauge_shows_the_share_of_busy_slots` catches it.

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

    match slots.busy.checked_div(slots.total) {
        None => frame.render_widget(Paragraph::new("no slots"), gauge_area),
        Some(share) => {
            let ratio = f64::from(share.min(1));
            let percent = share * 100;
            let colour = if share >= 1 { Color::Red } else { Color::Green };
            let gauge = Gauge::default()
                .ratio(ratio)
                .label(format!("{}/{} busy ({percent} %)", slots.busy, slots.total))
                .gauge_style(Style::default().fg(colour));
            frame.render_widget(gauge, gauge_area);
        }
    }

    let rows: Vec<Line<'_>> = slots
        .workers
        .iter()
        .map(|w| Line::from(format!("{}  {}/{}", w.id, w.busy, w.slots)))
        .collect();
    frame.render_widget(Paragraph::new(rows), rows_area);
}
