//! `cargo xtask lab`: the labs, run for real. `compose` is session 06's compose lab on a
//! Docker engine; `kind` is session 07's lab on a kind cluster (its own folder, `kind/`).
//!
//! | file | what it does |
//! |---|---|
//! | `engine.rs` | finds the engine that answers, or starts a `dockerd` of its own (as root, in a temporary folder) and stops it; installs docker.io and docker-compose when missing |
//! | `footprint.rs` | what an engine changes on the host (firewall, forwarding, bridges, files), taken down before and put back after |
//! | `images.rs` | the base images: present, pulled, or built as stand-ins from a debootstrap of Debian when no registry answers |
//! | `compose.rs` | the compose run: build, up, the three demos, scale, kill a worker, restart Redis, check, down; and the list of its commands |
//! | `checks.rs` | how what the compose lab reads back is judged (the queue's status, also the kind lab's) |
//! | `monitoring.rs` | session 09's phase of the compose lab: its services over session 06's, Prometheus's targets, a query after the demo, the dashboard's queries, Grafana, the alert drill |
//! | `final_api.rs` | session 10's phase: the API and the page on the Redis queue, ten jobs through the API, the workers it lists |
//! | `http.rs` | the compose lab's `curl URL` commands, sent as GETs |
//! | `prometheus.rs` | how what Prometheus's HTTP API answers is judged, and the dashboard's PromQL read |
//! | `kind/` | the kind lab: its plan (every command, as typed), the run on a kind cluster, and how it judges what it reads back |
//! | `steps.rs` | each step timed, and the table at the end |
//! | `shell.rs` | commands echoed and run under deadlines |
//! | `fs.rs` | big temporary folders removed without following mounts |
//!
//! Most of the compose lab's time is compiling (cargo-chef, then the dependencies and the
//! sessions in release): about 16 minutes on two busy cores with stand-ins to build, much
//! less with the engine's cache. Session 09's phase adds its image (session 06's dependency
//! layers come from the cache) and about two minutes of checks, most of them the alert's
//! one-minute wait. Session 10's phase adds its image (one more crate on the same cached
//! layers), then the API's readiness, the page and ten jobs through the API. It leaves no
//! container, network, volume, engine or firewall change behind. The kind lab's budget is
//! in `kind/`.

/// The words of a `docker compose` command over session 06's file and a later session's
/// `compose.yaml` (run from that session's folder), then `$word`s: the phases of the
/// compose lab write theirs with it.
macro_rules! over_session06 {
    ($($word:literal),* $(,)?) => {
        &[
            "docker",
            "compose",
            "-f",
            "../session06_docker/compose.yaml",
            "-f",
            "compose.yaml",
            $($word),*
        ]
    };
}

mod checks;
mod compose;
mod engine;
mod final_api;
mod footprint;
mod fs;
mod http;
mod images;
mod kind;
mod monitoring;
mod poll;
mod prometheus;
mod shell;
mod steps;

use std::path::Path;

use anyhow::{Result, bail};

pub use compose::commands;
pub use kind::{commands as kind_commands, plan_text as kind_plan};

/// The labs.
#[derive(Debug, clap::Subcommand)]
pub enum Lab {
    /// Session 06: build the image, start Redis and workers with compose, run the three
    /// demos, kill a worker and restart Redis mid-run, check that no task was lost or run
    /// twice; then session 09's monitoring: its workers, status API, Prometheus and Grafana
    /// over session 06's file, the targets up, the task counter queried after a demo, the
    /// dashboard's queries, the alert drill; and take it all down (starts a Docker engine of
    /// its own when none answers).
    Compose {
        /// Print the commands the lab runs, one per line, and do nothing else.
        #[arg(long)]
        print_commands: bool,
    },
    /// Session 07: create a kind cluster, load the image, install Ingress NGINX and
    /// metrics-server, apply the kind overlay, run the sample Job, delete a worker pod
    /// mid-task and check that no task was lost or run twice, roll the workers to v2 and
    /// back; then session 08's scaling drill: apply the HPA overlay, run the stress Job until
    /// the HPA asks for more workers, stop it, and watch the HPA return to its minimum; and
    /// delete the cluster. Needs kind, kubectl and Docker; says what to install when one is
    /// missing.
    Kind {
        /// Print the lab's commands, each step under a `# ...` comment, and do nothing else.
        #[arg(long)]
        plan: bool,
    },
}

/// Runs a lab.
pub fn run(root: &Path, lab: &Lab) -> Result<()> {
    match lab {
        Lab::Compose {
            print_commands: true,
        } => {
            for line in commands() {
                println!("{line}");
            }
            Ok(())
        }
        Lab::Compose {
            print_commands: false,
        } => {
            if !cfg!(target_os = "linux") {
                bail!(
                    "the compose lab runs on Linux; elsewhere, follow the chapter's commands \
                     with Docker Desktop"
                );
            }
            compose::run(root)
        }
        Lab::Kind { plan: true } => {
            print!("{}", kind_plan());
            Ok(())
        }
        Lab::Kind { plan: false } => kind::run(root),
    }
}
