//! The Docker engine the lab runs on: the one that answers (a system engine, or the one
//! `DOCKER_HOST` names), or else a `dockerd` of the lab's own, started as root with its
//! data, state, socket and configuration in a temporary folder, and stopped at the end with
//! the host put back as it was (see `footprint.rs`).
//!
//! Also the client side: the `docker` program, and compose as Compose v2 (`docker
//! compose`) or Debian's docker-compose 1.29, installed with apt-get when missing.

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::footprint::Footprint;
use super::fs::remove_tree;
use super::shell::{self, Env};
use crate::deadline::{Watched, own_process_group};

/// How long a quick question to the engine may take.
const QUICK: Duration = Duration::from_secs(30);
/// How long a started dockerd may take to answer.
const START: Duration = Duration::from_secs(90);
/// How long a stopped dockerd may take to exit before it is killed.
const STOP: Duration = Duration::from_secs(60);

/// How compose is run here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposeProgram {
    /// Compose v2, the `docker compose` plugin.
    V2,
    /// Compose v1, the `docker-compose` program (Debian's 1.29).
    V1,
}

impl ComposeProgram {
    /// A compose command: `docker compose` or `docker-compose`, then `args`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = match self {
            Self::V2 => {
                let mut docker = Command::new("docker");
                docker.arg("compose");
                docker
            }
            Self::V1 => Command::new("docker-compose"),
        };
        command.args(args);
        command
    }
}

/// A Docker engine that answers, and how to reach it.
#[derive(Debug)]
pub struct Engine {
    /// What every docker and compose command needs to reach it.
    pub env: Env,
    /// Its version.
    pub version: String,
    /// The dockerd the lab started, if it did.
    own: Option<OwnDaemon>,
}

/// A dockerd the lab started, and what to undo when it stops.
#[derive(Debug)]
struct OwnDaemon {
    child: Watched,
    /// Data root, exec root, socket, configuration and log.
    dir: PathBuf,
    /// The host as it was before.
    before: Footprint,
}

/// Installs what the lab needs on the client side when missing: the docker CLI and compose.
pub fn ensure_client() -> Result<ComposeProgram> {
    if which("docker").is_none() {
        apt_install(&["docker.io"])?;
    }
    if shell::succeeds(ComposeProgram::V2.command(&["version"]), QUICK) {
        return Ok(ComposeProgram::V2);
    }
    if !shell::succeeds(ComposeProgram::V1.command(&["version"]), QUICK) {
        apt_install(&["docker-compose"])?;
    }
    Ok(ComposeProgram::V1)
}

impl Engine {
    /// The engine that answers, or a dockerd of the lab's own.
    pub fn connect_or_start() -> Result<Self> {
        let inherited: Env = Vec::new();
        if let Ok((version, env)) = ask(&inherited) {
            eprintln!("using the Docker engine that answers (version {version})");
            return Ok(Self {
                env,
                version,
                own: None,
            });
        }
        Self::start()
    }

    /// A `docker` command for this engine.
    pub fn docker(&self, args: &[&str]) -> Command {
        let mut command = Command::new("docker");
        command
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Starts a dockerd of the lab's own, as root, in a temporary folder.
    fn start() -> Result<Self> {
        if !is_root() {
            bail!(
                "no Docker engine answers, and starting one needs root: start Docker \
                 (e.g. `sudo systemctl start docker`) or run the lab as root"
            );
        }
        if which("dockerd").is_none() {
            apt_install(&["docker.io"])?;
        }
        let before = Footprint::take()?;
        let dir = tempfile::Builder::new()
            .prefix("session06-lab-engine-")
            .tempdir()
            .context("cannot create a folder for the lab's Docker engine")?
            // Removed by `stop`, after what is mounted in it is unmounted.
            .keep();
        let socket = dir.join("docker.sock");
        let config = dir.join("daemon.json");
        // Its own empty configuration: a system /etc/docker/daemon.json is not ours to use.
        std::fs::write(&config, "{}\n")?;
        let log = File::create(dir.join("dockerd.log"))?;
        let mut dockerd = Command::new("dockerd");
        dockerd
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .arg("--config-file")
            .arg(&config)
            .arg("--host")
            .arg(format!("unix://{}", socket.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        eprintln!("$ {}", shell::line(&dockerd));
        let child = Watched::spawn(dockerd, own_process_group()).context("cannot start dockerd")?;
        let mut engine = Self {
            env: vec![(
                OsString::from("DOCKER_HOST"),
                OsString::from(format!("unix://{}", socket.display())),
            )],
            version: String::new(),
            own: Some(OwnDaemon { child, dir, before }),
        };
        let started = Instant::now();
        loop {
            match ask(&engine.env) {
                Ok((version, env)) => {
                    eprintln!(
                        "started a Docker engine of the lab's own (version {version}) in {:.1}s",
                        started.elapsed().as_secs_f64()
                    );
                    engine.version = version;
                    engine.env = env;
                    return Ok(engine);
                }
                Err(error) if started.elapsed() > START => {
                    let log = engine.log_tail();
                    // Undo what it did before saying why it failed.
                    if let Err(stop) = engine.stop() {
                        eprintln!("warning: {stop:#}");
                    }
                    bail!("the lab's dockerd does not answer: {error:#}\nits log ends:\n{log}");
                }
                Err(_) => thread::sleep(Duration::from_millis(250)),
            }
        }
    }

    /// The last lines of the lab's dockerd log.
    fn log_tail(&self) -> String {
        let Some(own) = &self.own else {
            return String::new();
        };
        let text = std::fs::read_to_string(own.dir.join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Stops the lab's own dockerd (nothing for an engine it found), deletes its folder and
    /// puts the host back; fails when something could not be put back. Returns what it
    /// did, one line each.
    pub fn stop(&mut self) -> Result<Vec<String>> {
        let Some(mut own) = self.own.take() else {
            return Ok(Vec::new());
        };
        let mut done = Vec::new();
        // SIGTERM: dockerd stops its containerd and cleans up; SIGKILL only past STOP.
        let pidfile = own.dir.join("dockerd.pid");
        if let Ok(pid) = std::fs::read_to_string(&pidfile) {
            let mut kill = Command::new("kill");
            kill.args(["-TERM", pid.trim()]);
            shell::output(kill, QUICK)?;
        }
        match own.child.wait_or_stop(STOP)? {
            Some(status) => done.push(format!("dockerd stopped ({status})")),
            None => done.push(format!(
                "dockerd did not stop within {}s and was killed",
                STOP.as_secs()
            )),
        }
        own.child.stop_leftovers();
        remove_tree(&own.dir)?;
        done.push(format!("{} deleted", own.dir.display()));
        done.extend(own.before.restore()?);
        let left = own.before.differences()?;
        if !left.is_empty() {
            bail!("the host is not as it was: {}", left.join("; "));
        }
        Ok(done)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Only when `stop` was not called (an early error): never leave a dockerd behind.
        if self.own.is_some()
            && let Err(error) = self.stop()
        {
            eprintln!("warning: stopping the lab's Docker engine: {error:#}");
        }
    }
}

/// `docker version` for the server's version.
fn docker_version_command() -> Command {
    let mut command = Command::new("docker");
    command.args(["version", "--format", "{{.Server.Version}}"]);
    command
}

/// Asks the engine `env` points at for its version. The docker CLI negotiates the API
/// version down to the engine's; when a pinned `DOCKER_API_VERSION` is too new for it,
/// the engine's maximum is pinned instead. Returns the version and the environment that
/// reached it.
fn ask(env: &Env) -> Result<(String, Env)> {
    let mut env = env.clone();
    for _ in 0..2 {
        let mut command = docker_version_command();
        command.envs(env.iter().map(|(k, v)| (k, v)));
        let out = shell::capture(command, QUICK)?;
        if out.status.success() {
            return Ok((out.stdout.trim().to_owned(), env));
        }
        match out
            .stderr
            .split("Maximum supported API version is ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
        {
            Some(max) => {
                eprintln!("the engine speaks API {max} at most: setting DOCKER_API_VERSION={max}");
                env.retain(|(k, _)| k != "DOCKER_API_VERSION");
                env.push(("DOCKER_API_VERSION".into(), max.into()));
            }
            None => bail!("no Docker engine answers: {}", out.stderr.trim()),
        }
    }
    bail!("the docker client and the engine do not agree on an API version")
}

/// The path of a program on the `PATH`, or in the system folders root's `PATH` has.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Installs Debian packages (as root), or says how to.
pub fn apt_install(packages: &[&str]) -> Result<()> {
    let list = packages.join(" ");
    if !Path::new("/etc/debian_version").exists() || which("apt-get").is_none() {
        bail!("the lab needs {list}: install them with your system's package manager");
    }
    if !is_root() {
        bail!("the lab needs {list}: sudo apt-get install -y {list}");
    }
    eprintln!("installing {list} with apt-get");
    let apt = |args: &[&str]| {
        let mut command = Command::new("apt-get");
        command.env("DEBIAN_FRONTEND", "noninteractive").args(args);
        command
    };
    shell::stream(apt(&["update", "-q"]), Duration::from_secs(300))?;
    let mut install = apt(&["install", "-y", "-q", "--no-install-recommends"]);
    install.args(packages);
    shell::stream(install, Duration::from_secs(600))
}
