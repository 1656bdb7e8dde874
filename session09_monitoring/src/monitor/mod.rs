//! The `monitor` command: the system as a live terminal dashboard, like the original
//! course's `monitor`, drawn with ratatui.
//!
//! Two loops share the work, so a slow or silent Redis never freezes the keys:
//!
//! - the **reader**, a tokio task, reads a [`Snapshot`] every
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
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// A snapshot, the worker whose recent tasks were read with it (the selection when
    /// the reading started) and those tasks, and when it was read.
    Read(Box<Snapshot>, Option<String>, Vec<RecentTask>, Instant),
    /// Why the reading failed.
    Failed(String),
}

/// How long one reading (connecting included) may take before it counts as Redis not
/// answering: the interval, but at least 2 s. A failed reading is retried `interval`
/// after it gave up, so a silent Redis is tried every `deadline(interval) + interval`.
pub fn deadline(interval: Duration) -> Duration {
    interval.max(Duration::from_secs(2))
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
    let deadline = deadline(interval);
    let mut sources = None;
    loop {
        let id = selected.borrow_and_update().clone();
        // The whole reading, connecting and the recent tasks included, within the deadline.
        let outcome = tokio::time::timeout(
            deadline,
            read_once(&args, &mut sources, deadline, id.as_deref()),
        )
        .await
        .unwrap_or_else(|_| {
            Err(anyhow::anyhow!(
                "Redis at {} did not answer within {} s",
                args.queue.redis.display_url(),
                deadline.as_secs_f64()
            ))
        });
        let reading = match outcome {
            Ok((snapshot, recent)) => Reading::Read(Box::new(snapshot), id, recent, Instant::now()),
            Err(error) => {
                // Connect again next time: a restarted Redis lost the queue's functions,
                // which opening loads again.
                sources = None;
                Reading::Failed(format!("{error:#}"))
            }
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
    let snapshot = snapshot::read(sources).await?;
    let recent = match selected {
        Some(id) => published::read_recent(&sources.queue, id, RECENT).await?,
        None => Vec::new(),
    };
    Ok((snapshot, recent))
}

/// Set (to anything) in tests: the screen loop panics after its first frame, to check
/// that the panic hook puts the terminal back.
pub const PANIC_VARIABLE: &str = "IMGPROC_MONITOR_TEST_PANIC";

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
                Ok(Reading::Read(snapshot, of, recent, at)) => {
                    app.update(*snapshot, of.as_deref(), recent, at);
                }
                Ok(Reading::Failed(error)) => app.failed(error),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => bail!("the reader stopped"),
            }
        }
        terminal.draw(|frame| ui::draw(frame, &app))?;
        if std::env::var_os(PANIC_VARIABLE).is_some() {
            panic!("{PANIC_VARIABLE} is set: the monitor panics, as asked");
        }
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

/// The panic hook that was in place before the screen's.
type Hook = Arc<dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync>;

/// The terminal in raw mode on the alternate screen, put back when dropped, with the
/// panic hook it replaced.
struct Screen {
    terminal: Terminal<CrosstermBackend<Stdout>>,
    previous: Hook,
}

// ANCHOR: restore
impl Screen {
    /// Takes over the terminal. A panic from here on first puts it back, then reports.
    fn enter() -> Result<Self> {
        let previous: Hook = Arc::from(std::panic::take_hook());
        let report = Arc::clone(&previous);
        std::panic::set_hook(Box::new(move |info| {
            restore();
            report(info);
        }));
        let terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
        // From here on, dropping the screen puts the terminal (and the hook) back.
        let screen = Self { terminal, previous };
        TAKEN_OVER.store(true, Ordering::SeqCst);
        enable_raw_mode().context("cannot put the terminal in raw mode")?;
        execute!(std::io::stdout(), EnterAlternateScreen, cursor::Hide)?;
        Ok(screen)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
        // The hook cannot be changed while panicking (the process would abort); the
        // panic's own hook already put the terminal back then.
        if !std::thread::panicking() {
            let previous = Arc::clone(&self.previous);
            std::panic::set_hook(Box::new(move |info| previous(info)));
        }
    }
}
// ANCHOR_END: restore

/// Whether the screen has the terminal: [`restore`] puts it back once.
static TAKEN_OVER: AtomicBool = AtomicBool::new(false);

/// Raw mode off, the main screen back, the cursor shown: what the shell expects. Once only:
/// after a panic the hook restores, then the drop while unwinding would leave the
/// alternate screen again, which moves the cursor back over the panic's report.
fn restore() {
    if !TAKEN_OVER.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = disable_raw_mode();
    let _ = execute!(std::io::stdout(), LeaveAlternateScreen, cursor::Show);
}
