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
use serde::Deserialize;

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
    skipped: Option<String>,
}

/// Runs the comparison and prints the table.
pub fn bench_peers(root: &Path, runs: usize) -> Result<()> {
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
        let output = capture(Command::new(&exe).args([
            "bench",
            "--json",
            "--runs",
            &runs.to_string(),
            "--threads",
            threads,
        ]))?;
        serde_json::from_str(&output).context("cannot read the Rust benchmark's JSON")
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
    println!("{}", table(&single, &parallel, cores, &peers));
    Ok(())
}

/// The venv at `dir`, with `packages` installed; its python.
fn venv(root: &Path, dir: &Path, packages: &[&str]) -> Result<PathBuf> {
    let python = dir.join("bin/python");
    let ready = dir.join(".installed");
    if ready.exists() {
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
    std::fs::write(&ready, packages.join(" "))?;
    Ok(python)
}

/// Runs a command and returns its standard output; fails with its standard error.
fn capture(command: &mut Command) -> Result<String> {
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

/// Milliseconds per case and library, the best peer, and the ratio Rust / best peer.
fn table(single: &[Timing], parallel: &[Timing], cores: usize, peers: &[Timing]) -> String {
    let mut libraries: Vec<&str> = Vec::new();
    let mut by_case: BTreeMap<(&str, &str), &Timing> = BTreeMap::new();
    for timing in peers {
        if !libraries.contains(&timing.library.as_str()) {
            libraries.push(&timing.library);
        }
        by_case.insert((&timing.library, &timing.name), timing);
    }
    let mut header = vec![
        "case".to_owned(),
        "parameters".to_owned(),
        "Rust, 1 thread".to_owned(),
        format!("Rust, {cores} threads"),
    ];
    header.extend(libraries.iter().map(|l| l.to_string()));
    header.extend(["best peer".to_owned(), "Rust / best".to_owned()]);
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header(header);
    for rust in single {
        let ms = rust.median_ms.unwrap_or(f64::NAN);
        let threaded = parallel
            .iter()
            .find(|t| t.name == rust.name)
            .and_then(|t| t.median_ms)
            .map_or("-".to_owned(), |t| format!("{t:.1} ({:.2}x)", ms / t));
        let mut row = vec![
            rust.name.clone(),
            rust.params.clone(),
            format!("{ms:.1}"),
            threaded,
        ];
        let mut best: Option<(f64, &str)> = None;
        for library in &libraries {
            let cell = match by_case.get(&(library, rust.name.as_str())) {
                Some(Timing {
                    median_ms: Some(peer),
                    ..
                }) => {
                    if best.is_none_or(|(b, _)| *peer < b) {
                        best = Some((*peer, library));
                    }
                    format!("{peer:.1}")
                }
                Some(Timing {
                    skipped: Some(_), ..
                }) => "n/a".to_owned(),
                _ => "-".to_owned(),
            };
            row.push(cell);
        }
        match best {
            Some((peer, library)) => {
                row.push(format!(
                    "{peer:.1} ({})",
                    library.split(' ').next().unwrap_or(library)
                ));
                row.push(format!("{:.2}", ms / peer));
            }
            None => row.extend(["-".to_owned(), "-".to_owned()]),
        }
        table.add_row(row);
    }
    let mut notes: Vec<String> = peers
        .iter()
        .filter_map(|t| Some(format!("{} {}: {}", t.library, t.name, t.skipped.as_ref()?)))
        .collect();
    notes.dedup();
    format!(
        "Median milliseconds on a 3840x2160 RGB frame; peers on one thread\n{table}\n\
         Rust / best below 1.00: Rust is faster. n/a: {}\n",
        if notes.is_empty() {
            "none".to_owned()
        } else {
            notes.join("; ")
        }
    )
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
            skipped: ms.is_none().then(|| "no equivalent operation".to_owned()),
        }
    }

    #[test]
    fn the_ratio_is_against_the_fastest_peer_that_ran() {
        let single = [timing("", "blur", Some(20.0))];
        let parallel = [timing("", "blur", Some(10.0))];
        let peers = [
            timing("Pillow 13", "blur", Some(200.0)),
            timing("OpenCV 5", "blur", Some(40.0)),
            timing("libvips 8", "blur", None),
        ];
        let text = table(&single, &parallel, 2, &peers);
        assert!(text.contains("40.0 (OpenCV)"), "{text}");
        assert!(text.contains("0.50"), "{text}");
        assert!(text.contains("10.0 (2.00x)"), "{text}");
        assert!(
            text.contains("libvips 8 blur: no equivalent operation"),
            "{text}"
        );
    }
}
