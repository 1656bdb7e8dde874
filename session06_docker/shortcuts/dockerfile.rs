//! Shortcut for exercise 6.4: a search for words in the text, line by line, with no idea of
//! stages, comments or continuations. A `USER app` in the builder stage, or in a comment,
//! passes for a final image that does not run as root.
//! `ex06_4_a_user_in_the_builder_is_not_the_final_images_user` catches it.

use super::{DockerfileError, Finding, FindingKind};

/// Exercise 6.4: reviews a Dockerfile, stage by stage.
pub fn review_dockerfile(text: &str) -> Result<Vec<Finding>, DockerfileError> {
    let lines: Vec<String> = text.lines().map(str::to_uppercase).collect();
    let last = |word: &str| lines.iter().rposition(|l| l.contains(word)).map(|i| i + 1);
    let final_from = last("FROM ").ok_or(DockerfileError::NoFrom)?;
    let mut findings = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(image) = line.trim().strip_prefix("FROM ") {
            let image = image.split_whitespace().next().unwrap_or_default();
            if !image.contains(':') || image.ends_with(":latest") {
                let image = image.to_owned();
                let kind = FindingKind::UnpinnedImage { image };
                findings.push(Finding { line: i + 1, kind });
            }
        }
    }
    if let (Some(copy), Some(build)) = (last("COPY . ."), last("CARGO BUILD"))
        && copy < build
        && last("CARGO CHEF COOK").is_none()
    {
        let kind = FindingKind::SourcesBeforeDependencies;
        findings.push(Finding { line: copy, kind });
    }
    match last("USER ") {
        None => findings.push(Finding {
            line: final_from,
            kind: FindingKind::RunsAsRoot,
        }),
        Some(line) if lines[line - 1].contains("ROOT") => findings.push(Finding {
            line,
            kind: FindingKind::RunsAsRoot,
        }),
        Some(_) => {}
    }
    for instruction in ["ENTRYPOINT", "CMD"] {
        if let Some(line) = last(&format!("{instruction} "))
            && !lines[line - 1].contains('[')
        {
            let instruction = instruction.to_owned();
            let kind = FindingKind::ShellForm { instruction };
            findings.push(Finding { line, kind });
        }
    }
    if last("HEALTHCHECK").is_none() {
        let kind = FindingKind::NoHealthcheck;
        findings.push(Finding {
            line: final_from,
            kind,
        });
    }
    findings.sort();
    Ok(findings)
}
