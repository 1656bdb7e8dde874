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
//! - every command in a `console` block (`$ ...`) is one this check runs, and the lines
//!   under it are what it prints (`output.rs`: `[..]` and `...` mask what varies). `cargo
//!   run` commands are run on the dev build (`--release` is dropped: the same source,
//!   arguments and output), `cargo xtask grade` is run into a scratch folder, `mdbook serve
//!   book` is served and fetched once, `cargo fetch` and `cargo build` run, and other `cargo
//!   xtask` commands must parse (CI runs `test`, which runs `verify` and `book`). The
//!   commands of sessions 04 and later get a redis-server of their own through `REDIS_URL`,
//!   a fresh one per chapter. A block marked `console,slow` holds commands that take minutes
//!   (benchmarks): the default check runs them with `--help` appended, which proves the
//!   binary and its arguments parse, checks that a `cargo bench` target exists, and parses
//!   `cargo xtask bench-peers`; `cargo xtask book --slow` runs them all in full, as written,
//!   and compares their output too;
//! - every session chapter follows the pattern of `book/CONTRIBUTING.md` (`pattern.rs`):
//!   objectives, checkpoints, a recap, a self-check answered in its instructors' page, code
//!   blocks of at most 30 lines and a core path of at most 90 minutes outside the deep
//!   dives. Every chapter's reading estimate is printed.
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
mod output;
mod pattern;
mod serve;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::redis_server::RedisServer;
use chapters::{chapters, check_chapter, doctested_chapters};
use commands::{ShownCommand, needs_redis, run_shown_command};
use figures::{draw_api_bench, draw_peer_comparison, draw_queue_comparison, generate_figures};
use html::check_html;
use pattern::Reading;

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

/// What `cargo xtask book` checks.
#[derive(Debug, Clone)]
pub struct Options {
    /// How far it goes with the commands the book shows.
    pub depth: Depth,
    /// Only the commands of these chapters (file names such as `session04.md`) run; every
    /// chapter's commands run when empty.
    pub only: Vec<String>,
}

/// Generates the figures, builds the book and checks it.
pub fn build_and_check(root: &Path, mdbook: &Path, options: &Options) -> Result<()> {
    let book = root.join("book");
    if !book.join("book.toml").is_file() {
        eprintln!("no book yet (book/book.toml is missing)");
        return Ok(());
    }
    generate_figures(root, &book.join("src"))?;
    draw_peer_comparison(root, &book.join("src"))?;
    draw_api_bench(root, &book.join("src"))?;
    draw_queue_comparison(root, &book.join("src"))?;
    record::draw_all(root, &book.join("src/figures"))?;

    let src = book.join("src");
    let mut problems = Vec::new();
    let chapters = chapters(&src, &mut problems)?;
    for only in &options.only {
        if !chapters.iter().any(|c| c.as_os_str() == only.as_str()) {
            problems.push(format!("--only {only}: SUMMARY.md lists no such chapter"));
        }
    }
    let doctested = doctested_chapters(root)?;
    let mut commands = Vec::new();
    let mut readings = Vec::new();
    for chapter in &chapters {
        let reading = check_chapter(
            root,
            &src,
            chapter,
            &doctested,
            &mut commands,
            &mut problems,
        )?;
        readings.push((chapter, reading));
    }
    print_readings(&readings);

    // Every problem is reported at the end, so one run shows them all, commands included.
    run(Command::new(mdbook).arg("build").arg(&book))?;
    let html = book.join("book");
    for chapter in &chapters {
        let page = html.join(chapter.with_extension("html"));
        check_html(&html, &page, &mut problems)?;
    }

    let selected = |command: &&ShownCommand| {
        options.only.is_empty()
            || options
                .only
                .iter()
                .any(|only| command.chapter.as_os_str() == only.as_str())
    };
    let ran = run_commands(
        root,
        mdbook,
        options.depth,
        &commands,
        selected,
        &mut problems,
    )?;
    report(&problems, "the book")?;
    eprintln!(
        "book: {} chapters checked, {ran} distinct commands run or parsed; open {}",
        chapters.len(),
        html.join("index.html").display()
    );
    Ok(())
}

/// Runs the selected commands and matches what they print against what the book shows;
/// how many distinct commands ran.
///
/// Each chapter's commands that need Redis share a fresh redis-server, in the order the
/// chapter shows them: a chapter's output does not depend on what another chapter did.
/// Other commands run once, wherever they are shown.
fn run_commands(
    root: &Path,
    mdbook: &Path,
    depth: Depth,
    commands: &[ShownCommand],
    selected: impl Fn(&&ShownCommand) -> bool,
    problems: &mut Vec<String>,
) -> Result<usize> {
    // What a command printed, by how it ran: its line, in full or not, the status expected.
    let mut outputs: BTreeMap<(String, bool, i32), Option<String>> = BTreeMap::new();
    let mut redis: Option<(PathBuf, RedisServer)> = None;
    let mut ran = 0;
    for command in commands.iter().filter(selected) {
        let output = if needs_redis(&command.line) {
            if redis
                .as_ref()
                .is_none_or(|(chapter, _)| *chapter != command.chapter)
            {
                // The previous chapter's server stops first: it is dropped here.
                drop(redis.take());
                let server = RedisServer::start()
                    .context("cannot start redis-server for the book's commands")?;
                redis = Some((command.chapter.clone(), server));
            }
            let url = redis.as_ref().map(|(_, server)| server.url());
            ran += 1;
            run_shown_command(root, mdbook, command, depth, url.as_deref())
        } else if let Some(output) = outputs.get(&run_key(command, depth)) {
            Ok(output.clone())
        } else {
            ran += 1;
            let output = run_shown_command(root, mdbook, command, depth, None);
            if let Ok(output) = &output {
                outputs.insert(run_key(command, depth), output.clone());
            }
            output
        };
        match output {
            Err(error) => {
                problems.push(format!("{}: `{}`: {error:#}", command.place, command.line))
            }
            Ok(Some(printed)) if !output::matches(command.expected_exit().1, &printed) => {
                problems.push(format!(
                    "{}: `{}` printed what the book does not show. It printed:\n{}\n(The book \
                     shows:\n{})",
                    command.place,
                    command.line,
                    output::excerpt(&printed),
                    command.expected.join("\n")
                ));
            }
            Ok(Some(_)) => {}
            // Only parsed (a slow command in the default check, an xtask CI runs), or
            // served (`mdbook serve`): nothing to compare.
            Ok(None) => {}
        }
    }
    Ok(ran)
}

/// What makes two shown commands one run: the same line, run in full or only parsed, and
/// the same exit status expected.
fn run_key(command: &ShownCommand, depth: Depth) -> (String, bool, i32) {
    let in_full = depth == Depth::Slow || !command.slow;
    (command.line.clone(), in_full, command.expected_exit().0)
}

/// Prints each chapter's reading estimate.
fn print_readings(readings: &[(&PathBuf, Reading)]) {
    let mut table = comfy_table::Table::new();
    table
        .load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_header([
            "chapter",
            "core words",
            "core code lines",
            "core minutes",
            "deep-dive words",
            "deep-dive code lines",
            "all minutes",
        ]);
    for (chapter, reading) in readings {
        table.add_row([
            chapter.display().to_string(),
            reading.core_words.to_string(),
            reading.core_code.to_string(),
            format!("{:.0}", reading.core_minutes()),
            reading.deep_words.to_string(),
            reading.deep_code.to_string(),
            format!("{:.0}", reading.all_minutes()),
        ]);
    }
    eprintln!(
        "reading estimate (prose at {} words a minute, code at {} lines a minute; the core \
         path is outside the deep dives):\n{table}",
        pattern::WORDS_PER_MINUTE,
        pattern::CODE_LINES_PER_MINUTE
    );
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
