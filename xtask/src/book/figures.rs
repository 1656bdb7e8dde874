//! The book's figures: drawn by the sessions' demos, from the recorded peer and queue
//! comparisons and from the recorded API benchmark.

use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, Result};

use crate::{bench_api, cargo, peers, queues, run};

/// Figures a session's demo writes for the book.
struct Figures {
    /// The session crate.
    package: &'static str,
    /// Arguments that make its demo write into `folder`.
    args: &'static [&'static str],
    /// Under `book/src/`.
    folder: &'static str,
    /// Files copied as they are: (from the workspace root, to a name in `folder`).
    copies: &'static [(&'static str, &'static str)],
}

const FIGURES: &[Figures] = &[Figures {
    package: "session01_image_basics",
    args: &["--output-dir"],
    folder: "figures/session01",
    copies: &[(
        "session01_image_basics/samples/astronaut.png",
        "00-original.png",
    )],
}];

/// Draws the recorded `cargo xtask bench-peers` results as the book's table and plot.
pub(super) fn draw_peer_comparison(root: &Path, src: &Path) -> Result<()> {
    let record = root.join(peers::RECORD);
    if !record.is_file() {
        return Ok(());
    }
    let text = std::fs::read_to_string(&record)?;
    let results: peers::Results = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a bench-peers record", peers::RECORD))?;
    let folder = src.join("figures/session02");
    std::fs::create_dir_all(&folder)?;
    std::fs::write(folder.join("bench-peers.md"), peers::markdown(&results))?;
    for (name, markdown) in peers::summary(&results) {
        std::fs::write(folder.join(name), markdown)?;
    }
    peers::plot(&results, &folder.join("bench-peers.svg"))
}

/// Draws the recorded `cargo xtask bench-api` results as session 10's table.
pub(super) fn draw_api_bench(root: &Path, src: &Path) -> Result<()> {
    draw_table(
        root,
        src,
        ("bench-api", bench_api::RECORD),
        "figures/session10",
        bench_api::markdown,
    )
}

/// Draws the recorded `cargo xtask bench-queues` results as session 04's table.
pub(super) fn draw_queue_comparison(root: &Path, src: &Path) -> Result<()> {
    draw_table(
        root,
        src,
        ("bench-queues", queues::RECORD),
        "figures/session04",
        queues::markdown,
    )
}

/// Reads the record `cargo xtask TASK --record` keeps at `record`, and writes it as
/// `TASK.md` in `folder` (under the book's sources) with `markdown`.
fn draw_table<T: serde::de::DeserializeOwned>(
    root: &Path,
    src: &Path,
    (task, record): (&str, &str),
    folder: &str,
    markdown: fn(&T) -> String,
) -> Result<()> {
    let path = root.join(record);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {} (make it with `cargo xtask {task} --record`)",
            path.display()
        )
    })?;
    let results: T =
        serde_json::from_str(&text).with_context(|| format!("{record} is not a {task} record"))?;
    let folder = src.join(folder);
    std::fs::create_dir_all(&folder)?;
    std::fs::write(folder.join(format!("{task}.md")), markdown(&results))?;
    Ok(())
}

/// Runs each session's demo into the book's figures folder.
pub(super) fn generate_figures(root: &Path, src: &Path) -> Result<()> {
    for figures in FIGURES {
        if !root.join(figures.package).is_dir() {
            continue;
        }
        let folder = src.join(figures.folder);
        eprintln!("generating the figures of {}", figures.package);
        run(cargo(root)
            .args([
                "run",
                "--quiet",
                "--locked",
                "--package",
                figures.package,
                "--",
            ])
            .args(figures.args)
            .arg(&folder)
            .stdout(Stdio::null()))?;
        for (from, to) in figures.copies {
            std::fs::copy(root.join(from), folder.join(to))
                .with_context(|| format!("cannot copy {from} into the book"))?;
        }
    }
    Ok(())
}
