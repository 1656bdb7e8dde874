//! `cargo xtask bench-peers`: session 02's kernel benchmark beside Pillow, OpenCV and
//! libvips, on the same frame, with the same parameters, in the same run.
//!
//! The peers live in a Python venv under `target/bench-peers` (created on first use from
//! `xtask/peers/requirements.txt`); `xtask/peers/bench_peers.py` times them, one thread
//! each. Pillow-SIMD is tried in a venv of its own, built from source with AVX2; when it
//! does not build, the table says so and goes on without it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::{Deserialize, Serialize};

use crate::{cargo, run, target_dir};

/// One timing of one case, from either side.
#[derive(Debug, Deserialize)]
struct Timing {
    #[serde(default)]
    library: String,
    name: String,
    #[serde(default)]
    params: String,
    median_ms: Option<f64>,
    /// For an encoding, the bytes it wrote.
    #[serde(default)]
    output_bytes: Option<u64>,
    skipped: Option<String>,
}

/// Processes the Rust benchmark runs in, for each thread count. A shared virtual machine
/// sometimes starves one process's second thread for the whole process (every case then
/// runs at one thread's speed); the median over three processes is not decided by one.
const RUST_PROCESSES: usize = 3;

/// The first process's timings, each case's median replaced by the median of every
/// process's median for that case (the faster middle of an even count).
fn median_of_processes(processes: Vec<Vec<Timing>>) -> Vec<Timing> {
    let mut processes = processes.into_iter();
    let Some(mut first) = processes.next() else {
        return Vec::new();
    };
    let others: Vec<Timing> = processes.flatten().collect();
    for timing in &mut first {
        let mut medians: Vec<f64> = others
            .iter()
            .filter(|other| other.name == timing.name && other.params == timing.params)
            .filter_map(|other| other.median_ms)
            .chain(timing.median_ms)
            .collect();
        medians.sort_by(f64::total_cmp);
        timing.median_ms = medians.get(medians.len().saturating_sub(1) / 2).copied();
        if timing.median_ms.is_some() {
            timing.skipped = None;
        }
    }
    first
}

/// Runs the comparison and prints the table.
pub fn bench_peers(root: &Path, runs: usize, record: bool) -> Result<()> {
    crate::tools::ensure_nasm(root);
    crate::tools::peer_prerequisites()?;
    let work = target_dir(root).join("bench-peers");
    std::fs::create_dir_all(&work)?;
    let python = venv(
        root,
        &work.join("venv"),
        &["-r", "xtask/peers/requirements.txt"],
    )?;
    let simd = match venv(
        root,
        &work.join("venv-simd"),
        &[
            "pillow-simd",
            "numpy==2.4.6",
            "opencv-python-headless==5.0.0.93",
        ],
    ) {
        Ok(python) => Some(python),
        Err(error) => {
            eprintln!("Pillow-SIMD left out: it did not build here ({error:#})");
            None
        }
    };

    run(cargo(root).args(["build", "--release", "-p", "session02_pipelines"]))?;
    let exe = target_dir(root).join("release/session02_pipelines");
    let frame_dir = work.join("frame");
    run(Command::new(&exe)
        .arg("bench")
        .arg("--write-frame")
        .arg(&frame_dir))?;

    let rust = |threads: &str| -> Result<Vec<Timing>> {
        let processes = (0..RUST_PROCESSES)
            .map(|_| {
                let output = capture(Command::new(&exe).args([
                    "bench",
                    "--json",
                    "--runs",
                    &runs.to_string(),
                    "--threads",
                    threads,
                ]))?;
                serde_json::from_str(&output).context("cannot read the Rust benchmark's JSON")
            })
            .collect::<Result<Vec<Vec<Timing>>>>()?;
        Ok(median_of_processes(processes))
    };
    let single = rust("1")?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let parallel = rust(&cores.to_string())?;

    let script = root.join("xtask/peers/bench_peers.py");
    let peers_of = |python: &Path, only: &[&str]| -> Result<Vec<Timing>> {
        let mut command = Command::new(python);
        command
            .arg(&script)
            .arg("--frame-dir")
            .arg(&frame_dir)
            .args(["--runs", &runs.to_string()]);
        for library in only {
            command.args(["--library", library]);
        }
        let output = capture(&mut command)?;
        output
            .lines()
            .map(|line| serde_json::from_str(line).context("cannot read a peer's timing"))
            .collect()
    };
    let mut peers = peers_of(&python, &[])?;
    if let Some(simd) = &simd {
        for mut timing in peers_of(simd, &["Pillow"])? {
            timing.library = format!(
                "Pillow-SIMD {}",
                timing.library.trim_start_matches("Pillow ")
            );
            peers.push(timing);
        }
    }
    let (rows, notes) = rows(&single, &parallel, &peers);
    let results = Results {
        machine: machine(),
        cores,
        rows,
        notes,
    };
    let json = serde_json::to_string_pretty(&results)?;
    std::fs::write(work.join("results.json"), &json)?;
    if record {
        let path = root.join(RECORD);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)?;
        }
        std::fs::write(path, json + "\n")?;
        eprintln!("recorded for the book in {RECORD}");
    }
    println!("{}", table(&results));
    Ok(())
}

/// Where `--record` keeps the comparison the book shows.
pub const RECORD: &str = "book/src/data/bench-peers.json";

/// The CPU model and the number of cores, as records name the machine.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{}, {cores} cores", cpu_model())
}

/// The CPU's model name, from `/proc/cpuinfo` where there is one.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned())
}

/// The venv at `dir`, with `packages` installed (again when they, or a requirements file
/// they name with `-r`, changed since); its python.
pub(crate) fn venv(root: &Path, dir: &Path, packages: &[&str]) -> Result<PathBuf> {
    let python = dir.join("bin/python");
    let ready = dir.join(".installed");
    let mut wanted = packages.join(" ");
    for pair in packages.windows(2) {
        if pair[0] == "-r" {
            let file = root.join(pair[1]);
            wanted.push('\n');
            wanted += &std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
        }
    }
    if std::fs::read_to_string(&ready).is_ok_and(|installed| installed == wanted) {
        return Ok(python);
    }
    if !python.exists() {
        run(Command::new("python3").arg("-m").arg("venv").arg(dir))?;
    }
    let mut install = Command::new(&python);
    install
        .current_dir(root)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(packages)
        // Pillow-SIMD compiles its own code: let it use AVX2.
        .env("CC", "cc -mavx2");
    run(&mut install)?;
    std::fs::write(&ready, wanted)?;
    Ok(python)
}

/// Runs a command and returns its standard output; fails with its standard error.
pub(crate) fn capture(command: &mut Command) -> Result<String> {
    let line = format!("{command:?}").replace('"', "");
    eprintln!("$ {line}");
    let output = command
        .output()
        .with_context(|| format!("cannot start {line}"))?;
    if !output.status.success() {
        bail!(
            "`{line}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// One case of the comparison, as recorded for the book.
#[derive(Debug, Serialize, Deserialize)]
pub struct Row {
    /// The case.
    pub name: String,
    /// Its parameters.
    pub params: String,
    /// Rust, one thread, median ms.
    pub rust_ms: f64,
    /// Rust on every core, median ms.
    pub rust_parallel_ms: Option<f64>,
    /// Each peer library's median ms, `None` where it has no such operation.
    pub peers: Vec<(String, Option<f64>)>,
    /// The fastest peer and its ms.
    pub best: Option<(String, f64)>,
    /// For an encoding, the bytes each side wrote, Rust first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_bytes: Vec<(String, u64)>,
}

/// A whole comparison: where and when it ran, and its rows.
#[derive(Debug, Serialize, Deserialize)]
pub struct Results {
    /// The CPU model and core count.
    pub machine: String,
    /// Cores the parallel Rust column used.
    pub cores: usize,
    /// The rows.
    pub rows: Vec<Row>,
    /// Why some peers have no figure.
    pub notes: Vec<String>,
}

impl Row {
    /// Rust one-thread time over the best peer's.
    pub fn ratio(&self) -> Option<f64> {
        self.best.as_ref().map(|(_, peer)| self.rust_ms / peer)
    }
}

/// The case that copies the frame into a new image: a yardstick, not a filter.
const YARDSTICK: &str = "copy";

/// The cases whose output is smaller than the frame, which copies of it do not measure.
const SMALLER_OUTPUT: &[&str] = &["crop", "resize", "jpeg-encode", "png-encode"];

impl Results {
    /// Rust's one-thread time for the frame copy, when the run had one.
    fn copy_ms(&self) -> Option<f64> {
        self.rows
            .iter()
            .find(|row| row.name == YARDSTICK)
            .map(|row| row.rust_ms)
            .filter(|ms| *ms > 0.0)
    }

    /// A case's one-thread time in frame copies, as the tables write it.
    fn in_copies(&self, row: &Row) -> String {
        self.copy_ms()
            .map_or("-".to_owned(), |copy| format!("{:.1}", row.rust_ms / copy))
    }

    /// The rows that are operations, without the copy.
    fn cases(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|row| row.name != YARDSTICK)
    }
}

/// The rows of the comparison: per case, every library's time and the best peer.
fn rows(single: &[Timing], parallel: &[Timing], peers: &[Timing]) -> (Vec<Row>, Vec<String>) {
    let mut libraries: Vec<&str> = Vec::new();
    let mut by_case: BTreeMap<(&str, &str), &Timing> = BTreeMap::new();
    for timing in peers {
        if !libraries.contains(&timing.library.as_str()) {
            libraries.push(&timing.library);
        }
        by_case.insert((&timing.library, &timing.name), timing);
    }
    let rows = single
        .iter()
        .map(|rust| {
            let peers: Vec<(String, Option<f64>)> = libraries
                .iter()
                .map(|library| {
                    let ms = by_case
                        .get(&(library, rust.name.as_str()))
                        .and_then(|t| t.median_ms);
                    (library.to_string(), ms)
                })
                .collect();
            let best = peers
                .iter()
                .filter_map(|(library, ms)| Some((library.clone(), (*ms)?)))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            let output_bytes = std::iter::once(("Rust", rust))
                .chain(libraries.iter().filter_map(|library| {
                    Some((*library, *by_case.get(&(library, rust.name.as_str()))?))
                }))
                .filter_map(|(side, timing)| Some((side.to_owned(), timing.output_bytes?)))
                .collect();
            Row {
                name: rust.name.clone(),
                params: rust.params.clone(),
                rust_ms: rust.median_ms.unwrap_or(f64::NAN),
                rust_parallel_ms: parallel
                    .iter()
                    .find(|t| t.name == rust.name)
                    .and_then(|t| t.median_ms),
                peers,
                best,
                output_bytes,
            }
        })
        .collect();
    let mut notes: Vec<String> = peers
        .iter()
        .filter_map(|t| Some(format!("{} {}: {}", t.library, t.name, t.skipped.as_ref()?)))
        .collect();
    notes.dedup();
    (rows, notes)
}

/// The library's name without its version.
fn short(library: &str) -> &str {
    library.split(' ').next().unwrap_or(library)
}

/// Milliseconds per case and library, the best peer, and the ratio Rust / best peer.
fn table(results: &Results) -> String {
    let mut header = vec![
        "case".to_owned(),
        "parameters".to_owned(),
        "Rust, 1 thread".to_owned(),
        format!("Rust, {} threads", results.cores),
    ];
    if let Some(row) = results.rows.first() {
        header.extend(row.peers.iter().map(|(library, _)| library.clone()));
    }
    header.extend([
        "best peer".to_owned(),
        "Rust / best".to_owned(),
        "Rust / copy".to_owned(),
    ]);
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header(header);
    for row in &results.rows {
        let mut cells = vec![
            row.name.clone(),
            row.params.clone(),
            format!("{:.1}", row.rust_ms),
            row.rust_parallel_ms.map_or("-".to_owned(), |t| {
                format!("{t:.1} ({:.2}x)", row.rust_ms / t)
            }),
        ];
        cells.extend(
            row.peers
                .iter()
                .map(|(_, ms)| ms.map_or("n/a".to_owned(), |ms| format!("{ms:.1}"))),
        );
        match (&row.best, row.ratio()) {
            (Some((library, ms)), Some(ratio)) => {
                cells.push(format!("{ms:.1} ({})", short(library)));
                cells.push(format!("{ratio:.2}"));
            }
            _ => cells.extend(["-".to_owned(), "-".to_owned()]),
        }
        cells.push(results.in_copies(row));
        table.add_row(cells);
    }
    let notes = if results.notes.is_empty() {
        "none".to_owned()
    } else {
        results.notes.join("; ")
    };
    format!(
        "Median milliseconds on a 3840x2160 RGB frame, {}; peers on one thread\n{table}\n\
         Rust / best below 1.00: Rust is faster. Rust / copy: the time in copies of the \
         frame into a new image (the `copy` row). n/a: {notes}\n",
        results.machine
    )
}

/// The comparison as a Markdown table, for the book.
pub fn markdown(results: &Results) -> String {
    let libraries: Vec<&str> = results
        .rows
        .first()
        .map(|row| row.peers.iter().map(|(l, _)| l.as_str()).collect())
        .unwrap_or_default();
    let mut out = format!(
        "| case | Rust, 1 thread | Rust, {} threads | {} | Rust / best | Rust / copy |\n\
         |---|---:|---:|{}---:|---:|\n",
        results.cores,
        libraries.join(" | "),
        "---:|".repeat(libraries.len())
    );
    for row in &results.rows {
        let peers: Vec<String> = row
            .peers
            .iter()
            .map(|(_, ms)| ms.map_or("n/a".to_owned(), |ms| format!("{ms:.1}")))
            .collect();
        out += &format!(
            "| {} | {:.1} | {} | {} | {} | {} |\n",
            row.name,
            row.rust_ms,
            row.rust_parallel_ms
                .map_or("-".to_owned(), |t| format!("{t:.1}")),
            peers.join(" | "),
            row.ratio()
                .map_or("-".to_owned(), |r| format!("**{r:.2}**")),
            results.in_copies(row),
        );
    }
    out + &format!(
        "\n*Median milliseconds on a 3840x2160 RGB frame, {}. Rust / copy: Rust's time in \
         copies of the frame (the `copy` row).*\n",
        results.machine
    )
}

/// How the book names a case in a sentence.
fn spoken(case: &str) -> &str {
    match case {
        "blur" => "the Gaussian",
        "box-blur" => "box blur",
        "unsharp" => "the unsharp mask",
        "edges" => "Sobel",
        "median" => "the median",
        "resize" => "Lanczos resizing",
        "rotate" => "the quarter turn",
        "copy" => "the frame copy",
        "jpeg-decode" => "JPEG decoding",
        "jpeg-encode" => "JPEG encoding",
        "png-decode" => "PNG decoding",
        "png-encode" => "PNG encoding",
        other => other,
    }
}

/// A factor as the book writes it: `1.7`, `16`, `499`.
fn times(factor: f64) -> String {
    if factor < 10.0 {
        format!("{factor:.1}")
    } else {
        format!("{factor:.0}")
    }
}

/// `a, b and c`.
fn listed(items: &[String]) -> String {
    match items {
        [] => "none".to_owned(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The neighbourhood filters: each output pixel reads a window of input pixels.
const NEIGHBOURHOOD: &[&str] = &["blur", "box-blur", "sharpen", "unsharp", "edges"];

/// The figures the chapter quotes from a comparison, as sentences to include:
/// `(file name, Markdown)`.
pub fn summary(results: &Results) -> Vec<(&'static str, String)> {
    let pillow = |row: &Row| {
        row.peers
            .iter()
            .find(|(library, _)| library.starts_with("Pillow "))
            .and_then(|(_, ms)| *ms)
    };
    let with_pillow: Vec<(&Row, f64)> = results
        .cases()
        .filter_map(|row| Some((row, pillow(row)?)))
        .collect();
    let wins = with_pillow
        .iter()
        .filter(|(row, ms)| row.rust_ms < *ms)
        .count();
    let mut speedups: Vec<f64> = with_pillow
        .iter()
        .filter(|(row, _)| NEIGHBOURHOOD.contains(&row.name.as_str()))
        .map(|(row, ms)| ms / row.rust_ms)
        .collect();
    speedups.sort_by(f64::total_cmp);
    let neighbourhood = match (speedups.first(), speedups.last()) {
        (Some(low), Some(high)) if *high < 1.0 => {
            format!("{} to {} times slower", times(1.0 / high), times(1.0 / low))
        }
        (Some(low), Some(high)) if *low >= 1.0 => {
            format!("{} to {} times faster", times(*low), times(*high))
        }
        (Some(low), Some(high)) => format!(
            "between {} times slower and {} times faster",
            times(1.0 / low),
            times(*high)
        ),
        _ => "not measured against Pillow".to_owned(),
    };
    let median = with_pillow
        .iter()
        .find(|(row, _)| row.name == "median")
        .map_or("not measured".to_owned(), |(row, ms)| {
            let speedup = ms / row.rust_ms;
            if speedup >= 1.0 {
                format!("about {} times faster", times(speedup))
            } else {
                format!("about {} times slower", times(1.0 / speedup))
            }
        });
    let against_pillow = format!(
        "Rust beats Pillow, the library the original course used, in {wins} of the {} cases \
         Pillow has. The neighbourhood filters are {neighbourhood}, and the median is {median}.\n",
        with_pillow.len()
    );

    let (mut ahead, mut level, mut behind) = (Vec::new(), Vec::new(), Vec::new());
    let mut behind_in_copies = Vec::new();
    for row in results.cases() {
        let Some(ratio) = row.ratio() else { continue };
        let name = format!("{} ({ratio:.2})", spoken(&row.name));
        match ratio {
            r if r < 0.9 => ahead.push(name),
            r if r <= 1.1 => level.push(name),
            _ => {
                behind.push(name);
                if let (Some(copy), false) = (
                    results.copy_ms(),
                    SMALLER_OUTPUT.contains(&row.name.as_str()),
                ) {
                    behind_in_copies.push(format!(
                        "{} {:.1}",
                        spoken(&row.name),
                        row.rust_ms / copy
                    ));
                }
            }
        }
    }
    let copies = results
        .rows
        .iter()
        .find(|row| row.name == YARDSTICK)
        .map_or_else(
            || "This run had no frame copy to compare with.\n".to_owned(),
            |row| {
                let peer = row.best.as_ref().map_or(String::new(), |(library, ms)| {
                    format!(" ({} takes {ms:.1} ms)", short(library))
                });
                format!(
                    "Copying the frame into a new image takes {:.1} ms in Rust{peer}. Counted \
                     in such copies, the cases behind that return a whole frame cost: {}.\n",
                    row.rust_ms,
                    listed(&behind_in_copies)
                )
            },
        );
    let against_best = format!(
        "Against the fastest of all the libraries, case by case, Rust is ahead on {} (Rust / \
         best below 0.9); level on {} (0.9 to 1.1); and behind on {}.\n",
        listed(&ahead),
        listed(&level),
        listed(&behind)
    );

    let threads: Vec<String> = results
        .rows
        .iter()
        .filter(|row| NEIGHBOURHOOD.contains(&row.name.as_str()) || row.name == "median")
        .filter_map(|row| {
            let parallel = row.rust_parallel_ms?;
            Some(format!(
                "{} {:.1}x",
                spoken(&row.name),
                row.rust_ms / parallel
            ))
        })
        .collect();
    let on_threads = format!(
        "On {} threads against one, the neighbourhood filters and the median speed up as \
         follows: {}.\n",
        results.cores,
        listed(&threads)
    );
    let encoded: Vec<String> = results
        .cases()
        .filter(|row| !row.output_bytes.is_empty())
        .map(|row| {
            let sizes: Vec<String> = row
                .output_bytes
                .iter()
                .map(|(side, bytes)| format!("{} {:.2} MB", short(side), *bytes as f64 / 1e6))
                .collect();
            format!("{}: {}", spoken(&row.name), sizes.join(", "))
        })
        .collect();
    let sizes = if encoded.is_empty() {
        "This run recorded no output sizes.\n".to_owned()
    } else {
        format!(
            "The files each library wrote, JPEG at quality 90 and PNG at each library's \
             default compression. {}.\n",
            encoded.join("; ")
        )
    };
    vec![
        ("bench-peers-pillow.md", against_pillow),
        ("bench-peers-sizes.md", sizes),
        ("bench-peers-best.md", against_best),
        ("bench-peers-threads.md", on_threads),
        ("bench-peers-copies.md", copies),
    ]
}

/// A bar per case: Rust's one-thread time over the best peer's, with the line at 1.
pub fn plot(results: &Results, path: &Path) -> Result<()> {
    use plotters::prelude::*;
    crate::record::register_font()?;
    let rows: Vec<(&str, f64)> = results
        .cases()
        .filter_map(|row| Some((row.name.as_str(), row.ratio()?)))
        .collect();
    let top = rows.iter().map(|(_, r)| *r).fold(1.5, f64::max) * 1.1;
    let root = SVGBackend::new(path, (760, 60 + 26 * rows.len() as u32)).into_drawing_area();
    let draw = || -> Result<(), Box<dyn std::error::Error>> {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Rust, one thread / the fastest peer (below 1: Rust is faster)",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(100)
            .build_cartesian_2d(0f64..top, (0..rows.len()).into_segmented())?;
        let label = |value: &SegmentValue<usize>| match value {
            SegmentValue::CenterOf(i) => rows.get(*i).map_or(String::new(), |(n, _)| n.to_string()),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(rows.len())
            .y_label_formatter(&label)
            .x_desc("ratio")
            .draw()?;
        chart.draw_series(rows.iter().enumerate().map(|(i, (_, ratio))| {
            let colour = if *ratio <= 1.0 { GREEN } else { RED };
            let mut bar = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(i)),
                    (*ratio, SegmentValue::Exact(i + 1)),
                ],
                colour.mix(0.7).filled(),
            );
            bar.set_margin(3, 3, 0, 0);
            bar
        }))?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![
                (1.0, SegmentValue::Exact(0)),
                (1.0, SegmentValue::Exact(rows.len())),
            ],
            BLACK.stroke_width(2),
        )))?;
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| anyhow::anyhow!("cannot draw {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(library: &str, name: &str, ms: Option<f64>) -> Timing {
        Timing {
            library: library.to_owned(),
            name: name.to_owned(),
            params: String::new(),
            median_ms: ms,
            output_bytes: None,
            skipped: ms.is_none().then(|| "no equivalent operation".to_owned()),
        }
    }

    fn encoding(library: &str, ms: f64, bytes: u64) -> Timing {
        Timing {
            output_bytes: Some(bytes),
            ..timing(library, "png-encode", Some(ms))
        }
    }

    #[test]
    fn each_case_takes_the_median_over_the_processes() {
        let process = |blur: f64, copy: Option<f64>| {
            vec![timing("", "blur", Some(blur)), timing("", "copy", copy)]
        };
        let merged = median_of_processes(vec![
            process(17.0, None),
            process(10.0, Some(3.0)),
            process(9.0, Some(1.0)),
        ]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].median_ms, Some(10.0));
        // A case one process skipped: the faster of the two that ran, and not skipped.
        assert_eq!(merged[1].median_ms, Some(1.0));
        assert_eq!(merged[1].skipped, None);
        assert!(median_of_processes(Vec::new()).is_empty());
    }

    #[test]
    fn the_ratio_is_against_the_fastest_peer_that_ran() {
        let single = [
            timing("", "copy", Some(5.0)),
            timing("", "blur", Some(20.0)),
            timing("", "edges", Some(30.0)),
            timing("", "crop", Some(3.0)),
            encoding("", 80.0, 19_600_000),
        ];
        let parallel = [timing("", "blur", Some(10.0))];
        let peers = [
            timing("OpenCV 5", "copy", Some(4.0)),
            timing("Pillow 13", "blur", Some(200.0)),
            timing("OpenCV 5", "blur", Some(40.0)),
            timing("libvips 8", "blur", None),
            timing("OpenCV 5", "edges", Some(20.0)),
            timing("OpenCV 5", "crop", Some(1.0)),
            encoding("Pillow 13", 1400.0, 17_460_000),
            encoding("OpenCV 5", 330.0, 17_800_000),
        ];
        let (rows, notes) = rows(&single, &parallel, &peers);
        assert_eq!(rows[1].ratio(), Some(0.5));
        let results = Results {
            machine: "test".into(),
            cores: 2,
            rows,
            notes,
        };
        let text = table(&results);
        assert!(text.contains("40.0 (OpenCV)"), "{text}");
        assert!(text.contains("10.0 (2.00x)"), "{text}");
        assert!(
            text.contains("libvips 8 blur: no equivalent operation"),
            "{text}"
        );
        let markdown = markdown(&results);
        assert!(
            markdown.contains("| blur | 20.0 | 10.0 | 40.0 | 200.0 | n/a | **0.50** | 4.0 |"),
            "{markdown}"
        );
        let summary = summary(&results);
        let sentence = |file: &str| {
            let (_, text) = summary.iter().find(|(name, _)| *name == file).unwrap();
            text.clone()
        };
        let best = sentence("bench-peers-best.md");
        assert!(!best.contains("copy"), "the copy is no case: {best}");
        let copies = sentence("bench-peers-copies.md");
        assert!(
            copies.contains("takes 5.0 ms in Rust (OpenCV takes 4.0 ms)"),
            "{copies}"
        );
        assert!(
            copies.contains("a whole frame cost: Sobel 6.0."),
            "{copies}"
        );
        assert!(best.contains("crop (3.00)"), "{best}");
        assert!(
            !copies.contains("PNG"),
            "an encoding is not counted in frames: {copies}"
        );
        let sizes = sentence("bench-peers-sizes.md");
        assert!(
            sizes.contains("PNG encoding: Rust 19.60 MB, OpenCV 17.80 MB, Pillow 17.46 MB."),
            "{sizes}"
        );
        let svg = std::env::temp_dir().join(format!("bench-peers-{}.svg", std::process::id()));
        plot(&results, &svg).unwrap();
        let drawn = std::fs::read_to_string(&svg).unwrap();
        std::fs::remove_file(&svg).ok();
        assert!(drawn.contains("<svg") && drawn.contains("blur"), "{drawn}");
    }
}
