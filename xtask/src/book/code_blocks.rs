//! Code blocks: each has a language, and a Rust one compiles as a doctest or says why not.

/// Checks a code block's language and, for Rust, that it compiles or says why it does not.
pub(super) fn check_code_block(
    place: &str,
    info: &str,
    body: &str,
    before: &str,
    chapter_is_doctested: bool,
    problems: &mut Vec<String>,
) {
    let mut attributes = info.split(',').map(str::trim);
    let language = attributes.next().unwrap_or_default();
    match language {
        "" => problems.push(format!(
            "{place}: a code block without a language (rustdoc would compile it as Rust; use text, console, rust ...)"
        )),
        "sh" | "bash" | "shell" => problems.push(format!(
            "{place}: show commands in a ```console block with `$ ` prompts, so the book check runs them"
        )),
        "rust" => {
            let ignored = attributes.any(|a| a == "ignore");
            let only_includes = body.lines().all(|line| {
                let line = line.trim();
                line.is_empty() || (line.starts_with("{{#") && line.ends_with("}}"))
            });
            if ignored {
                let reason = before
                    .lines()
                    .last()
                    .is_some_and(|line| line.trim_start().starts_with("<!-- ignore:"));
                if !only_includes && !reason {
                    problems.push(format!(
                        "{place}: an ignored Rust block needs its reason in an `<!-- ignore: why -->` line just above it"
                    ));
                }
            } else if only_includes || body.contains("{{#") {
                problems.push(format!(
                    "{place}: a Rust block that includes crate code must be `rust,ignore` (its crate compiles it)"
                ));
            } else if !chapter_is_doctested {
                problems.push(format!(
                    "{place}: this chapter's Rust blocks are not compiled; include the chapter in a crate with \
                     #[cfg(doctest)] #[doc = include_str!(...)], or mark the block ignore with a reason"
                ));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_problems(info: &str, body: &str, before: &str, doctested: bool) -> Vec<String> {
        let mut problems = Vec::new();
        check_code_block("ch.md:1", info, body, before, doctested, &mut problems);
        problems
    }

    #[test]
    fn rust_blocks_compile_or_say_why_not() {
        let include = "{{#include ../x.rs:a}}\n";
        assert!(block_problems("rust,ignore", include, "", false).is_empty());
        assert_eq!(block_problems("rust", include, "", true).len(), 1);
        assert!(block_problems("rust", "let x = 1;\n", "", true).is_empty());
        assert_eq!(block_problems("rust", "let x = 1;\n", "", false).len(), 1);
        assert_eq!(
            block_problems("rust,ignore", "let x = 1;\n", "text", true).len(),
            1
        );
        let reason = "Some text.\n<!-- ignore: needs a running Redis -->";
        assert!(block_problems("rust,ignore", "let x = 1;\n", reason, true).is_empty());
        assert_eq!(block_problems("", "x\n", "", true).len(), 1);
        assert_eq!(block_problems("sh", "ls\n", "", true).len(), 1);
        assert!(block_problems("text", "anything\n", "", false).is_empty());
    }
}
