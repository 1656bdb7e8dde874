//! Graded exercises: `cargo xtask grade` scores them, `cargo xtask verify` proves the tests
//! can tell a stub from an answer.
//!
//! A session with exercises has an `exercises.toml` next to its `Cargo.toml`, listing each
//! exercise's id, title, points and the file to edit. Its graded tests live in the test
//! target `exercises`, which has `test = false` (so the plain `cargo test` leaves them out,
//! while `--test exercises` builds them on the same build of the crate), and each test's
//! name starts with its exercise's id. The `solutions` feature swaps the reference solutions
//! in for the stubs.
//!
//! Each exercise is one file the student writes, `src/exercises/<stem>.rs`; the types it
//! uses are declared once, in `src/exercises/mod.rs`. The `solutions` feature swaps in
//! `solutions/<stem>.rs`, and `shortcuts` swaps in `shortcuts/<stem>.rs`, a recorded
//! plausible-but-wrong answer that `verify` expects a graded test to catch.
//!
//! The grader builds the test target with cargo, then runs the test binary itself: it can
//! stop a student's endless loop at a deadline, and a build that fails is a score of 0 with
//! the compiler's message, not a crash. With `--submission DIR` it grades a student's clone
//! from this (pristine) copy, taking only the exercise files from it (see `pristine.rs`).
//! `student-template` writes the repository students receive (`template.rs`), with the
//! Classroom workflow (`workflow.rs` checks it); `class-report` merges a class's reports
//! into a CSV (`export.rs`).

mod classroom;
mod difficulty;
mod exercises;
mod export;
mod files;
mod junit;
mod pristine;
mod results;
mod run;
mod score;
mod table;
pub(crate) mod template;
mod text;
mod verify;
mod workflow;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use classroom::classroom_json;
use exercises::{select, sessions};
pub use export::class_report;
use junit::junit_xml;
use pristine::grading_workspace;
use run::{Code, run_tests};
use score::{score, totals};
pub use template::{check_template, student_template};
pub use verify::verify;

/// Options of `cargo xtask grade`.
#[derive(Debug, Clone)]
pub struct GradeOptions {
    /// `1`, `01` or `all`.
    pub which: String,
    /// Grade the reference solutions instead of the student's code.
    pub solutions: bool,
    /// Only this exercise (`ex01_2`).
    pub exercise: Option<String>,
    /// Where the reports go.
    pub out_dir: PathBuf,
    /// How long a session's tests may run.
    pub timeout: Duration,
    /// A student's clone to grade with this copy's tests, instead of this copy itself.
    pub submission: Option<PathBuf>,
}

/// Whether this copy of the course has the reference solutions (the student template has
/// none).
pub fn has_solutions(root: &Path) -> Result<bool> {
    Ok(sessions(root)?
        .iter()
        .any(|session| session.dir.join("solutions").is_dir()))
}

/// `cargo xtask grade`: scores the exercises, prints a table and writes the reports.
/// Returns whether every graded exercise earned its points.
pub fn grade(root: &Path, options: &GradeOptions) -> Result<bool> {
    let code = if options.solutions {
        Code::Solutions
    } else {
        Code::Student
    };
    if options.solutions && !has_solutions(root)? {
        bail!(
            "this copy of the course has no reference solutions (it is the student template): \
             grade your own code with `cargo xtask grade {}`",
            options.which
        );
    }
    let target = crate::target_dir(root);
    let (root, sessions) = match &options.submission {
        None => (root.to_path_buf(), select(root, &options.which)?),
        Some(submission) => {
            let sessions = select(root, &options.which)?;
            let (workspace, taken) = grading_workspace(root, submission, &sessions)?;
            eprintln!(
                "grading {} with this copy's tests: {} exercise files taken from it",
                submission.display(),
                taken.len()
            );
            let sessions = select(&workspace, &options.which)?;
            (workspace, sessions)
        }
    };
    let root = root.as_path();
    let mut graded = Vec::new();
    for session in sessions {
        let run = run_tests(root, &target, &session, code, options.timeout)?;
        let (mut scores, orphans) = score(&session, &run);
        if !orphans.is_empty() {
            eprintln!(
                "warning: tests that belong to no exercise of {}: {}",
                session.package,
                orphans.join(", ")
            );
        }
        if let Some(only) = &options.exercise {
            scores.retain(|s| s.exercise.id == *only);
        }
        graded.push((session, scores));
    }
    if let Some(only) = &options.exercise
        && graded.iter().all(|(_, scores)| scores.is_empty())
    {
        bail!("no exercise {only:?} in the sessions graded");
    }

    table::print_results(root, &graded);
    let (earned, possible) = totals(graded.iter().flat_map(|(_, s)| s));
    let label = match options.which.parse::<u32>() {
        Ok(n) => format!("session{n:02}"),
        Err(_) => "all".to_owned(),
    };
    std::fs::create_dir_all(&options.out_dir)
        .with_context(|| format!("cannot create {}", options.out_dir.display()))?;
    let json_path = options.out_dir.join(format!("{label}.json"));
    let xml_path = options.out_dir.join(format!("{label}.xml"));
    let command = grade_command(options);
    std::fs::write(&json_path, classroom_json(root, &graded, &command)?)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    std::fs::write(&xml_path, junit_xml(&graded)?)
        .with_context(|| format!("cannot write {}", xml_path.display()))?;
    println!("\ntotal: {earned} / {possible} points");
    println!(
        "reports: {} (GitHub Classroom) and {} (JUnit)",
        json_path.display(),
        xml_path.display()
    );
    Ok(earned == possible)
}

/// The command that grades the same exercises again.
fn grade_command(options: &GradeOptions) -> String {
    let mut command = format!("cargo xtask grade {}", options.which);
    if let Some(exercise) = &options.exercise {
        command += &format!(" --exercise {exercise}");
    }
    if options.solutions {
        command += " --solutions";
    }
    if let Some(submission) = &options.submission {
        command += &format!(" --submission {}", submission.display());
    }
    command
}

/// Exercises and a session for the tests.
#[cfg(test)]
mod fixtures {
    use std::path::PathBuf;

    use super::exercises::{Exercise, Session};

    pub fn exercise(id: &str, points: u32) -> Exercise {
        Exercise {
            id: id.to_owned(),
            title: format!("title of {id}"),
            points,
            file: format!("src/exercises/{id}.rs"),
            practises: vec!["images".to_owned()],
            shortcut: None,
        }
    }

    pub fn session() -> Session {
        Session {
            number: 1,
            package: "session01_x".to_owned(),
            dir: PathBuf::from("/repo/session01_x"),
            exercises: vec![exercise("ex01_1", 20), exercise("ex01_2", 30)],
        }
    }
}
