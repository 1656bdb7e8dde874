//! `cargo xtask verify`: the graded tests tell a stub from an answer, and the answers are
//! clean.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use anyhow::{Result, bail};

use super::exercises::{Session, sessions};
use super::run::{Code, SessionRun, run_tests};
use super::score::score;
use super::text::indent;
use crate::{cargo, run};

/// `cargo xtask verify`: for every session with exercises, every graded test fails on the
/// stubs and passes on the reference solutions, and the solutions are clippy- and
/// fmt-clean. Fails naming each exercise at fault.
pub fn verify(root: &Path, timeout: Duration) -> Result<()> {
    let sessions = sessions(root)?;
    if sessions.is_empty() {
        eprintln!("no session has exercises yet");
    }
    let mut problems = Vec::new();
    for session in &sessions {
        let before = problems.len();
        let mut test_count = 0;
        check_manifest(session, &mut problems);
        for code in [Code::Student, Code::Solutions] {
            let run = run_tests(root, session, code, timeout)?;
            if let SessionRun::Ran(tests) = &run {
                test_count = tests.len();
            }
            let (scores, orphans) = score(session, &run);
            if let SessionRun::DidNotCompile(error) = &run {
                let what = match code {
                    Code::Student => "the stubs do not compile",
                    Code::Solutions => "the reference solutions do not compile",
                };
                problems.push(format!("{}: {what}:\n{}", session.package, indent(error)));
                continue;
            }
            // Which tests exist does not depend on the code they run against: report once.
            let orphans = if code == Code::Student {
                orphans
            } else {
                Vec::new()
            };
            for name in orphans {
                problems.push(format!(
                    "{}: test {name} belongs to no exercise (its name must start with an id from exercises.toml)",
                    session.package
                ));
            }
            for score in &scores {
                let who = format!("exercise {} ({})", score.exercise.id, score.exercise.title);
                if score.tests.is_empty() && code == Code::Student {
                    problems.push(format!("{who}: has no graded test"));
                }
                for test in &score.tests {
                    match (code, &test.failure) {
                        (Code::Student, None) => problems.push(format!(
                            "{who}: {} passes on the stub, so it cannot tell a stub from an answer \
                             (a student who solved it: grade with `cargo xtask grade`, this check is for the course's own stubs)",
                            test.name
                        )),
                        (Code::Solutions, Some(why)) => problems.push(format!(
                            "{who}: {} fails on the reference solution:\n{}",
                            test.name,
                            indent(why)
                        )),
                        _ => {}
                    }
                }
            }
        }
        // The workspace's clippy sees the stubs; this sees the solutions and the graded tests.
        let lint = run(cargo(root)
            .args(["clippy", "--locked", "--package", &session.package])
            .args(["--lib", "--bins", "--test", "exercises"])
            .args(["--features", "solutions", "--", "-D", "warnings"]));
        if let Err(error) = lint {
            problems.push(format!(
                "{}: the reference solutions or graded tests have clippy warnings: {error}",
                session.package
            ));
        }
        let format = run(cargo(root).args(["fmt", "--check", "--package", &session.package]));
        if let Err(error) = format {
            problems.push(format!(
                "{}: the reference solutions or graded tests are not rustfmt-formatted: {error}",
                session.package
            ));
        }
        if problems.len() == before {
            let total: u32 = session.exercises.iter().map(|e| e.points).sum();
            eprintln!(
                "{}: {} exercises ({total} points), {test_count} graded tests: each fails on the stub and passes on the solution",
                session.package,
                session.exercises.len()
            );
        }
    }
    if !problems.is_empty() {
        bail!(
            "exercise verification failed:\n{}",
            problems
                .iter()
                .map(|p| format!("- {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    Ok(())
}

/// Checks `exercises.toml`: ids unique and of the session, points, files that exist.
fn check_manifest(session: &Session, problems: &mut Vec<String>) {
    let prefix = format!("ex{:02}_", session.number);
    let mut seen = BTreeSet::new();
    if session.exercises.is_empty() {
        problems.push(format!(
            "{}: exercises.toml lists no exercise",
            session.package
        ));
    }
    for exercise in &session.exercises {
        let who = format!("exercise {} ({})", exercise.id, exercise.title);
        let well_formed = exercise
            .id
            .strip_prefix(&prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !well_formed {
            problems.push(format!("{who}: the id must be {prefix}N"));
        }
        if !seen.insert(exercise.id.clone()) {
            problems.push(format!("{who}: the id appears twice in exercises.toml"));
        }
        if exercise.points == 0 {
            problems.push(format!("{who}: is worth 0 points"));
        }
        if !session.dir.join(&exercise.file).is_file() {
            problems.push(format!("{who}: its file {} does not exist", exercise.file));
        }
    }
}
