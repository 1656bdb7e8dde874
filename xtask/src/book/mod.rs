//! `cargo xtask book`: the book's figures, its build, and the checks mdBook leaves out.
//!
//! mdBook only logs a missing include file and silently includes nothing for a missing
//! anchor, and it never looks at links. So the book is checked here, and any problem fails
//! the task:
//!
//! - every chapter in `SUMMARY.md` exists;
//! - every `{{#include path:anchor}}` names a file that exists and an anchor with content
//!   (line-number ranges are refused: they drift as soon as the code changes);
//! - every code block has a language; a `rust` block either compiles as a doctest (its
//!   chapter is included by a crate with `#[doc = include_str!(...)]`) or is `ignore`d
//!   with a reason: it only includes code its crate compiles, or an
//!   `<!-- ignore: why -->` comment stands just above it;
//! - every relative link and image in the built HTML points at a file that exists, and at an
//!   `id` in it when it has a `#fragment`;
//! - every command in a `console` block (`$ ...`) is one this check runs. `cargo run`
//!   commands are run on the dev build (`--release` is dropped: the same source, arguments
//!   and output), `cargo xtask grade` is run into a scratch folder, `mdbook serve book` is
//!   served and fetched once, and other `cargo xtask` commands must parse (CI runs `test`,
//!   which runs `verify` and `book`). Commands of sessions 04 and later get a redis-server
//!   of their own through `REDIS_URL`. A block marked `console,slow` holds commands that take
//!   minutes (benchmarks): the default check runs them with `--help` appended, which proves
//!   the binary and its arguments parse, checks that a `cargo bench` target exists, and
//!   parses `cargo xtask bench-peers`; `cargo xtask book --slow` runs them all in full, as
//!   written.
//!
//! The figures come from the sessions' own demos, written into `book/src/figures/` (not
//! committed: they are regenerated from the code on every build).

mod chapters;
mod code_blocks;
mod commands;
mod figures;
mod html;
mod includes;
mod links;
mod serve;

// Session 04's redis-server harness, compiled in rather than depended on: the xtask must
// build, and grade, even when a session's code does not compile. Only part of it is used.
#[allow(dead_code)]
#[path = "../../../session04_redis/src/server.rs"]
mod redis_server;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use chapters::{chapters, check_chapter, doctested_chapters};
use commands::{needs_redis, run_shown_command};
use figures::{draw_peer_comparison, generate_figures};
use html::check_html;
use redis_server::RedisServer;

use crate::{record, run};

/// How far the check goes with the commands the book shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Slow commands only parse; the rest run (`cargo xtask test`).
    Fast,
    /// Every command runs as written (`cargo xtask book --slow`).
    Slow,
}

impl Depth {
    /// How long one command the book shows may run: under `--slow`, a release build of
    /// every dependency, or the peers' Python environments, may come first.
    fn timeout(self) -> Duration {
        match self {
            Depth::Fast => Duration::from_secs(600),
            Depth::Slow => Duration::from_secs(3600),
        }
    }
}

/// Generates the figures, builds the book and checks it.
pub fn build_and_check(root: &Path, mdbook: &Path, depth: Depth) -> Result<()> {
    let book = root.join("book");
    if !book.join("book.toml").is_file() {
        eprintln!("no book yet (book/book.toml is missing)");
        return Ok(());
    }
    generate_figures(root, &book.join("src"))?;
    draw_peer_comparison(root, &book.join("src"))?;
    record::draw_all(root, &book.join("src/figures"))?;

    let src = book.join("src");
    let mut problems = Vec::new();
    let chapters = chapters(&src, &mut problems)?;
    let doctested = doctested_chapters(root)?;
    let mut commands = Vec::new();
    for chapter in &chapters {
        check_chapter(
            root,
            &src,
            chapter,
            &doctested,
            &mut commands,
            &mut problems,
        )?;
    }
    report(&problems, "the book's sources")?;

    run(Command::new(mdbook).arg("build").arg(&book))?;
    let html = book.join("book");
    for chapter in &chapters {
        let page = html.join(chapter.with_extension("html"));
        check_html(&html, &page, &mut problems)?;
    }
    report(&problems, "the built book")?;

    // Sessions from 04 on show commands that talk to Redis: they get one of their own.
    let redis = if commands.iter().any(|c| needs_redis(&c.line)) {
        Some(RedisServer::start().context("cannot start redis-server for the book's commands")?)
    } else {
        None
    };
    let redis_url = redis.as_ref().map(RedisServer::url);
    let mut seen = BTreeSet::new();
    for command in commands.iter().filter(|c| seen.insert(c.line.clone())) {
        if let Err(error) = run_shown_command(root, mdbook, command, depth, redis_url.as_deref()) {
            problems.push(format!("{}: `{}`: {error:#}", command.place, command.line));
        }
    }
    report(&problems, "the commands the book shows")?;
    eprintln!(
        "book: {} chapters checked, {} distinct commands checked; open {}",
        chapters.len(),
        seen.len(),
        html.join("index.html").display()
    );
    Ok(())
}

/// Fails listing `problems`, found in `what`, if there are any.
fn report(problems: &[String], what: &str) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    bail!(
        "{} problems in {what}:\n{}",
        problems.len(),
        problems
            .iter()
            .map(|p| format!("- {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}
