//! Project automation, the cargo-xtask way: `cargo xtask <task>` runs this binary (the alias
//! lives in `.cargo/config.toml`), so automation is Rust like the rest of the project and
//! needs nothing but cargo.
//!
//! - `cargo xtask test`: the one test command. Installs what is missing, then checks
//!   formatting, runs clippy and rustdoc with warnings as errors, runs every test, verifies
//!   the graded exercises and builds and checks the book; it ends with a table of its stages
//!   and their times (see `stages.rs`, `testing.rs`). It builds no release profile: the
//!   benchmarks the book shows run on the dev build, and the slow ones (criterion, the peer
//!   comparison) only parse. Each dependency is built once for the dev profile, whichever
//!   package a command names, and checked once for clippy and rustdoc.
//! - `cargo xtask grade N|all`: scores a student's exercises (see `grade/`).
//! - `cargo xtask verify`: proves the graded tests tell stubs from answers and catch the
//!   recorded shortcuts.
//! - `cargo xtask student-template OUT`: the repository students receive; `class-report`
//!   merges a class's grading reports into one CSV.
//! - `cargo xtask book [--slow]`: generates the book's figures, builds it and checks what
//!   mdBook only warns about (see `book/`); `--slow` also runs its benchmarks in full.
//! - `cargo xtask record`: runs the benchmarks the book quotes and keeps their results for
//!   it (see `record.rs`).
//! - `cargo xtask bench-peers`: session 02's kernels beside Pillow, OpenCV and libvips.
//! - `cargo xtask bench-queues`: session 04's queue beside Celery and RQ.
//! - `cargo xtask bench-api`: session 10's HTTP API under load from oha, and ten images end
//!   to end (see `bench_api.rs`).
//! - `cargo xtask setup`: installs every tool the course uses, needed now or not.
//! - `cargo xtask lab compose`: session 06's compose lab on a real Docker engine (see `lab/`);
//!   `cargo xtask lab kind`: session 07's lab on kind, where kind exists (`--plan` prints it).
//! - `cargo xtask manifests`: sessions 07 and 08's Kubernetes manifests checked with no cluster
//!   (kustomize, schema validation, checkov, the Rust consistency tests; see
//!   `manifests.rs`); `cargo xtask test` runs the same as its stage `manifests`.

mod bench_api;
mod book;
mod deadline;
mod grade;
mod lab;
mod manifests;
mod peers;
mod queues;
mod record;
// Session 04's redis-server harness, compiled in rather than depended on: the xtask must
// build, and grade, even when a session's code does not compile. Only part of it is used.
#[allow(dead_code)]
#[path = "../../session04_redis/src/server.rs"]
mod redis_server;
mod stages;
mod testing;
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

/// Automation for the course workspace.
#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Install what is missing, then run fmt, clippy, rustdoc, every test, the exercise
    /// verification and the book checks.
    Test,
    /// Score the graded exercises of a session (`1`) or of every session (`all`).
    ///
    /// Prints each exercise's result and points, writes a GitHub Classroom JSON report and
    /// JUnit XML, and exits with 0 only when every exercise graded earned its points.
    Grade {
        /// A session number, or `all`.
        session: String,
        /// Grade the reference solutions instead of your code.
        #[arg(long)]
        solutions: bool,
        /// Grade only this exercise (e.g. `ex01_2`).
        #[arg(long, value_name = "ID")]
        exercise: Option<String>,
        /// Where to write the reports [default: target/grade].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Stop a session's tests after this many seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 300)]
        timeout: u64,
        /// Grade a student's clone with this copy's graded tests, exercises.toml and
        /// grader: only the exercise files are taken from it.
        #[arg(long, value_name = "DIR", conflicts_with = "solutions")]
        submission: Option<PathBuf>,
    },
    /// Prove the graded tests discriminate: each fails on the stubs, passes on the reference
    /// solutions and catches the recorded shortcuts; the exercises follow the course's
    /// rules; a clone's edits to the graded tests change no score.
    Verify {
        /// Only this session (its shortcuts and rules; the whole-course checks are skipped).
        session: Option<String>,
    },
    /// Write the repository students receive: no reference solutions or shortcuts, the
    /// stubs in place, no instructors' pages, and the GitHub Classroom workflow.
    StudentTemplate {
        /// A new (or empty) folder.
        out: PathBuf,
    },
    /// Merge a class's grading reports (GitHub Classroom JSON, one per student as NAME.json
    /// or NAME/all.json) into one CSV: a row per student, a column per exercise.
    ClassReport {
        /// Reports, or folders of them.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Where to write the CSV [default: standard output].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Generate the book's figures, build it with mdBook, and check includes, anchors, links,
    /// images and the commands it shows.
    Book {
        /// Also run the commands that take minutes (release benchmarks, criterion, the peer
        /// comparison) in full, as the book shows them; otherwise they only have to parse.
        #[arg(long)]
        slow: bool,
        /// Run only the commands of this chapter (e.g. `session04.md`); repeatable. Every
        /// other check still covers the whole book.
        #[arg(long, value_name = "CHAPTER")]
        only: Vec<String>,
    },
    /// Install every tool the course uses (redis-server, mdbook), needed now or not.
    Setup,
    /// Run the sessions' benchmarks in release, several times each, and keep the results in
    /// `book/src/data/`, from which the book draws every measured figure it quotes.
    Record {
        /// Only these recordings (e.g. `session04-bench`); all when none is named.
        names: Vec<String>,
    },
    /// Time session 02's kernels beside Pillow, OpenCV and libvips (in a Python venv it
    /// creates) on the same frame, and print milliseconds, the ratio Rust / best peer, and
    /// Rust's time in copies of the frame.
    BenchPeers {
        /// Timed runs per case and library.
        #[arg(long, value_name = "N", default_value_t = 11)]
        runs: usize,
        /// Also keep the results in the book (book/src/data/bench-peers.json), whose
        /// table and plot `cargo xtask book` draws from them.
        #[arg(long)]
        record: bool,
    },
    /// Time session 04's reliable queue beside Celery and RQ (in a Python venv it creates),
    /// on one redis-server with two worker processes each, and print tasks per second and
    /// the ratios.
    BenchQueues {
        /// Runs per system; the table shows the median.
        #[arg(long, value_name = "N", default_value_t = 3)]
        runs: usize,
        /// Multiplies every system's tasks per run (100 000 and 20 000 for session 04 with
        /// 64 and 1 slots per worker, 10 000 for Celery, 3 000 and 300 for RQ's two workers).
        #[arg(long, value_name = "F", default_value_t = 1.0)]
        scale: f64,
        /// Print the figures as JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Also keep the figures in the book (book/src/data/bench-queues.json).
        #[arg(long)]
        record: bool,
    },
    /// Load session 10's API (embedded mode, release build) with oha: `/api/health`, then
    /// `/api/process` on a one-megapixel photo; then time ten images end to end with its
    /// `full-test`, beside the original course. Fails on any answer other than 2xx.
    BenchApi {
        /// Print the figures as JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Also keep the figures in the book (book/src/data/bench-api.json).
        #[arg(long)]
        record: bool,
    },
    /// Check sessions 07 and 08's Kubernetes manifests with no cluster: render them with kustomize,
    /// validate them against Kubernetes' schemas, scan them with checkov, and run the tests
    /// that compare them with the binary (the `manifests` stage of `test`, alone).
    Manifests,
    /// Run a lab (session 06's `compose` for real; session 07's `kind` where kind exists, or
    /// its `--plan`).
    Lab {
        #[command(subcommand)]
        lab: lab::Lab,
    },
}

/// How long `verify` lets a session's graded tests run.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(600);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = workspace_root();
    let result = match cli.task {
        Task::Test => test(&root),
        Task::Grade {
            session,
            solutions,
            exercise,
            out,
            timeout,
            submission,
        } => {
            let options = grade::GradeOptions {
                which: session,
                solutions,
                exercise,
                out_dir: out.unwrap_or_else(|| target_dir(&root).join("grade")),
                timeout: Duration::from_secs(timeout),
                submission,
            };
            match grade::grade(&root, &options) {
                Ok(true) => Ok(()),
                Ok(false) => return ExitCode::FAILURE,
                Err(error) => Err(error),
            }
        }
        Task::Verify { session } => grade::verify(&root, session.as_deref(), VERIFY_TIMEOUT),
        Task::StudentTemplate { out } => student_template(&root, &out),
        Task::ClassReport { reports, out } => {
            grade::class_report(&reports).and_then(|csv| match out {
                Some(path) => std::fs::write(&path, csv)
                    .with_context(|| format!("cannot write {}", path.display())),
                None => {
                    print!("{csv}");
                    Ok(())
                }
            })
        }
        Task::Book { slow, only } => tools::mdbook(&root).and_then(|mdbook| {
            let depth = if slow {
                book::Depth::Slow
            } else {
                book::Depth::Fast
            };
            book::build_and_check(&root, &mdbook, &book::Options { depth, only })
        }),
        Task::Setup => tools::ensure(&root, tools::Scope::All),
        Task::Record { names } => record::record(&root, &names),
        Task::BenchPeers { runs, record } => peers::bench_peers(&root, runs, record),
        Task::BenchQueues {
            runs,
            scale,
            json,
            record,
        } => queues::bench_queues(&root, runs, scale, json, record),
        Task::BenchApi { json, record } => bench_api::bench_api(&root, json, record),
        Task::Manifests => match manifests::blocker(&root) {
            None => manifests::check(&root, &mut testing::Counts::default()),
            Some(reason) => Err(anyhow::anyhow!("cannot check the manifests: {reason}")),
        },
        Task::Lab { lab } => lab::run(&root, &lab),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask student-template OUT`: writes the template, then checks it.
fn student_template(root: &Path, out: &Path) -> Result<()> {
    let written = grade::student_template(root, out)?;
    let problems = grade::check_template(out)?;
    if !problems.is_empty() {
        bail!("the template is wrong:\n- {}", problems.join("\n- "));
    }
    eprintln!(
        "wrote the student template ({written} files) to {}; make it a repository and push it:",
        out.display()
    );
    eprintln!(
        "  cd {} && git init -b main && git add -A && git commit -m \"The course\"",
        out.display()
    );
    Ok(())
}

/// Parses a `cargo xtask ...` command line (from `xtask` on) as this binary would.
fn parse_task(words: &[&str]) -> Result<()> {
    Cli::try_parse_from(words)
        .map(drop)
        .map_err(|error| anyhow::anyhow!("`cargo {}` does not parse: {error}", words.join(" ")))
}

/// Cargo's target folder: `CARGO_TARGET_DIR` or `target/` in the workspace.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// The workspace root: the parent of this crate's folder.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `cargo`, the same one that runs this task.
fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root);
    command
}

/// Runs a command, echoing it first; fails with the command line when it fails.
fn run(command: &mut Command) -> Result<()> {
    let line = format!("{command:?}").replace('"', "");
    eprintln!("$ {line}");
    let status = command
        .status()
        .with_context(|| format!("cannot start {line}"))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}

/// The one test command: every stage runs, even after one fails, and a table of their times
/// and outcomes ends the output.
// ANCHOR: test
fn test(root: &Path) -> Result<()> {
    let mut stages = stages::Stages::new();
    // mdbook builds in the background while the workspace compiles: it is only needed at
    // the end, and a build has idle moments on the second core.
    let mdbook = tools::mdbook_in_background(root);
    stages.run("install", || {
        tools::ensure(root, tools::Scope::Needed)?;
        tools::ensure_rust_components()
    });
    stages.run("format", || {
        run(cargo(root).args(["fmt", "--all", "--check"]))
    });
    stages.run("clippy", || {
        run(cargo(root)
            .args(["clippy", "--workspace", "--all-targets", "--locked"])
            .args(["--", "-D", "warnings"]))
    });
    // The `//!` guides are the map of each session: a broken link in them is a bug.
    stages.run("docs", || {
        run(cargo(root)
            .args(["doc", "--workspace", "--no-deps", "--locked"])
            .env("RUSTDOCFLAGS", "-D warnings"))
    });
    let mut counts = testing::Counts::default();
    stages.run("tests", || testing::workspace_tests(root, &mut counts));
    match manifests::gate(root) {
        Ok(None) => stages.run("manifests", || manifests::check(root, &mut counts)),
        Ok(Some(reason)) => stages.skip("manifests", &reason),
        Err(error) => stages.run("manifests", || Err::<(), _>(error)),
    }
    stages.run("test targets", || testing::check_test_flags(root));
    stages.run("one dependency build", || {
        testing::check_one_dependency_build(root)
    });
    match testing::multihost_blocker() {
        None => stages.run("multi-host test", || testing::multihost(root, &mut counts)),
        Some(reason) => stages.skip("multi-host test", &reason),
    }
    match grade::has_solutions(root) {
        Ok(false) => stages.skip(
            "exercises",
            "the student template has no reference solutions: grade your code with `cargo xtask grade N`",
        ),
        _ => stages.run("exercises", || grade::verify(root, None, VERIFY_TIMEOUT)),
    }
    let installed = mdbook.join();
    if let Ok((_, took)) = &installed {
        stages.record("mdbook ready (in the background)", *took);
    }
    stages.run("book", || {
        let (mdbook, _) = installed?;
        book::build_and_check(
            root,
            &mdbook,
            &book::Options {
                depth: book::Depth::Fast,
                only: Vec::new(),
            },
        )
    });
    eprintln!("\n{}", stages.table());
    // The plain closing line that CI dashboards read.
    println!("tests: {counts}");
    stages.verdict()
}

// ANCHOR_END: test
