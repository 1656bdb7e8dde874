//! The dashboard rendered to ratatui's `TestBackend` from a fixed state: the assertions
//! read the cells, as a person reads the screen. The keys drive the state as they do in a
//! terminal (the tmux test drives the real program).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clap::Parser as _;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use session03_workers::TaskState;
use session05_distributed::WorkerState;
use session08_scaling::hpa::{Behavior, Spec};
use session08_scaling::metrics::HostSignals;
use session08_scaling::recommend::{SystemMetrics, Targets, recommend};
use session09_monitoring::cli::{Cli, Command};
use session09_monitoring::monitor::app::{App, HISTORY, History, SortOrder};
use session09_monitoring::monitor::ui;
use session09_monitoring::published::RecentTask;
use session09_monitoring::snapshot::{QueueSummary, Snapshot, WorkerRow, WorkerSummary};

fn row(id: &str, state: WorkerState, in_hand: u64, done: u64, cpu: f64) -> WorkerRow {
    WorkerRow {
        id: id.to_owned(),
        state,
        capabilities: "*".to_owned(),
        last_beat_seconds: 0.4,
        tasks_done: done,
        in_hand,
        slots: 1,
        cpu_percent: Some(cpu),
        memory_bytes: Some(12 << 20),
    }
}

/// Three single-slot workers, two of them busy, a queue of 9 waiting.
fn snapshot(succeeded: u64) -> Snapshot {
    let metrics = SystemMetrics {
        cpu_percent: 55.0,
        memory_percent: 40.0,
        queue_depth: 9,
        queue_lag: 9,
        pending: 2,
        busy_workers: 2,
        total_workers: 3,
        success_rate: Some(1.0),
    };
    let spec = Spec::new(1, 8, Behavior::course()).unwrap();
    let states: BTreeMap<TaskState, u64> = TaskState::ALL
        .into_iter()
        .map(|state| (state, if state == TaskState::Pending { 9 } else { 0 }))
        .collect();
    Snapshot {
        host: HostSignals {
            cpu_percent: 55.0,
            memory_percent: 40.0,
            memory_available_bytes: 6 << 30,
        },
        workers: WorkerSummary {
            active: 3,
            busy: 2,
            total_slots: 3,
            busy_slots: 2,
            utilisation_percent: 200.0 / 3.0,
        },
        queue: QueueSummary {
            length: 9,
            lag: 9,
            pending: 2,
            dead_letters: 0,
            succeeded,
            failed: 0,
            dead: 0,
        },
        success_rate: Some(1.0),
        states,
        worker_rows: vec![
            row("worker-b", WorkerState::Idle, 0, 7, 1.0),
            row("worker-a", WorkerState::Busy, 1, 2, 90.0),
            row("worker-c", WorkerState::Busy, 1, 5, 40.0),
        ],
        recommendation: recommend(&metrics, &spec, &Targets::default()),
    }
}

fn recent() -> Vec<RecentTask> {
    vec![RecentTask {
        task_id: "0190e1f2-aaaa".to_owned(),
        filters: vec!["blur".to_owned(), "edges".to_owned()],
        outcome: "succeeded".to_owned(),
        seconds: 0.75,
        finished_at_ms: 1_700_000_000_000,
    }]
}

/// An app that has read `snapshot(10)`.
fn app() -> App {
    let mut app = App::new(Duration::from_secs(2));
    app.update(snapshot(10), None, Vec::new(), Instant::now());
    app
}

/// The screen's text, one line per row.
fn screen(app: &App) -> Vec<String> {
    screen_of(app, 140, 44)
}

/// The text of a `width` × `height` screen, one line per row.
fn screen_of(app: &App, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| ui::draw(frame, app)).unwrap();
    let buffer = terminal.backend().buffer();
    let width = usize::from(buffer.area.width);
    buffer
        .content
        .chunks(width)
        .map(|cells| cells.iter().map(|cell| cell.symbol()).collect())
        .collect()
}

fn text(app: &App) -> String {
    screen(app).join("\n")
}

/// The screen row a worker's table row is on.
fn line_of(app: &App, id: &str) -> usize {
    let lines = screen(app);
    lines
        .iter()
        .position(|line| line.contains(id) && line.contains("s "))
        .unwrap_or_else(|| panic!("{id} is not on the screen:\n{}", lines.join("\n")))
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

#[test]
fn the_workers_the_counts_and_the_recommendation_are_drawn() {
    let screen = text(&app());
    for id in ["worker-a", "worker-b", "worker-c"] {
        assert!(screen.contains(id), "{id} missing:\n{screen}");
    }
    assert!(screen.contains("workers: 3 active, 2 busy"), "{screen}");
    assert!(screen.contains("utilisation 67%"), "{screen}");
    assert!(
        screen.contains("queue: length 9, lag 9, 2 in hand"),
        "{screen}"
    );
    assert!(screen.contains("success rate 100%"), "{screen}");
    assert!(screen.contains("pending"), "the state counts:\n{screen}");
    assert!(screen.contains(" CPU "), "{screen}");
    assert!(screen.contains("55%"), "the CPU gauge's label:\n{screen}");
    assert!(screen.contains("6.0 GiB available"), "{screen}");
    assert!(screen.contains("recommendation"), "{screen}");
    assert!(screen.contains("urgency"), "{screen}");
    assert!(screen.contains("every 2 s · sort: id"), "{screen}");
    assert!(!screen.contains("PAUSED"), "{screen}");
    assert!(!screen.contains("unreachable"), "{screen}");
}

#[test]
fn p_pauses_and_the_title_says_so() {
    let mut app = app();
    app.on_key(key(KeyCode::Char('p')));
    assert!(app.paused);
    assert!(text(&app).contains("PAUSED"));
    // Paused, a reading changes nothing on the screen.
    app.update(snapshot(99), None, Vec::new(), Instant::now());
    assert!(text(&app).contains("10 succeeded"));
    app.on_key(key(KeyCode::Char('p')));
    assert!(!text(&app).contains("PAUSED"));
}

#[test]
fn s_cycles_the_sort_order_and_the_table_follows() {
    let mut app = app();
    // By id: a, b, c.
    assert!(line_of(&app, "worker-a") < line_of(&app, "worker-b"));
    assert!(line_of(&app, "worker-b") < line_of(&app, "worker-c"));
    app.on_key(key(KeyCode::Char('s')));
    assert_eq!(app.sort, SortOrder::State);
    assert!(text(&app).contains("sort: state"));
    // Busy first (a, c), then idle (b).
    assert!(line_of(&app, "worker-c") < line_of(&app, "worker-b"));
    app.on_key(key(KeyCode::Char('s')));
    assert!(text(&app).contains("sort: cpu"));
    assert!(line_of(&app, "worker-a") < line_of(&app, "worker-c"));
    app.on_key(key(KeyCode::Char('s')));
    assert!(text(&app).contains("sort: done"));
    assert!(line_of(&app, "worker-b") < line_of(&app, "worker-c"));
    app.on_key(key(KeyCode::Char('s')));
    assert_eq!(app.sort, SortOrder::Id);
}

#[test]
fn redis_unreachable_shows_a_banner_and_keeps_the_last_reading() {
    let mut app = app();
    app.failed("Connection refused (os error 111)".to_owned());
    let screen = text(&app);
    assert!(
        screen.contains(
            "Redis unreachable; retrying 2 s after each failed attempt (an attempt gives up \
             after 2 s): Connection refused (os error 111)"
        ),
        "{screen}"
    );
    assert!(screen.contains("worker-a"), "{screen}");
    // The next reading clears it.
    app.update(snapshot(11), None, Vec::new(), Instant::now());
    assert!(!text(&app).contains("unreachable"));
}

#[test]
fn the_banner_shows_before_any_reading_too() {
    let mut app = App::new(Duration::from_millis(500));
    assert!(text(&app).contains("waiting for the first reading"));
    app.failed("Redis at redis://127.0.0.1:1 did not answer within 2 s".to_owned());
    assert!(
        text(&app)
            .contains("retrying 0.5 s after each failed attempt (an attempt gives up after 2 s)")
    );
}

#[test]
fn the_banner_grows_to_show_all_of_its_text_on_a_narrow_terminal() {
    let mut app = app();
    let error = "Redis at redis://127.0.0.1:6390 did not answer within 2 s: the end";
    app.failed(error.to_owned());
    let screen = screen_of(&app, 50, 44).join("");
    // Wrapped, so the words are split across rows: all of them are there, the last too.
    let words = |text: &str| {
        text.split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let shown = words(&screen.replace(['│', '─', '┌', '┐', '└', '┘'], " "));
    for word in words(error) {
        assert!(shown.contains(&word), "{word} is missing:\n{screen}");
    }
    assert!(shown.contains(&"retrying".to_owned()));
}

#[test]
fn the_sparklines_show_the_newest_readings_at_the_right() {
    let mut app = App::new(Duration::from_secs(1));
    let start = Instant::now();
    // 200 readings of a growing queue, then an empty one: more than the chart is wide.
    for n in (1..=200).chain([0]) {
        let mut snapshot = snapshot(10);
        snapshot.queue.length = n;
        app.update(snapshot, None, Vec::new(), start + Duration::from_secs(n));
    }
    let lines = screen(&app);
    let all = lines.join("\n");
    let title = lines
        .iter()
        .position(|line| line.contains("queue depth · 0"))
        .unwrap_or_else(|| panic!("no depth chart:\n{all}"));
    // The chart's bottom row, inside its borders (5 rows high).
    let bottom: Vec<char> = lines[title + 5].chars().collect();
    let edge = bottom[1..].iter().position(|c| *c == '│').unwrap() + 1;
    assert_eq!(
        bottom[edge - 1],
        ' ',
        "the newest reading, 0, at the right:\n{all}"
    );
    assert_eq!(bottom[edge - 2], '█', "the one before, 200:\n{all}");
    // The top row: full only next to the right edge, where the highest values are.
    let top: Vec<char> = lines[title + 1].chars().collect();
    assert_eq!(top[edge - 2], '█', "{all}");
    assert_eq!(top[1], ' ', "older, lower values at the left:\n{all}");
}

#[test]
fn another_workers_recent_tasks_are_not_shown() {
    let mut app = app();
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.selected.as_deref(), Some("worker-a"));
    // A reading that started before the selection moved: worker-b's tasks.
    app.update(snapshot(10), Some("worker-b"), recent(), Instant::now());
    assert!(app.recent.is_empty());
    assert!(text(&app).contains("none yet"));
    // None selected when it started.
    app.update(snapshot(10), None, recent(), Instant::now());
    assert!(app.recent.is_empty());
}

#[test]
fn dead_tasks_count_in_the_throughput() {
    let mut app = App::new(Duration::from_secs(1));
    let start = Instant::now();
    app.update(snapshot(10), None, Vec::new(), start);
    let mut later = snapshot(20);
    later.queue.failed = 5;
    later.queue.dead = 5;
    app.update(later, None, Vec::new(), start + Duration::from_secs(1));
    // 20 more finished in 1 s: 1200 a minute.
    assert_eq!(app.throughput.values(), [1200]);
    assert!(text(&app).contains("5 failed, 5 dead"));
}

#[test]
fn arrows_select_a_worker_and_show_its_recent_tasks() {
    let mut app = app();
    assert!(text(&app).contains("select a worker"));
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.selected.as_deref(), Some("worker-a"));
    assert!(text(&app).contains("recent tasks of worker-a"));
    // The reader brings the selected worker's tasks with the next reading.
    app.update(snapshot(10), Some("worker-a"), recent(), Instant::now());
    let screen = text(&app);
    assert!(screen.contains("succeeded"), "{screen}");
    assert!(screen.contains("0.75 s  blur | edges"), "{screen}");
    assert!(
        screen.contains("> worker-a"),
        "the row is highlighted:\n{screen}"
    );
    app.on_key(key(KeyCode::Down));
    app.on_key(key(KeyCode::Down));
    app.on_key(key(KeyCode::Down));
    assert_eq!(
        app.selected.as_deref(),
        Some("worker-c"),
        "stays on the last row"
    );
    app.on_key(key(KeyCode::Up));
    assert_eq!(app.selected.as_deref(), Some("worker-b"));
    assert!(
        app.recent.is_empty(),
        "another worker's tasks are not shown"
    );
}

#[test]
fn q_and_ctrl_c_quit() {
    let mut app = app();
    app.on_key(key(KeyCode::Char('x')));
    assert!(!app.quit);
    app.on_key(key(KeyCode::Char('q')));
    assert!(app.quit);
    let mut app = self::app();
    app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.quit);
}

#[test]
fn the_history_is_bounded_and_throughput_is_a_rate() {
    let mut history = History::default();
    for value in 0..500 {
        history.push(value);
    }
    assert_eq!(history.values().len(), HISTORY);
    assert_eq!(history.last(), Some(499));
    let mut app = App::new(Duration::from_secs(1));
    let start = Instant::now();
    app.update(snapshot(10), None, Vec::new(), start);
    // 30 more tasks in 1 s: 1800 a minute.
    app.update(
        snapshot(40),
        None,
        Vec::new(),
        start + Duration::from_secs(1),
    );
    assert_eq!(app.throughput.values(), [1800]);
    assert_eq!(app.depth.values(), [9, 9]);
    assert!(text(&app).contains("throughput · 1800 tasks/min"));
}

#[test]
fn the_interval_is_checked() {
    let interval = |value: &str| {
        let cli =
            Cli::try_parse_from(["session09_monitoring", "monitor", "--interval", value]).unwrap();
        match cli.command {
            Some(Command::Monitor(args)) => args.interval().map_err(|e| e.to_string()),
            other => panic!("not monitor: {other:?}"),
        }
    };
    assert_eq!(interval("0.5"), Ok(Duration::from_millis(500)));
    assert!(interval("0").unwrap_err().contains("--interval"));
    assert!(interval("NaN").unwrap_err().contains("--interval"));
    assert_eq!(
        interval("0.05").unwrap_err(),
        "--interval must be at least 0.1 seconds, got 0.05"
    );
}
