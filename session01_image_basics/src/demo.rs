//! The demo that `cargo run -p session01_image_basics` runs: every filter of the catalog
//! applied to one photograph, each output written to a file, and a table of timings.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cli::table;
use crate::filter::build;
use crate::io::{Limits, load_with, save};

/// The filters the demo applies, with parameters that show each one off on a 512x512 photo.
/// Every filter of the catalog appears once.
// ANCHOR: demo_steps
pub const STEPS: &[(&str, &[&str])] = &[
    ("grayscale", &[]),
    ("brightness", &["factor=1.4"]),
    ("contrast", &["factor=1.8"]),
    ("invert", &[]),
    ("threshold", &["level=110"]),
    ("blur", &["sigma=4"]),
    ("box-blur", &["radius=5"]),
    ("sharpen", &["amount=1.5"]),
    ("unsharp", &["sigma=3", "amount=2", "threshold=2"]),
    ("edges", &[]),
    ("median", &["radius=3"]),
    ("resize", &["width=256", "filter=lanczos3"]),
    ("rotate", &["angle=90"]),
    ("flip", &["direction=horizontal"]),
    ("crop", &["x=128", "y=64", "width=256", "height=256"]),
];
// ANCHOR_END: demo_steps

/// One line of the demo's table.
#[derive(Debug, Clone)]
pub struct DemoRow {
    /// The filter's name.
    pub filter: &'static str,
    /// Its parameters as `key=value` pairs, defaults included.
    pub params: String,
    /// Where its output was written.
    pub output: PathBuf,
    /// How long the filter took (not the saving).
    pub elapsed: Duration,
}

/// Applies every step to `input`, writing `NN-name.png` files into `out_dir`.
pub fn run(input: &Path, out_dir: &Path, limits: &Limits) -> anyhow::Result<Vec<DemoRow>> {
    let image = load_with(input, limits)?;
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create the output folder {}", out_dir.display()))?;
    let mut rows = Vec::with_capacity(STEPS.len());
    for (index, (name, params)) in STEPS.iter().enumerate() {
        let filter = build(name, params)?;
        let started = Instant::now();
        let output = filter.apply(&image)?;
        let elapsed = started.elapsed();
        let path = out_dir.join(format!("{:02}-{name}.png", index + 1));
        save(&output, &path)?;
        let params: Vec<String> = filter
            .params()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        rows.push(DemoRow {
            filter: filter.name(),
            params: params.join(" "),
            output: path,
            elapsed,
        });
    }
    Ok(rows)
}

/// Runs the demo on `sample`, writing into `out_dir`; the report is the table of timings.
pub fn report(sample: &Path, out_dir: &Path, limits: &Limits) -> anyhow::Result<String> {
    let rows = run(sample, out_dir, limits)?;
    let mut table = table(["filter", "parameters", "output", "time (ms)"]);
    for row in &rows {
        table.add_row([
            row.filter.to_owned(),
            row.params.clone(),
            row.output.display().to_string(),
            format!("{:.1}", row.elapsed.as_secs_f64() * 1e3),
        ]);
    }
    Ok(format!(
        "Every filter applied to {}\n{table}\n{} outputs written to {}\n",
        sample.display(),
        rows.len(),
        out_dir.display()
    ))
}
