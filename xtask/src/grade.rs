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
//! The grader builds the test target with cargo, then runs the test binary itself: it can
//! stop a student's endless loop at a deadline, and a build that fails is a score of 0 with
//! the compiler's message, not a crash.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::{Deserialize, Serialize};

use crate::{cargo, run};

/// A session crate that has graded exercises.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session's number, 1 for `session01_image_basics`.
    pub number: u32,
    /// The package name, which is also its folder.
    pub package: String,
    /// Its folder.
    pub dir: PathBuf,
    /// Its exercises, from `exercises.toml`.
    pub exercises: Vec<Exercise>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    exercise: Vec<Exercise>,
}

/// One exercise, as `exercises.toml` describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    /// The prefix of its tests' names, `ex01_2`.
    pub id: String,
    /// What it is called in the book.
    pub title: String,
    /// What it is worth.
    pub points: u32,
    /// The file the student edits, relative to the crate.
    pub file: String,
}

impl Exercise {
    /// Whether a test belongs to this exercise.
    fn owns(&self, test: &str) -> bool {
        test.strip_prefix(&self.id)
            .is_some_and(|rest| rest.starts_with('_'))
    }
}

/// Every session crate with an `exercises.toml`, in session order.
pub fn sessions(root: &Path) -> Result<Vec<Session>> {
    let mut sessions = Vec::new();
    for entry in std::fs::read_dir(root).context("cannot list the workspace")? {
        let dir = entry?.path();
        let manifest = dir.join("exercises.toml");
        let Some(package) = dir.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        let Some(number) = package
            .strip_prefix("session")
            .and_then(|rest| rest.get(..2))
            .and_then(|digits| digits.parse().ok())
        else {
            continue;
        };
        if !manifest.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("cannot read {}", manifest.display()))?;
        let Manifest { exercise } =
            toml::from_str(&text).with_context(|| format!("{} is invalid", manifest.display()))?;
        sessions.push(Session {
            number,
            package,
            dir,
            exercises: exercise,
        });
    }
    sessions.sort_by_key(|s| s.number);
    Ok(sessions)
}

/// The sessions `which` names: a number (`1`, `01`) or `all`.
pub fn select(root: &Path, which: &str) -> Result<Vec<Session>> {
    let all = sessions(root)?;
    if which.eq_ignore_ascii_case("all") {
        return Ok(all);
    }
    let number: u32 = which
        .trim()
        .parse()
        .with_context(|| format!("{which:?} is not a session number or `all`"))?;
    let available: Vec<String> = all.iter().map(|s| s.number.to_string()).collect();
    match all.into_iter().find(|s| s.number == number) {
        Some(session) => Ok(vec![session]),
        None => bail!(
            "session {number} has no graded exercises; sessions with exercises: {}",
            available.join(", ")
        ),
    }
}

/// Which code the tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// The student's files (the stubs on a fresh clone).
    Student,
    /// The reference solutions.
    Solutions,
}

/// What became of one graded test.
#[derive(Debug, Clone)]
pub struct TestRun {
    /// The test's name.
    pub name: String,
    /// `None` when it passed, otherwise why it failed.
    pub failure: Option<String>,
}

/// The result of running a session's graded tests.
#[derive(Debug, Clone)]
pub enum SessionRun {
    /// The tests ran; those cut off by the deadline count as failed.
    Ran(Vec<TestRun>),
    /// The tests did not build; the compiler's errors.
    DidNotCompile(String),
}

/// Builds and runs a session's graded tests against `code`, stopping them after `timeout`.
pub fn run_tests(
    root: &Path,
    session: &Session,
    code: Code,
    timeout: Duration,
) -> Result<SessionRun> {
    eprintln!(
        "building the graded tests of {} ({})",
        session.package,
        match code {
            Code::Student => "your code",
            Code::Solutions => "the reference solutions",
        }
    );
    let started = Instant::now();
    let build = cargo(root)
        .args(["test", "--locked", "--no-run", "--test", "exercises"])
        .args(["--package", &session.package])
        .args(match code {
            Code::Student => &[][..],
            Code::Solutions => &["--features", "solutions"][..],
        })
        .args([
            "--message-format",
            "json-render-diagnostics",
            "--color",
            "never",
        ])
        .stdin(Stdio::null())
        .output()
        .context("cannot run cargo")?;
    let stdout = String::from_utf8_lossy(&build.stdout);
    if !build.status.success() {
        return Ok(SessionRun::DidNotCompile(compiler_errors(
            &String::from_utf8_lossy(&build.stderr),
        )));
    }
    let executable = test_executable(&stdout)
        .with_context(|| format!("cargo built no `exercises` test for {}", session.package))?;
    eprintln!("built in {:.0} s", started.elapsed().as_secs_f64());
    let started = Instant::now();

    let listed = Command::new(&executable)
        .args(["--list", "--color", "never"])
        .current_dir(&session.dir)
        .output()
        .with_context(|| format!("cannot run {}", executable.display()))?;
    let names: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_owned)
        .collect();

    let (status, output) = run_with_deadline(
        Command::new(&executable)
            .args(["--color", "never"])
            .current_dir(&session.dir)
            .env("RUST_BACKTRACE", "0"),
        timeout,
        false,
    )?;
    eprintln!(
        "ran {} graded tests in {:.0} s",
        names.len(),
        started.elapsed().as_secs_f64()
    );
    let finished = parse_results(&output);
    let tests = names
        .into_iter()
        .map(|name| {
            let failure = match finished.iter().find(|(n, _)| *n == name) {
                Some((_, true)) => None,
                Some((_, false)) => Some(failure_message(&output, &name)),
                None if status.is_none() => Some(format!(
                    "did not finish within {} s (an endless loop?)",
                    timeout.as_secs()
                )),
                None => Some("did not run (the test binary stopped early)".to_owned()),
            };
            TestRun { name, failure }
        })
        .collect();
    Ok(SessionRun::Ran(tests))
}

/// The path of the `exercises` test binary, from cargo's JSON messages.
fn test_executable(messages: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "exercises")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
}

/// The compiler's errors from cargo's stderr, without the progress lines.
fn compiler_errors(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    let start = lines
        .iter()
        .position(|line| line.starts_with("error"))
        .unwrap_or(0);
    let text = lines[start..].join("\n");
    truncate(&text, 6000)
}

/// Runs a command to its end or the deadline; `None` for the status means it was stopped.
///
/// With `group` set, on Unix, the command runs in a process group of its own and the
/// deadline stops the whole group: a program started through `cargo run` goes with cargo,
/// and its pipes close. (Without it, Ctrl-C in the terminal reaches the command too.)
pub(crate) fn run_with_deadline(
    command: &mut Command,
    timeout: Duration,
    group: bool,
) -> Result<(Option<std::process::ExitStatus>, String)> {
    #[cfg(unix)]
    if group {
        std::os::unix::process::CommandExt::process_group(command, 0);
    }
    #[cfg(not(unix))]
    let _ = group;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start the test binary")?;
    let readers = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .map(|pipe| {
        thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                // A read error only cuts the output short; the status still tells the story.
                let _ = pipe.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            // What it started and left behind would hold the pipes open.
            if group {
                crate::testing::stop(&mut child, group);
            }
            break Some(status);
        }
        if started.elapsed() > timeout {
            crate::testing::stop(&mut child, group);
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let mut output = String::new();
    for reader in readers {
        output += &reader.join().unwrap_or_default();
    }
    Ok((status, output))
}

/// `(name, passed)` for every `test NAME ... ok|FAILED` line of libtest's output.
fn parse_results(output: &str) -> Vec<(&str, bool)> {
    output
        .lines()
        .filter_map(|line| {
            let (name, result) = line.strip_prefix("test ")?.split_once(" ... ")?;
            match result {
                "ok" => Some((name, true)),
                "FAILED" => Some((name, false)),
                _ => None,
            }
        })
        .collect()
}

/// The panic message libtest printed for a failed test.
fn failure_message(output: &str, name: &str) -> String {
    let header = format!("---- {name} stdout ----");
    let Some(start) = output.find(&header) else {
        return "failed".to_owned();
    };
    let section = &output[start + header.len()..];
    let end = section
        .find("\n---- ")
        .or_else(|| section.find("\nfailures:"))
        .unwrap_or(section.len());
    let mut lines: Vec<&str> = section[..end]
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter(|line| !line.starts_with("note: run with `RUST_BACKTRACE=1`"))
        .collect();
    // "thread 'name' (id) panicked at file:line:col:" says where; the lines after say what.
    let place = lines
        .first()
        .filter(|line| line.starts_with("thread '"))
        .and_then(|line| line.split_once(" panicked at "))
        .map(|(_, place)| place.trim_end_matches(':').to_owned());
    if place.is_some() {
        lines.remove(0);
    }
    let message = lines.join("\n");
    let message = match place {
        Some(place) => format!("{message} (at {place})"),
        None => message,
    };
    truncate(message.trim(), 2000)
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}\n... (cut)", &text[..cut])
}

/// One exercise's score.
#[derive(Debug, Clone)]
pub struct Score {
    /// The exercise.
    pub exercise: Exercise,
    /// Its tests, with their outcomes.
    pub tests: Vec<TestRun>,
    /// Set when the code did not compile: the compiler's errors.
    pub compile_error: Option<String>,
}

impl Score {
    /// Whether every one of its tests passed.
    pub fn passed(&self) -> bool {
        self.compile_error.is_none()
            && !self.tests.is_empty()
            && self.tests.iter().all(|t| t.failure.is_none())
    }

    fn points(&self) -> u32 {
        if self.passed() {
            self.exercise.points
        } else {
            0
        }
    }

    /// Why it earned nothing, in a few lines.
    fn reason(&self) -> Option<String> {
        if let Some(error) = &self.compile_error {
            return Some(format!("does not compile:\n{error}"));
        }
        if self.tests.is_empty() {
            return Some("no graded test belongs to this exercise".to_owned());
        }
        let failed: Vec<&TestRun> = self.tests.iter().filter(|t| t.failure.is_some()).collect();
        let first = failed.first()?;
        let mut reason = format!(
            "{} of {} tests fail; the first, {}:\n{}",
            failed.len(),
            self.tests.len(),
            first.name,
            first.failure.as_deref().unwrap_or_default()
        );
        if failed.len() > 1 {
            let others: Vec<&str> = failed[1..].iter().map(|t| t.name.as_str()).collect();
            reason += &format!("\nalso failing: {}", others.join(", "));
        }
        Some(reason)
    }
}

/// Each exercise of a session with its tests, plus the tests no exercise claims.
pub fn score(session: &Session, run: &SessionRun) -> (Vec<Score>, Vec<String>) {
    let scores = session
        .exercises
        .iter()
        .map(|exercise| match run {
            SessionRun::DidNotCompile(error) => Score {
                exercise: exercise.clone(),
                tests: Vec::new(),
                compile_error: Some(error.clone()),
            },
            SessionRun::Ran(tests) => Score {
                exercise: exercise.clone(),
                tests: tests
                    .iter()
                    .filter(|t| exercise.owns(&t.name))
                    .cloned()
                    .collect(),
                compile_error: None,
            },
        })
        .collect();
    let orphans = match run {
        SessionRun::DidNotCompile(_) => Vec::new(),
        SessionRun::Ran(tests) => tests
            .iter()
            .filter(|t| !session.exercises.iter().any(|e| e.owns(&t.name)))
            .map(|t| t.name.clone())
            .collect(),
    };
    (scores, orphans)
}

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
}

/// `cargo xtask grade`: scores the exercises, prints a table and writes the reports.
/// Returns whether every graded exercise earned its points.
pub fn grade(root: &Path, options: &GradeOptions) -> Result<bool> {
    let code = if options.solutions {
        Code::Solutions
    } else {
        Code::Student
    };
    let mut graded = Vec::new();
    for session in select(root, &options.which)? {
        let run = run_tests(root, &session, code, options.timeout)?;
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

    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_header(["exercise", "title", "result", "points"]);
    for (_, scores) in &graded {
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
    for (session, scores) in &graded {
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

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn totals<'a>(scores: impl Iterator<Item = &'a Score>) -> (u32, u32) {
    scores.fold((0, 0), |(earned, possible), s| {
        (earned + s.points(), possible + s.exercise.points)
    })
}

fn grade_command(options: &GradeOptions) -> String {
    let mut command = format!("cargo xtask grade {}", options.which);
    if let Some(exercise) = &options.exercise {
        command += &format!(" --exercise {exercise}");
    }
    if options.solutions {
        command += " --solutions";
    }
    command
}

/// The report in the shape of GitHub Classroom's autograding runners: one entry per
/// exercise, which the autograding reporter action reads (base64-encoded) from a step output.
#[derive(Debug, Serialize)]
struct ClassroomReport {
    version: u32,
    status: &'static str,
    score: u32,
    max_score: u32,
    tests: Vec<ClassroomTest>,
}

#[derive(Debug, Serialize)]
struct ClassroomTest {
    name: String,
    status: &'static str,
    message: Option<String>,
    score: u32,
    max_score: u32,
    test_code: String,
    filename: String,
    line_no: u32,
}

fn classroom_json(root: &Path, graded: &[(Session, Vec<Score>)], command: &str) -> Result<String> {
    let mut tests = Vec::new();
    for (session, scores) in graded {
        for score in scores {
            let file = session.dir.join(&score.exercise.file);
            tests.push(ClassroomTest {
                name: format!("{} {}", score.exercise.id, score.exercise.title),
                status: match (score.passed(), &score.compile_error) {
                    (true, _) => "pass",
                    (false, Some(_)) => "error",
                    (false, None) => "fail",
                },
                message: score.reason(),
                score: score.points(),
                max_score: score.exercise.points,
                test_code: command.to_owned(),
                filename: file
                    .strip_prefix(root)
                    .unwrap_or(&file)
                    .to_string_lossy()
                    .replace('\\', "/"),
                line_no: 0,
            });
        }
    }
    let (score, max_score) = totals(graded.iter().flat_map(|(_, s)| s));
    let status = if tests.iter().any(|t| t.status == "error") {
        "error"
    } else if score == max_score {
        "pass"
    } else {
        "fail"
    };
    let report = ClassroomReport {
        version: 1,
        status,
        score,
        max_score,
        tests,
    };
    Ok(serde_json::to_string_pretty(&report)? + "\n")
}

/// JUnit XML: one suite per session, one case per graded test, for CI dashboards.
fn junit_xml(graded: &[(Session, Vec<Score>)]) -> Result<String> {
    let mut report = Report::new("graded exercises");
    for (session, scores) in graded {
        let mut suite = TestSuite::new(session.package.as_str());
        for score in scores {
            let classname = format!("{} {}", score.exercise.id, score.exercise.title);
            if let Some(error) = &score.compile_error {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status
                    .set_message("does not compile")
                    .set_description(error.as_str());
                let mut case = TestCase::new(score.exercise.id.as_str(), status);
                case.set_classname(classname.as_str());
                suite.add_test_case(case);
                continue;
            }
            for test in &score.tests {
                let status = match &test.failure {
                    None => TestCaseStatus::success(),
                    Some(message) => {
                        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                        let first = message
                            .lines()
                            .find(|l| !l.trim().is_empty())
                            .unwrap_or("failed");
                        status.set_message(first).set_description(message.as_str());
                        status
                    }
                };
                let mut case = TestCase::new(test.name.as_str(), status);
                case.set_classname(classname.as_str());
                suite.add_test_case(case);
            }
        }
        report.add_test_suite(suite);
    }
    Ok(report.to_string()?)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(id: &str, points: u32) -> Exercise {
        Exercise {
            id: id.to_owned(),
            title: format!("title of {id}"),
            points,
            file: "src/exercises/student.rs".to_owned(),
        }
    }

    const LIBTEST: &str = "\nrunning 3 tests\ntest ex01_1_a ... ok\ntest ex01_2_b ... FAILED\n\
        test ex01_10_c ... ok\n\nfailures:\n\n---- ex01_2_b stdout ----\n\n\
        thread 'ex01_2_b' (42) panicked at src/x.rs:3:5:\nassertion failed: dark\n\
        note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n\n\
        failures:\n    ex01_2_b\n\ntest result: FAILED. 2 passed; 1 failed\n";

    #[test]
    fn a_test_belongs_to_the_exercise_whose_id_prefixes_it() {
        assert!(exercise("ex01_1", 1).owns("ex01_1_sepia"));
        assert!(!exercise("ex01_1", 1).owns("ex01_10_other"));
        assert!(!exercise("ex01_1", 1).owns("ex01_1"));
    }

    #[test]
    fn libtest_output_gives_results_and_panic_messages() {
        assert_eq!(
            parse_results(LIBTEST),
            vec![("ex01_1_a", true), ("ex01_2_b", false), ("ex01_10_c", true)]
        );
        assert_eq!(
            failure_message(LIBTEST, "ex01_2_b"),
            "assertion failed: dark (at src/x.rs:3:5)"
        );
    }

    #[test]
    fn compiler_errors_drop_the_progress_lines() {
        let stderr = "   Compiling foo v0.1.0\nerror[E0308]: mismatched types\n --> src/a.rs:1:1\n";
        assert_eq!(
            compiler_errors(stderr),
            "error[E0308]: mismatched types\n --> src/a.rs:1:1"
        );
    }

    fn session() -> Session {
        Session {
            number: 1,
            package: "session01_x".to_owned(),
            dir: PathBuf::from("/repo/session01_x"),
            exercises: vec![exercise("ex01_1", 20), exercise("ex01_2", 30)],
        }
    }

    #[test]
    fn an_exercise_scores_only_when_all_its_tests_pass() {
        let run = SessionRun::Ran(vec![
            TestRun {
                name: "ex01_1_a".into(),
                failure: None,
            },
            TestRun {
                name: "ex01_2_a".into(),
                failure: None,
            },
            TestRun {
                name: "ex01_2_b".into(),
                failure: Some("boom".into()),
            },
            TestRun {
                name: "stray".into(),
                failure: None,
            },
        ]);
        let (scores, orphans) = score(&session(), &run);
        assert_eq!(orphans, vec!["stray".to_owned()]);
        assert_eq!(
            scores.iter().map(Score::points).collect::<Vec<_>>(),
            vec![20, 0]
        );
        let reason = scores[1].reason().unwrap();
        assert!(
            reason.starts_with("1 of 2 tests fail; the first, ex01_2_b:\nboom"),
            "{reason}"
        );
    }

    #[test]
    fn reports_have_the_classroom_shape_and_junit_cases() {
        let root = Path::new("/repo");
        let graded = vec![(
            session(),
            score(&session(), &SessionRun::DidNotCompile("error: oops".into())).0,
        )];
        let json: serde_json::Value =
            serde_json::from_str(&classroom_json(root, &graded, "cargo xtask grade 1").unwrap())
                .unwrap();
        assert_eq!(json["status"], "error");
        assert_eq!(json["max_score"], 50);
        assert_eq!(json["score"], 0);
        let first = &json["tests"][0];
        assert_eq!(first["name"], "ex01_1 title of ex01_1");
        assert_eq!(first["status"], "error");
        assert_eq!(first["max_score"], 20);
        assert_eq!(first["filename"], "session01_x/src/exercises/student.rs");
        assert!(first["message"].as_str().unwrap().contains("error: oops"));
        let xml = junit_xml(&graded).unwrap();
        assert!(
            xml.contains("<testsuite name=\"session01_x\" tests=\"2\""),
            "{xml}"
        );
        assert!(xml.contains("<error message=\"does not compile\""), "{xml}");
    }

    #[test]
    fn a_test_past_the_deadline_is_stopped() {
        if cfg!(windows) {
            return;
        }
        let (status, _) = run_with_deadline(
            Command::new("sleep").arg("30"),
            Duration::from_millis(300),
            true,
        )
        .unwrap();
        // `None` means stopped at the deadline; a finished sleep would have a status.
        assert!(status.is_none(), "the sleep was not stopped");
    }
}
