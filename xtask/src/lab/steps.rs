//! The lab's steps, each timed: a heading when it starts, and a table of every step's
//! seconds and outcome, with the total, at the end.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use comfy_table::{CellAlignment, Table, presets::UTF8_FULL_CONDENSED};

/// The steps run so far.
#[derive(Debug)]
pub struct Steps {
    done: Vec<(String, Duration, bool)>,
    started: Instant,
}

impl Steps {
    /// No step yet; the total starts now.
    pub fn new() -> Self {
        Self {
            done: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Runs one step under a heading and records its time and outcome; its error names it.
    pub fn run<T>(&mut self, name: &str, step: impl FnOnce() -> Result<T>) -> Result<T> {
        eprintln!("\n== {name}");
        let started = Instant::now();
        let result = step();
        let took = started.elapsed();
        eprintln!(
            "== {name}: {} in {:.1}s",
            if result.is_ok() { "done" } else { "FAILED" },
            took.as_secs_f64()
        );
        self.done.push((name.to_owned(), took, result.is_ok()));
        result.with_context(|| format!("the step `{name}` failed"))
    }

    /// Seconds since the first step started.
    pub fn total(&self) -> Duration {
        self.started.elapsed()
    }

    /// Each step's seconds and outcome, and the total.
    pub fn table(&self) -> String {
        let mut table = Table::new();
        table
            .load_style(UTF8_FULL_CONDENSED)
            .set_header(["step", "seconds", "outcome"]);
        for (name, took, ok) in &self.done {
            table.add_row([
                name.clone(),
                format!("{:.1}", took.as_secs_f64()),
                if *ok { "done" } else { "FAILED" }.to_owned(),
            ]);
        }
        table.add_row([
            "total".to_owned(),
            format!("{:.1}", self.total().as_secs_f64()),
            String::new(),
        ]);
        if let Some(column) = table.column_mut(1) {
            column.set_cell_alignment(CellAlignment::Right);
        }
        table.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_step_is_named_in_its_error_and_in_the_table() {
        let mut steps = Steps::new();
        assert_eq!(steps.run("build", || Ok(7)).unwrap(), 7);
        let error = steps
            .run("up", || -> Result<()> { anyhow::bail!("red") })
            .unwrap_err();
        assert_eq!(format!("{error:#}"), "the step `up` failed: red");
        let table = steps.table();
        for expected in ["build", "done", "up", "FAILED", "total"] {
            assert!(table.contains(expected), "{expected} missing from\n{table}");
        }
    }
}
