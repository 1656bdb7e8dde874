//! `cargo xtask record`: the sessions' benchmarks, run in release several times, kept in
//! `book/src/data/` for the book to draw its measured figures from.
//!
//! The book never types a measured figure into its prose: `cargo xtask book` turns each
//! record into Markdown snippets under `book/src/figures/` (tables, and the figures a
//! sentence quotes), which the chapters `{{#include}}`. A new recording updates the text.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, Result, bail, ensure};
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
    Recording {
        name: "session05-bench-redis",
        package: "session05_distributed",
        args: &["bench", "--store", "redis", "--json"],
        runs: 3,
        draw: |record| draw_in_place_bench(record, "redis"),
    },
    Recording {
        name: "session05-bench-folder",
        package: "session05_distributed",
        args: &["bench", "--store", "folder", "--json"],
        runs: 3,
        draw: |record| draw_in_place_bench(record, "folder"),
    },
    Recording {
        name: "session08-scaling",
        package: "session08_scaling",
        args: &["--json"],
        runs: 3,
        draw: draw_scaling,
    },
    Recording {
        name: "session08-bench",
        package: "session08_scaling",
        args: &["bench", "--json"],
        runs: 1,
        draw: draw_scaling_bench,
    },
    Recording {
        name: "session09-stress",
        package: "session09_monitoring",
        args: &["--json"],
        runs: 3,
        draw: draw_stress,
    },
    Recording {
        name: "session10-full-test",
        package: "session10_final",
        args: &["full-test", "--workers", "3", "--json"],
        runs: 5,
        draw: draw_full_test,
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
pub(crate) fn grouped(value: f64) -> String {
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

/// Session 05's bands in place in `store` against the whole-image kernel: the same table,
/// and the ratio to two decimals.
fn draw_in_place_bench(record: &Record, store: &str) -> Result<Snippets> {
    let table = draw_tiles_bench(record)?
        .into_iter()
        .find(|(name, _)| name == "session05/bench.md")
        .context("no table")?
        .1;
    let ratio = sorted(record, "ratio")?;
    Ok(vec![
        (format!("session05/bench-{store}.md"), table),
        (
            format!("session05/bench-{store}-ratio.md"),
            format!("{:.2}\n", median(&ratio)),
        ),
    ])
}

/// Session 09's demo: how fast three workers are all busy under a stress run, beside the
/// original course's target, as the table `session09/stress.md`.
fn draw_stress(record: &Record) -> Result<Snippets> {
    let seconds = |s: f64| format!("{s:.2}");
    let mut table = String::from("| from the first task submitted to | seconds |\n|---|---|\n");
    for (label, field) in [
        ("the first busy worker", "seconds_to_first_busy"),
        ("all 3 workers busy", "seconds_to_all_busy"),
        ("utilisation 100 %", "seconds_to_full_utilisation"),
        ("every task done", "seconds_to_done"),
    ] {
        let values = sorted(record, field)?;
        writeln!(table, "| {label} | {} |", range(&values, seconds))?;
    }
    writeln!(
        table,
        "| *the original course's target* | *5 (0 to 3 busy, 0 to 100 %)* |"
    )?;
    writeln!(table, "\n*{}.*", provenance(record))?;
    Ok(vec![("session09/stress.md".to_owned(), table)])
}

/// Session 10's ten jobs through the API in one process, beside the original course's
/// figure, as the table `session10/full-test.md` and its median alone.
fn draw_full_test(record: &Record) -> Result<Snippets> {
    let seconds = |s: f64| format!("{s:.3}");
    let wall = sorted(record, "wall_seconds")?;
    let verified = sorted(record, "verified")?;
    ensure!(
        verified.first().is_some_and(|v| *v >= 10.0),
        "a run verified fewer than 10 results: {verified:?}"
    );
    let mut table = String::from("| ten jobs, end to end | seconds |\n|---|---|\n");
    writeln!(
        table,
        "| through this API, embedded, 3 worker tasks | {} |",
        range(&wall, seconds)
    )?;
    writeln!(table, "| *the original course, 3 workers* | *0.51* |")?;
    writeln!(table, "\n*{}.*", provenance(record))?;
    Ok(vec![
        ("session10/full-test.md".to_owned(), table),
        (
            "session10/full-test-median.md".to_owned(),
            format!("{:.3}\n", median(&wall)),
        ),
    ])
}

/// Session 08's demo: seconds to the cap and back to the minimum as ranges over the runs,
/// and the median run's timeline as `session08/timeline.svg`.
fn draw_scaling(record: &Record) -> Result<Snippets> {
    let to_cap = sorted(record, "seconds_to_cap")?;
    let to_min = sorted(record, "seconds_back_to_min")?;
    let mut runs: Vec<&Value> = record.runs.iter().collect();
    runs.sort_by(|a, b| {
        let cap = |run: &Value| run["seconds_to_cap"].as_f64().unwrap_or(f64::NAN);
        cap(a).total_cmp(&cap(b))
    });
    let run = runs[runs.len() / 2];
    let seconds = |s: f64| format!("{s:.0}");
    let mut points = Vec::new();
    for row in run["timeline"]
        .as_array()
        .context("a run has no timeline")?
    {
        points.push(TimelinePoint {
            seconds: number(row, "seconds")?,
            replicas: number(row, "replicas")?,
            desired: number(row, "desired")?,
            queue_depth: number(row, "queue_depth")?,
        });
    }
    if points.is_empty() {
        bail!("the median run's timeline is empty");
    }
    let caption = format!(
        "Workers and queue depth, the course's behaviour at {}x speed",
        number(run, "speed")?
    );
    Ok(vec![
        (
            "session08/scaling-to-cap.md".to_owned(),
            range(&to_cap, seconds) + "\n",
        ),
        (
            "session08/scaling-to-min.md".to_owned(),
            range(&to_min, seconds) + "\n",
        ),
        (
            "session08/scaling-source.md".to_owned(),
            format!("*{}.*\n", provenance(record)),
        ),
        (
            "session08/timeline.svg".to_owned(),
            timeline_svg(&points, &caption)?,
        ),
    ])
}

/// Session 08's benchmark: the median seconds per configuration as `session08/bench.md`
/// (from the median run), how many times a 10 MB task costs a 1 MB one, and every task as
/// the scatter plot `session08/bench.svg`.
fn draw_scaling_bench(record: &Record) -> Result<Snippets> {
    let mut runs: Vec<&Value> = record.runs.iter().collect();
    runs.sort_by(|a, b| {
        let took = |run: &Value| run["elapsed_seconds"].as_f64().unwrap_or(f64::NAN);
        took(a).total_cmp(&took(b))
    });
    let run = *runs.get(runs.len() / 2).context("the record has no runs")?;
    let medians = run["medians"].as_array().context("a run has no medians")?;
    ensure!(!medians.is_empty(), "the median run has no medians");
    let rows = run["rows"].as_array().context("a run has no rows")?;
    ensure!(!rows.is_empty(), "the median run has no rows");
    let images = run["images"].as_array().context("a run has no images")?;
    // The median seconds by (size, concurrency, workers).
    let mut cells: BTreeMap<(u64, u64, u64), Option<f64>> = BTreeMap::new();
    for median in medians {
        let whole = |field: &str| {
            median[field]
                .as_u64()
                .with_context(|| format!("a median has no `{field}`"))
        };
        if whole("failed")? > 0 {
            bail!("a recorded bench task failed: {median}");
        }
        cells.insert(
            (
                whole("size_bytes")?,
                whole("concurrency")?,
                whole("workers")?,
            ),
            median["median_seconds"].as_f64(),
        );
    }
    let sizes: BTreeSet<u64> = cells.keys().map(|key| key.0).collect();
    let levels: BTreeSet<u64> = cells.keys().map(|key| key.1).collect();
    let workers: BTreeSet<u64> = cells.keys().map(|key| key.2).collect();
    let cell =
        |size: u64, level: u64, worker: u64| cells.get(&(size, level, worker)).copied().flatten();
    let mut table = String::from("| image | in flight |");
    for worker in &workers {
        table += &format!(" {worker} worker{} |", if *worker == 1 { "" } else { "s" });
    }
    table += "\n|---|---:|";
    table += &"---:|".repeat(workers.len());
    table += "\n";
    for &size in &sizes {
        for &level in &levels {
            table += &format!("| {:.2} MB | {level} |", size as f64 / 1e6);
            for &worker in &workers {
                table += &match cell(size, level, worker) {
                    Some(s) => format!(" {s:.3} |"),
                    None => " n/a |".to_owned(),
                };
            }
            table += "\n";
        }
    }
    let mut described = Vec::new();
    for image in images {
        described.push(format!(
            "{:.2} MB ({:.0} x {:.0} pixels)",
            number(image, "size_bytes")? / 1e6,
            number(image, "width")?,
            number(image, "height")?
        ));
    }
    // Said only when the record carries it.
    let per_worker = match run["worker_concurrency"].as_u64() {
        Some(1) => ", each worker one task at a time".to_owned(),
        Some(n) => format!(", each worker {n} tasks at a time"),
        None => String::new(),
    };
    table += &format!(
        "\n*Median seconds per task, from the queue to the result, pipeline `{}` on PNG files of \
         {} made from `{}`{per_worker}, {} rounds per configuration; {}.*\n",
        run["pipeline"].as_str().context("a run has no pipeline")?,
        described.join(" and "),
        run["source"].as_str().context("a run has no source")?,
        number(run, "repeat")?,
        provenance(record),
    );
    let mut snippets = vec![("session08/bench.md".to_owned(), table)];
    // How many times the largest image costs the smallest, one task alone on one worker.
    ensure!(
        sizes.len() >= 2,
        "the size ratio needs at least 2 image sizes, the record has {}",
        sizes.len()
    );
    let (Some(&small), Some(&large), Some(&alone), Some(&one)) =
        (sizes.first(), sizes.last(), levels.first(), workers.first())
    else {
        bail!("the median run has no configuration");
    };
    let (Some(low), Some(high)) = (cell(small, alone, one), cell(large, alone, one)) else {
        bail!(
            "the size ratio needs the median of {alone} task(s) on {one} worker(s) for both \
             {small} and {large} bytes"
        );
    };
    ensure!(
        low > 0.0,
        "the smallest image's median is {low} s, not above 0"
    );
    snippets.push((
        "session08/bench-size-ratio.md".to_owned(),
        format!("{:.0}\n", high / low),
    ));
    let mut points = Vec::new();
    for row in rows {
        points.push((
            number(row, "size_bytes")? / 1e6,
            number(row, "elapsed_seconds")?,
            row["concurrency"]
                .as_u64()
                .context("a row has no concurrency")?,
        ));
    }
    snippets.push(("session08/bench.svg".to_owned(), bench_svg(&points)?));
    Ok(snippets)
}

/// One row of the demo's timeline, as plotted.
struct TimelinePoint {
    seconds: f64,
    replicas: f64,
    desired: f64,
    queue_depth: f64,
}

/// The series colours of the SVG plots (Okabe-Ito, told apart by colour-blind readers),
/// the same as session 08's PNG plots.
const PALETTE: [(u8, u8, u8); 7] = [
    (0, 114, 178),
    (230, 159, 0),
    (0, 158, 115),
    (213, 94, 0),
    (204, 121, 167),
    (86, 180, 233),
    (240, 228, 66),
];

fn colour(index: usize) -> plotters::style::RGBColor {
    let (r, g, b) = PALETTE[index % PALETTE.len()];
    plotters::style::RGBColor(r, g, b)
}

/// The timeline: workers (a step line) and desired workers on the left axis, the queue's
/// depth on the right one, against seconds.
fn timeline_svg(points: &[TimelinePoint], caption: &str) -> Result<String> {
    use plotters::prelude::*;
    register_font()?;
    let right = points.iter().map(|p| p.seconds).fold(1.0, f64::max);
    let most = points
        .iter()
        .map(|p| p.replicas.max(p.desired))
        .fold(1.0, f64::max)
        + 1.0;
    let deepest = points.iter().map(|p| p.queue_depth).fold(1.0, f64::max) * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 420)).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(caption, ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(48)
                .right_y_label_area_size(56)
                .build_cartesian_2d(0.0..right, 0.0..most)?
                .set_secondary_coord(0.0..right, 0.0..deepest);
            chart
                .configure_mesh()
                .x_desc("seconds")
                .y_desc("workers")
                .draw()?;
            chart
                .configure_secondary_axes()
                .y_desc("tasks waiting")
                .draw()?;
            chart
                .draw_secondary_series(LineSeries::new(
                    points.iter().map(|p| (p.seconds, p.queue_depth)),
                    colour(5).stroke_width(2),
                ))?
                .label("queue depth (right)")
                .legend(|(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], colour(5).stroke_width(2))
                });
            // Workers change at an instant: a step, not a slope.
            let mut steps = Vec::new();
            for (n, p) in points.iter().enumerate() {
                if n > 0 {
                    steps.push((p.seconds, points[n - 1].replicas));
                }
                steps.push((p.seconds, p.replicas));
            }
            chart
                .draw_series(LineSeries::new(steps, colour(0).stroke_width(3)))?
                .label("workers")
                .legend(|(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], colour(0).stroke_width(3))
                });
            chart
                .draw_series(DashedLineSeries::new(
                    points.iter().map(|p| (p.seconds, p.desired)),
                    6,
                    4,
                    colour(3).stroke_width(2),
                ))?
                .label("desired")
                .legend(|(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], colour(3).stroke_width(2))
                });
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
            root.present()?;
            Ok(())
        };
        draw().map_err(|e| anyhow::anyhow!("cannot draw the timeline: {e}"))?;
    }
    Ok(svg)
}

/// The bench's scatter plot: seconds against the image's size in MB, one colour per
/// concurrency, each concurrency's points set a little apart (dodged).
fn bench_svg(points: &[(f64, f64, u64)]) -> Result<String> {
    use plotters::prelude::*;
    register_font()?;
    let mut levels: Vec<u64> = points.iter().map(|p| p.2).collect();
    levels.sort_unstable();
    levels.dedup();
    let right = points.iter().map(|p| p.0).fold(1.0, f64::max) * 1.15;
    let top = points.iter().map(|p| p.1).fold(0.1, f64::max) * 1.1;
    let dodge = right / 60.0;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 440)).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption("Seconds per task by image size", ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(52)
                .build_cartesian_2d(0.0..right, 0.0..top)?;
            chart
                .configure_mesh()
                .x_desc("image size (MB)")
                .y_desc("seconds from queue to result")
                .draw()?;
            for (n, level) in levels.iter().enumerate() {
                let shift = (n as f64 - (levels.len() as f64 - 1.0) / 2.0) * dodge;
                let fill = colour(n).mix(0.7).filled();
                chart
                    .draw_series(
                        points
                            .iter()
                            .filter(|p| p.2 == *level)
                            .map(|p| Circle::new((p.0 + shift, p.1), 4, fill)),
                    )?
                    .label(format!("{level} in flight"))
                    .legend(move |(x, y)| Circle::new((x + 8, y), 4, fill));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
            root.present()?;
            Ok(())
        };
        draw().map_err(|e| anyhow::anyhow!("cannot draw the bench plot: {e}"))?;
    }
    Ok(svg)
}

/// Registers DejaVu Sans as "sans-serif", once: plotters measures text even for an SVG file
/// (whose viewer draws the glyphs), and the workspace's plotters reads real fonts (session
/// 08 draws PNG files).
pub fn register_font() -> Result<()> {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let registered = REGISTERED.get_or_init(|| {
        plotters::style::register_font(
            "sans-serif",
            plotters::style::FontStyle::Normal,
            dejavu::sans::regular(),
        )
        .is_ok()
    });
    anyhow::ensure!(*registered, "the DejaVu Sans font could not be read");
    Ok(())
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

    /// A demo run: the workers grow to 4 by `to_cap` and are back at 1 by 60 s.
    fn scaling_run(to_cap: f64) -> Value {
        let timeline: Vec<Value> = [
            (0.0, 1, 2, 40),
            (to_cap, 4, 4, 20),
            (30.0, 4, 1, 0),
            (60.0, 1, 1, 0),
        ]
        .iter()
        .map(|(seconds, replicas, desired, depth)| {
            serde_json::json!({"seconds": seconds, "replicas": replicas, "desired": desired,
                                   "queue_depth": depth, "cpu_percent": 50.0})
        })
        .collect();
        serde_json::json!({"min": 1, "max": 4, "speed": 4, "seconds_to_cap": to_cap,
                           "load_ended_at": 20.0, "seconds_back_to_min": 60.0 - to_cap,
                           "replaced": 0, "timeline": timeline, "load": {}})
    }

    fn snippet<'a>(snippets: &'a Snippets, name: &str) -> &'a str {
        snippets
            .iter()
            .find(|(file, _)| file == name)
            .map(|(_, text)| text.as_str())
            .unwrap_or_else(|| panic!("no snippet {name}"))
    }

    #[test]
    fn a_stress_record_draws_each_figure_as_a_range() {
        let run = |busy: f64| {
            serde_json::json!({
                "seconds_to_first_busy": 0.1,
                "seconds_to_all_busy": busy,
                "seconds_to_full_utilisation": busy,
                "seconds_to_done": 9.0,
            })
        };
        let record = Record {
            command: "cargo run".to_owned(),
            machine: "a CPU, 2 cores".to_owned(),
            runs: vec![run(0.31), run(0.25), run(0.4)],
        };
        let snippets = draw_stress(&record).unwrap();
        let table = snippet(&snippets, "session09/stress.md");
        assert!(
            table.contains("| all 3 workers busy | 0.25 to 0.40 |"),
            "{table}"
        );
        assert!(table.contains("| every task done | 9.00 |"), "{table}");
        let mut broken = run(1.0);
        broken["seconds_to_all_busy"] = Value::Null;
        let record = Record {
            runs: vec![broken],
            ..record
        };
        assert!(draw_stress(&record).is_err());
    }

    #[test]
    fn a_scaling_record_draws_its_ranges_and_the_median_timeline() {
        let record = Record {
            command: "cargo run".to_owned(),
            machine: "a CPU, 2 cores".to_owned(),
            runs: vec![scaling_run(12.0), scaling_run(9.6), scaling_run(15.2)],
        };
        let snippets = draw_scaling(&record).unwrap();
        assert_eq!(
            snippet(&snippets, "session08/scaling-to-cap.md"),
            "10 to 15\n"
        );
        assert_eq!(
            snippet(&snippets, "session08/scaling-to-min.md"),
            "45 to 50\n"
        );
        let svg = snippet(&snippets, "session08/timeline.svg");
        assert!(
            svg.starts_with("<svg") && svg.contains("queue depth"),
            "{svg}"
        );
        assert!(svg.contains("4x speed"), "{svg}");
        // A run without the figure is refused.
        let mut broken = scaling_run(1.0);
        broken["seconds_to_cap"] = Value::Null;
        let record = Record {
            runs: vec![broken],
            ..record
        };
        assert!(draw_scaling(&record).is_err());
    }

    #[test]
    fn a_bench_record_draws_the_medians_table_and_the_scatter_plot() {
        let mut rows = Vec::new();
        let mut medians = Vec::new();
        for (size, seconds) in [(1_000_000, 0.1), (10_000_000, 0.8)] {
            for concurrency in [1, 2] {
                for workers in [1, 2] {
                    let median = seconds * concurrency as f64 / workers as f64;
                    medians.push(
                        serde_json::json!({"size_bytes": size, "concurrency": concurrency,
                        "workers": workers, "tasks": 1, "failed": 0, "median_seconds": median}),
                    );
                    rows.push(
                        serde_json::json!({"outcome": "succeeded", "elapsed_seconds": median,
                        "size_bytes": size, "concurrency": concurrency, "workers": workers}),
                    );
                }
            }
        }
        let run = serde_json::json!({
            "pipeline": "blur:sigma=2", "source": "coffee.png", "repeat": 1,
            "images": [{"target_mb": 1.0, "size_bytes": 1_000_000, "width": 1000, "height": 670},
                       {"target_mb": 10.0, "size_bytes": 10_000_000, "width": 4000, "height": 2700}],
            "rows": rows, "medians": medians, "elapsed_seconds": 60.0,
        });
        let record_of = |run: Value| Record {
            command: "cargo run".to_owned(),
            machine: "m".to_owned(),
            runs: vec![run],
        };
        let snippets = draw_scaling_bench(&record_of(run.clone())).unwrap();
        let table = snippet(&snippets, "session08/bench.md");
        assert!(
            table.starts_with("| image | in flight | 1 worker | 2 workers |"),
            "{table}"
        );
        assert!(
            table.contains("| 10.00 MB | 2 | 1.600 | 0.800 |"),
            "{table}"
        );
        assert!(table.contains("1.00 MB (1000 x 670 pixels)"), "{table}");
        assert_eq!(snippet(&snippets, "session08/bench-size-ratio.md"), "8\n");
        // The record does not say how many tasks a worker runs at once: neither does the caption.
        assert!(!table.contains("at a time"), "{table}");
        let svg = snippet(&snippets, "session08/bench.svg");
        assert!(
            svg.starts_with("<svg") && svg.contains("2 in flight"),
            "{svg}"
        );
        // When it does, the caption says so.
        let mut told = run.clone();
        told["worker_concurrency"] = serde_json::json!(1);
        let snippets = draw_scaling_bench(&record_of(told)).unwrap();
        let table = snippet(&snippets, "session08/bench.md");
        assert!(table.contains("each worker one task at a time"), "{table}");
        let refused = |broken: Value| draw_scaling_bench(&record_of(broken)).is_err();
        // A failed task makes the record unfit to quote.
        let mut failed = run.clone();
        failed["medians"][0]["failed"] = serde_json::json!(1);
        assert!(refused(failed));
        // So do a run without medians or rows, and one image size (no ratio to give).
        for field in ["medians", "rows"] {
            let mut empty = run.clone();
            empty[field] = serde_json::json!([]);
            assert!(refused(empty), "{field}");
        }
        let mut one_size = run;
        let kept: Vec<Value> = one_size["medians"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|median| median["size_bytes"] == 1_000_000)
            .cloned()
            .collect();
        one_size["medians"] = Value::Array(kept);
        assert!(refused(one_size));
    }
}
