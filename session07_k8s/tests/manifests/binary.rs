//! What the binary serves and reads, taken from the crate itself: the commands and the
//! environment variables each reads (clap's `env =`, with their defaults), the HTTP
//! routes and listen addresses, and the image names the lab builds.

use std::collections::BTreeMap;
use std::path::Path;

use clap::CommandFactory as _;
use session07_k8s::cli::Cli;
use session07_k8s::routes::{API_HEALTH, API_READY, API_ROUTES, LIVEZ, READYZ};

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
}

/// The facts about the binary and its images that the manifests must agree with.
#[derive(Debug, Clone)]
pub struct Binary {
    pub commands: BTreeMap<String, Command>,
    /// The repository name of our image (`session07-k8s`), from the Dockerfile.
    pub image: String,
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
        Self {
            commands,
            image: built_image(&crate_dir.join("Dockerfile")),
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
            }),
            "worker" => Some(Http {
                listen_env: "PROBE_LISTEN",
                live: LIVEZ,
                ready: READYZ,
                routes: &[LIVEZ, READYZ],
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
fn built_image(dockerfile: &Path) -> String {
    let text = std::fs::read_to_string(dockerfile)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dockerfile.display()));
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
