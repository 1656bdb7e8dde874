//! Drawing the dashboard: a pure function of the [`App`], so a test renders it to
//! ratatui's `TestBackend` and reads the cells.
//!
//! From top to bottom: the title (the refresh, the sort order, PAUSED) over the workers'
//! and the queue's counts; the banner when Redis is unreachable; the CPU and memory
//! gauges; the queue depth and throughput sparklines beside the state counts; the workers
//! table; the recommendation beside the selected worker's recent tasks.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize as _};
use ratatui::text::{Line, Text};
use ratatui::widgets::{Block, Gauge, Paragraph, Row, Sparkline, Table, TableState, Wrap};

use super::app::App;
use crate::metrics::{bytes, percent, success_rate};
use crate::snapshot::Snapshot;

/// Draws the whole dashboard on `frame`.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let banner = app.error.as_deref().map_or(0, |error| {
        banner_height(&banner_text(app, error), frame.area().width)
    });
    let [top, banner_area, gauges, charts, table, bottom] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Length(banner),
        Constraint::Length(3),
        Constraint::Length(7),
        Constraint::Min(5),
        Constraint::Length(8),
    ])
    .areas(frame.area());
    draw_summary(frame, app, top);
    if let Some(error) = &app.error {
        draw_banner(frame, app, error, banner_area);
    }
    let Some(snapshot) = &app.snapshot else {
        let waiting = Paragraph::new("waiting for the first reading…")
            .block(Block::bordered().title(" workers "));
        frame.render_widget(waiting, table);
        return;
    };
    draw_gauges(frame, snapshot, gauges);
    draw_charts(frame, app, snapshot, charts);
    draw_workers(frame, app, table);
    let [advice, recent] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(bottom);
    draw_recommendation(frame, snapshot, advice);
    draw_recent(frame, app, recent);
}

/// The title (refresh, sort order, PAUSED) over the workers' and the queue's counts.
fn draw_summary(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let lines = match &app.snapshot {
        None => vec![Line::from("no reading yet")],
        Some(s) => vec![
            Line::from(format!(
                "workers: {} active, {} busy · slots {} of {} busy · utilisation {}",
                s.workers.active,
                s.workers.busy,
                s.workers.busy_slots,
                s.workers.total_slots,
                percent(s.workers.utilisation_percent)
            )),
            Line::from(format!(
                "queue: length {}, lag {}, {} in hand, {} dead letters · {} succeeded, {} \
                 failed, {} dead · success rate {}",
                s.queue.length,
                s.queue.lag,
                s.queue.pending,
                s.queue.dead_letters,
                s.queue.succeeded,
                s.queue.failed,
                s.queue.dead,
                success_rate(s.success_rate)
            )),
        ],
    };
    let block = Block::bordered().title(title(app).bold());
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

// ANCHOR: render
/// The title: how often it reads, the sort order, and whether it is paused.
fn title(app: &App) -> String {
    let mut title = format!(
        " imgproc monitor · every {} s · sort: {} ",
        app.interval.as_secs_f64(),
        app.sort.name()
    );
    if app.paused {
        title.push_str("· PAUSED ");
    }
    title
}

/// The banner's text: Redis does not answer, how the dashboard keeps trying (first, so a
/// narrow terminal still shows it), then why.
fn banner_text(app: &App, error: &str) -> String {
    format!(
        "Redis unreachable; retrying {} s after each failed attempt (an attempt gives up \
         after {} s): {error}",
        app.interval.as_secs_f64(),
        super::deadline(app.interval).as_secs_f64()
    )
}
// ANCHOR_END: render

/// The rows the banner needs on a terminal `width` columns wide: its wrapped text (a row
/// more, as words wrap before the edge) between two borders, at most 8.
fn banner_height(text: &str, width: u16) -> u16 {
    let inner = usize::from(width.saturating_sub(2)).max(1);
    let rows = text.chars().count().div_ceil(inner) + 1;
    u16::try_from(rows).unwrap_or(u16::MAX).min(6) + 2
}

/// The banner: Redis does not answer, and the dashboard keeps trying.
fn draw_banner(frame: &mut Frame<'_>, app: &App, error: &str, area: Rect) {
    let text = banner_text(app, error);
    let style = Style::new().fg(Color::White).bg(Color::Red);
    let banner = Paragraph::new(text)
        .style(style)
        .wrap(Wrap { trim: true })
        .block(Block::bordered().border_style(style));
    frame.render_widget(banner, area);
}

/// The machine's CPU and memory, as gauges.
fn draw_gauges(frame: &mut Frame<'_>, snapshot: &Snapshot, area: Rect) {
    let [cpu, memory] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let host = &snapshot.host;
    let gauge = |title: String, value: f64, color: Color| {
        Gauge::default()
            .block(Block::bordered().title(title))
            .gauge_style(Style::new().fg(color))
            .ratio((value / 100.0).clamp(0.0, 1.0))
            .label(percent(value))
    };
    frame.render_widget(
        gauge(" CPU ".to_owned(), host.cpu_percent, Color::Green),
        cpu,
    );
    let title = format!(
        " memory · {} available ",
        bytes(host.memory_available_bytes)
    );
    frame.render_widget(gauge(title, host.memory_percent, Color::Blue), memory);
}

/// The queue depth and throughput sparklines, and the state counts.
fn draw_charts(frame: &mut Frame<'_>, app: &App, snapshot: &Snapshot, area: Rect) {
    let [depth, throughput, states] = Layout::horizontal([
        Constraint::Percentage(40),
        Constraint::Percentage(40),
        Constraint::Percentage(20),
    ])
    .areas(area);
    let depth_now = app.depth.last().unwrap_or(0);
    let title = format!(" queue depth · {depth_now} ");
    let values = newest(&app.depth.values(), depth);
    let chart = Sparkline::default()
        .block(Block::bordered().title(title))
        .data(&values)
        .style(Style::new().fg(Color::Yellow));
    frame.render_widget(chart, depth);
    let rate = app.throughput.last().unwrap_or(0);
    let title = format!(" throughput · {rate} tasks/min ");
    let values = newest(&app.throughput.values(), throughput);
    let chart = Sparkline::default()
        .block(Block::bordered().title(title))
        .data(&values)
        .style(Style::new().fg(Color::Cyan));
    frame.render_widget(chart, throughput);
    let lines: Vec<Line<'_>> = snapshot
        .states
        .iter()
        .map(|(state, n)| Line::from(format!("{:<10}{n:>7}", state.name())))
        .collect();
    let counts = Paragraph::new(lines).block(Block::bordered().title(" tasks "));
    frame.render_widget(counts, states);
}

/// The newest values that fit in a bordered sparkline in `area`: ratatui draws the first
/// values from the left, so passing them all would freeze the chart once full.
fn newest(values: &[u64], area: Rect) -> Vec<u64> {
    let width = usize::from(area.width.saturating_sub(2));
    values[values.len().saturating_sub(width)..].to_vec()
}

/// The workers table, the selected row highlighted.
fn draw_workers(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let rows: Vec<Row<'_>> = app
        .rows()
        .into_iter()
        .map(|w| {
            Row::new([
                w.id,
                w.state.name().to_owned(),
                w.capabilities,
                format!("{:.1} s", w.last_beat_seconds),
                w.tasks_done.to_string(),
                format!("{}/{}", w.in_hand, w.slots),
                w.cpu_percent.map_or_else(|| "-".to_owned(), percent),
                w.memory_bytes.map_or_else(|| "-".to_owned(), bytes),
            ])
        })
        .collect();
    let widths = [
        Constraint::Min(20),
        Constraint::Length(6),
        Constraint::Length(14),
        Constraint::Length(9),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(10),
    ];
    let header = Row::new([
        "worker",
        "state",
        "capabilities",
        "last beat",
        "done",
        "in hand",
        "CPU",
        "memory",
    ])
    .style(Style::new().add_modifier(Modifier::BOLD));
    let title = format!(" workers · sort: {} (s) · ↑/↓ select ", app.sort.name());
    let table = Table::new(rows, widths)
        .header(header)
        .block(Block::bordered().title(title))
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .highlight_symbol("> ");
    let mut state = TableState::default().with_selected(app.selected_index());
    frame.render_stateful_widget(table, area, &mut state);
}

/// Session 08's recommendation, in a few lines.
fn draw_recommendation(frame: &mut Frame<'_>, snapshot: &Snapshot, area: Rect) {
    let advice = &snapshot.recommendation;
    let text = Text::from(vec![
        Line::from(format!(
            "{}: {} → {} workers",
            advice.action, advice.current_replicas, advice.recommended_replicas
        ))
        .bold(),
        Line::from(format!(
            "confidence {:.2}, urgency {}",
            advice.confidence, advice.urgency
        )),
        Line::from(format!("reason: {}", advice.reason)),
    ]);
    let panel = Paragraph::new(text)
        .wrap(Wrap { trim: true })
        .block(Block::bordered().title(" recommendation "));
    frame.render_widget(panel, area);
}

/// The selected worker's recent tasks, newest first.
fn draw_recent(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let (title, lines) = match &app.selected {
        None => (
            " recent tasks ".to_owned(),
            vec![Line::from("select a worker with ↑/↓")],
        ),
        Some(id) if app.recent.is_empty() => (
            format!(" recent tasks of {id} "),
            vec![Line::from("none yet")],
        ),
        Some(id) => (
            format!(" recent tasks of {id} "),
            app.recent
                .iter()
                .map(|task| {
                    Line::from(format!(
                        "{:<9} {:>6.2} s  {}  {}",
                        task.outcome,
                        task.seconds,
                        task.filters.join(" | "),
                        task.task_id
                    ))
                })
                .collect(),
        ),
    };
    let panel = Paragraph::new(lines).block(Block::bordered().title(title));
    frame.render_widget(panel, area);
}
