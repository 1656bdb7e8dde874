//! Installing the tools the course needs, so a fresh clone only needs a Rust toolchain.
//!
//! On Debian and Ubuntu, system packages come from apt-get (as root, or with `sudo -n`);
//! cargo-installable tools go, at a pinned version, into a folder this xtask owns outside
//! `target/` (`~/.cargo/course-tools`, or `XTASK_TOOLS_DIR`), so `cargo clean` keeps them
//! and every clone shares them. Elsewhere the task prints the exact command to run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::deadline::{own_process_group, run_with_deadline};
use crate::{cargo, run};

/// The mdbook release the book is built with.
pub const MDBOOK_VERSION: &str = "0.5.4";

/// Which tools to install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only those the sessions present in the workspace use.
    Needed,
    /// All of them.
    All,
}

/// Installs the tools that are missing.
pub fn ensure(root: &Path, scope: Scope) -> Result<()> {
    let all = scope == Scope::All;
    ensure_nasm(root);
    // Sessions from 04 on run their tests against a real redis-server.
    if (all || root.join("session04_redis").exists()) && !succeeds("redis-server", &["--version"]) {
        install_system_package("redis-server", "redis")?;
    }
    // Session 05's multi-host test puts redis-server and workers in network namespaces
    // (`ip netns`); without `ip` it says so and skips, so a failed install is no error.
    if (all || root.join("session05_distributed").exists())
        && cfg!(target_os = "linux")
        && !succeeds("ip", &["-V"])
        && let Err(error) = install_system_package("iproute2", "iproute2")
    {
        eprintln!("warning: {error:#}; the multi-host test will be skipped");
    }
    // Session 09's tests check every `/metrics` with promtool (Debian's prometheus
    // package) and drive the dashboard in a real terminal under tmux; without them they
    // say so and skip, so a failed install is no error.
    if all || root.join("session09_monitoring").exists() {
        if !succeeds("promtool", &["--version"]) {
            match install_system_package("prometheus", "prometheus") {
                // The package starts a Prometheus of its own on port 9090 where an init
                // system runs its services: the tests use promtool only.
                Ok(()) => stop_packaged_prometheus(),
                Err(error) => eprintln!("warning: {error:#}; the promtool checks will be skipped"),
            }
        }
        if !succeeds("tmux", &["-V"])
            && let Err(error) = install_system_package("tmux", "tmux")
        {
            eprintln!("warning: {error:#}; the dashboard's terminal test will be skipped");
        }
    }
    // Session 10's page is tested in headless Chromium through chromedriver; without
    // them the test says so and skips (and fails under CI), so a failed install is no error.
    if all || root.join("session10_final").exists() {
        let browser = [
            ("chromium", "chromium", "--cask chromium"),
            ("chromedriver", "chromium-driver", "--cask chromedriver"),
        ];
        for (program, debian, homebrew) in browser {
            if !succeeds(program, &["--version"])
                && let Err(error) = install_system_package(debian, homebrew)
            {
                eprintln!("warning: {error:#}; the page's browser test will be skipped");
            }
        }
    }
    // `cargo xtask test` installs mdbook in the background (`mdbook_in_background`).
    if all {
        mdbook(root)?;
        peer_prerequisites()?;
    }
    Ok(())
}

/// JPEG goes through libjpeg-turbo's code, whose x86-64 SIMD part nasm assembles: installs
/// nasm when missing. Without it the build falls back to plain C, so a failed install is no
/// error. A build made before nasm came has plain C: it is cleaned, to be rebuilt with SIMD.
pub fn ensure_nasm(root: &Path) {
    if !cfg!(target_arch = "x86_64") || succeeds("nasm", &["-v"]) {
        return;
    }
    let cleaned = install_system_package("nasm", "nasm").and_then(|()| {
        run(cargo(root).args(["clean", "--quiet", "--package", "mozjpeg-sys"]))?;
        run(cargo(root).args(["clean", "--quiet", "--release", "--package", "mozjpeg-sys"]))
    });
    if let Err(error) = cleaned {
        eprintln!("warning: {error:#}; JPEG may be coded in slower plain C");
    }
}

/// What `cargo xtask bench-peers` needs besides nasm: a Python venv, and a C compiler with
/// the libjpeg and zlib headers to try Pillow-SIMD.
pub fn peer_prerequisites() -> Result<()> {
    python_venv()?;
    // Optional: without them Pillow-SIMD is left out of the comparison.
    for (header, debian, homebrew) in [
        ("jpeglib.h", "libjpeg-dev", "jpeg"),
        ("zlib.h", "zlib1g-dev", "zlib"),
    ] {
        if !Path::new("/usr/include").join(header).exists()
            && let Err(error) = install_system_package(debian, homebrew)
        {
            eprintln!("Pillow-SIMD will be left out: {error:#}");
        }
    }
    Ok(())
}

/// Python's `venv` module, which the comparisons with Python libraries make their venvs with.
pub fn python_venv() -> Result<()> {
    if !succeeds("python3", &["-m", "venv", "--help"]) {
        install_system_package("python3-venv", "python3-venv")?;
    }
    Ok(())
}

/// Adds rustfmt and clippy through rustup when they are missing.
pub fn ensure_rust_components() -> Result<()> {
    let missing =
        !succeeds("cargo", &["fmt", "--version"]) || !succeeds("cargo", &["clippy", "--version"]);
    if missing {
        if !succeeds("rustup", &["--version"]) {
            bail!("rustfmt or clippy is missing; install them with your Rust toolchain");
        }
        run(Command::new("rustup").args(["component", "add", "rustfmt", "clippy"]))?;
    }
    Ok(())
}

/// The folder that holds the tools this xtask installs: `XTASK_TOOLS_DIR`, or
/// `course-tools` in cargo's home (`CARGO_HOME`, or `.cargo` in the home folder).
pub fn tools_dir(root: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("XTASK_TOOLS_DIR") {
        return PathBuf::from(dir);
    }
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::home_dir().map(|home| home.join(".cargo")))
        .unwrap_or_else(|| root.join("target"))
        .join("course-tools")
}

/// The path of the pinned mdbook: one on the `PATH` at that version, or ours, installed
/// first if missing. The installation's output goes to a log, shown only when it fails.
pub fn mdbook(root: &Path) -> Result<PathBuf> {
    let version = format!("mdbook v{MDBOOK_VERSION}");
    let on_path = PathBuf::from(format!("mdbook{}", std::env::consts::EXE_SUFFIX));
    if is_pinned(&on_path, &version) {
        return Ok(on_path);
    }
    let dir = tools_dir(root).join(format!("mdbook-{MDBOOK_VERSION}"));
    let binary = dir
        .join("bin")
        .join(format!("mdbook{}", std::env::consts::EXE_SUFFIX));
    if is_pinned(&binary, &version) {
        return Ok(binary);
    }
    eprintln!(
        "installing mdbook {MDBOOK_VERSION} into {} (a few minutes, once)",
        dir.display()
    );
    // A book of this size builds in a second at any optimisation level, and the lighter
    // one makes mdbook quicker to compile.
    cargo_install(
        root,
        ("mdbook", MDBOOK_VERSION),
        &dir,
        &[("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")],
    )?;
    if !is_pinned(&binary, &version) {
        bail!("{} does not say {version}", binary.display());
    }
    Ok(binary)
}

/// The oha release `cargo xtask bench-api` loads the API with.
pub const OHA_VERSION: &str = "1.16.0";

/// The path of the pinned oha, the HTTP load client: one on the `PATH` at that version, or
/// ours, installed first if missing; and the time the installation took, when it ran.
pub fn oha(root: &Path) -> Result<(PathBuf, Option<Duration>)> {
    let version = format!("oha {OHA_VERSION}");
    let on_path = PathBuf::from(format!("oha{}", std::env::consts::EXE_SUFFIX));
    if is_pinned(&on_path, &version) {
        return Ok((on_path, None));
    }
    let dir = tools_dir(root).join(format!("oha-{OHA_VERSION}"));
    let binary = dir
        .join("bin")
        .join(format!("oha{}", std::env::consts::EXE_SUFFIX));
    if is_pinned(&binary, &version) {
        return Ok((binary, None));
    }
    eprintln!(
        "installing oha {OHA_VERSION} into {} (about ten minutes on two cores, once)",
        dir.display()
    );
    let started = Instant::now();
    // Optimised as released: the client shares the cores with the server it loads.
    cargo_install(root, ("oha", OHA_VERSION), &dir, &[])?;
    if !is_pinned(&binary, &version) {
        bail!("{} does not say {version}", binary.display());
    }
    Ok((binary, Some(started.elapsed())))
}

/// `cargo install --locked` of a crate at a version into `dir`, with `env` set. The
/// output goes to `install.log` there, shown only when it fails.
/// How long `cargo install` of one tool may take (oha builds in about ten minutes on two
/// cores).
const INSTALL_TIME: Duration = Duration::from_secs(40 * 60);

fn cargo_install(
    root: &Path,
    (krate, version): (&str, &str),
    dir: &Path,
    env: &[(&str, &str)],
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let log = dir.join("install.log");
    let exact = format!("={version}");
    let mut install = cargo(root);
    install
        .args(["install", krate, "--locked", "--version", &exact])
        .arg("--root")
        .arg(dir)
        // Its own build folder, so it neither waits for nor pollutes the workspace's.
        .env("CARGO_TARGET_DIR", dir.join("build"))
        .envs(env.iter().copied());
    let (status, output) = run_with_deadline(install, INSTALL_TIME, own_process_group())
        .context("cannot run cargo install")?;
    let _ = std::fs::write(&log, &output);
    // The build folder is only needed once: the binary is in `bin/`.
    let _ = std::fs::remove_dir_all(dir.join("build"));
    match status {
        Some(status) if status.success() => {}
        Some(status) => bail!(
            "cannot install {krate} {version} ({status}); its log, {}, ends:\n{}",
            log.display(),
            tail(&output, 30)
        ),
        None => bail!(
            "installing {krate} {version} did not finish within {} minutes; its log, {}, ends:\n{}",
            INSTALL_TIME.as_secs() / 60,
            log.display(),
            tail(&output, 30)
        ),
    }
    Ok(())
}

/// Installs mdbook on a thread of its own; joining gives its path and the time it took.
pub fn mdbook_in_background(root: &Path) -> Background {
    let root = root.to_path_buf();
    Background(thread::spawn(move || {
        let started = Instant::now();
        mdbook(&root).map(|path| (path, started.elapsed()))
    }))
}

/// mdbook being installed in the background.
pub struct Background(JoinHandle<Result<(PathBuf, Duration)>>);

impl Background {
    /// Waits for the installation.
    pub fn join(self) -> Result<(PathBuf, Duration)> {
        self.0
            .join()
            .unwrap_or_else(|_| bail!("the mdbook installation panicked"))
    }
}

/// Whether `binary --version` prints exactly `version`.
fn is_pinned(binary: &Path, version: &str) -> bool {
    Command::new(binary)
        .arg("--version")
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == version)
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Installs a system package with apt-get, or says how to.
fn install_system_package(debian: &str, homebrew: &str) -> Result<()> {
    let apt = Path::new("/etc/debian_version").exists() && succeeds("apt-get", &["--version"]);
    if !apt {
        let hint = if cfg!(target_os = "macos") {
            format!("brew install {homebrew}")
        } else {
            format!("install the {debian} package with your system's package manager")
        };
        bail!("{debian} is missing; {hint}");
    }
    let Some(sudo) = root_or_sudo() else {
        bail!("{debian} is missing; run: sudo apt-get update && sudo apt-get install -y {debian}");
    };
    let apt_get = |args: &[&str]| {
        let mut command = as_root("apt-get", sudo);
        command.env("DEBIAN_FRONTEND", "noninteractive").args(args);
        command
    };
    eprintln!("installing {debian} with apt-get");
    run(&mut apt_get(&["update", "-q"]))?;
    run(&mut apt_get(&[
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        debian,
    ]))
}

/// How to act as root: `Some(false)` when we are root, `Some(true)` through `sudo -n`
/// (no password asked), `None` when neither works.
fn root_or_sudo() -> Option<bool> {
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
    if root_user {
        Some(false)
    } else if succeeds("sudo", &["-n", "true"]) {
        Some(true)
    } else {
        None
    }
}

/// `program`, run as root: through `sudo -n` when `sudo`.
fn as_root(program: &str, sudo: bool) -> Command {
    if sudo {
        let mut command = Command::new("sudo");
        command.args(["-n", program]);
        command
    } else {
        Command::new(program)
    }
}

/// Stops the service Debian's prometheus package may have started (it would hold port 9090,
/// which the compose lab publishes), and where systemd runs keeps it from starting at
/// boot; nothing when it is not running.
fn stop_packaged_prometheus() {
    let systemd = Path::new("/run/systemd/system").is_dir();
    let active = if systemd {
        succeeds("systemctl", &["is-active", "--quiet", "prometheus"])
    } else {
        succeeds("service", &["prometheus", "status"])
    };
    if !active {
        return;
    }
    let Some(sudo) = root_or_sudo() else {
        eprintln!(
            "the prometheus service the package installs runs and holds port 9090; stop it: \
             sudo systemctl disable --now prometheus"
        );
        return;
    };
    let (program, args) = if systemd {
        ("systemctl", &["disable", "--now", "prometheus"][..])
    } else {
        ("service", &["prometheus", "stop"][..])
    };
    let stopped = as_root(program, sudo)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if stopped {
        eprintln!(
            "the prometheus service the package installs is stopped: tests use promtool only"
        );
    } else {
        eprintln!(
            "cannot stop the prometheus service the package installs; it holds port 9090: \
             sudo {program} {}",
            args.join(" ")
        );
    }
}

/// Whether a command runs and exits successfully.
fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
