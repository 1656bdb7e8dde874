//! Structured logs with `tracing`: human lines for a terminal, JSON lines for machines.
//!
//! Every task runs in a span carrying its id, the worker's id, the filters and the attempt
//! number, so each line about a task says which task without repeating it by hand, and a
//! log collector (session 09) can filter and join on those fields. `RUST_LOG` picks what is
//! shown (`info` by default; `session03_workers=debug`, `warn` ...).

use std::io::IsTerminal;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event, with the span's fields.
    #[default]
    Human,
    /// One JSON object per line, with the current span's fields.
    Json,
}

/// Sends log lines to stderr in `format`, filtered by `RUST_LOG` (default `info`).
///
/// Fails when a logger is already installed (call it once, first thing in `main`).
// ANCHOR: init
pub fn init(format: LogFormat) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a terminal: a file or a pipe gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    installed.map_err(|error| anyhow::anyhow!("cannot install the logger: {error}"))
}
// ANCHOR_END: init
