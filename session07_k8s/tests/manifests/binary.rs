//! What the binary serves and reads, taken from the crate itself: the commands and the
//! environment variables each reads (clap's `env =`, with their defaults), the variables
//! the image sets (the Dockerfile's `ENV`), the HTTP routes and listen addresses, and the
//! image names the lab builds.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use clap::CommandFactory as _;
use session07_k8s::cli::Cli;
use session07_k8s::routes::{API_HEALTH, API_READY, API_ROUTES, LIVEZ, READYZ};
use session07_k8s::state::READY_DEADLINE;

/// The command a container runs when its `args` name none: the image's `CMD`.
pub const DEFAULT_COMMAND: &str = "worker";

/// One command of the binary: the environment variables it reads, each with its default.
#[derive(Debug, Clone)]
pub struct Command {
    pub env: BTreeMap<String, Option<String>>,
}

/// What one command serves over HTTP.
#[derive(Debug, Clone, Copy)]
pub struct Http {
    /// The variable that sets its listen address.
    pub listen_env: &'static str,
    /// The path that answers liveness.
    pub live: &'static str,
    /// The path that answers readiness.
    pub ready: &'static str,
    /// Every path it answers.
    pub routes: &'static [&'static str],
    /// How long its readiness route may take to answer, when it asks something else.
    pub ready_deadline: Option<Duration>,
}

/// The facts about the binary and its images that the manifests must agree with.
#[derive(Debug, Clone)]
pub struct Binary {
    pub commands: BTreeMap<String, Command>,
    /// The repository name of our image (`session07-k8s`), from the Dockerfile.
    pub image: String,
    /// The variables our image sets (its final stage's `ENV`): a container gets them
    /// unless its manifest sets them, and they win over the binary's defaults.
    pub image_env: BTreeMap<String, String>,
    /// The Redis image, exactly as session 06's compose file names it.
    pub redis_image: String,
}

impl Binary {
    /// Reads the commands from `Cli::command()` and the image names from the files the
    /// lab builds and pulls.
    pub fn load(crate_dir: &Path) -> Self {
        let cli = Cli::command();
        let commands = cli
            .get_subcommands()
            .map(|sub| {
                let env = sub
                    .get_arguments()
                    .filter_map(|arg| {
                        let name = arg.get_env()?.to_str()?.to_owned();
                        let default = arg
                            .get_default_values()
                            .first()
                            .and_then(|value| value.to_str())
                            .map(str::to_owned);
                        Some((name, default))
                    })
                    .collect();
                (sub.get_name().to_owned(), Command { env })
            })
            .collect();
        let dockerfile = crate_dir.join("Dockerfile");
        let text = std::fs::read_to_string(&dockerfile)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", dockerfile.display()));
        Self {
            commands,
            image: built_image(&text, &dockerfile),
            image_env: image_env(&text),
            redis_image: redis_image(&crate_dir.join("../session06_docker/compose.yaml")),
        }
    }

    /// What `command` serves, if it is a server.
    pub fn http(command: &str) -> Option<Http> {
        match command {
            "api" => Some(Http {
                listen_env: "API_LISTEN",
                live: API_HEALTH,
                ready: API_READY,
                routes: &API_ROUTES,
                // `/api/ready` asks Redis, under a deadline of its own.
                ready_deadline: Some(READY_DEADLINE),
            }),
            "worker" => Some(Http {
                listen_env: "PROBE_LISTEN",
                live: LIVEZ,
                ready: READYZ,
                routes: &[LIVEZ, READYZ],
                ready_deadline: None,
            }),
            _ => None,
        }
    }

    /// The variable that holds how long `command` drains after SIGTERM, if it drains.
    pub fn grace_env(command: &str) -> Option<&'static str> {
        match command {
            "worker" => Some("SHUTDOWN_GRACE"),
            "api" => Some("API_SHUTDOWN_GRACE"),
            _ => None,
        }
    }
}

/// The repository of the image the Dockerfile's header says to build
/// (`docker build -f ... -t NAME:TAG .`): NAME.
fn built_image(text: &str, dockerfile: &Path) -> String {
    let tag = text
        .lines()
        .take_while(|line| line.starts_with('#') || line.trim().is_empty())
        .filter(|line| line.contains("docker build"))
        .find_map(|line| {
            let mut words = line.split_whitespace();
            words.find(|word| *word == "-t")?;
            words.next().map(str::to_owned)
        })
        .unwrap_or_else(|| {
            panic!(
                "{}'s header names no `docker build ... -t NAME`",
                dockerfile.display()
            )
        });
    repository(&tag).to_owned()
}

/// The variables a Dockerfile's final stage sets: its `ENV` instructions, after those of
/// the earlier stage it starts `FROM`, if any (a base image's own are not known here).
pub fn image_env(dockerfile: &str) -> BTreeMap<String, String> {
    // Each named stage's variables, for a later stage that starts from it.
    let mut stages: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut stage: Option<String> = None;
    let mut env = BTreeMap::new();
    for instruction in instructions(dockerfile) {
        let (keyword, rest) = instruction
            .split_once(char::is_whitespace)
            .unwrap_or((instruction.as_str(), ""));
        if keyword.eq_ignore_ascii_case("FROM") {
            if let Some(name) = stage.take() {
                stages.insert(name, std::mem::take(&mut env));
            }
            let words: Vec<String> = rest
                .split_whitespace()
                .filter(|word| !word.starts_with("--"))
                .map(str::to_ascii_lowercase)
                .collect();
            env = words
                .first()
                .and_then(|base| stages.get(base))
                .cloned()
                .unwrap_or_default();
            stage = match words.as_slice() {
                [_, as_word, name] if as_word == "as" => Some(name.clone()),
                _ => None,
            };
        } else if keyword.eq_ignore_ascii_case("ENV") {
            env.extend(env_pairs(rest));
        }
    }
    env
}

/// A Dockerfile's instructions, one string each: comments and blank lines left out, lines
/// continued with a trailing backslash joined.
fn instructions(dockerfile: &str) -> Vec<String> {
    let mut all = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (text, continued) = match trimmed.strip_suffix('\\') {
            Some(text) => (text.trim_end(), true),
            None => (trimmed, false),
        };
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(text);
        if !continued {
            all.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        all.push(current);
    }
    all
}

/// `KEY=VALUE KEY2="VALUE 2"`, or the older `KEY VALUE WITH SPACES`.
fn env_pairs(text: &str) -> Vec<(String, String)> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    match words.first() {
        Some(first) if !first.contains('=') => {
            let value = text.trim_start()[first.len()..].trim();
            vec![(first.clone(), value.trim_matches('"').to_owned())]
        }
        _ => words
            .iter()
            .filter_map(|word| word.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect(),
    }
}

/// The image of the `redis` service in a compose file (`image: redis:...`).
fn redis_image(compose: &Path) -> String {
    let text = std::fs::read_to_string(compose)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", compose.display()));
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("image:"))
        .map(str::trim)
        .find(|image| repository(image) == "redis")
        .unwrap_or_else(|| panic!("{} names no redis image", compose.display()))
        .to_owned()
}

/// `registry/path/name:tag` -> `name`.
pub fn repository(image: &str) -> &str {
    let name = image.rsplit('/').next().unwrap_or(image);
    name.split([':', '@']).next().unwrap_or(name)
}

/// `registry/path/name:tag` -> `tag`, if there is one.
pub fn tag(image: &str) -> Option<&str> {
    let name = image.rsplit('/').next().unwrap_or(image);
    name.split('@').next()?.split_once(':').map(|(_, tag)| tag)
}
