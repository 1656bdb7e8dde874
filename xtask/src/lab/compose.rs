//! The compose lab, run for real: build the image, start Redis and the workers, run the
//! original course's three demos, scale out, kill a worker mid-task and restart Redis
//! mid-run, then check that every task succeeded exactly once, that the killed worker came
//! back by its restart policy and that nothing runs as root; print the image sizes, and
//! take everything down. When session 09 is in the workspace, its monitoring phase
//! (`monitoring.rs`) runs in the same project before the project goes down, and then
//! session 10's (`final_api.rs`).
//!
//! Every command it runs in the lab's project is in [`COMMANDS`] (session 09's in
//! `MONITORING_COMMANDS`), written as a reader types it: the book shows only commands from
//! those lists (`commands()`).

use std::ffi::OsString;
use std::fmt;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail, ensure};

use super::checks::{self, IMAGE_USER, QueueStatus, megabytes};
use super::engine::{ComposeProgram, Engine, is_root};
use super::final_api::{DOWN as FINAL_DOWN, FINAL_COMMANDS, FOLDER as FINAL_FOLDER};
use super::monitoring::{
    DOWN as MONITORING_DOWN, FOLDER as MONITORING_FOLDER, MONITORING_COMMANDS,
};
use super::shell::{self, Env};
use super::steps::Steps;

/// A command of the lab, as the book shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabCommand {
    /// Variables set for this command only, written `NAME=value` before it.
    pub env: &'static [(&'static str, &'static str)],
    /// `docker compose ...`, `docker ...`, `kill ...` or `curl URL` (the lab sends that
    /// GET itself); words in capitals (`CONTAINER`, `PID`) are filled in when it runs.
    pub words: &'static [&'static str],
    /// The crate folder it runs in: `session06_docker`, `session09_monitoring` for
    /// session 09's monitoring phase, or `session10_final` for session 10's.
    pub folder: &'static str,
}

impl fmt::Display for LabCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in self.env {
            write!(f, "{name}={value} ")?;
        }
        // The words joined by one space, unquoted: the book check reads a shown line the
        // same way before comparing.
        write!(f, "{}", self.words.join(" "))
    }
}

const fn shown(words: &'static [&'static str]) -> LabCommand {
    LabCommand {
        env: &[],
        words,
        folder: SESSION06,
    }
}

/// Session 06's folder, where most of the lab's commands run.
const SESSION06: &str = "session06_docker";

// ANCHOR: commands
/// Builds the image (the Dockerfile's stages, cached).
pub const BUILD: LabCommand = shown(&["docker", "compose", "build"]);
/// Starts Redis and the workers in the background.
pub const UP: LabCommand = shown(&["docker", "compose", "up", "-d"]);
/// Lists the lab's containers and their health.
pub const PS: LabCommand = shown(&["docker", "compose", "ps"]);
/// Demo 1: five tasks with different filters, results in `output/`.
pub const SEND: LabCommand = shown(&["docker", "compose", "run", "--rm", "send"]);
/// Demo 2: tasks by state and live workers, twice.
pub const MONITOR: LabCommand = shown(&[
    "docker",
    "compose",
    "run",
    "--rm",
    "monitor",
    "--iterations",
    "2",
]);
/// Demo 3: ten varied tasks, each result checked, timed.
pub const FULL_TEST: LabCommand = shown(&["docker", "compose", "run", "--rm", "full-test"]);
/// Four workers, each task 8 s long (so a worker is surely killed with tasks in hand),
/// and 10 s leases (so their tasks come back soon).
pub const SCALE: LabCommand = LabCommand {
    env: &[("WORKER_DELAY", "8"), ("LEASE", "10")],
    words: &["docker", "compose", "up", "-d", "--scale", "worker=4"],
    folder: SESSION06,
};
/// Empties the queue's namespace.
pub const RESET: LabCommand = shown(&["docker", "compose", "run", "--rm", "cli", "reset", "--yes"]);
/// Each bundled photo twice: 14 tasks, more than the four workers' 8 slots.
pub const SUBMIT: LabCommand = shown(&[
    "docker", "compose", "run", "--rm", "cli", "submit", "--count", "2",
]);
/// The live workers and the tasks each holds.
pub const WORKERS: LabCommand = shown(&[
    "docker", "compose", "run", "--rm", "cli", "workers", "--json",
]);
/// The host's process id of a container's main process.
pub const PID: LabCommand = shown(&[
    "docker",
    "inspect",
    "--format",
    "{{.State.Pid}}",
    "CONTAINER",
]);
/// The failure: a worker's process killed from the host mid-task, a crash as the OOM
/// killer makes one (as root). Docker did not stop it, so its restart policy applies.
pub const CRASH: LabCommand = shown(&["kill", "-KILL", "PID"]);
/// The other failure: Redis restarted mid-run (its append-only file keeps the queue).
pub const RESTART_REDIS: LabCommand = shown(&["docker", "compose", "restart", "redis"]);
/// The queue's counts by state.
pub const STATUS: LabCommand = shown(&[
    "docker", "compose", "run", "--rm", "cli", "status", "--json",
]);
/// One task in full: its state and attempts.
pub const STATUS_TASK: LabCommand = shown(&[
    "docker", "compose", "run", "--rm", "cli", "status", "TASK_ID", "--json",
]);
/// How many times Docker restarted a container, and its state.
pub const RESTARTS: LabCommand = shown(&[
    "docker",
    "inspect",
    "--format",
    "{{.RestartCount}} {{.State.Status}}",
    "CONTAINER",
]);
/// A worker stopped by hand: Docker counts `docker kill` as you stopping it, so even
/// `unless-stopped` leaves it stopped.
pub const KILL: LabCommand = shown(&["docker", "kill", "CONTAINER"]);
/// Starts the service's stopped containers again.
pub const START: LabCommand = shown(&["docker", "compose", "start", "worker"]);
/// The user a container's processes run as.
pub const TOP: LabCommand = shown(&["docker", "top", "CONTAINER", "-o", "pid,uid,comm"]);
/// The builder stage alone, tagged to see its size (cached from the build).
pub const BUILD_BUILDER: LabCommand = shown(&[
    "docker",
    "build",
    "--target",
    "builder",
    "--tag",
    "session06-docker:builder",
    "--file",
    "Dockerfile",
    "..",
]);
/// The images' sizes.
pub const IMAGES: LabCommand = shown(&["docker", "image", "ls", "session06-docker"]);
/// Stops and deletes the containers, the network and Redis's volume.
pub const DOWN: LabCommand = shown(&["docker", "compose", "down", "-v"]);

/// Every command the lab runs in its project, in order.
pub const COMMANDS: [LabCommand; 22] = [
    BUILD,
    UP,
    PS,
    SEND,
    MONITOR,
    FULL_TEST,
    SCALE,
    RESET,
    SUBMIT,
    WORKERS,
    PID,
    CRASH,
    RESTART_REDIS,
    STATUS,
    STATUS_TASK,
    RESTARTS,
    KILL,
    START,
    TOP,
    BUILD_BUILDER,
    IMAGES,
    DOWN,
];
// ANCHOR_END: commands

/// The image compose builds (compose.yaml's `image:`).
const IMAGE: &str = "session06-docker:latest";
/// The builder stage's tag.
const BUILDER_IMAGE: &str = "session06-docker:builder";
/// The compose project's name in the lab: its own, so a reader's lab is never touched.
const PROJECT: &str = "session06-lab";
/// Workers at the start (compose.yaml's `scale`) and for the drill.
const WORKERS_AT_START: usize = 2;
const WORKERS_SCALED: usize = 4;

/// Deadlines.
pub(super) const BUILD_TIME: Duration = Duration::from_secs(900);
pub(super) const COMMAND_TIME: Duration = Duration::from_secs(120);
pub(super) const DEMO_TIME: Duration = Duration::from_secs(300);
const HEALTHY_TIME: Duration = Duration::from_secs(120);
const BUSY_TIME: Duration = Duration::from_secs(60);
const SETTLE_TIME: Duration = Duration::from_secs(240);
/// Between two looks at something the lab waits for.
pub(super) const POLL: Duration = Duration::from_millis(500);

/// The commands, as lines (`cargo xtask lab compose --print-commands`): session 06's, then
/// session 09's monitoring phase's.
pub fn commands() -> Vec<String> {
    COMMANDS
        .iter()
        .chain(&MONITORING_COMMANDS)
        .chain(&FINAL_COMMANDS)
        .map(ToString::to_string)
        .collect()
}

/// Whether the lab runs `command`: the book shows no other.
pub(super) fn is_listed(command: LabCommand) -> bool {
    COMMANDS.contains(&command)
        || MONITORING_COMMANDS.contains(&command)
        || FINAL_COMMANDS.contains(&command)
}

/// The lab's project: the engine, compose, the crates' folders and their environment.
pub(super) struct Project<'a> {
    pub engine: &'a Engine,
    compose: &'a ComposeProgram,
    /// Session 06's folder.
    pub dir: PathBuf,
    /// The workspace's root, where each command's folder is.
    pub root: PathBuf,
    env: Env,
}

impl Project<'_> {
    /// `command` ready to run, placeholders filled in from `fill`.
    pub fn command(&self, command: LabCommand, fill: &[(&str, &str)]) -> Result<Command> {
        ensure!(
            is_listed(command),
            "`{command}` is not in the lab's list of commands"
        );
        let words: Vec<&str> = command
            .words
            .iter()
            .map(|word| {
                fill.iter()
                    .find(|(name, _)| name == word)
                    .map_or(*word, |(_, value)| *value)
            })
            .collect();
        if let Some(left) = words
            .iter()
            .find(|w| w.len() > 1 && w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        {
            bail!("`{command}`: nothing to fill {left} with");
        }
        let mut built = match words.as_slice() {
            ["docker", "compose", rest @ ..] => self.compose.command(rest),
            ["docker", rest @ ..] => self.engine.docker(rest),
            // A container's process belongs to another user: only root may signal it.
            ["kill", rest @ ..] if is_root() => {
                let mut kill = Command::new("kill");
                kill.args(rest);
                kill
            }
            ["kill", rest @ ..] => {
                let mut kill = Command::new("sudo");
                kill.args(["-n", "kill"]).args(rest);
                kill
            }
            _ => bail!("`{command}` is neither docker, docker compose nor kill"),
        };
        built
            .current_dir(self.root.join(command.folder))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .envs(command.env.iter().copied());
        if !command.env.is_empty() {
            // The echo of the command shows its program and arguments only.
            let settings: Vec<String> = command
                .env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            eprintln!("(with {})", settings.join(" "));
        }
        Ok(built)
    }

    /// Runs a command with its output shown.
    pub fn stream(&self, command: LabCommand, timeout: Duration) -> Result<()> {
        shell::stream(self.command(command, &[])?, timeout)
    }

    /// Runs a command and returns its standard output.
    pub fn output(&self, command: LabCommand, fill: &[(&str, &str)]) -> Result<String> {
        shell::output(self.command(command, fill)?, COMMAND_TIME)
    }

    /// The ids of a service's containers (all of the project's with `None`).
    pub fn containers(&self, service: Option<&str>) -> Result<Vec<String>> {
        let mut ps = self.compose.command(&["ps", "-q"]);
        ps.args(service)
            .current_dir(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        Ok(shell::output(ps, COMMAND_TIME)?
            .split_whitespace()
            .map(str::to_owned)
            .collect())
    }

    /// `docker inspect --format FORMAT` of containers or images.
    pub fn inspect(&self, what: &str, format: &str, ids: &[String]) -> Result<Vec<String>> {
        let mut inspect = self.engine.docker(&[what, "inspect", "--format", format]);
        inspect.args(ids);
        Ok(shell::output(inspect, COMMAND_TIME)?
            .lines()
            .map(str::to_owned)
            .collect())
    }

    /// Waits until Redis and `workers` worker containers are running and healthy.
    fn wait_healthy(&self, workers: usize) -> Result<()> {
        let started = Instant::now();
        loop {
            let redis = self.containers(Some("redis"))?;
            let fleet = self.containers(Some("worker"))?;
            let mut all = redis.clone();
            all.extend(fleet.iter().cloned());
            let states = self.inspect(
                "container",
                "{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}",
                &all,
            )?;
            let healthy = states
                .iter()
                .filter(|s| s.ends_with(" running healthy"))
                .count();
            if redis.len() == 1 && fleet.len() == workers && healthy == all.len() {
                eprintln!(
                    "Redis and {workers} workers healthy after {:.1}s",
                    started.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            if started.elapsed() > HEALTHY_TIME {
                bail!(
                    "not healthy within {}s (want Redis and {workers} workers):\n{}",
                    HEALTHY_TIME.as_secs(),
                    states.join("\n")
                );
            }
            thread::sleep(POLL);
        }
    }

    /// Reads the queue's status.
    fn status(&self) -> Result<QueueStatus> {
        QueueStatus::parse(&self.output(STATUS, &[])?)
    }
}

/// What the lab found, for its summary.
#[derive(Debug, Default)]
struct Findings {
    images: Vec<String>,
    full_test: String,
    drill: Vec<String>,
    sizes: Vec<String>,
    /// Session 09's phase: what it found, and whether it brought its services up.
    monitoring: Vec<String>,
    monitoring_up: bool,
    /// Session 10's phase: the same.
    final_api: Vec<String>,
    final_up: bool,
}

/// Runs the lab.
pub fn run(root: &Path) -> Result<()> {
    let crate_dir = root.join("session06_docker");
    let mut steps = Steps::new();
    let compose = steps.run("client tools", super::engine::ensure_client)?;
    let mut engine = steps.run("engine", Engine::connect_or_start)?;
    let mut findings = Findings::default();
    let result = run_on(&engine, &compose, &crate_dir, &mut steps, &mut findings);
    let stopped = steps.run("engine stop, host put back", || engine.stop());
    eprintln!("\n{}", steps.table());
    for line in findings
        .images
        .iter()
        .chain(&findings.drill)
        .chain(&findings.sizes)
        .chain(&findings.monitoring)
        .chain(&findings.final_api)
    {
        eprintln!("{line}");
    }
    if !findings.full_test.is_empty() {
        eprintln!("full-test printed:\n{}", findings.full_test.trim_end());
    }
    if let Ok(done) = &stopped {
        for line in done {
            eprintln!("host: {line}");
        }
    }
    result?;
    stopped?;
    eprintln!(
        "the compose lab passed in {:.0}s",
        steps.total().as_secs_f64()
    );
    Ok(())
}

/// The lab on an engine: everything between starting the engine and stopping it. Compose
/// takes its project down whatever happened.
fn run_on(
    engine: &Engine,
    compose: &ComposeProgram,
    crate_dir: &Path,
    steps: &mut Steps,
    findings: &mut Findings,
) -> Result<()> {
    findings.images = steps.run("base images", || super::images::ensure(engine, crate_dir))?;
    let project = Project {
        engine,
        compose,
        dir: crate_dir.to_path_buf(),
        root: crate_dir.parent().unwrap_or(crate_dir).to_path_buf(),
        env: lab_env(engine)?,
    };
    let result = run_project(&project, steps, findings);
    let down = steps.run("down", || {
        // Each phase's services are in its own file over session 06's, so each set of
        // files takes its own down, every one tried: session 09's names Prometheus (and
        // session 10's API and workers: the same services), session 10's its `api-test`,
        // whose container a killed `run --rm` leaves behind.
        let mut downs = Vec::new();
        if findings.monitoring_up {
            downs.push(MONITORING_DOWN);
        }
        if findings.final_up {
            downs.push(FINAL_DOWN);
        }
        if downs.is_empty() {
            downs.push(DOWN);
        }
        let results: Vec<Result<()>> = downs
            .into_iter()
            .map(|down| project.stream(down, COMMAND_TIME))
            .collect();
        results.into_iter().collect::<Result<()>>()?;
        check_nothing_left(&project)
    });
    result.and(down)
}

/// The environment of every command: the engine's, the project's name, a free port for
/// Redis on the host.
fn lab_env(engine: &Engine) -> Result<Env> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .context("cannot find a free port")?
        .port();
    let mut env = engine.env.clone();
    env.push(("COMPOSE_PROJECT_NAME".into(), PROJECT.into()));
    // docker-compose 1.29 builds through the docker CLI, as Compose v2 does: the image's
    // layers are then the ones `docker build --target builder` finds in the cache.
    env.push(("COMPOSE_DOCKER_CLI_BUILD".into(), "1".into()));
    env.push((OsString::from("REDIS_HOST_PORT"), port.to_string().into()));
    Ok(env)
}

/// Build, up, the demos, the drill, the checks.
fn run_project(project: &Project<'_>, steps: &mut Steps, findings: &mut Findings) -> Result<()> {
    steps.run("build the image", || project.stream(BUILD, BUILD_TIME))?;
    steps.run("up: Redis and 2 workers healthy", || {
        project.stream(UP, COMMAND_TIME)?;
        project.wait_healthy(WORKERS_AT_START)?;
        project.stream(PS, COMMAND_TIME)
    })?;
    let output_dir = project.dir.join("output");
    steps.run("demo 1: send", || {
        prepare_output(&output_dir)?;
        let started = SystemTime::now();
        project.stream(SEND, DEMO_TIME)?;
        let written = images_written_since(&output_dir, started)?;
        ensure!(
            written >= 5,
            "send wrote {written} results into {}, expected 5",
            output_dir.display()
        );
        Ok(())
    })?;
    steps.run("demo 2: monitor", || project.stream(MONITOR, DEMO_TIME))?;
    findings.full_test = steps.run("demo 3: full-test", || {
        let out = shell::output(project.command(FULL_TEST, &[])?, DEMO_TIME)?;
        eprint!("{out}");
        Ok(out)
    })?;
    steps.run("scale to 4 slow workers", || {
        project.stream(SCALE, COMMAND_TIME)?;
        project.wait_healthy(WORKERS_SCALED)
    })?;
    findings.drill = steps.run("drill: kill a worker mid-task, restart Redis", || {
        drill(project)
    })?;
    steps.run("no process runs as root", || check_users(project))?;
    findings.sizes = steps.run("image sizes", || image_sizes(project))?;
    if project.root.join(MONITORING_FOLDER).is_dir() {
        super::monitoring::run(
            project,
            steps,
            &mut findings.monitoring,
            &mut findings.monitoring_up,
        )?;
    }
    if project.root.join(FINAL_FOLDER).is_dir() {
        super::final_api::run(
            project,
            steps,
            &mut findings.final_api,
            &mut findings.final_up,
        )?;
    }
    Ok(())
}

/// Makes `output/` writable for the image's user (uid 65532), as the chapter tells readers.
pub(super) fn prepare_output(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777))
            .with_context(|| format!("cannot make {} writable", dir.display()))?;
    }
    Ok(())
}

/// Image files in `dir` written at or after `since`.
pub(super) fn images_written_since(dir: &Path, since: SystemTime) -> Result<usize> {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        let fresh = entry.metadata()?.modified()? >= since;
        let image = entry
            .path()
            .extension()
            .is_some_and(|e| ["png", "jpg", "jpeg", "webp"].contains(&&*e.to_string_lossy()));
        if fresh && image {
            count += 1;
        }
    }
    Ok(count)
}

/// The failure drill: a batch of slow tasks; one worker's process killed while it holds
/// tasks, and Redis restarted while tasks remain. Every task must succeed exactly once,
/// the dead worker's tasks on a later attempt, and Docker must restart the worker by its
/// policy. Then `docker kill` of another worker shows the other side: a container you
/// stop stays stopped until you start it.
fn drill(project: &Project<'_>) -> Result<Vec<String>> {
    project.output(RESET, &[])?;
    let ids = checks::task_ids(&project.output(SUBMIT, &[])?);
    ensure!(!ids.is_empty(), "submit printed no task ids");
    let fleet = project.containers(Some("worker"))?;
    let (victim, held) = busy_worker(project, &fleet)?;
    let short = short_id(&victim);
    let pid = project.output(PID, &[("CONTAINER", &victim)])?;
    project.output(CRASH, &[("PID", pid.trim())])?;
    eprintln!(
        "killed the process of worker {short}, which held {} task(s)",
        held.len()
    );
    let before_restart = project.status()?;
    ensure!(
        !before_restart.is_settled(),
        "the batch finished before Redis could be restarted mid-run"
    );
    project.stream(RESTART_REDIS, COMMAND_TIME)?;
    let settled = wait_settled(project)?;
    settled.check_exactly_once(ids.len() as u64)?;
    // Only a worker that vanished leaves a lease to run out (Redis's restart makes retries,
    // not expired leases): what the killed worker held was taken back and run again.
    ensure!(
        settled.expired_leases >= 1,
        "no lease of the killed worker ran out: {settled:?}"
    );
    // Its last heartbeat named the tasks it held. Each takes WORKER_DELAY (8 s) and the kill
    // came seconds after the batch was submitted, so they were still in hand: each must
    // have succeeded on a later attempt.
    let mut attempts = Vec::new();
    for task in &held {
        let (state, tries) =
            checks::parse_task(&project.output(STATUS_TASK, &[("TASK_ID", task)])?)?;
        ensure!(
            state == "succeeded" && tries >= 2,
            "task {task}, which the killed worker held, is {state} after {tries} attempt(s); \
             expected succeeded on a later attempt"
        );
        attempts.push(tries.to_string());
    }
    let restarts = wait_restarted(project, &victim)?;
    project.wait_healthy(WORKERS_SCALED)?;
    // The other side of `unless-stopped`: stopped by hand, not restarted.
    let stopped = fleet
        .iter()
        .find(|c| **c != victim)
        .context("no second worker to stop")?;
    project.output(KILL, &[("CONTAINER", stopped)])?;
    let state = project.output(RESTARTS, &[("CONTAINER", stopped)])?;
    ensure!(
        state.trim() == "0 exited",
        "after `docker kill`, worker {} is `{}` (restarts, state): Docker restarted a \
         container stopped by hand",
        short_id(stopped),
        state.trim()
    );
    project.stream(START, COMMAND_TIME)?;
    project.wait_healthy(WORKERS_SCALED)?;
    Ok(vec![
        format!(
            "drill: {} tasks, all succeeded exactly once ({} retried, {} expired leases)",
            ids.len(),
            settled.retried,
            settled.expired_leases
        ),
        format!(
            "drill: worker {short} killed holding {} task(s), each succeeded on a later \
             attempt ({} attempts); Docker restarted it by its policy ({restarts} restart(s))",
            held.len(),
            attempts.join(" and ")
        ),
        format!(
            "drill: Redis restarted with {} task(s) waiting and {} in flight; none lost",
            before_restart.waiting, before_restart.in_flight
        ),
        format!(
            "drill: worker {} stopped with `docker kill` stayed down (0 restarts) until \
             `docker compose start`",
            short_id(stopped)
        ),
    ])
}

/// A worker container that holds tasks right now, and those tasks.
fn busy_worker(project: &Project<'_>, fleet: &[String]) -> Result<(String, Vec<String>)> {
    let started = Instant::now();
    loop {
        let workers = checks::parse_workers(&project.output(WORKERS, &[])?)?;
        let busy = workers.into_iter().find_map(|w| {
            let container = fleet.iter().find(|c| c.starts_with(&w.host))?;
            (!w.current.is_empty()).then(|| (container.clone(), w.current))
        });
        if let Some(found) = busy {
            return Ok(found);
        }
        ensure!(
            started.elapsed() < BUSY_TIME,
            "no worker held a task within {}s",
            BUSY_TIME.as_secs()
        );
        thread::sleep(POLL);
    }
}

/// Waits until no task waits or runs; the status then.
fn wait_settled(project: &Project<'_>) -> Result<QueueStatus> {
    let started = Instant::now();
    loop {
        let status = project.status()?;
        if status.is_settled() {
            return Ok(status);
        }
        ensure!(
            started.elapsed() < SETTLE_TIME,
            "tasks still waiting or running after {}s: {status:?}",
            SETTLE_TIME.as_secs()
        );
        thread::sleep(POLL);
    }
}

/// Waits until Docker has restarted a container and it runs; its restart count.
fn wait_restarted(project: &Project<'_>, container: &str) -> Result<u64> {
    let started = Instant::now();
    loop {
        let state = project.output(RESTARTS, &[("CONTAINER", container)])?;
        let mut words = state.split_whitespace();
        let count: u64 = words.next().unwrap_or("").parse().unwrap_or(0);
        if count >= 1 && words.next() == Some("running") {
            return Ok(count);
        }
        ensure!(
            started.elapsed() < HEALTHY_TIME,
            "the killed worker {} was not restarted within {}s (restarts, state: {})",
            short_id(container),
            HEALTHY_TIME.as_secs(),
            state.trim()
        );
        thread::sleep(POLL);
    }
}

/// A container id as Docker shows it: its first 12 characters.
fn short_id(id: &str) -> &str {
    &id[..12.min(id.len())]
}

/// Every process of every container runs as a user other than root, and our image's
/// containers as its `nonroot` user.
fn check_users(project: &Project<'_>) -> Result<()> {
    let all = project.containers(None)?;
    let users = project.inspect("container", "{{.Config.Image}} {{.Config.User}}", &all)?;
    for (id, line) in all.iter().zip(&users) {
        let short = short_id(id);
        if let Some(user) = line.strip_prefix(&format!("{IMAGE} ")) {
            ensure!(
                user == IMAGE_USER,
                "{short} runs as {user:?}, expected {IMAGE_USER}"
            );
        }
        checks::check_not_root(short, &project.output(TOP, &[("CONTAINER", id)])?)?;
    }
    eprintln!("{} containers, no process as root", all.len());
    Ok(())
}

/// The builder's and the runtime's sizes; fails when the runtime reaches the limit.
fn image_sizes(project: &Project<'_>) -> Result<Vec<String>> {
    // Every layer is in the cache: this only tags the builder stage.
    shell::output(project.command(BUILD_BUILDER, &[])?, BUILD_TIME)?;
    let sizes = project.inspect(
        "image",
        "{{.Size}}",
        &[BUILDER_IMAGE.to_owned(), IMAGE.to_owned()],
    )?;
    let parse = |text: Option<&String>| -> Result<u64> {
        text.context("no size")?
            .trim()
            .parse()
            .context("a size is no number")
    };
    let (builder, runtime) = (parse(sizes.first())?, parse(sizes.get(1))?);
    project.stream(IMAGES, COMMAND_TIME)?;
    checks::check_runtime_size(runtime)?;
    Ok(vec![
        format!(
            "image {BUILDER_IMAGE} (builder stage): {} MB",
            megabytes(builder)
        ),
        format!(
            "image {IMAGE} (runtime): {} MB, under the {} MB limit",
            megabytes(runtime),
            megabytes(checks::MAX_RUNTIME_BYTES)
        ),
    ])
}

/// No container, network or volume of the project is left.
fn check_nothing_left(project: &Project<'_>) -> Result<()> {
    let label = format!("label=com.docker.compose.project={PROJECT}");
    let mut left = Vec::new();
    for what in ["container", "network", "volume"] {
        let mut list = project
            .engine
            .docker(&[what, "ls", "--quiet", "--filter", &label]);
        if what == "container" {
            list.arg("--all");
        }
        let out = shell::output(list, COMMAND_TIME)?;
        left.extend(out.split_whitespace().map(|id| format!("{what} {id}")));
    }
    ensure!(left.is_empty(), "left behind: {}", left.join(", "));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_read_as_typed() {
        assert_eq!(
            SCALE.to_string(),
            "WORKER_DELAY=8 LEASE=10 docker compose up -d --scale worker=4"
        );
        assert_eq!(
            commands().len(),
            COMMANDS.len() + MONITORING_COMMANDS.len() + FINAL_COMMANDS.len()
        );
        assert!(commands().contains(&"docker compose down -v".to_owned()));
    }
}
