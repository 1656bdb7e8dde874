//! `cargo xtask record`: the sessions' benchmarks, run in release several times, kept in
//! `book/src/data/` for the book to draw its measured figures from.
//!
//! The book never types a measured figure into its prose: `cargo xtask book` turns each
//! record into Markdown snippets under `book/src/figures/` (tables, and the figures a
//! sentence quotes), which the chapters `{{#include}}`. A new recording updates the text.

use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{cargo, peers};

/// Markdown snippets: (file name under `book/src/figures/`, its text).
pub type Snippets = Vec<(String, String)>;

/// One benchmark the book quotes.
pub struct Recording {
    /// Its file, `book/src/data/{name}.json`, and its snippets' prefix.
    pub name: &'static str,
    /// The session crate.
    pub package: &'static str,
    /// The arguments after `--`; the benchmark prints one JSON document.
    pub args: &'static [&'static str],
    /// How many runs a recording keeps, for a range rather than one lucky figure.
    pub runs: usize,
    /// The snippets drawn from a record: (file name under `figures/`, Markdown).
    pub draw: fn(&Record) -> Result<Snippets>,
}

/// What is kept of a recording.
#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    /// The command that made it.
    pub command: String,
    /// The CPU model and core count.
    pub machine: String,
    /// Each run's JSON report.
    pub runs: Vec<Value>,
}

/// Every recording, in session order.
pub const RECORDINGS: &[Recording] = &[
    Recording {
        name: "session02-compare",
        package: "session02_pipelines",
        args: &["compare", "--repeat", "10", "--json"],
        runs: 3,
        draw: |record| draw_compare(record, "compare"),
    },
    Recording {
        name: "session02-compare-io",
        package: "session02_pipelines",
        args: &[
            "compare",
            "--repeat",
            "10",
            "--pipeline",
            "invert",
            "--read-delay",
            "200",
            "--workers",
            "16",
            "--json",
        ],
        runs: 3,
        draw: |record| draw_compare(record, "compare-io"),
    },
    Recording {
        name: "session03-bench",
        package: "session03_workers",
        args: &["bench", "--json"],
        runs: 7,
        draw: |record| queue_bench("session03", record),
    },
    Recording {
        name: "session04-bench",
        package: "session04_redis",
        args: &["bench", "--tasks", "100000", "--json"],
        runs: 5,
        draw: |record| queue_bench("session04", record),
    },
    Recording {
        name: "session05-bench",
        package: "session05_distributed",
        args: &["bench", "--json"],
        runs: 3,
        draw: draw_tiles_bench,
    },
];

/// Where a recording is kept.
pub fn path(root: &Path, name: &str) -> std::path::PathBuf {
    root.join("book/src/data").join(format!("{name}.json"))
}

/// Runs the recordings named (all when none is), each `runs` times, and keeps them.
pub fn record(root: &Path, only: &[String]) -> Result<()> {
    for name in only {
        if !RECORDINGS.iter().any(|r| r.name == name) {
            let names: Vec<&str> = RECORDINGS.iter().map(|r| r.name).collect();
            bail!("no recording {name:?}; there are {}", names.join(", "));
        }
    }
    let machine = peers::machine();
    for recording in RECORDINGS
        .iter()
        .filter(|r| only.is_empty() || only.iter().any(|n| n == r.name))
    {
        let command = format!(
            "cargo run --release -p {} -- {}",
            recording.package,
            recording.args.join(" ")
        );
        let mut runs = Vec::with_capacity(recording.runs);
        for run in 1..=recording.runs {
            eprintln!("$ {command}   (run {run} of {})", recording.runs);
            let output = cargo(root)
                .args(["run", "--quiet", "--locked", "--release", "--package"])
                .arg(recording.package)
                .arg("--")
                .args(recording.args)
                .stdin(Stdio::null())
                .stderr(Stdio::inherit())
                .output()
                .with_context(|| format!("cannot run {command}"))?;
            if !output.status.success() {
                bail!("`{command}` failed ({})", output.status);
            }
            let report: Value = serde_json::from_slice(&output.stdout)
                .with_context(|| format!("`{command}` printed no JSON"))?;
            runs.push(report);
        }
        let record = Record {
            command,
            machine: machine.clone(),
            runs,
        };
        // A record that cannot be drawn is refused before it replaces a good one.
        (recording.draw)(&record)?;
        let file = path(root, recording.name);
        std::fs::write(&file, serde_json::to_string_pretty(&record)? + "\n")
            .with_context(|| format!("cannot write {}", file.display()))?;
        eprintln!("recorded {}", file.display());
    }
    Ok(())
}

/// Draws every recording's snippets into `figures`; a missing or unreadable record is an
/// error, since the chapters include what it draws.
pub fn draw_all(root: &Path, figures: &Path) -> Result<()> {
    for recording in RECORDINGS {
        let file = path(root, recording.name);
        let text = std::fs::read_to_string(&file).with_context(|| {
            format!(
                "cannot read {} (make it with `cargo xtask record {}`)",
                file.display(),
                recording.name
            )
        })?;
        let record: Record = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a recording", file.display()))?;
        for (name, markdown) in
            (recording.draw)(&record).with_context(|| format!("cannot draw {}", file.display()))?
        {
            let out = figures.join(name);
            if let Some(folder) = out.parent() {
                std::fs::create_dir_all(folder)?;
            }
            std::fs::write(&out, markdown)?;
        }
    }
    Ok(())
}

/// A number from a run's report.
fn number(run: &Value, field: &str) -> Result<f64> {
    run[field]
        .as_f64()
        .with_context(|| format!("a run has no number `{field}`"))
}

/// Each run's `field`, sorted.
fn sorted(record: &Record, field: &str) -> Result<Vec<f64>> {
    let mut values: Vec<f64> = record
        .runs
        .iter()
        .map(|run| number(run, field))
        .collect::<Result<_>>()?;
    if values.is_empty() {
        bail!("the record has no runs");
    }
    values.sort_by(f64::total_cmp);
    Ok(values)
}

fn median(sorted: &[f64]) -> f64 {
    sorted[sorted.len() / 2]
}

/// `12 345` for 12345.4: thousands apart, as the book writes them.
fn grouped(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(digit);
    }
    out
}

/// `a to b`, or just `a` when every run gave the same figure at this precision.
fn range(sorted: &[f64], format: impl Fn(f64) -> String) -> String {
    let (low, high) = (format(sorted[0]), format(sorted[sorted.len() - 1]));
    if low == high {
        low
    } else {
        format!("{low} to {high}")
    }
}

/// The snippet every drawing ends with: what ran, where, how often.
fn provenance(record: &Record) -> String {
    format!(
        "`{}`, {} runs on {}",
        record.command,
        record.runs.len(),
        record.machine
    )
}

/// Session 02's strategies table, from the run with the median sequential time, as
/// `session02/{name}.md`; and each strategy's speed-up, as `session02/{name}-{strategy}.md`.
fn draw_compare(record: &Record, name: &str) -> Result<Snippets> {
    let mut runs: Vec<&Value> = record.runs.iter().collect();
    if runs.is_empty() {
        bail!("the record has no runs");
    }
    runs.sort_by(|a, b| {
        let wall = |run: &Value| run["rows"][0]["wall_seconds"].as_f64().unwrap_or(f64::NAN);
        wall(a).total_cmp(&wall(b))
    });
    let run = runs[runs.len() / 2];
    let rows = run["rows"].as_array().context("a run has no rows")?;
    let mut snippets = Vec::new();
    let mut table = "| strategy | workers | wall (s) | speed-up | CPUs busy | megapixels/s | peak memory (MB) |\n\
                     |---|---:|---:|---:|---:|---:|---:|\n"
        .to_owned();
    for row in rows {
        if row["failed"].as_u64() != Some(0) {
            bail!("a recorded strategy failed on some images: {row}");
        }
        let strategy = row["strategy"].as_str().context("a row has no strategy")?;
        let speed_up = format!("{:.2}x", number(row, "speed_up")?);
        table += &format!(
            "| {strategy} | {} | {:.2} | {speed_up} | {:.2} | {:.1} | {:.0} |\n",
            row["workers"].as_u64().context("a row has no workers")?,
            number(row, "wall_seconds")?,
            number(row, "cpus_busy")?,
            number(row, "megapixels_per_second")?,
            row["peak_memory_mb"]
                .as_f64()
                .context("a row has no peak memory")?,
        );
        snippets.push((format!("session02/{name}-{strategy}.md"), speed_up));
    }
    let images = run["images"].as_u64().context("a run has no image count")?;
    let pipeline = run["pipeline"].as_str().context("a run has no pipeline")?;
    let waits = match run["read_delay_ms"].as_u64() {
        Some(delay) if delay > 0 => format!(", each read waiting {delay} ms first"),
        _ => String::new(),
    };
    table += &format!(
        "\n*The pipeline `{pipeline}` over {images} images{waits}; the median of {}.*\n",
        provenance(record)
    );
    snippets.push((format!("session02/{name}.md"), table));
    Ok(snippets)
}

/// A queue benchmark's throughput: the range over the runs, the median, the cost per task.
fn queue_bench(session: &str, record: &Record) -> Result<Snippets> {
    let rates = sorted(record, "tasks_per_second")?;
    let tasks = number(&record.runs[0], "tasks")?;
    let mut snippets = vec![
        (
            format!("{session}/bench-range.md"),
            range(&rates, grouped) + "\n",
        ),
        (
            format!("{session}/bench-median.md"),
            grouped(median(&rates)) + "\n",
        ),
        (
            format!("{session}/bench-micros.md"),
            format!("{:.1}\n", 1e6 / median(&rates)),
        ),
        (format!("{session}/bench-tasks.md"), grouped(tasks) + "\n"),
        (
            format!("{session}/bench-source.md"),
            format!("*{}.*\n", provenance(record)),
        ),
    ];
    if session == "session04" {
        snippets.push((
            "session04/bench-sidekiq.md".to_owned(),
            format!("{:.2}\n", median(&rates) / SIDEKIQ_JOBS_PER_SECOND),
        ));
        snippets.push((
            "session04/sidekiq.md".to_owned(),
            grouped(SIDEKIQ_JOBS_PER_SECOND) + "\n",
        ));
    }
    Ok(snippets)
}

/// The throughput Sidekiq publishes for itself, jobs per second: a quoted figure, not ours.
pub const SIDEKIQ_JOBS_PER_SECOND: f64 = 23_500.0;

/// Session 05's tiles against the whole-image kernel.
fn draw_tiles_bench(record: &Record) -> Result<Snippets> {
    let first = record.runs.first().context("the record has no runs")?;
    let whole = sorted(record, "whole_seconds")?;
    let tiled = sorted(record, "tiled_seconds")?;
    let ratio = sorted(record, "ratio")?;
    let submit = sorted(record, "submit_seconds")?;
    let last_tile = sorted(record, "last_tile_seconds")?;
    let mut memory: Vec<f64> = record
        .runs
        .iter()
        .flat_map(|run| {
            run["worker_peak_rss_mb"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|mb| mb.as_f64())
        .collect();
    if memory.is_empty() {
        bail!("no worker's peak memory was recorded");
    }
    memory.sort_by(f64::total_cmp);
    if record
        .runs
        .iter()
        .any(|run| run["identical"] != Value::Bool(true))
    {
        bail!("a run's tiled result differs from the whole-image one");
    }
    let (width, height) = (number(first, "width")?, number(first, "height")?);
    let image_mb = width * height * 3.0 / 1e6;
    let seconds = |s: f64| format!("{s:.2}");
    let table = format!(
        "| | time (s) | peak memory |\n|---|---|---|\n\
         | fast kernel, whole image, 2 threads | {} | the image, twice: {:.0} MB |\n\
         | tiled job, {} worker processes | {} | {} MB each |\n\n\
         *{:.0} x {:.0} pixels ({:.0} megapixels), {} tiles; {}.*\n",
        range(&whole, seconds),
        2.0 * image_mb,
        number(first, "workers")?,
        range(&tiled, seconds),
        range(&memory, |mb| format!("{mb:.0}")),
        width,
        height,
        width * height / 1e6,
        number(first, "tiles")?,
        provenance(record),
    );
    Ok(vec![
        ("session05/bench.md".to_owned(), table),
        (
            "session05/bench-ratio.md".to_owned(),
            format!("{:.0}\n", median(&ratio)),
        ),
        (
            "session05/bench-submit.md".to_owned(),
            format!("{:.2}\n", median(&submit)),
        ),
        (
            "session05/bench-submit-ratio.md".to_owned(),
            format!("{:.0}\n", median(&submit) / median(&whole)),
        ),
        (
            "session05/bench-last-tile.md".to_owned(),
            format!("{:.1}\n", median(&last_tile)),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_grouped_and_ranges_collapse() {
        assert_eq!(grouped(215_431.6), "215 432");
        assert_eq!(grouped(999.0), "999");
        assert_eq!(grouped(1_000.0), "1 000");
        assert_eq!(range(&[1.0, 2.0], |v| format!("{v:.0}")), "1 to 2");
        assert_eq!(range(&[1.01, 1.02], |v| format!("{v:.1}")), "1.0");
    }

    #[test]
    fn a_queue_record_draws_its_range_and_median() {
        let record = Record {
            command: "cargo run".to_owned(),
            machine: "a CPU, 2 cores".to_owned(),
            runs: [30_000.0, 10_000.0, 20_000.0]
                .iter()
                .map(|rate| serde_json::json!({"tasks": 1000, "tasks_per_second": rate}))
                .collect(),
        };
        let snippets = queue_bench("session04", &record).unwrap();
        let get = |name: &str| {
            snippets
                .iter()
                .find(|(file, _)| file.ends_with(name))
                .map(|(_, text)| text.trim().to_owned())
                .unwrap()
        };
        assert_eq!(get("bench-range.md"), "10 000 to 30 000");
        assert_eq!(get("bench-median.md"), "20 000");
        assert_eq!(get("bench-micros.md"), "50.0");
        assert_eq!(get("bench-sidekiq.md"), "0.85");
    }

    #[test]
    fn a_tiles_record_with_a_different_result_is_refused() {
        let run = serde_json::json!({
            "width": 100, "height": 100, "tiles": 4, "workers": 2,
            "whole_seconds": 1.0, "tiled_seconds": 2.0, "ratio": 2.0,
            "submit_seconds": 0.5, "last_tile_seconds": 1.5,
            "worker_peak_rss_mb": [10.0, 12.0], "identical": false,
        });
        let record = Record {
            command: "cargo run".to_owned(),
            machine: "m".to_owned(),
            runs: vec![run],
        };
        assert!(draw_tiles_bench(&record).is_err());
    }
}
