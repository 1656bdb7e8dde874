//! The `monitor` command: the system as a live terminal dashboard, like the original
//! course's `monitor`, drawn with ratatui.
//!
//! Two loops share the work, so a slow or silent Redis never freezes the keys:
//!
//! - the **reader**, a tokio task, reads a [`Snapshot`](crate::snapshot::Snapshot) every
//!   `--interval` (and at once when the selection changes), with a deadline, and sends it
//!   (or why it failed) over a channel; it never stops on a Redis error, it tries again;
//! - the **screen loop**, on the main thread, waits for a key at most 100 ms, applies the
//!   readings that arrived, and redraws ([`ui::draw`], a pure function of the [`App`]).
//!
//! The terminal is put back (raw mode off, the main screen back, the cursor shown) when
//! the loop ends, whatever way it ends, and by a panic hook when something panics.

pub mod app;
pub mod ui;

use std::io::{IsTerminal as _, Stdout};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, execute};
use session03_workers::cli::seconds;
use session04_redis::cli::QueueArgs;
use session05_distributed::worker::HeartbeatArgs;
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, watch};

use crate::published::{self, RecentTask};
use crate::snapshot::{self, Snapshot, Sources};
pub use app::App;

/// The shortest time between two readings.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// How long the program waits, after `q`, for a reading still under way.
pub const SHUTDOWN: Duration = Duration::from_millis(500);

/// How many of the selected worker's tasks the dashboard shows.
pub const RECENT: usize = 10;

/// Watches the system in a terminal dashboard.
#[derive(Debug, Clone, clap::Args)]
pub struct MonitorArgs {
    /// The queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// The heartbeat timing to judge workers by when their records do not carry their own.
    #[command(flatten)]
    pub heartbeat: HeartbeatArgs,
    /// Seconds between two readings (at least 0.1).
    #[arg(long = "interval", value_name = "SECONDS", default_value_t = 2.0)]
    pub refresh: f64,
}

impl MonitorArgs {
    /// The time between two readings, checked.
    pub fn interval(&self) -> Result<Duration> {
        let interval = seconds("interval", self.refresh)?;
        if interval < MIN_INTERVAL {
            bail!(
                "--interval must be at least 0.1 seconds, got {}",
                self.refresh
            );
        }
        Ok(interval)
    }
}

/// Runs the dashboard until `q`; an error (bad flags, no terminal) on stderr.
pub fn main(args: MonitorArgs) -> ExitCode {
    let outcome = args.interval().and_then(|interval| {
        let runtime = Runtime::new()?;
        let outcome = run(&runtime, &args, interval);
        // A reading still under way (a connect to a silent Redis, say) does not hold us.
        runtime.shutdown_timeout(SHUTDOWN);
        outcome
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// What the reader sends the screen loop.
#[derive(Debug)]
pub enum Reading {
    /// A snapshot, the selected worker's recent tasks, and when it was read.
    Read(Box<Snapshot>, Vec<RecentTask>, Instant),
    /// Why the reading failed.
    Failed(String),
}

/// Draws the dashboard on this terminal until `q`, reading on `runtime` every `interval`.
pub fn run(runtime: &Runtime, args: &MonitorArgs, interval: Duration) -> Result<()> {
    if !std::io::stdout().is_terminal() {
        bail!("monitor draws on a terminal: run it in one, or use `metrics` for one snapshot");
    }
    let (readings_tx, mut readings) = mpsc::channel(4);
    let (selected_tx, selected) = watch::channel(None);
    let reader = runtime.spawn(read_loop(args.clone(), interval, readings_tx, selected));
    let outcome = Screen::enter().and_then(|mut screen| {
        screen_loop(
            &mut screen.terminal,
            App::new(interval),
            &mut readings,
            &selected_tx,
        )
    });
    reader.abort();
    outcome
}

/// Reads the system every `interval` (at once when the selection changes), until the
/// screen loop is gone. Never stops on an error: it sends it, and tries again.
async fn read_loop(
    args: MonitorArgs,
    interval: Duration,
    readings: mpsc::Sender<Reading>,
    mut selected: watch::Receiver<Option<String>>,
) {
    // A reading that takes longer than this counts as Redis not answering.
    let deadline = interval.max(Duration::from_secs(2));
    let mut sources = None;
    loop {
        let id = selected.borrow_and_update().clone();
        let reading = match read_once(&args, &mut sources, deadline, id.as_deref()).await {
            Ok((snapshot, recent)) => Reading::Read(Box::new(snapshot), recent, Instant::now()),
            Err(error) => Reading::Failed(format!("{error:#}")),
        };
        if readings.send(reading).await.is_err() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            changed = selected.changed() => if changed.is_err() { return },
        }
    }
}

/// One reading, connecting first when not connected yet.
async fn read_once(
    args: &MonitorArgs,
    sources: &mut Option<Sources>,
    deadline: Duration,
    selected: Option<&str>,
) -> Result<(Snapshot, Vec<RecentTask>)> {
    let sources = match sources {
        Some(sources) => sources,
        None => sources.insert(Sources::open(&args.queue, &args.heartbeat, deadline).await?),
    };
    let snapshot = tokio::time::timeout(deadline, snapshot::read(sources))
        .await
        .with_context(|| format!("no answer within {} s", deadline.as_secs_f64()))??;
    let recent = match selected {
        Some(id) => published::read_recent(&sources.queue, id, RECENT).await?,
        None => Vec::new(),
    };
    Ok((snapshot, recent))
}

/// Waits for keys and readings, and redraws, until `q`.
fn screen_loop(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    mut app: App,
    readings: &mut mpsc::Receiver<Reading>,
    selected: &watch::Sender<Option<String>>,
) -> Result<()> {
    loop {
        loop {
            match readings.try_recv() {
                Ok(Reading::Read(snapshot, recent, at)) => app.update(*snapshot, recent, at),
                Ok(Reading::Failed(error)) => app.failed(error),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => bail!("the reader stopped"),
            }
        }
        terminal.draw(|frame| ui::draw(frame, &app))?;
        // Keys are read with a timeout, so the readings that arrive meanwhile show soon.
        if event::poll(Duration::from_millis(100))?
            && let Event::Key(key) = event::read()?
            && key.kind == KeyEventKind::Press
        {
            app.on_key(key);
            selected.send_if_modified(|id| {
                let changed = *id != app.selected;
                id.clone_from(&app.selected);
                changed
            });
        }
        if app.quit {
            return Ok(());
        }
    }
}

/// The terminal in raw mode on the alternate screen, put back when dropped.
struct Screen {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

// ANCHOR: restore

impl Screen {
    /// Takes over the terminal. A panic from here on first puts it back, then reports.
    fn enter() -> Result<Self> {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            report(info);
        }));
        let terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
        // From here on, dropping the screen puts the terminal back.
        let screen = Self { terminal };
        enable_raw_mode().context("cannot put the terminal in raw mode")?;
        execute!(std::io::stdout(), EnterAlternateScreen, cursor::Hide)?;
        Ok(screen)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

/// Raw mode off, the main screen back, the cursor shown: what the shell expects.
fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(std::io::stdout(), LeaveAlternateScreen, cursor::Show);
}
// ANCHOR_END: restore
