//! The stages of `cargo xtask test`, timed, and the table of them it ends with.
//!
//! Every CI log then shows where the time went, so the next slow stage is visible the day
//! it lands, not when the budget is already gone.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use comfy_table::{CellAlignment, Table, presets::UTF8_FULL_CONDENSED};

/// How a stage ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed,
    /// It could not run here; the reason.
    Skipped(String),
}

/// The stages run so far, in order.
#[derive(Debug, Default)]
pub struct Stages {
    done: Vec<(String, Duration, Outcome)>,
    started: Option<Instant>,
}

impl Stages {
    /// An empty record whose total starts now.
    pub fn new() -> Self {
        Self {
            done: Vec::new(),
            started: Some(Instant::now()),
        }
    }

    /// Runs `stage` under a heading, records its time and outcome, and prints why it
    /// failed if it did; the next stage runs either way.
    pub fn run<T>(&mut self, name: &str, stage: impl FnOnce() -> Result<T>) {
        eprintln!("\n== {name}");
        let started = Instant::now();
        let outcome = match stage() {
            Ok(_) => Outcome::Passed,
            Err(error) => {
                eprintln!("error: {name} failed: {error:#}");
                Outcome::Failed
            }
        };
        self.done
            .push((name.to_owned(), started.elapsed(), outcome));
    }

    /// Records a stage that cannot run on this machine, with the reason.
    pub fn skip(&mut self, name: &str, reason: &str) {
        eprintln!("\n== {name}: skipped ({reason})");
        self.done.push((
            name.to_owned(),
            Duration::ZERO,
            Outcome::Skipped(reason.to_owned()),
        ));
    }

    /// Records a stage timed elsewhere (one that ran in the background).
    pub fn record(&mut self, name: &str, took: Duration) {
        self.done.push((name.to_owned(), took, Outcome::Passed));
    }

    /// The table: each stage, its time, its outcome, and the total.
    pub fn table(&self) -> String {
        let mut table = Table::new();
        table
            .load_style(UTF8_FULL_CONDENSED)
            .set_header(["stage", "seconds", "outcome"]);
        for (name, took, outcome) in &self.done {
            let outcome = match outcome {
                Outcome::Passed => "passed".to_owned(),
                Outcome::Failed => "FAILED".to_owned(),
                Outcome::Skipped(reason) => format!("skipped: {reason}"),
            };
            table.add_row([name.clone(), format!("{:.0}", took.as_secs_f64()), outcome]);
        }
        let total = self.started.map(|s| s.elapsed()).unwrap_or_default();
        table.add_row([
            "total".to_owned(),
            format!("{:.0}", total.as_secs_f64()),
            String::new(),
        ]);
        if let Some(column) = table.column_mut(1) {
            column.set_cell_alignment(CellAlignment::Right);
        }
        table.to_string()
    }

    /// Fails when any stage failed.
    pub fn verdict(&self) -> Result<()> {
        let failed: Vec<&str> = self
            .done
            .iter()
            .filter(|(_, _, outcome)| *outcome == Outcome::Failed)
            .map(|(name, _, _)| name.as_str())
            .collect();
        if !failed.is_empty() {
            bail!("failed: {}", failed.join(", "));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_each_stage_and_the_verdict_names_failures() {
        let mut stages = Stages::new();
        stages.run("format", || Ok(()));
        stages.run("tests", || -> Result<()> { bail!("red") });
        stages.skip("multihost", "not root");
        let table = stages.table();
        for expected in [
            "format",
            "passed",
            "tests",
            "FAILED",
            "skipped: not root",
            "total",
        ] {
            assert!(table.contains(expected), "{expected} missing from\n{table}");
        }
        let verdict = stages.verdict().unwrap_err().to_string();
        assert_eq!(verdict, "failed: tests");
    }
}
