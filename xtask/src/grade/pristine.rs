//! Grading a submission against a pristine copy of the course.
//!
//! `cargo xtask grade N --submission DIR`, run in a pristine copy (the course as published,
//! or the student template), grades the student's clone at `DIR` without trusting it: it
//! builds a grading workspace from the pristine copy's own files and takes from `DIR` only
//! the files the exercises ask the student to write (each `file` of the pristine
//! `exercises.toml`). The graded tests, `exercises.toml`, the types in `mod.rs`, the
//! manifests and this grader are the pristine ones, so editing them in a clone changes no
//! score. The workspace is built from the student template's files, so it holds no
//! reference solution a submission could include.
//!
//! What it does not do: sandbox the student's code. Grading runs that code, which can do
//! anything the grading user can; run it where that is harmless (Classroom's throwaway
//! runner, a container), and read a suspicious exercise file: cheating through code is in
//! the file the student submitted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

use super::exercises::{Session, select};
use super::files::{remove_others, write_if_changed};
use super::run::{Code, SessionRun, run_tests};
use super::score::{score, totals};
use super::template::template_files;
use crate::target_dir;

/// The grading workspace of the pristine copy at `pristine`: its files, with the exercise
/// files of `sessions` taken from `submission`. Returns its folder and the files taken.
///
/// It lives in the pristine copy's target folder and is updated in place, a file rewritten
/// only when it differs, so grading one student after another rebuilds only what differs.
pub fn grading_workspace(
    pristine: &Path,
    submission: &Path,
    sessions: &[Session],
) -> Result<(PathBuf, Vec<PathBuf>)> {
    ensure!(
        submission.is_dir(),
        "the submission {} is not a folder",
        submission.display()
    );
    let workspace = target_dir(pristine).join("grading").join("workspace");
    // The template's files, not the pristine copy's: a submission must not be able to
    // include the reference solutions from the workspace it is built in.
    let files = template_files(pristine)?;
    let mut taken = Vec::new();
    for (file, pristine_bytes) in &files {
        let submitted = submission.join(file);
        let is_exercise = sessions.iter().any(|session| {
            session
                .exercises
                .iter()
                .any(|e| Path::new(&session.package).join(&e.file) == *file)
        });
        // A plain file only: a link could point anywhere on the grading machine.
        let plain = std::fs::symlink_metadata(&submitted).is_ok_and(|m| m.is_file());
        if is_exercise && submitted.exists() && !plain {
            eprintln!(
                "warning: {} is not a plain file (a link?): graded as the stub",
                submitted.display()
            );
        }
        let bytes = if is_exercise && plain {
            taken.push(file.clone());
            std::fs::read(&submitted)
                .with_context(|| format!("cannot read {}", submitted.display()))?
        } else {
            pristine_bytes.clone()
        };
        write_if_changed(&workspace.join(file), &bytes)?;
    }
    let files: Vec<PathBuf> = files.into_iter().map(|(file, _)| file).collect();
    remove_others(&workspace, &files)?;
    Ok((workspace, taken))
}

/// Proves the grader ignores a clone's edits to what it grades with: a submission of
/// `session` holding the reference solutions, a graded test file whose every test fails and
/// an `exercises.toml` worth 1000 points must score exactly the pristine 100.
pub fn check_pristine_grading(root: &Path, session: &Session, timeout: Duration) -> Result<()> {
    let Some(first) = session.exercises.first() else {
        bail!("{} has no exercise to grade", session.package);
    };
    let submission = target_dir(root).join("grading").join("tampered");
    if submission.exists() {
        std::fs::remove_dir_all(&submission)
            .with_context(|| format!("cannot remove {}", submission.display()))?;
    }
    let crate_dir = submission.join(&session.package);
    let mut tampered_tests = String::new();
    for exercise in &session.exercises {
        let solution = std::fs::read(session.dir.join(exercise.solution()))
            .with_context(|| format!("cannot read the solution of {}", exercise.id))?;
        write_if_changed(&crate_dir.join(&exercise.file), &solution)?;
        tampered_tests += &format!(
            "#[test]\nfn {}_tampered() {{\n    panic!(\"a tampered test\");\n}}\n",
            exercise.id
        );
    }
    write_if_changed(
        &crate_dir.join("tests/exercises.rs"),
        tampered_tests.as_bytes(),
    )?;
    let manifest = format!(
        "[[exercise]]\nid = \"ex{:02}_1\"\ntitle = \"tampered\"\npoints = 1000\nfile = \"{}\"\npractises = [\"images\"]\n",
        session.number, first.file
    );
    write_if_changed(&crate_dir.join("exercises.toml"), manifest.as_bytes())?;

    let (workspace, taken) = grading_workspace(root, &submission, std::slice::from_ref(session))?;
    ensure!(
        taken.len() == session.exercises.len(),
        "took {} files from the submission, not the {} exercise files",
        taken.len(),
        session.exercises.len()
    );
    let graded = select(&workspace, &session.number.to_string())?.remove(0);
    let run = run_tests(
        &workspace,
        &target_dir(root),
        &graded,
        Code::Student,
        timeout,
    )?;
    if let SessionRun::DidNotCompile(error) = &run {
        bail!("the grading workspace does not compile:\n{error}");
    }
    let (scores, orphans) = score(&graded, &run);
    ensure!(
        orphans.is_empty(),
        "tests from the submission were run: {orphans:?}"
    );
    let (earned, possible) = totals(scores.iter());
    ensure!(
        (earned, possible) == (100, 100),
        "the reference solutions submitted with tampered tests scored {earned} / {possible}, not 100 / 100"
    );
    eprintln!(
        "{}: a submission with tampered graded tests and exercises.toml is graded with the pristine ones ({earned} / {possible})",
        session.package
    );
    Ok(())
}
