//! The `metrics` command: one [`Snapshot`] of the system, like the original course's
//! `cli.py metrics`: the machine, the workers, the queue, and session 08's recommendation
//! block, for people, or the whole snapshot as JSON with `--json`.
//!
//! Its flags are session 08's `recommend` flags (the queue, the heartbeat timing, the
//! bounds and targets the recommendation is judged by, `--json`): the snapshot carries
//! that recommendation.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Result;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use session08_scaling::recommend::{self, RecommendArgs};

use crate::snapshot::{self, Snapshot, Sources};

/// How long `metrics` waits for Redis to answer before saying it is unreachable.
pub const CONNECT_DEADLINE: Duration = Duration::from_secs(5);

/// Prints one snapshot of the system.
#[derive(Debug, Clone, clap::Args)]
// Session 08's `--json` prints the recommendation; here it prints the whole snapshot.
#[command(mut_arg("json", |arg| arg.help("The whole snapshot as JSON, the recommendation included")))]
pub struct MetricsArgs {
    /// The queue, the heartbeat timing, the recommendation's bounds and targets, and
    /// `--json` (the whole snapshot as JSON).
    #[command(flatten)]
    pub system: RecommendArgs,
}

/// Reads the system once and prints it, as text or JSON.
pub async fn run(args: MetricsArgs) -> Result<String> {
    let args = args.system;
    let spec = args.spec()?;
    let targets = args.targets()?;
    let mut sources = Sources::open(&args.queue, &args.heartbeat, CONNECT_DEADLINE).await?;
    sources.spec = spec;
    sources.targets = targets;
    let snapshot = snapshot::read(&mut sources).await?;
    if args.json {
        Ok(serde_json::to_string_pretty(&snapshot)? + "\n")
    } else {
        render(&snapshot)
    }
}

/// A percentage to the unit: `67%`.
pub fn percent(value: f64) -> String {
    format!("{value:.0}%")
}

/// Bytes in the largest binary unit that keeps a number above 1: `7.8 GiB`.
pub fn bytes(value: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut amount = value as f64;
    let mut unit = 0;
    while amount >= 1024.0 && unit + 1 < UNITS.len() {
        amount /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value} B")
    } else {
        format!("{amount:.1} {}", UNITS[unit])
    }
}

/// The success rate for people: `97%`, or `-` when nothing finished yet.
pub fn success_rate(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_owned(), |rate| percent(100.0 * rate))
}

/// The snapshot for people: the original's three blocks, the workers, then session 08's
/// recommendation block.
pub fn render(snapshot: &Snapshot) -> Result<String> {
    let (host, workers, queue) = (&snapshot.host, &snapshot.workers, &snapshot.queue);
    let mut out = String::new();
    writeln!(
        out,
        "system:  CPU {}, memory {} in use, {} available",
        percent(host.cpu_percent),
        percent(host.memory_percent),
        bytes(host.memory_available_bytes)
    )?;
    writeln!(
        out,
        "workers: {} active, {} busy; {} of {} slots busy: utilisation {}",
        workers.active,
        workers.busy,
        workers.busy_slots,
        workers.total_slots,
        percent(workers.utilisation_percent)
    )?;
    writeln!(
        out,
        "queue:   length {}, lag {}, {} in hand, {} dead letters; {} succeeded, {} failed; \
         success rate {}",
        queue.length,
        queue.lag,
        queue.pending,
        queue.dead_letters,
        queue.succeeded,
        queue.failed,
        success_rate(snapshot.success_rate)
    )?;
    let states: Vec<String> = snapshot
        .states
        .iter()
        .map(|(state, n)| format!("{} {n}", state.name()))
        .collect();
    writeln!(out, "tasks:   {}", states.join(", "))?;
    if !snapshot.worker_rows.is_empty() {
        let mut table = Table::new();
        table.load_style(UTF8_FULL_CONDENSED).set_header([
            "worker",
            "state",
            "capabilities",
            "last beat",
            "done",
            "in hand",
            "CPU",
            "memory",
        ]);
        for row in &snapshot.worker_rows {
            table.add_row([
                row.id.clone(),
                row.state.name().to_owned(),
                row.capabilities.clone(),
                format!("{:.1} s ago", row.last_beat_seconds),
                row.tasks_done.to_string(),
                format!("{}/{}", row.in_hand, row.slots),
                row.cpu_percent.map_or_else(|| "-".to_owned(), percent),
                row.memory_bytes.map_or_else(|| "-".to_owned(), bytes),
            ]);
        }
        writeln!(out, "{table}")?;
    }
    out.push('\n');
    out.push_str(&recommend::render(&snapshot.recommendation)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_in_binary_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(8 << 30), "8.0 GiB");
        assert_eq!(success_rate(None), "-");
        assert_eq!(success_rate(Some(0.975)), "98%");
    }
}
