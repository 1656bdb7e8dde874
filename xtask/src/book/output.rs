//! The output a console block shows under a command, matched against what the command
//! really prints, the way snapshot tools such as trycmd do:
//!
//! - `[..]` in a line matches any text within that line (ids, times, sizes);
//! - a line that is exactly `...` matches any number of lines, none included;
//! - trailing spaces are ignored, and so are blank lines at the end;
//! - a last line `[exit status: N]` says the command exits with status N (0 otherwise).

/// A line of shown output that matches any number of lines.
const ANY_LINES: &str = "...";
/// Text within a line that matches anything on that line.
const ANY_TEXT: &str = "[..]";

/// Whether `actual` is what `expected` shows.
pub(super) fn matches(expected: &[String], actual: &str) -> bool {
    let expected = trimmed(expected.iter().map(String::as_str));
    let actual = trimmed(actual.lines());
    // `fits[i][j]`: expected[i..] matches actual[j..].
    let mut fits = vec![vec![false; actual.len() + 1]; expected.len() + 1];
    fits[expected.len()][actual.len()] = true;
    for i in (0..expected.len()).rev() {
        for j in (0..=actual.len()).rev() {
            fits[i][j] = if expected[i] == ANY_LINES {
                fits[i + 1][j] || (j < actual.len() && fits[i][j + 1])
            } else {
                j < actual.len() && line_matches(expected[i], actual[j]) && fits[i + 1][j + 1]
            };
        }
    }
    fits[0][0]
}

/// Lines without trailing spaces, and without blank lines at the end.
fn trimmed<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut lines: Vec<&str> = lines.map(str::trim_end).collect();
    while lines.last().is_some_and(|line| line.is_empty()) {
        lines.pop();
    }
    lines
}

/// Whether one line of actual output matches one shown line, `[..]` matching any text.
fn line_matches(pattern: &str, line: &str) -> bool {
    let mut parts = pattern.split(ANY_TEXT);
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = line.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The actual output, cut to a length a problem report can show.
pub(super) fn excerpt(actual: &str) -> String {
    const MAX: usize = 40;
    let lines: Vec<&str> = actual.lines().collect();
    if lines.len() <= MAX {
        return actual.trim_end().to_owned();
    }
    format!(
        "{}\n... ({} more lines)",
        lines[..MAX].join("\n"),
        lines.len() - MAX
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn lines_match_exactly_or_through_placeholders() {
        assert!(line_matches("abc", "abc"));
        assert!(!line_matches("abc", "abcd"));
        assert!(line_matches("took [..] ms", "took 12.5 ms"));
        assert!(line_matches("took [..] ms", "took  ms"));
        assert!(!line_matches("took [..] ms", "took 12.5 s"));
        assert!(line_matches("[..]", "anything at all"));
        assert!(line_matches("id [..], worker [..]", "id 7f, worker w0"));
        assert!(!line_matches("id [..], worker [..]", "id 7f; worker w0"));
        // The suffix may not reuse text the prefix already matched.
        assert!(!line_matches("ab[..]ba", "aba"));
    }

    #[test]
    fn ellipsis_lines_match_any_number_of_lines() {
        let actual = "one\ntwo\nthree\nfour\n";
        assert!(matches(&shown("one\ntwo\nthree\nfour"), actual));
        assert!(matches(&shown("one\n...\nfour"), actual));
        assert!(matches(&shown("...\nthree\nfour"), actual));
        assert!(matches(&shown("one\n...\ntwo\n..."), actual));
        assert!(matches(&shown("..."), actual));
        assert!(matches(&shown("..."), ""));
        assert!(!matches(&shown("one\nfour"), actual));
        assert!(!matches(&shown("one\n...\nfive"), actual));
        assert!(!matches(&shown("one\ntwo\nthree"), actual));
        assert!(!matches(&shown(""), actual));
        assert!(matches(&shown(""), "\n\n"));
    }

    #[test]
    fn trailing_spaces_and_final_blank_lines_are_ignored() {
        assert!(matches(&shown("a  \nb"), "a\nb   \n\n"));
        assert!(!matches(&shown(" a"), "a"));
    }
}
