//! The command line: batches with every strategy, spec errors, the registry, compare.

use std::path::Path;
use std::process::{Command, Output};

use session01_image_basics::{catalog, samples};

fn session02(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_session02_pipelines"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A folder with three photos and one file that only pretends to be an image.
fn batch_folder(dir: &Path) -> std::path::PathBuf {
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    for name in ["chelsea.png", "coffee.png", "rocket.jpg"] {
        std::fs::copy(samples::path(name), input.join(name)).unwrap();
    }
    std::fs::write(input.join("broken.png"), b"not a png at all").unwrap();
    std::fs::write(input.join("notes.txt"), b"ignored: not an image extension").unwrap();
    input
}

#[test]
fn every_strategy_processes_the_folder_skips_the_bad_file_and_agrees() {
    let dir = tempfile::tempdir().unwrap();
    batch_folder(dir.path());
    let mut outputs = Vec::new();
    for strategy in ["sequential", "threads", "rayon", "processes"] {
        let out_dir = format!("out-{strategy}");
        let out = session02(
            dir.path(),
            &[
                "batch",
                "--input",
                "in",
                "--pipeline",
                "resize:width=200|blur:sigma=1|invert",
                "--strategy",
                strategy,
                "--workers",
                "2",
                "--output-dir",
                &out_dir,
            ],
        );
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{strategy}: {}", text(&out.stderr));
        assert!(
            stdout.contains("skipped in/broken.png: cannot load"),
            "{strategy}: {stdout}"
        );
        assert!(
            stdout.contains("4 images (1 failed)"),
            "{strategy}: {stdout}"
        );
        let files: Vec<Vec<u8>> = ["chelsea.png", "coffee.png", "rocket.jpg"]
            .iter()
            .map(|name| std::fs::read(dir.path().join(&out_dir).join(name)).unwrap())
            .collect();
        assert!(!dir.path().join(&out_dir).join("broken.png").exists());
        outputs.push(files);
    }
    assert!(
        outputs.windows(2).all(|w| w[0] == w[1]),
        "strategies disagree"
    );
}

#[test]
fn a_malformed_spec_is_refused_with_the_token_underlined() {
    let dir = tempfile::tempdir().unwrap();
    let out = session02(
        dir.path(),
        &[
            "batch",
            "--pipeline",
            "blur:sigma=2|edgs",
            "--output-dir",
            "o",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: unknown filter \"edgs\"; valid filters:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\n  blur:sigma=2|edgs\n               ^^^^\n"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("o").exists(),
        "nothing runs with a bad spec"
    );
}

#[test]
fn list_filters_describes_every_filter_as_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = session02(dir.path(), &["list-filters", "--json"]);
    assert!(out.status.success());
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), catalog().len());
    for (entry, info) in listed.iter().zip(catalog()) {
        assert_eq!(entry["name"], info.name);
        assert_eq!(entry["params"].as_array().unwrap().len(), info.params.len());
    }
    let blur = listed.iter().find(|e| e["name"] == "blur").unwrap();
    assert_eq!(blur["params"][0]["type"], "float");
    assert_eq!(blur["params"][0]["min"], 0.1);
    assert_eq!(blur["params"][0]["default"], "2");
    let out = text(&session02(dir.path(), &["list-filters"]).stdout);
    assert!(
        out.contains("    sigma: float in 0.1..=100 (default 2)"),
        "{out}"
    );
    assert!(
        out.contains("    width: int in 1..=1000000 (required)"),
        "{out}"
    );
}

#[test]
fn compare_prints_a_row_per_strategy() {
    let dir = tempfile::tempdir().unwrap();
    let photo = samples::path("chelsea.png");
    let out = session02(
        dir.path(),
        &[
            "compare",
            "--input",
            photo.to_str().unwrap(),
            "--pipeline",
            "invert",
            "--repeat",
            "2",
            "--workers",
            "2",
            "--output-dir",
            "o",
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for strategy in ["sequential", "threads", "rayon", "processes"] {
        let row = stdout
            .lines()
            .find(|l| l.contains(strategy))
            .unwrap_or_else(|| panic!("{stdout}"));
        assert!(row.contains(" 2 "), "{row}");
    }
    assert!(stdout.contains("speed-up"), "{stdout}");
}

#[test]
fn compare_waits_before_each_read_and_reports_memory() {
    let dir = tempfile::tempdir().unwrap();
    let photo = samples::path("chelsea.png");
    let photo = photo.to_str().unwrap();
    let out = session02(
        dir.path(),
        &[
            "compare",
            "--input",
            photo,
            "--pipeline",
            "invert",
            "--repeat",
            "3",
            "--workers",
            "3",
            "--read-delay",
            "100",
            "--json",
            "--output-dir",
            "o",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["read_delay_ms"], 100);
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for row in rows {
        let wall = row["wall_seconds"].as_f64().unwrap();
        // Three reads, each waiting 100 ms: one after the other, or three at once.
        let waits = if row["strategy"] == "sequential" {
            0.3
        } else {
            0.1
        };
        assert!(wall >= waits, "{row}");
        if cfg!(target_os = "linux") {
            assert!(row["peak_memory_mb"].as_f64().unwrap() > 1.0, "{row}");
        }
    }
}

#[test]
fn a_read_delay_past_two_seconds_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = session02(dir.path(), &["compare", "--read-delay", "2001"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("2001 is not in 0..=2000"),
        "{}",
        text(&out.stderr)
    );
}
