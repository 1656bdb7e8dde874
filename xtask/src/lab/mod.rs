//! `cargo xtask lab compose`: session 06's compose lab, run for real on a Docker engine.
//!
//! | file | what it does |
//! |---|---|
//! | `engine.rs` | finds the engine that answers, or starts a `dockerd` of its own (as root, in a temporary folder) and stops it; installs docker.io and docker-compose when missing |
//! | `footprint.rs` | what an engine changes on the host (firewall, forwarding, bridges, files), taken down before and put back after |
//! | `images.rs` | the base images: present, pulled, or built as stand-ins from a debootstrap of Debian when no registry answers |
//! | `compose.rs` | the run: build, up, the three demos, scale, kill a worker, restart Redis, check, down; and the list of its commands |
//! | `checks.rs` | how what the lab reads back is judged |
//! | `steps.rs` | each step timed, and the table at the end |
//! | `shell.rs` | commands echoed and run under deadlines |
//! | `fs.rs` | big temporary folders removed without following mounts |
//!
//! Most of its time is compiling (cargo-chef, then the dependencies and the sessions in
//! release): about 16 minutes on two busy cores with stand-ins to build, much less with
//! the engine's cache. It leaves no container, network, volume, engine or firewall change
//! behind.

mod checks;
mod compose;
mod engine;
mod footprint;
mod fs;
mod images;
mod shell;
mod steps;

use std::path::Path;

use anyhow::{Result, bail};

pub use compose::commands;

/// The labs.
#[derive(Debug, clap::Subcommand)]
pub enum Lab {
    /// Session 06: build the image, start Redis and workers with compose, run the three
    /// demos, kill a worker and restart Redis mid-run, check that no task was lost or run
    /// twice, and take it all down (starts a Docker engine of its own when none answers).
    Compose {
        /// Print the commands the lab runs, one per line, and do nothing else.
        #[arg(long)]
        print_commands: bool,
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
    }
}
