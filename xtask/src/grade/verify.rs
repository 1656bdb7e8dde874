//! `cargo xtask verify`: the graded tests tell a stub from an answer and an answer from a
//! shortcut, the exercises follow the course's rules, and the answers are clean.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::difficulty::{points_problems, solution_lines};
use super::exercises::{Session, select, sessions};
use super::pristine::check_pristine_grading;
use super::run::{Code, DID_NOT_FINISH, DID_NOT_RUN, SessionRun, TestRun, run_tests};
use super::score::{Score, score};
use super::template::{WORKFLOW_IN_TEMPLATE, check_template, student_template};
use super::text::indent;
use super::workflow::workflow_problems;
use crate::{cargo, run, target_dir};

/// `cargo xtask verify [N]`: for every session with exercises (or session `N`), every graded
/// test fails on the stubs and passes on the reference solutions, each recorded shortcut
/// fails a test of its exercise, the manifest follows the rules, and the solutions are
/// clippy- and fmt-clean. Then the grader is shown to ignore a student's edits to the
/// graded tests. Fails naming each exercise at fault.
pub fn verify(root: &Path, which: Option<&str>, timeout: Duration) -> Result<()> {
    let which = which.filter(|w| !w.eq_ignore_ascii_case("all"));
    let sessions = match which {
        Some(which) => select(root, which)?,
        None => sessions(root)?,
    };
    if !sessions.is_empty() && !sessions.iter().any(|s| s.dir.join("solutions").is_dir()) {
        bail!(
            "this copy of the course has no reference solutions (it is the student template), \
             so there is nothing to verify: grade your code with `cargo xtask grade N`"
        );
    }
    if sessions.is_empty() {
        eprintln!("no session has exercises yet");
    }
    let target = target_dir(root);
    let mut problems = Vec::new();
    for session in &sessions {
        let before = problems.len();
        check_manifest(session, &mut problems);
        let mut caught = Vec::new();
        let mut test_count = 0;
        for code in [Code::Student, Code::Solutions, Code::Shortcuts] {
            if code == Code::Shortcuts && session.exercises.iter().all(|e| e.shortcut.is_none()) {
                continue;
            }
            let run = run_tests(root, &target, session, code, timeout)?;
            if let SessionRun::DidNotCompile(error) = &run {
                problems.push(format!(
                    "{}: {} do not compile:\n{}",
                    session.package,
                    code.describe(),
                    indent(error)
                ));
                continue;
            }
            let (scores, orphans) = score(session, &run);
            if code == Code::Student {
                test_count = scores.iter().map(|s| s.tests.len()).sum();
                for name in orphans {
                    problems.push(format!(
                        "{}: test {name} belongs to no exercise (its name must start with an id from exercises.toml)",
                        session.package
                    ));
                }
            }
            for score in &scores {
                judge(code, score, &mut problems, &mut caught);
            }
        }
        lint(root, session, &mut problems);
        if problems.len() == before {
            print_summary(session, &caught);
            eprintln!(
                "{}: {} exercises, {test_count} graded tests: each fails on the stub and passes on the solution, and each shortcut fails",
                session.package,
                session.exercises.len()
            );
        }
    }
    if which.is_none() && !sessions.is_empty() {
        if let Err(error) = check_pristine_grading(root, &sessions[0], timeout) {
            problems.push(format!("grading from a pristine copy: {error:#}"));
        }
        match check_student_template(root) {
            Ok(found) => problems.extend(found),
            Err(error) => problems.push(format!("the student template: {error:#}")),
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

/// Writes the student template into the target folder and checks it and its workflow.
fn check_student_template(root: &Path) -> Result<Vec<String>> {
    let out = target_dir(root).join("grading").join("template");
    if out.exists() {
        std::fs::remove_dir_all(&out)
            .with_context(|| format!("cannot remove {}", out.display()))?;
    }
    student_template(root, &out)?;
    let mut problems: Vec<String> = check_template(&out)?
        .into_iter()
        .map(|p| format!("the student template: {p}"))
        .collect();
    let workflow = std::fs::read_to_string(out.join(WORKFLOW_IN_TEMPLATE))
        .context("the template has no Classroom workflow")?;
    problems.extend(
        workflow_problems(&workflow)
            .into_iter()
            .map(|p| format!("the Classroom workflow: {p}")),
    );
    if problems.is_empty() {
        eprintln!(
            "the student template has no solutions or shortcuts, and its Classroom workflow grades from a pristine copy"
        );
    }
    Ok(problems)
}

/// What one exercise's tests did on `code`: problems, and for a shortcut, the tests that
/// caught it.
fn judge(
    code: Code,
    score: &Score,
    problems: &mut Vec<String>,
    caught: &mut Vec<(String, Vec<String>)>,
) {
    let exercise = &score.exercise;
    let who = format!("exercise {} ({})", exercise.id, exercise.title);
    let failed: Vec<&TestRun> = score.tests.iter().filter(|t| t.failure.is_some()).collect();
    match code {
        Code::Student => {
            if score.tests.is_empty() {
                problems.push(format!("{who}: has no graded test"));
            }
            for test in score.tests.iter().filter(|t| t.failure.is_none()) {
                problems.push(format!(
                    "{who}: {} passes on the stub, so it cannot tell a stub from an answer \
                     (a student who solved it: grade with `cargo xtask grade`, this check is for the course's own stubs)",
                    test.name
                ));
            }
        }
        Code::Solutions => {
            for test in failed {
                problems.push(format!(
                    "{who}: {} fails on the reference solution:\n{}",
                    test.name,
                    indent(test.failure.as_deref().unwrap_or_default())
                ));
            }
        }
        Code::Shortcuts => match &exercise.shortcut {
            Some(shortcut) => {
                // Caught means a test failed on it; not that the grader cut the tests off
                // or that another shortcut stopped the test binary.
                let catching: Vec<String> = failed
                    .iter()
                    .filter(|t| {
                        let why = t.failure.as_deref().unwrap_or_default();
                        !why.starts_with(DID_NOT_FINISH) && !why.starts_with(DID_NOT_RUN)
                    })
                    .map(|t| t.name.clone())
                    .collect();
                if catching.is_empty() {
                    problems.push(format!(
                        "{who}: no graded test fails on its recorded shortcut ({shortcut}): a test must catch it{}",
                        if failed.is_empty() {
                            String::new()
                        } else {
                            " (its tests were cut off or did not run, which proves nothing)".to_owned()
                        }
                    ));
                } else {
                    caught.push((exercise.id.clone(), catching));
                }
            }
            None => {
                for test in failed {
                    problems.push(format!(
                        "{who}: {} fails on the reference solution built with the shortcuts of other exercises:\n{}",
                        test.name,
                        indent(test.failure.as_deref().unwrap_or_default())
                    ));
                }
            }
        },
    }
}

/// Clippy on the solutions, the shortcuts and the graded tests (the workspace's clippy sees
/// only the stubs), and rustfmt on all of them.
fn lint(root: &Path, session: &Session, problems: &mut Vec<String>) {
    for feature in ["solutions", "shortcuts"] {
        let lint = run(cargo(root)
            .args(["clippy", "--locked", "--package", &session.package])
            .args(["--lib", "--bins", "--test", "exercises"])
            .args(["--features", feature, "--", "-D", "warnings"]));
        if let Err(error) = lint {
            problems.push(format!(
                "{}: the {feature} or the graded tests have clippy warnings: {error}",
                session.package
            ));
        }
    }
    let format = run(cargo(root).args(["fmt", "--check", "--package", &session.package]));
    if let Err(error) = format {
        problems.push(format!(
            "{}: the solutions, shortcuts or graded tests are not rustfmt-formatted: {error}",
            session.package
        ));
    }
}

/// The session's exercises: points, measured difficulty, subject, and what caught each
/// shortcut.
fn print_summary(session: &Session, caught: &[(String, Vec<String>)]) {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header([
        "exercise",
        "points",
        "solution lines",
        "practises",
        "shortcut caught by",
    ]);
    for exercise in &session.exercises {
        let lines = solution_lines(&session.dir.join(exercise.solution()))
            .map_or_else(|_| "?".to_owned(), |n| n.to_string());
        let by = caught
            .iter()
            .find(|(id, _)| *id == exercise.id)
            .map_or_else(|| "-".to_owned(), |(_, tests)| tests.join(", "));
        table.add_row([
            format!("{} {}", exercise.id, exercise.title),
            exercise.points.to_string(),
            lines,
            exercise.practises.join(", "),
            by,
        ]);
    }
    eprintln!("{table}");
}

/// The subjects a session's exercises must practise, at least one exercise each: the
/// session's own subject, and async and Redis from the sessions that teach them on.
pub fn required_subjects(session: u32) -> Vec<&'static str> {
    let mut subjects = Vec::new();
    if session == 2 {
        subjects.push("threads");
    }
    if session >= 3 {
        subjects.push("async");
    }
    if session >= 4 {
        subjects.push("redis");
    }
    subjects.extend(match session {
        6 => &["containers"][..],
        7 => &["manifests", "http"][..],
        8 => &["scaling"][..],
        9 => &["metrics"][..],
        10 => &["http"][..],
        _ => &[][..],
    });
    subjects
}

/// Checks `exercises.toml` against the rules: ids, points, files, subjects, and points
/// that follow the measured difficulty.
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
        if exercise.points == 0 || exercise.points % 5 != 0 {
            problems.push(format!(
                "{who}: is worth {} points; points are positive multiples of 5",
                exercise.points
            ));
        }
        if !exercise.file.starts_with("src/exercises/") || !exercise.file.ends_with(".rs") {
            problems.push(format!(
                "{who}: its file must be src/exercises/<name>.rs, not {}",
                exercise.file
            ));
        }
        if session
            .exercises
            .iter()
            .filter(|e| e.file == exercise.file)
            .count()
            > 1
        {
            problems.push(format!(
                "{who}: shares its file {} with another exercise; each has its own",
                exercise.file
            ));
        }
        let mut expected = vec![exercise.file.clone(), exercise.solution()];
        if exercise.shortcut.is_some() {
            expected.push(exercise.shortcut_file());
        } else if session.dir.join(exercise.shortcut_file()).exists() {
            problems.push(format!(
                "{who}: {} exists but exercises.toml declares no shortcut for it",
                exercise.shortcut_file()
            ));
        }
        for file in expected {
            if !session.dir.join(&file).is_file() {
                problems.push(format!("{who}: its file {file} does not exist"));
            }
        }
        let mut declared: Vec<(String, String)> = Vec::new();
        for file in [
            "src/exercises/mod.rs".to_owned(),
            exercise.file.clone(),
            exercise.solution(),
            exercise.shortcut_file(),
        ] {
            let Ok(text) = std::fs::read_to_string(session.dir.join(&file)) else {
                continue;
            };
            for name in declared_types(&text) {
                if let Some((_, first)) = declared.iter().find(|(n, _)| *n == name) {
                    problems.push(format!(
                        "{who}: type {name} is declared in {first} and again in {file}: declare an exercise's types once, in src/exercises/mod.rs"
                    ));
                } else {
                    declared.push((name, file.clone()));
                }
            }
        }
        if exercise.practises.is_empty() {
            problems.push(format!("{who}: says nothing it practises"));
        }
    }
    let total: u32 = session.exercises.iter().map(|e| e.points).sum();
    if total != 100 {
        problems.push(format!(
            "{}: the exercises' points add up to {total}, not 100",
            session.package
        ));
    }
    for subject in required_subjects(session.number) {
        if !session
            .exercises
            .iter()
            .any(|e| e.practises.iter().any(|p| p == subject))
        {
            problems.push(format!(
                "{}: no exercise practises {subject}, which session {} must",
                session.package, session.number
            ));
        }
    }
    let measured: Vec<(String, u32, usize)> = session
        .exercises
        .iter()
        .filter_map(|e| {
            let lines = solution_lines(&session.dir.join(e.solution())).ok()?;
            Some((e.id.clone(), e.points, lines))
        })
        .collect();
    problems.extend(points_problems(&measured));
}

/// The names of the structs, enums, unions, traits and type aliases `text` declares.
fn declared_types(text: &str) -> Vec<String> {
    text.lines()
        // Items of the file itself: an associated `type Err` in an `impl` is indented.
        .filter(|line| !line.starts_with(char::is_whitespace))
        .filter_map(|line| {
            let item = ["pub(crate) ", "pub(super) ", "pub "]
                .iter()
                .find_map(|vis| line.strip_prefix(vis))
                .unwrap_or(line);
            let rest = ["struct ", "enum ", "union ", "trait ", "type "]
                .iter()
                .find_map(|kind| item.strip_prefix(kind))?;
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_are_found_by_name() {
        let text = "use x;\npub struct Queue<T> {\n}\nenum State { A }\nimpl FromStr for Queue {\n    type Err = String;\n}\n// struct Not\n";
        assert_eq!(declared_types(text), vec!["Queue", "State"]);
    }

    #[test]
    fn later_sessions_require_async_then_redis() {
        assert_eq!(required_subjects(1), Vec::<&str>::new());
        assert_eq!(required_subjects(3), vec!["async"]);
        assert_eq!(required_subjects(5), vec!["async", "redis"]);
        assert_eq!(required_subjects(9), vec!["async", "redis", "metrics"]);
    }
}
