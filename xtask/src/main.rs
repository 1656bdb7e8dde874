//! Project automation, the cargo-xtask way: `cargo xtask <task>` runs this binary (the alias
//! lives in `.cargo/config.toml`), so automation is Rust like the rest of the project and
//! needs nothing but cargo.
//!
//! - `cargo xtask test`: the one test command. Installs what is missing, then checks
//!   formatting, runs clippy and rustdoc with warnings as errors, and runs every test.
//! - `cargo xtask setup`: installs every tool the course uses, needed now or not.

mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

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
    /// Install what is missing, then run fmt, clippy, rustdoc and every test.
    Test,
    /// Install every tool the course uses (redis-server, mdbook), needed now or not.
    Setup,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let root = workspace_root();
    match cli.task {
        Task::Test => test(&root),
        Task::Setup => tools::ensure(&root, tools::Scope::All),
    }
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
    eprintln!(
        "\nall checks passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
// ANCHOR_END: test
