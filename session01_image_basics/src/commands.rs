//! What the commands besides the demo do: apply one filter to one file, list the catalog,
//! read image headers, write the test image, and run your exercise filters. Each returns
//! its report, for [`finish`](crate::cli::finish) to print.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;

use crate::cli::table;
use crate::exercises::{self, Outcome};
use crate::filter::{build, catalog};
use crate::io::{self, Limits, info, load_with, save};
use crate::params::ParamDefault;
use crate::samples;

// ANCHOR: apply_one
/// Applies the filter `name` with `params` to `input` and writes the result to `output`.
pub fn apply_one(
    name: &str,
    params: &[String],
    input: &Path,
    output: &Path,
    limits: &Limits,
) -> Result<String> {
    let filter = build(name, params)?;
    let image = load_with(input, limits)?;
    let started = Instant::now();
    let result = filter.apply(&image)?;
    let elapsed = started.elapsed();
    save(&result, output)?;
    Ok(format!(
        "{} -> {} ({}x{}) in {:.1} ms\n",
        filter.spec(),
        output.display(),
        result.width(),
        result.height(),
        elapsed.as_secs_f64() * 1e3
    ))
}
// ANCHOR_END: apply_one

/// Every filter of the catalog with its parameters (`--list`).
pub fn list() -> String {
    let mut out = String::new();
    for info in catalog() {
        out += &format!("{:<11} {}\n", info.name, info.summary);
        for spec in info.params {
            let default = match spec.default {
                ParamDefault::Value(value) => format!("default {value}"),
                ParamDefault::Required => "required".to_owned(),
                ParamDefault::Optional => "optional".to_owned(),
            };
            out += &format!(
                "    {}: {} ({default}): {}\n",
                spec.name, spec.kind, spec.help
            );
        }
    }
    out
}

/// A table of the images' format, size and colour type, read from their headers (`info`).
pub fn info_table(paths: &[PathBuf]) -> Result<String> {
    let mut table = table(["file", "format", "size", "colour", "bytes"]);
    for path in paths {
        let info = info(path)?;
        table.add_row([
            path.display().to_string(),
            io::format_name(info.format).to_owned(),
            format!("{}x{}", info.width, info.height),
            format!("{:?}", info.color),
            info.file_bytes.to_string(),
        ]);
    }
    Ok(format!("{table}\n"))
}

/// Writes the benchmarks' generated test image to `output` (`generate`).
pub fn generate(width: u32, height: u32, output: &Path) -> Result<String> {
    let image = samples::generate(width, height);
    save(&image.into(), output)?;
    Ok(format!(
        "wrote {width}x{height} test image to {}\n",
        output.display()
    ))
}

/// Runs your exercise filters on `sample` and tabulates which are done (`exercises`).
pub fn exercises_table(sample: &Path, out_dir: &Path, limits: &Limits) -> Result<String> {
    let rows = exercises::run_all(sample, out_dir, limits)?;
    let mut table = table(["exercise", "filter", "state"]);
    let mut done = 0;
    for (number, name, outcome) in rows {
        let state = match outcome {
            Outcome::Done(path) => {
                done += 1;
                format!("done: {}", path.display())
            }
            Outcome::NotStarted(_) => "not started (still todo!)".to_owned(),
            Outcome::Failed(message) => format!("failed: {message}"),
        };
        table.add_row([number.to_owned(), name.to_owned(), state]);
    }
    Ok(format!(
        "Your exercise filters on {}\n{table}\n{done} of {} run; grade them with `cargo xtask grade 1`\n",
        sample.display(),
        exercises::EXERCISES.len()
    ))
}
