//! The built book's pages: every relative link and image points at a file that exists, and
//! at an `id` in it when it has a `#fragment`.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use html5gum::{DefaultEmitter, StartTag, Token, Tokenizer};

/// The attributes that hold a link or an image.
const LINK_ATTRIBUTES: [&[u8]; 3] = [b"href", b"src", b"xlink:href"];

/// Checks every relative `href` and `src` of a built page, fragments included.
pub(super) fn check_html(html_root: &Path, page: &Path, problems: &mut Vec<String>) -> Result<()> {
    let text = std::fs::read_to_string(page)
        .with_context(|| format!("mdBook wrote no {}", page.display()))?;
    let name = page
        .strip_prefix(html_root)
        .unwrap_or(page)
        .display()
        .to_string();
    if text.contains("{{#include") || text.contains("{{#rustdoc_include") {
        problems.push(format!("{name}: an include was left unresolved"));
    }
    let dir = page.parent().unwrap_or(html_root);
    // The ids of each page a fragment points into, read once.
    let mut ids: HashMap<PathBuf, BTreeSet<String>> = HashMap::new();
    for target in links(&text) {
        if target.is_empty()
            || target.contains("://")
            || target.starts_with("mailto:")
            || target.starts_with("data:")
            || target.starts_with("javascript:")
        {
            continue;
        }
        let (file, fragment) = match target.split_once('#') {
            Some((file, fragment)) => (file, Some(fragment)),
            None => (target.as_str(), None),
        };
        let file = file.split('?').next().unwrap_or(file);
        let path = if file.is_empty() {
            page.to_path_buf()
        } else {
            dir.join(file)
        };
        if !path.is_file() {
            problems.push(format!("{name}: broken link or image {target}"));
            continue;
        }
        if let Some(fragment) = fragment.filter(|f| !f.is_empty()) {
            let known = ids.entry(path).or_insert_with_key(|path| {
                page_ids(&std::fs::read_to_string(path).unwrap_or_default())
            });
            if !known.contains(fragment) {
                problems.push(format!(
                    "{name}: link {target}: no heading or id `{fragment}` there"
                ));
            }
        }
    }
    Ok(())
}

/// The start tags of a page, with their attributes, as a browser reads them: the bodies of
/// `script` and `style` are text, and what `noscript` holds is HTML for readers without
/// scripts.
fn start_tags(html: &str) -> Vec<StartTag<()>> {
    let mut emitter = DefaultEmitter::default();
    emitter.naively_switch_states(true);
    let mut tags = Vec::new();
    let mut in_noscript = false;
    for token in Tokenizer::new_with_emitter(html, emitter) {
        match token {
            Ok(Token::StartTag(tag)) => {
                in_noscript = tag.name == b"noscript";
                tags.push(tag);
            }
            Ok(Token::String(text)) if in_noscript => {
                tags.extend(start_tags(&String::from_utf8_lossy(&text)));
            }
            Ok(Token::EndTag(_)) => in_noscript = false,
            _ => {}
        }
    }
    tags
}

/// The value of every link and image attribute of a page, in order.
fn links(html: &str) -> Vec<String> {
    start_tags(html)
        .into_iter()
        .flat_map(|tag| {
            LINK_ATTRIBUTES
                .iter()
                .filter_map(|name| tag.attributes.get(*name))
                .map(|value| String::from_utf8_lossy(value).into_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Every `id` of a page: what a `#fragment` can point at.
fn page_ids(html: &str) -> BTreeSet<String> {
    start_tags(html)
        .into_iter()
        .filter_map(|tag| {
            let id = tag.attributes.get(b"id".as_slice())?;
            Some(String::from_utf8_lossy(id).into_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_ids_are_read_from_tags_only() {
        let page = r#"<a href="a.html#x">a</a><img src='b.svg'>
            <script>const s = '<a href="not-a-link.html">';</script>
            <noscript><iframe src="toc.html"></iframe></noscript>
            <pre><code>&lt;a href="neither.html"&gt;</code></pre>
            <h2 id="x">X</h2><p data-id="y">"#;
        assert_eq!(links(page), ["a.html#x", "b.svg", "toc.html"]);
        assert_eq!(page_ids(page), BTreeSet::from(["x".to_owned()]));
    }

    #[test]
    fn broken_links_and_fragments_are_found() {
        let dir = std::env::temp_dir().join(format!("xtask-html-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("other.html"), r#"<h1 id="there">T</h1>"#).unwrap();
        let page = dir.join("page.html");
        std::fs::write(
            &page,
            r##"<h1 id="here">H</h1><a href="#here">ok</a><a href="other.html#there">ok</a>
            <a href="https://example.org/">external</a><a href="other.html#gone">bad</a>
            <img src="missing.png"><a href="#nowhere">bad</a>"##,
        )
        .unwrap();
        let mut problems = Vec::new();
        check_html(&dir, &page, &mut problems).unwrap();
        assert_eq!(
            problems,
            [
                "page.html: link other.html#gone: no heading or id `gone` there",
                "page.html: broken link or image missing.png",
                "page.html: link #nowhere: no heading or id `nowhere` there",
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
