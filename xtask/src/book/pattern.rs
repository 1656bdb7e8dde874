//! The chapter pattern of `book/CONTRIBUTING.md`: what a session chapter must have, and the
//! estimate of how long its core path takes a novice to read.
//!
//! The core path is everything outside `<details>` boxes (the deep dives). Its reading time
//! is prose at [`WORDS_PER_MINUTE`] plus code at [`CODE_LINES_PER_MINUTE`], includes
//! resolved; `console` and `text` blocks read as prose.

use std::ops::Range;
use std::path::Path;

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

use super::includes::expand;

/// Prose a novice reads in a minute, in a second language, on a technical subject.
pub(super) const WORDS_PER_MINUTE: f64 = 150.0;
/// Code lines a novice reads in a minute, understanding them.
pub(super) const CODE_LINES_PER_MINUTE: f64 = 6.0;
/// The longest the core path of a session chapter may take.
const CORE_MINUTES: f64 = 90.0;
/// The longest code block on the core path, in displayed lines.
const EXCERPT_LINES: usize = 30;

/// What a chapter asks of its reader.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(super) struct Reading {
    /// Prose words on the core path, and in the deep dives.
    pub core_words: usize,
    pub deep_words: usize,
    /// Non-blank code lines on the core path, and in the deep dives.
    pub core_code: usize,
    pub deep_code: usize,
}

impl Reading {
    /// The estimated minutes the core path takes.
    pub fn core_minutes(&self) -> f64 {
        minutes(self.core_words, self.core_code)
    }

    /// The estimated minutes the whole chapter takes, deep dives included.
    pub fn all_minutes(&self) -> f64 {
        minutes(
            self.core_words + self.deep_words,
            self.core_code + self.deep_code,
        )
    }
}

fn minutes(words: usize, code: usize) -> f64 {
    words as f64 / WORDS_PER_MINUTE + code as f64 / CODE_LINES_PER_MINUTE
}

/// A code block's place and its displayed length.
struct Block {
    line: usize,
    displayed: usize,
    deep: bool,
}

/// Measures a chapter's reading, and collects its core-path code blocks.
fn measure(dir: &Path, text: &str) -> (Reading, Vec<Block>) {
    let deep = deep_dives(text);
    let in_deep = |offset: usize| deep.iter().any(|r| r.contains(&offset));
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
    let mut reading = Reading::default();
    let mut blocks = Vec::new();
    let mut code: Option<(String, usize, String)> = None;
    for (event, range) in Parser::new(text).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                let info = match kind {
                    CodeBlockKind::Fenced(info) => info.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                code = Some((info, range.start, String::new()));
            }
            Event::Text(body) if code.is_some() => {
                if let Some((_, _, text)) = &mut code {
                    text.push_str(&body);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                let Some((info, start, body)) = code.take() else {
                    continue;
                };
                let body = expand(dir, &body);
                let deep = in_deep(start);
                let language = info.split(',').next().unwrap_or_default().trim();
                if matches!(language, "console" | "text" | "") {
                    let words = body.split_whitespace().count();
                    *if deep {
                        &mut reading.deep_words
                    } else {
                        &mut reading.core_words
                    } += words;
                    continue;
                }
                // rustdoc and mdBook hide `# ` lines of Rust blocks.
                let shown: Vec<&str> = body
                    .lines()
                    .filter(|line| {
                        language != "rust" || !(line.trim() == "#" || line.trim().starts_with("# "))
                    })
                    .collect();
                let lines = shown.iter().filter(|l| !l.trim().is_empty()).count();
                *if deep {
                    &mut reading.deep_code
                } else {
                    &mut reading.core_code
                } += lines;
                blocks.push(Block {
                    line: line_of(start),
                    displayed: shown.len(),
                    deep,
                });
            }
            Event::Text(prose) | Event::Code(prose) => {
                let words = expand(dir, &prose).split_whitespace().count();
                *if in_deep(range.start) {
                    &mut reading.deep_words
                } else {
                    &mut reading.core_words
                } += words;
            }
            _ => {}
        }
    }
    (reading, blocks)
}

/// The byte ranges of the `<details>` boxes.
fn deep_dives(text: &str) -> Vec<Range<usize>> {
    let mut boxes = Vec::new();
    let mut open: Option<usize> = None;
    let mut depth = 0usize;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with("<details") {
            if depth == 0 {
                open = Some(offset);
            }
            depth += 1;
        } else if trimmed.starts_with("</details>") && depth > 0 {
            depth -= 1;
            if depth == 0
                && let Some(start) = open.take()
            {
                boxes.push(start..offset + line.len());
            }
        }
        offset += line.len();
    }
    if let Some(start) = open {
        boxes.push(start..text.len());
    }
    boxes
}

/// Whether a chapter is a session chapter (`sessionNN.md`), which the pattern applies to.
pub(super) fn is_session_chapter(chapter: &Path) -> bool {
    let top_level = chapter.parent().is_none_or(|p| p.as_os_str().is_empty());
    top_level
        && chapter
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("session"))
            .and_then(|n| n.strip_suffix(".md"))
            .is_some_and(|n| n.len() == 2 && n.chars().all(|c| c.is_ascii_digit()))
}

/// A chapter's reading; for a session chapter, also every way it departs from the pattern.
pub(super) fn check_pattern(
    src: &Path,
    chapter: &Path,
    text: &str,
    problems: &mut Vec<String>,
) -> Reading {
    let dir = src.join(chapter);
    let dir = dir.parent().unwrap_or(src);
    let (reading, blocks) = measure(dir, text);
    if !is_session_chapter(chapter) {
        return reading;
    }
    let name = chapter.display();
    let headings: Vec<&str> = text.lines().map(str::trim_end).collect();
    for heading in ["## Objectives", "## Recap", "## Self-check"] {
        if !headings.contains(&heading) {
            problems.push(format!("{name}: no `{heading}` section"));
        }
    }
    let deep = deep_dives(text);
    let on_core_path = text
        .match_indices("> **Try this.**")
        .any(|(at, _)| !deep.iter().any(|d| d.contains(&at)));
    if !on_core_path {
        problems.push(format!(
            "{name}: no `> **Try this.**` checkpoint on the core path"
        ));
    }
    for block in blocks.iter().filter(|b| !b.deep) {
        if block.displayed > EXCERPT_LINES {
            problems.push(format!(
                "{name}:{}: a code block of {} lines on the core path (at most {EXCERPT_LINES}: \
                 cut a narrower anchor, or move it into a deep dive)",
                block.line, block.displayed
            ));
        }
    }
    if reading.core_minutes() > CORE_MINUTES {
        problems.push(format!(
            "{name}: the core path reads in about {:.0} minutes ({} words, {} code lines), more \
             than {CORE_MINUTES:.0}: move material into deep dives",
            reading.core_minutes(),
            reading.core_words,
            reading.core_code
        ));
    }
    let questions = numbered_items(text, "## Self-check");
    let answers_page = src.join("instructors").join(chapter);
    match std::fs::read_to_string(&answers_page) {
        // The student template ships without the instructors' part, answers included.
        Err(_) if !src.join("instructors").is_dir() => {}
        Err(_) => problems.push(format!(
            "{name}: its instructors' page instructors/{name} is missing"
        )),
        Ok(page) => {
            let answers = numbered_items(&page, "## Answers to the self-check");
            if questions == 0 {
                problems.push(format!("{name}: the self-check has no numbered questions"));
            } else if answers != questions {
                problems.push(format!(
                    "{name}: {questions} self-check questions, but instructors/{name} has \
                     {answers} numbered answers under `## Answers to the self-check`"
                ));
            }
        }
    }
    reading
}

/// How many top-level numbered items the section under `heading` has.
fn numbered_items(text: &str, heading: &str) -> usize {
    text.lines()
        .skip_while(|line| line.trim_end() != heading)
        .skip(1)
        .take_while(|line| !line.starts_with("## ") && !line.starts_with("# "))
        .filter(|line| {
            line.split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_dives_count_apart_from_the_core_path() {
        let text = "# T\n\nOne two three.\n\n```rust\nlet a = 1;\n# hidden();\n\nlet b = 2;\n```\n\n\
                    <details>\n<summary>Deep dive: x</summary>\n\nFour five.\n\n```rust\nc();\n```\n\n\
                    </details>\n\n```console\n$ cargo run\nsix\n```\n";
        let (reading, blocks) = measure(Path::new("."), text);
        assert_eq!(
            reading,
            Reading {
                core_words: 3 + 1 + 4,
                deep_words: 2,
                core_code: 2,
                deep_code: 1,
            }
        );
        let shown: Vec<(usize, bool)> = blocks.iter().map(|b| (b.displayed, b.deep)).collect();
        assert_eq!(shown, vec![(3, false), (1, true)]);
    }

    #[test]
    fn numbered_items_are_counted_under_their_heading_only() {
        let text = "## Self-check\n\n1. One?\n2. Two?\n   1. not top-level\n\n## Next\n\n3. no\n";
        assert_eq!(numbered_items(text, "## Self-check"), 2);
        assert_eq!(numbered_items(text, "## Missing"), 0);
    }

    #[test]
    fn session_chapters_are_recognised_by_name() {
        assert!(is_session_chapter(Path::new("session04.md")));
        assert!(!is_session_chapter(Path::new("session04-exercises.md")));
        assert!(!is_session_chapter(Path::new("primer-async.md")));
        assert!(!is_session_chapter(Path::new("instructors/session04.md")));
    }
}
