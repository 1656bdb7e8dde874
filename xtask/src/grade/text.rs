//! Messages cut to a length and indented under a heading.

/// `text`, cut after `max` bytes (at a character boundary) with a note saying so.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}\n... (cut)", &text[..cut])
}

/// Every line of `text`, indented by four spaces.
pub fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}
