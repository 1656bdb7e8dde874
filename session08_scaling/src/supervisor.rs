//! The [`Supervisor`]: worker processes started, drained and replaced, as a Deployment's
//! ReplicaSet does with pods.
//!
//! - **Start**: `program worker --worker-id auto-N ...`, session 05's worker; its id in
//!   the registry becomes `auto-N-` and 8 random hex digits.
//! - **Drain**: SIGTERM. The worker stops taking tasks, finishes what it holds (within its
//!   `--shutdown-grace`, set to the drain grace) and exits. The control loop does not wait
//!   for it: [`Supervisor::reap`], called often, notices the exit; a worker still there a
//!   few seconds after its grace is killed, and the queue's leases bring its tasks back.
//! - **Choose whom to drain**: the worker holding the fewest tasks by its last heartbeat,
//!   the newest first on a tie (Kubernetes, too, prefers to delete the youngest pods).
//! - **Replace**: a worker that exits while nobody asked it to died: it is logged, counted
//!   and replaced at once. Workers that keep dying stop the supervisor with an error,
//!   instead of a restart loop.
//!
//! Every process still running when the supervisor is dropped is killed: no orphans when
//! the code that owns it returns an error or a test panics, as long as the program unwinds.
//! A program killed at once (SIGKILL, an abort, a signal it does not handle) runs no
//! `Drop`, and its workers live on. They stay in its process group on purpose: a Ctrl-C at
//! the terminal reaches them too, even after such a crash.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use session03_workers::logging::LogFormat;
use session04_redis::RedisOptions;
use session04_redis::runtime::SIDE_TASK_GRACE;
use session04_redis::server::terminate;
use session05_distributed::worker::HeartbeatArgs;
use tracing::{info, warn};

/// How long after its grace a draining worker is killed: its own goodbye after the grace
/// (its side tasks get [`SIDE_TASK_GRACE`] for their last words to Redis), and 5 s more
/// to give back what it could not finish and to exit.
pub const KILL_MARGIN: Duration = Duration::from_secs(5).saturating_add(SIDE_TASK_GRACE);

/// More deaths than this within [`DEATH_WINDOW`] stop the supervisor.
pub const MAX_DEATHS: usize = 5;

/// The window [`MAX_DEATHS`] is counted over.
pub const DEATH_WINDOW: Duration = Duration::from_secs(10);

/// How to start one worker process.
#[derive(Debug, Clone)]
pub struct WorkerCommand {
    /// The program, run as `program worker ...` (this crate's binary).
    pub program: PathBuf,
    /// Where Redis is; a user name and password go to the worker through its environment,
    /// not its command line.
    pub redis: RedisOptions,
    /// The queue's namespace.
    pub namespace: String,
    /// Seconds a task stays with its worker without a renewal.
    pub lease: f64,
    /// The workers' heartbeat.
    pub heartbeat: HeartbeatArgs,
    /// Seconds each worker pauses before each task (slow work on purpose), 0 for none.
    pub delay: f64,
    /// Tasks each worker runs at once; the worker's default (the CPUs) when `None`.
    pub concurrency: Option<usize>,
    /// How long a drained worker may take to finish what it holds.
    pub drain_grace: Duration,
    /// The start of each worker's name: `auto` gives `auto-1`, `auto-2` ...
    pub name_prefix: String,
    /// Let the workers' log lines through to this process's standard error.
    pub logs: bool,
    /// The format of those lines.
    pub log_format: LogFormat,
}

impl WorkerCommand {
    /// The arguments of the worker called `name`.
    pub fn args(&self, name: &str) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "worker".into(),
            "--worker-id".into(),
            name.into(),
            "--redis-url".into(),
            self.redis.url.clone(),
            "--namespace".into(),
            self.namespace.clone(),
            "--lease".into(),
            self.lease.to_string(),
            "--heartbeat".into(),
            self.heartbeat.interval.to_string(),
            "--heartbeat-ttl".into(),
            self.heartbeat.ttl.to_string(),
            "--shutdown-grace".into(),
            self.drain_grace.as_secs_f64().to_string(),
            "--log-format".into(),
            match self.log_format {
                LogFormat::Human => "human".into(),
                LogFormat::Json => "json".into(),
            },
        ];
        if self.delay > 0.0 {
            args.extend(["--delay".into(), self.delay.to_string()]);
        }
        if let Some(concurrency) = self.concurrency {
            args.extend(["--concurrency".into(), concurrency.to_string()]);
        }
        args
    }

    // ANCHOR: spawn
    /// Starts the worker called `name`.
    fn spawn(&self, name: &str) -> Result<Child> {
        let mut command = Command::new(&self.program);
        command
            .args(self.args(name))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(if self.logs {
                Stdio::inherit()
            } else {
                Stdio::null()
            });
        if let Some(username) = &self.redis.username {
            command.env("REDIS_USERNAME", username);
        }
        if let Some(password) = &self.redis.password {
            command.env("REDIS_PASSWORD", password);
        }
        command
            .spawn()
            .with_context(|| format!("cannot start {}", self.program.display()))
    }
    // ANCHOR_END: spawn
}

/// One worker process.
#[derive(Debug)]
pub struct Worker {
    name: String,
    /// The order it was started in: the newest has the largest.
    number: u32,
    child: Child,
    started: Instant,
}

impl Worker {
    /// Its name (`auto-3`), the start of its id in the registry.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// A worker asked to stop, and when.
#[derive(Debug)]
struct Draining {
    worker: Worker,
    since: Instant,
}

/// The worker processes of one autoscaler.
#[derive(Debug)]
pub struct Supervisor {
    command: WorkerCommand,
    serving: Vec<Worker>,
    draining: Vec<Draining>,
    started: u32,
    replaced: u32,
    killed: u32,
    /// When workers died lately, oldest first.
    deaths: VecDeque<Instant>,
}

impl Supervisor {
    /// A supervisor of no worker yet.
    pub fn new(command: WorkerCommand) -> Self {
        Self {
            command,
            serving: Vec::new(),
            draining: Vec::new(),
            started: 0,
            replaced: 0,
            killed: 0,
            deaths: VecDeque::new(),
        }
    }

    /// Workers serving (started and not asked to stop): the replicas.
    pub fn serving(&self) -> u32 {
        u32::try_from(self.serving.len()).unwrap_or(u32::MAX)
    }

    /// The serving workers, oldest first.
    pub fn workers(&self) -> &[Worker] {
        &self.serving
    }

    /// Workers asked to stop that have not exited yet.
    pub fn draining(&self) -> usize {
        self.draining.len()
    }

    /// Workers that died and were replaced.
    pub fn replaced(&self) -> u32 {
        self.replaced
    }

    /// Drained workers killed because they outlived their grace.
    pub fn killed(&self) -> u32 {
        self.killed
    }

    /// Workers started, replacements included.
    pub fn started(&self) -> u32 {
        self.started
    }

    /// Starts one more worker; returns its name.
    pub fn start_one(&mut self) -> Result<&str> {
        let number = self.started + 1;
        let name = format!("{}-{number}", self.command.name_prefix);
        let child = self.command.spawn(&name)?;
        // Counted once it runs: a worker that could not start was not started.
        self.started = number;
        info!(worker = %name, pid = child.id(), "started a worker");
        self.serving.push(Worker {
            name,
            number,
            child,
            started: Instant::now(),
        });
        let newest = self.serving.len() - 1;
        Ok(&self.serving[newest].name)
    }

    /// Starts or drains workers until `replicas` serve. `in_hand` holds the tasks each
    /// worker holds by process id (from the registry), to drain the least busy first.
    pub fn scale_to(&mut self, replicas: u32, in_hand: &BTreeMap<u32, usize>) -> Result<()> {
        while self.serving() < replicas {
            self.start_one()?;
        }
        while self.serving() > replicas {
            self.drain_one(in_hand);
        }
        Ok(())
    }

    // ANCHOR: drain
    /// Asks one worker to stop (SIGTERM): the one holding the fewest tasks, the newest on a
    /// tie. Returns its name, or `None` when no worker serves.
    pub fn drain_one(&mut self, in_hand: &BTreeMap<u32, usize>) -> Option<String> {
        let chosen = choose_to_drain(
            self.serving
                .iter()
                .map(|w| (in_hand.get(&w.pid()).copied().unwrap_or(0), w.number)),
        )?;
        let mut worker = self.serving.remove(chosen);
        let holding = in_hand.get(&worker.pid()).copied().unwrap_or(0);
        if let Err(error) = terminate(&mut worker.child) {
            // Already gone: the next reap sees it exit.
            warn!(worker = %worker.name, "{error:#}");
        }
        info!(worker = %worker.name, holding, "draining a worker: it finishes what it holds, then exits");
        let name = worker.name.clone();
        self.draining.push(Draining {
            worker,
            since: Instant::now(),
        });
        Some(name)
    }
    // ANCHOR_END: drain

    // ANCHOR: reap
    /// Notices the workers that exited: a drained one is done; a serving one died and is
    /// replaced. A drained worker past its grace and [`KILL_MARGIN`] is killed. Fails when
    /// a replacement cannot start, or when workers keep dying.
    pub fn reap(&mut self) -> Result<()> {
        self.reap_draining();
        let mut index = 0;
        while index < self.serving.len() {
            let Some(status) = self.serving[index].child.try_wait()? else {
                index += 1;
                continue;
            };
            let dead = self.serving.remove(index);
            warn!(
                worker = %dead.name,
                %status,
                after_seconds = dead.started.elapsed().as_secs_f64(),
                "a worker died; starting a replacement"
            );
            self.replaced += 1;
            self.note_death(status)?;
            self.start_one()?;
        }
        Ok(())
    }
    // ANCHOR_END: reap

    /// Counts a death, and fails when there were too many lately.
    fn note_death(&mut self, status: ExitStatus) -> Result<()> {
        let now = Instant::now();
        self.deaths.push_back(now);
        while self
            .deaths
            .front()
            .is_some_and(|at| now.duration_since(*at) > DEATH_WINDOW)
        {
            self.deaths.pop_front();
        }
        anyhow::ensure!(
            self.deaths.len() <= MAX_DEATHS,
            "workers keep dying: {} in the last {} s, the last with {status}; \
             --worker-logs shows what they say",
            self.deaths.len(),
            DEATH_WINDOW.as_secs()
        );
        Ok(())
    }

    /// Lets go of the drained workers that exited; kills those past their grace.
    fn reap_draining(&mut self) {
        let deadline = self.command.drain_grace + KILL_MARGIN;
        let mut killed = 0;
        self.draining.retain_mut(|draining| {
            let name = &draining.worker.name;
            let took = draining.since.elapsed().as_secs_f64();
            match draining.worker.child.try_wait() {
                Ok(Some(status)) => {
                    info!(worker = %name, %status, took_seconds = took, "a drained worker exited");
                    false
                }
                Ok(None) if draining.since.elapsed() < deadline => true,
                Ok(None) | Err(_) => {
                    let _ = draining.worker.child.kill();
                    let _ = draining.worker.child.wait();
                    warn!(
                        worker = %name,
                        took_seconds = took,
                        "a drained worker outlived its grace and was killed; \
                         its tasks come back when their leases run out"
                    );
                    killed += 1;
                    false
                }
            }
        });
        self.killed += killed;
    }

    /// Drains every worker and waits for all of them to exit (killing those past their
    /// grace): what Ctrl-C does.
    pub async fn shutdown(&mut self) {
        while self.drain_one(&BTreeMap::new()).is_some() {}
        while !self.draining.is_empty() {
            self.reap_draining();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Which worker to drain, from each one's (tasks in hand, start number): the fewest tasks,
/// then the newest. `None` when there is none.
pub fn choose_to_drain(workers: impl IntoIterator<Item = (usize, u32)>) -> Option<usize> {
    workers
        .into_iter()
        .enumerate()
        .min_by_key(|(_, (holding, number))| (*holding, std::cmp::Reverse(*number)))
        .map(|(index, _)| index)
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        let serving = self.serving.iter_mut();
        let draining = self.draining.iter_mut().map(|d| &mut d.worker);
        for worker in serving.chain(draining) {
            let _ = worker.child.kill();
            let _ = worker.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idlest_then_the_newest_is_drained() {
        assert_eq!(choose_to_drain([]), None);
        // (tasks in hand, start number)
        assert_eq!(choose_to_drain([(2, 1), (0, 2), (1, 3)]), Some(1));
        assert_eq!(choose_to_drain([(0, 1), (0, 4), (0, 3)]), Some(1));
        assert_eq!(choose_to_drain([(3, 7), (1, 2), (1, 5)]), Some(2));
    }

    #[test]
    fn a_worker_gets_the_queue_its_name_and_its_grace() {
        let command = WorkerCommand {
            program: "session08_scaling".into(),
            redis: RedisOptions::new("redis://127.0.0.1:7000"),
            namespace: "scale".into(),
            lease: 30.0,
            heartbeat: HeartbeatArgs {
                interval: 0.5,
                ttl: 2.0,
            },
            delay: 1.5,
            concurrency: Some(2),
            drain_grace: Duration::from_secs(20),
            name_prefix: "auto".into(),
            logs: false,
            log_format: LogFormat::Human,
        };
        let args = command.args("auto-3").join(" ");
        assert_eq!(
            args,
            "worker --worker-id auto-3 --redis-url redis://127.0.0.1:7000 --namespace scale \
             --lease 30 --heartbeat 0.5 --heartbeat-ttl 2 --shutdown-grace 20 \
             --log-format human --delay 1.5 --concurrency 2"
        );
    }
}
