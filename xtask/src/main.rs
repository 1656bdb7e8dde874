//! Project automation, the cargo-xtask way: `cargo xtask <task>` runs this binary (the alias
//! lives in `.cargo/config.toml`), so automation is Rust like the rest of the project and
//! needs nothing but cargo.
//!
//! - `cargo xtask test`: the one test command. Installs what is missing, then checks
//!   formatting, runs clippy and rustdoc with warnings as errors, runs every test, verifies
//!   the graded exercises and builds and checks the book.
//! - `cargo xtask grade N|all`: scores a student's exercises (see `grade.rs`).
//! - `cargo xtask verify`: proves the graded tests tell stubs from answers.
//! - `cargo xtask book`: generates the book's figures, builds it and checks what mdBook only
//!   warns about (see `book.rs`).
//! - `cargo xtask setup`: installs every tool the course uses, needed now or not.

mod book;
mod grade;
mod peers;
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

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
    },
    /// Prove the graded tests discriminate: each fails on the stubs and passes on the
    /// reference solutions, which are clippy- and fmt-clean.
    Verify,
    /// Generate the book's figures, build it with mdBook, and check includes, anchors, links,
    /// images and the commands it shows.
    Book,
    /// Install every tool the course uses (redis-server, mdbook), needed now or not.
    Setup,
    /// Time session 02's kernels beside Pillow, OpenCV and libvips (in a Python venv it
    /// creates) on the same frame, and print milliseconds and the ratio Rust / best peer.
    BenchPeers {
        /// Timed runs per case and library.
        #[arg(long, value_name = "N", default_value_t = 11)]
        runs: usize,
        /// Also keep the results in the book (book/src/data/bench-peers.json), whose
        /// table and plot `cargo xtask book` draws from them.
        #[arg(long)]
        record: bool,
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
        } => {
            let options = grade::GradeOptions {
                which: session,
                solutions,
                exercise,
                out_dir: out.unwrap_or_else(|| target_dir(&root).join("grade")),
                timeout: Duration::from_secs(timeout),
            };
            match grade::grade(&root, &options) {
                Ok(true) => Ok(()),
                Ok(false) => return ExitCode::FAILURE,
                Err(error) => Err(error),
            }
        }
        Task::Verify => grade::verify(&root, VERIFY_TIMEOUT),
        Task::Book => book::build_and_check(&root),
        Task::Setup => tools::ensure(&root, tools::Scope::All),
        Task::BenchPeers { runs, record } => peers::bench_peers(&root, runs, record),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
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

/// The one test command.
// ANCHOR: test
fn test(root: &Path) -> Result<()> {
    let started = Instant::now();
    tools::ensure(root, tools::Scope::Needed)?;
    tools::ensure_rust_components()?;
    let steps: [(&str, &[&str]); 4] = [
        ("format", &["fmt", "--all", "--check"]),
        (
            "clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ],
        ),
        // The `//!` guides are the map of each session: a broken link in them is a bug.
        ("docs", &["doc", "--workspace", "--no-deps", "--locked"]),
        ("tests", &["test", "--workspace", "--locked"]),
    ];
    for (name, args) in steps {
        eprintln!("\n== {name}");
        run(cargo(root).args(args).env("RUSTDOCFLAGS", "-D warnings"))?;
    }
    eprintln!("\n== exercises");
    grade::verify(root, VERIFY_TIMEOUT)?;
    eprintln!("\n== book");
    book::build_and_check(root)?;
    eprintln!(
        "\nall checks passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
// ANCHOR_END: test
