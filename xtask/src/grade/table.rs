//! The printed result: a table of the exercises, then why each one that failed did.

use std::path::Path;

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::exercises::Session;
use super::score::Score;
use super::text::{indent, truncate};

/// Prints each exercise's result and points, then the reasons of those that earned nothing.
pub fn print_results(root: &Path, graded: &[(Session, Vec<Score>)]) {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_header(["exercise", "title", "result", "points"]);
    for (_, scores) in graded {
        for score in scores {
            table.add_row([
                score.exercise.id.clone(),
                score.exercise.title.clone(),
                if score.passed() { "pass" } else { "FAIL" }.to_owned(),
                format!("{} / {}", score.points(), score.exercise.points),
            ]);
        }
    }
    println!("{table}");
    for (session, scores) in graded {
        for score in scores {
            if let Some(reason) = score.reason() {
                let file = session.dir.join(&score.exercise.file);
                let file = file.strip_prefix(root).unwrap_or(&file);
                println!(
                    "\n{} {} ({}):\n{}",
                    score.exercise.id,
                    score.exercise.title,
                    file.display(),
                    indent(&truncate(&reason, 1500))
                );
            }
        }
    }
}
