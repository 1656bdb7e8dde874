//! Points that follow measured difficulty.
//!
//! An exercise's difficulty is measured as the size of its reference solution: the lines
//! that hold code, not blank lines or comments. It is a rough measure, but a measure: an
//! exercise whose answer is clearly longer must not earn fewer points.

use std::path::Path;

use anyhow::{Context, Result};

/// How much longer one solution must be before its exercise may not earn fewer points:
/// sizes within this ratio count as the same difficulty.
const CLEARLY_LONGER: f64 = 1.25;

/// The lines of a Rust file that hold code: neither blank nor a comment.
pub fn code_lines(text: &str) -> usize {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("//"))
        .count()
}

/// The code lines of a solution file.
pub fn solution_lines(path: &Path) -> Result<usize> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(code_lines(&text))
}

/// For `(id, points, solution lines)` of one session's exercises, every pair whose points
/// contradict their sizes.
pub fn points_problems(exercises: &[(String, u32, usize)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, points, lines) in exercises {
        for (other, other_points, other_lines) in exercises {
            let clearly_longer = *lines as f64 >= *other_lines as f64 * CLEARLY_LONGER;
            if clearly_longer && points < other_points {
                problems.push(format!(
                    "exercise {id}: its solution is {lines} lines, clearly longer than {other}'s \
                     {other_lines}, yet it earns {points} points to {other_points}: points follow measured difficulty"
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_blank_lines_are_not_code() {
        let text = "//! guide\nuse std::fmt;\n\n    // a comment\nfn f() {}\n/// doc\n";
        assert_eq!(code_lines(text), 2);
    }

    #[test]
    fn a_clearly_longer_solution_may_not_earn_fewer_points() {
        let fine = [
            ("ex01_1".to_owned(), 20, 40),
            ("ex01_2".to_owned(), 30, 45), // within 25 %: either order is fine
            ("ex01_3".to_owned(), 25, 42),
        ];
        assert!(points_problems(&fine).is_empty());
        let wrong = [("ex01_1".to_owned(), 30, 20), ("ex01_2".to_owned(), 20, 60)];
        let problems = points_problems(&wrong);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("exercise ex01_2: its solution is 60 lines"));
    }
}
