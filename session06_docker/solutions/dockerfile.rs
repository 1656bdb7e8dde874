//! Exercise 6.4: a Dockerfile review.

use super::{DockerfileError, Finding, FindingKind, INSTRUCTIONS};

/// What a stage has so far: each setting with the line that set it.
#[derive(Clone, Default)]
struct Stage {
    name: String,
    from: usize,
    user: Option<(usize, String)>,
    healthcheck: Option<usize>,
    entrypoint: Option<(usize, bool)>,
    cmd: Option<(usize, bool)>,
    copied_context: Option<usize>,
    built: bool,
}

/// Exercise 6.4: reviews a Dockerfile, stage by stage.
pub fn review_dockerfile(text: &str) -> Result<Vec<Finding>, DockerfileError> {
    let mut findings = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for (line, word, args) in instructions(text) {
        let instruction = word.to_ascii_uppercase();
        let invalid = |reason: String| DockerfileError::Invalid { line, reason };
        if !INSTRUCTIONS.contains(&instruction.as_str()) {
            return Err(invalid(format!("unknown instruction {word}")));
        }
        if args.is_empty() {
            return Err(invalid(format!("{instruction} without arguments")));
        }
        if instruction == "FROM" {
            let mut words = args.split_whitespace().filter(|w| !w.starts_with("--"));
            let image = words.next().unwrap_or_default();
            let name = match (words.next(), words.next()) {
                (Some(as_), Some(name)) if as_.eq_ignore_ascii_case("as") => name,
                _ => "",
            };
            let earlier = stages
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(image))
                .cloned();
            if earlier.is_none() && unpinned(image) {
                let kind = FindingKind::UnpinnedImage {
                    image: image.to_owned(),
                };
                findings.push(Finding { line, kind });
            }
            stages.push(Stage {
                name: name.to_owned(),
                from: line,
                copied_context: None,
                built: false,
                ..earlier.unwrap_or_default()
            });
            continue;
        }
        let Some(stage) = stages.last_mut() else {
            if instruction == "ARG" {
                continue;
            }
            return Err(invalid(format!("{instruction} before the first FROM")));
        };
        match instruction.as_str() {
            "USER" => stage.user = Some((line, args)),
            "HEALTHCHECK" => {
                stage.healthcheck = (!args.eq_ignore_ascii_case("none")).then_some(line)
            }
            "ENTRYPOINT" => {
                stage.entrypoint = Some((line, !exec_form(&args)));
                // Docker unsets an inherited CMD: one from above the stage's FROM.
                stage.cmd = stage.cmd.filter(|&(cmd, _)| cmd > stage.from);
            }
            "CMD" => stage.cmd = Some((line, !exec_form(&args))),
            "COPY" | "ADD" if !stage.built && copies_context(&args) => {
                stage.copied_context.get_or_insert(line);
            }
            "RUN" if !stage.built && builds(&args) => {
                stage.built = true;
                if let Some(line) = stage.copied_context {
                    let kind = FindingKind::SourcesBeforeDependencies;
                    findings.push(Finding { line, kind });
                }
            }
            _ => {}
        }
    }

    let last = stages.last().ok_or(DockerfileError::NoFrom)?;
    let mut at = |line, kind| findings.push(Finding { line, kind });
    match &last.user {
        None => at(last.from, FindingKind::RunsAsRoot),
        Some((line, user)) => {
            let name = user.split(':').next().unwrap_or_default();
            if name == "root" || name == "0" {
                at(*line, FindingKind::RunsAsRoot);
            }
        }
    }
    for (instruction, set) in [("ENTRYPOINT", last.entrypoint), ("CMD", last.cmd)] {
        if let Some((line, true)) = set {
            let instruction = instruction.to_owned();
            at(line, FindingKind::ShellForm { instruction });
        }
    }
    if last.healthcheck.is_none() {
        at(last.from, FindingKind::NoHealthcheck);
    }
    findings.sort();
    Ok(findings)
}

/// The instructions of `text`: the line each starts at, its word, its arguments.
fn instructions(text: &str) -> Vec<(usize, String, String)> {
    let mut joined: Vec<(usize, String)> = Vec::new();
    let mut continued = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let end = trimmed.strip_suffix('\\');
        let part = end.unwrap_or(trimmed);
        match joined.last_mut() {
            Some((_, instruction)) if continued => {
                instruction.push(' ');
                instruction.push_str(part);
            }
            _ => joined.push((i + 1, part.to_owned())),
        }
        continued = end.is_some();
    }
    joined
        .into_iter()
        .map(|(line, instruction)| {
            let instruction = instruction.trim();
            let (word, args) = instruction
                .split_once(char::is_whitespace)
                .unwrap_or((instruction, ""));
            (line, word.to_owned(), args.trim().to_owned())
        })
        .collect()
}

/// Whether `image` floats: no tag, or `latest`.
fn unpinned(image: &str) -> bool {
    if image.eq_ignore_ascii_case("scratch") || image.contains(['@', '$']) {
        return false;
    }
    let last = image.rsplit_once('/').map_or(image, |(_, last)| last);
    last.split_once(':').is_none_or(|(_, tag)| tag == "latest")
}

/// Whether `args` are a JSON array of strings: the exec form.
fn exec_form(args: &str) -> bool {
    serde_json::from_str::<Vec<String>>(args).is_ok()
}

/// Whether a `COPY` or `ADD` with `args` copies the whole build context.
fn copies_context(args: &str) -> bool {
    let mut rest = args;
    while let Some(flag) = rest.strip_prefix("--") {
        if flag.starts_with("from=") {
            return false;
        }
        rest = flag.split_once(char::is_whitespace).map_or("", |(_, r)| r);
        rest = rest.trim_start();
    }
    let paths: Vec<String> = serde_json::from_str(rest)
        .unwrap_or_else(|_| rest.split_whitespace().map(str::to_owned).collect());
    let sources = &paths[..paths.len().saturating_sub(1)];
    sources.iter().any(|source| source == "." || source == "./")
}

/// Whether a `RUN` builds the dependencies.
fn builds(args: &str) -> bool {
    let words: Vec<&str> = args.split_whitespace().collect();
    words.windows(2).any(|w| w == ["cargo", "build"])
        || words.windows(3).any(|w| w == ["cargo", "chef", "cook"])
}
