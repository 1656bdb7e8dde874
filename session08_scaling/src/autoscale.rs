//! The `autoscale` command: the HorizontalPodAutoscaler's loop on one machine, scaling real
//! worker processes.
//!
//! Every sync period it does what the HPA controller does:
//!
//! 1. **read** the metrics, within [`READ_DEADLINE`]: the workers' CPU (their processes,
//!    as if each had asked for one core; a worker read for the first time is left out,
//!    its CPU not measured yet) and the queue's lag (from Redis);
//! 2. **decide** with [`hpa::Autoscaler`]: the formula per metric, the largest proposal,
//!    the stabilisation window, the rate policies, min and max;
//! 3. **apply**: start workers, or drain the least busy ones ([`supervisor`]);
//! 4. **log** the decision and its reason, and add a row to the [`timeline`].
//!
//! The queue's metric is its lag, as KEDA's `lagCount` is: the tasks workers hold are not
//! in it, so the pool may shrink while tasks still run. Nothing is lost: a drained worker
//! finishes what it holds.
//!
//! When Redis does not answer, it holds the size it has and says why: no decision is
//! made on missing data, and the count never drops to zero. Between two periods the
//! supervisor reaps workers often, so one that dies is replaced at once. On Ctrl-C or
//! SIGTERM every worker is drained, then the timeline is written.
//!
//! It keeps the last [`MAX_HISTORY`] decisions and timeline rows (about 8 days at one
//! every 15 s), so a long run's memory stays bounded; `--timeline` writes those rows.
//!
//! `--speed` divides every window, period and the sync period, to watch in a minute what
//! the course's behaviour block does in four.
//!
//! [`supervisor`]: crate::supervisor
//! [`timeline`]: crate::timeline

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use clap::{Args, FromArgMatches};
use session03_workers::cli::{seconds, shutdown_signal};
use session03_workers::logging::LogFormat;
use session04_redis::RedisQueue;
use session04_redis::cli::QueueArgs;
use session05_distributed::Registry;
use session05_distributed::worker::HeartbeatArgs;
use session06_docker::batch;
use tracing::{info, warn};

use crate::hpa::{
    self, Autoscaler, Behavior, Decision, MetricSample, Policy, PolicyKind, Rules, SelectPolicy,
    Spec, SpecError, Target,
};
use crate::metrics::{self, Host, QueueSignals};
use crate::supervisor::{Supervisor, WorkerCommand};
use crate::timeline::{self, TimelineRow};

/// How long one reading of the metrics may take; past it, Redis counts as unreachable.
pub const READ_DEADLINE: Duration = Duration::from_secs(2);

/// How long the autoscaler waits for Redis when it starts.
pub const OPEN_DEADLINE: Duration = Duration::from_secs(30);

/// How often the supervisor looks for workers that exited.
pub const REAP_EVERY: Duration = Duration::from_millis(100);

/// The shortest sync period, at any `--speed`: the workers' CPU is measured from one
/// period to the next, and `sysinfo` refreshes CPU times at most every 200 ms.
pub const MIN_SYNC_PERIOD: Duration = Duration::from_millis(500);

/// The most workers `--max` allows: each worker is a process on this machine.
pub const MAX_WORKERS: u32 = 64;

/// The decisions and timeline rows kept, the newest: 50 000 rows, about 8 days at one
/// every 15 s.
pub const MAX_HISTORY: usize = 50_000;

/// Runs worker processes and scales them to the load, as an HPA would.
// ANCHOR: args
#[derive(Debug, Clone, clap::Args)]
pub struct AutoscaleArgs {
    /// The queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// The workers' heartbeat.
    #[command(flatten)]
    pub heartbeat: HeartbeatArgs,
    /// The fewest workers (`minReplicas`).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub min: u32,
    /// The most workers (`maxReplicas`), at most 64.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub max: u32,
    /// Workers at the start [default: --min].
    #[arg(long, value_name = "N")]
    pub initial: Option<u32>,
    /// Seconds between two decisions (the HPA's sync period).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 15.0,
        allow_negative_numbers = true
    )]
    pub sync_period: f64,
    /// Runs the clock faster: divides every window, period and the sync period.
    #[arg(
        long,
        value_name = "FACTOR",
        default_value_t = 1.0,
        allow_negative_numbers = true
    )]
    pub speed: f64,
    /// The workers' average CPU to aim at, in percent of one core each.
    #[arg(
        long,
        value_name = "PERCENT",
        default_value_t = 70.0,
        allow_negative_numbers = true
    )]
    pub target_cpu: f64,
    /// Tasks waiting per worker to aim at (the queue's lag over the workers).
    #[arg(
        long,
        value_name = "TASKS",
        default_value_t = 5.0,
        allow_negative_numbers = true
    )]
    pub target_lag: f64,
    /// Seconds of recommendations a scale-up looks back on (it takes their lowest).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 30.0,
        allow_negative_numbers = true
    )]
    pub scale_up_window: f64,
    /// The most a scale-up adds per period, in percent of the workers.
    #[arg(
        long,
        value_name = "PERCENT",
        default_value_t = 100,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub scale_up_percent: u32,
    /// The period of --scale-up-percent, in seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60.0,
        allow_negative_numbers = true
    )]
    pub scale_up_period: f64,
    /// Seconds of recommendations a scale-down looks back on (it takes their highest).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60.0,
        allow_negative_numbers = true
    )]
    pub scale_down_window: f64,
    /// The most a scale-down removes per period, in percent of the workers.
    #[arg(
        long,
        value_name = "PERCENT",
        default_value_t = 50,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub scale_down_percent: u32,
    /// The period of --scale-down-percent, in seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60.0,
        allow_negative_numbers = true
    )]
    pub scale_down_period: f64,
    /// Seconds each worker pauses before each task (slow work on purpose).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub worker_delay: f64,
    /// Tasks each worker runs at once [default: the worker's, the number of CPUs].
    #[arg(long, value_name = "N")]
    pub worker_concurrency: Option<usize>,
    /// Seconds a drained worker gets to finish what it holds before it is stopped.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 30.0,
        allow_negative_numbers = true
    )]
    pub drain_grace: f64,
    /// Let the workers' log lines through to standard error.
    #[arg(long)]
    pub worker_logs: bool,
    /// Write the timeline to this CSV file at the end (its last 50 000 rows).
    #[arg(long, value_name = "FILE")]
    pub timeline: Option<PathBuf>,
    /// Draw the timeline into this PNG file at the end.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Stop after this many seconds [default: at Ctrl-C or SIGTERM].
    #[arg(long = "for", value_name = "SECONDS", allow_negative_numbers = true)]
    pub for_seconds: Option<f64>,
    /// Log lines as text for people or JSON for machines.
    #[arg(long, value_enum, env = "LOG_FORMAT", default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}
// ANCHOR_END: args

/// The autoscaler's settings, checked, with `--speed` applied.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The HPA's spec at this speed.
    pub spec: Spec,
    /// How often to decide, at this speed.
    pub sync_period: Duration,
    /// How many times faster than real time the clock runs.
    pub speed: f64,
    /// The CPU target, percent of one core per worker.
    pub target_cpu: f64,
    /// The lag target, tasks per worker.
    pub target_lag: f64,
    /// Workers at the start.
    pub initial: u32,
    /// When to stop by itself, if ever.
    pub limit: Option<Duration>,
}

impl AutoscaleArgs {
    /// The flags for a queue at `url`, every other flag at its default (no environment
    /// variable read): what the demo and the tests start from.
    pub fn for_url(url: &str) -> Self {
        let command = Self::augment_args(clap::Command::new("autoscale"))
            .mut_args(|arg| arg.env(None::<&str>));
        let matches = command
            .try_get_matches_from(["autoscale".to_owned(), format!("--redis-url={url}")])
            .expect("every autoscale flag has a default, and any text is a URL to try");
        Self::from_arg_matches(&matches).expect("the matches come from these flags")
    }

    /// The HPA's spec these flags describe, at real speed: the numbers a manifest's
    /// `minReplicas`, `maxReplicas` and `behavior` would hold.
    pub fn spec(&self) -> Result<Spec, SpecError> {
        let rules = |window: (&str, f64), percent: u32, period: (&str, f64)| {
            Ok::<_, SpecError>(Rules {
                stabilization_window: hpa::spec::seconds(window.0, window.1)?,
                select: SelectPolicy::Max,
                policies: vec![Policy {
                    kind: PolicyKind::Percent,
                    value: percent,
                    period: hpa::spec::seconds(period.0, period.1)?,
                }],
            })
        };
        let behavior = Behavior {
            scale_up: rules(
                ("--scale-up-window", self.scale_up_window),
                self.scale_up_percent,
                ("--scale-up-period", self.scale_up_period),
            )?,
            scale_down: rules(
                ("--scale-down-window", self.scale_down_window),
                self.scale_down_percent,
                ("--scale-down-period", self.scale_down_period),
            )?,
        };
        Spec::new(self.min, self.max, behavior)
    }

    /// Every setting checked, each error naming the rule it breaks; the spec and the sync
    /// period at `--speed`.
    pub fn settings(&self) -> Result<Settings> {
        let (min, max, speed) = (self.min, self.max, self.speed);
        // The spec says this too, in the manifest's words; here in the flags'.
        anyhow::ensure!(min >= 1, "--min ({min}) must be at least 1");
        anyhow::ensure!(min <= max, "--min ({min}) must not exceed --max ({max})");
        anyhow::ensure!(
            max <= MAX_WORKERS,
            "--max ({max}) must be at most {MAX_WORKERS}: each worker is a process on this machine"
        );
        // Written so that NaN is refused too.
        anyhow::ensure!(
            speed > 0.0 && speed.is_finite(),
            "--speed ({speed}) must be a positive number: it divides every window and period"
        );
        let at_speed = format!(" at --speed {speed}");
        let spec = self.spec().map_err(|error| naming_flags(error, ""))?;
        let behavior = spec
            .behavior
            .scaled(speed)
            .map_err(|error| naming_flags(error, &at_speed))?;
        let spec = Spec::new(min, max, behavior).map_err(|error| naming_flags(error, &at_speed))?;
        let sync_period = seconds("sync-period", self.sync_period)?.as_secs_f64() / speed;
        let sync_period = Duration::try_from_secs_f64(sync_period)
            .with_context(|| format!("--sync-period at --speed {speed} is out of range"))?;
        anyhow::ensure!(
            sync_period >= MIN_SYNC_PERIOD,
            "--sync-period ({}) at --speed {speed} decides every {:.3} s; it must be at least \
             {} s: the workers' CPU is measured between two periods, and sysinfo refreshes \
             CPU times at most every 200 ms",
            self.sync_period,
            sync_period.as_secs_f64(),
            MIN_SYNC_PERIOD.as_secs_f64()
        );
        Target::Utilization(self.target_cpu).check("--target-cpu")?;
        Target::AverageValue(self.target_lag).check("--target-lag")?;
        let initial = self.initial.unwrap_or(self.min);
        anyhow::ensure!(
            (self.min..=self.max).contains(&initial),
            "--initial ({initial}) must be between --min ({}) and --max ({})",
            self.min,
            self.max
        );
        anyhow::ensure!(
            self.worker_delay.is_finite() && self.worker_delay >= 0.0,
            "--worker-delay ({}) must be 0 or more seconds",
            self.worker_delay
        );
        anyhow::ensure!(
            self.worker_concurrency != Some(0),
            "--worker-concurrency must be at least 1"
        );
        seconds("drain-grace", self.drain_grace)?;
        self.heartbeat.config()?;
        Ok(Settings {
            spec,
            sync_period,
            speed,
            target_cpu: self.target_cpu,
            target_lag: self.target_lag,
            initial,
            limit: self.for_seconds.map(|s| seconds("for", s)).transpose()?,
        })
    }

    /// How to start each worker.
    fn worker_command(&self, program: &Path) -> Result<WorkerCommand> {
        Ok(WorkerCommand {
            program: program.to_path_buf(),
            redis: self.queue.redis.clone(),
            namespace: self.queue.namespace.clone(),
            lease: self.queue.lease,
            heartbeat: self.heartbeat.clone(),
            delay: self.worker_delay,
            concurrency: self.worker_concurrency,
            drain_grace: seconds("drain-grace", self.drain_grace)?,
            name_prefix: "auto".to_owned(),
            logs: self.worker_logs,
            log_format: self.log_format,
        })
    }
}

/// A broken rule of the spec, with the flags that set it named first.
fn naming_flags(error: SpecError, when: &str) -> anyhow::Error {
    let flags = match &error {
        SpecError::Window { direction, .. }
        | SpecError::Period { direction, .. }
        | SpecError::Value { direction, .. }
        | SpecError::NoPolicy { direction } => match *direction {
            "scaleUp" => "--scale-up-window/--scale-up-percent/--scale-up-period",
            _ => "--scale-down-window/--scale-down-percent/--scale-down-period",
        },
        SpecError::MinReplicas(_) | SpecError::MinAboveMax { .. } => "--min/--max",
        // The error names its flag itself.
        _ => return error.into(),
    };
    anyhow::Error::new(error).context(format!("{flags}{when}"))
}

/// Why [`Autoscale::run_until`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The condition it was given became true.
    Done,
    /// Its time ran out.
    Deadline,
    /// Ctrl-C or SIGTERM.
    Signal,
}

/// A running autoscaler: its workers, its controller, and what it did so far.
#[derive(Debug)]
pub struct Autoscale {
    settings: Settings,
    autoscaler: Autoscaler,
    supervisor: Supervisor,
    queue: RedisQueue,
    registry: Registry,
    host: Host,
    started: Instant,
    /// The last [`MAX_HISTORY`] decisions, oldest first.
    decisions: VecDeque<Decision>,
    /// The last [`MAX_HISTORY`] timeline rows, oldest first.
    timeline: VecDeque<TimelineRow>,
    /// Decisions made since the start, those no longer kept included.
    decisions_made: u64,
    /// Decisions that changed the number of workers, since the start.
    changes_made: u64,
    /// The most workers a decision asked for.
    peak: u32,
    /// The queue's depth at the last reading that worked.
    last_depth: u64,
}

impl Autoscale {
    /// Checks the flags, connects to Redis and starts the first workers as
    /// `program worker ...`.
    pub async fn start(args: &AutoscaleArgs, program: &Path) -> Result<Self> {
        let settings = args.settings()?;
        let (queue, _) = batch::open(&args.queue, OPEN_DEADLINE).await?;
        let registry = Registry::new(queue.connection(), queue.keys(), args.heartbeat.config()?);
        let mut supervisor = Supervisor::new(args.worker_command(program)?);
        for _ in 0..settings.initial {
            supervisor.start_one()?;
        }
        let up = &settings.spec.behavior.scale_up;
        let down = &settings.spec.behavior.scale_down;
        info!(
            "autoscaling {} to {} workers, deciding every {:.2} s (speed {}): up after {:.1} s, \
             down after {:.1} s; targets {} % CPU, {} waiting tasks per worker",
            settings.spec.min_replicas,
            settings.spec.max_replicas,
            settings.sync_period.as_secs_f64(),
            settings.speed,
            up.stabilization_window.as_secs_f64(),
            down.stabilization_window.as_secs_f64(),
            settings.target_cpu,
            settings.target_lag
        );
        Ok(Self {
            autoscaler: Autoscaler::new(settings.spec.clone()),
            settings,
            supervisor,
            queue,
            registry,
            host: Host::new()?,
            started: Instant::now(),
            decisions: VecDeque::new(),
            timeline: VecDeque::new(),
            decisions_made: 0,
            changes_made: 0,
            peak: 0,
            last_depth: 0,
        })
    }

    /// Its settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Its workers.
    pub fn supervisor(&self) -> &Supervisor {
        &self.supervisor
    }

    /// The last [`MAX_HISTORY`] decisions, oldest first.
    pub fn decisions(&self) -> &VecDeque<Decision> {
        &self.decisions
    }

    /// How many decisions it made, those no longer kept included.
    pub fn decisions_made(&self) -> u64 {
        self.decisions_made
    }

    /// The last [`MAX_HISTORY`] rows of its timeline, oldest first.
    pub fn timeline(&self) -> &VecDeque<TimelineRow> {
        &self.timeline
    }

    /// Time since it started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The queue it watches.
    pub fn queue(&self) -> &RedisQueue {
        &self.queue
    }

    /// The registry its workers beat in.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    // ANCHOR: tick
    /// One sync period: reap, read, decide, apply, log, record. Fails only when workers
    /// cannot be started (or keep dying); Redis not answering is a decision to hold.
    pub async fn tick(&mut self) -> Result<&Decision> {
        // A worker that died since the last reap is replaced now, not drained as if it served.
        self.supervisor.reap()?;
        let now = self.started.elapsed();
        let current = self.supervisor.serving();
        let pids: Vec<u32> = self.supervisor.workers().iter().map(|w| w.pid()).collect();
        // As if each worker had asked for one core: the HPA's utilisation of requests.
        let cpu = self.host.processes_cpu(&pids).average();
        let decision = match self.read_queue().await {
            Ok(queue) => {
                self.last_depth = queue.waiting;
                let samples = self.samples(queue.lag, cpu);
                let decision = self.autoscaler.decide(now, current, &samples);
                log(&decision, queue.lag, cpu);
                decision
            }
            Err(why) => {
                warn!("holding at {}: {why}", count_workers(current));
                self.autoscaler.hold(now, current, &why)
            }
        };
        self.apply(decision.desired).await?;
        Ok(self.record(now, current, cpu, decision))
    }
    // ANCHOR_END: tick

    /// The queue's signals within [`READ_DEADLINE`], or why there are none: Redis
    /// unreachable (no answer, or an error and no answer to a PING either), or a queue
    /// Redis holds but that cannot be read.
    async fn read_queue(&self) -> Result<QueueSignals, String> {
        let read = tokio::time::timeout(READ_DEADLINE, metrics::queue_signals(&self.queue));
        let error = match read.await {
            Ok(Ok(signals)) => return Ok(signals),
            Ok(Err(error)) => error,
            Err(_) => {
                let seconds = READ_DEADLINE.as_secs_f64();
                return Err(format!("Redis unreachable: no answer within {seconds} s"));
            }
        };
        if self.redis_answers().await {
            Err(format!("cannot read the queue: {error:#}"))
        } else {
            Err(format!("Redis unreachable: {error:#}"))
        }
    }

    /// Whether Redis answers a PING within [`READ_DEADLINE`].
    async fn redis_answers(&self) -> bool {
        let mut conn = self.queue.connection();
        let ping = redis::cmd("PING");
        let answer = tokio::time::timeout(READ_DEADLINE, ping.query_async::<String>(&mut conn));
        matches!(answer.await, Ok(Ok(_)))
    }

    /// The metrics of one period: the workers' CPU once it is measured (unknown is not
    /// 0 %: counted as idle, a fresh pool would shrink), and the queue's lag.
    fn samples(&self, lag: u64, cpu: Option<f64>) -> Vec<MetricSample> {
        let target_cpu = self.settings.target_cpu;
        let cpu = cpu.map(|cpu| MetricSample::utilization("cpu", cpu, target_cpu));
        let lag = MetricSample::average_value("queue lag", lag as f64, self.settings.target_lag);
        cpu.into_iter().chain([lag]).collect()
    }

    /// Starts or drains workers until `desired` serve. To drain, it reads from the registry
    /// what each worker holds, so the least busy go first.
    async fn apply(&mut self, desired: u32) -> Result<()> {
        let in_hand = if desired < self.supervisor.serving() {
            self.tasks_in_hand().await
        } else {
            BTreeMap::new()
        };
        self.supervisor.scale_to(desired, &in_hand)
    }

    /// The tasks each worker holds by its last beat, by process id; none known when the
    /// registry cannot be read (then the newest workers are drained first).
    async fn tasks_in_hand(&self) -> BTreeMap<u32, usize> {
        match tokio::time::timeout(READ_DEADLINE, self.registry.list()).await {
            Ok(Ok(workers)) => metrics::in_hand_by_pid(&workers),
            Ok(Err(error)) => {
                warn!("cannot read the worker registry, draining the newest first: {error:#}");
                BTreeMap::new()
            }
            Err(_) => {
                warn!(
                    "the worker registry did not answer within {} s, draining the newest first",
                    READ_DEADLINE.as_secs_f64()
                );
                BTreeMap::new()
            }
        }
    }

    /// Keeps the decision and its timeline row (the last [`MAX_HISTORY`] of each), counts
    /// it, and returns it.
    fn record(
        &mut self,
        now: Duration,
        current: u32,
        cpu: Option<f64>,
        decision: Decision,
    ) -> &Decision {
        let row = TimelineRow {
            seconds: now.as_secs_f64(),
            replicas: current,
            desired: decision.desired,
            queue_depth: self.last_depth,
            // Not measured yet: 0 in the table and the plot.
            cpu_percent: cpu.unwrap_or(0.0),
        };
        keep_last(&mut self.timeline, row);
        self.decisions_made += 1;
        if decision.desired != decision.current {
            self.changes_made += 1;
        }
        self.peak = self.peak.max(decision.desired);
        keep_last(&mut self.decisions, decision);
        self.decisions.back().expect("a decision was just kept")
    }

    /// Decides every sync period, and reaps workers in between, until `done` says so after
    /// a decision, `limit` has passed, or Ctrl-C or SIGTERM comes.
    pub async fn run_until(
        &mut self,
        limit: Option<Duration>,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Result<Ended> {
        let signal = shutdown_signal()?;
        tokio::pin!(signal);
        let deadline = async {
            match limit {
                Some(limit) => tokio::time::sleep(limit).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(deadline);
        let mut sync = tokio::time::interval(self.settings.sync_period);
        sync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reap = tokio::time::interval(REAP_EVERY);
        loop {
            tokio::select! {
                // In this order when several are ready: a Ctrl-C from a terminal reaches
                // the workers too, and their exits must not look like deaths.
                biased;
                () = &mut signal => return Ok(Ended::Signal),
                () = &mut deadline => return Ok(Ended::Deadline),
                _ = sync.tick() => {
                    self.tick().await?;
                    if done(self) {
                        return Ok(Ended::Done);
                    }
                }
                _ = reap.tick() => self.supervisor.reap()?,
            }
        }
    }

    /// Drains every worker and waits for them (each within its grace).
    pub async fn shutdown(&mut self) {
        info!("draining every worker");
        self.supervisor.shutdown().await;
    }

    /// What it did, in a few lines.
    pub fn report(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "autoscaled for {:.1} s: {} decisions, {} changes, at most {}; \
             {} started, {} died and were replaced, {} killed after their drain grace",
            self.elapsed().as_secs_f64(),
            self.decisions_made,
            self.changes_made,
            count_workers(self.peak),
            self.supervisor.started(),
            self.supervisor.replaced(),
            self.supervisor.killed()
        );
        out
    }
}

/// Adds `item` at the end of `history`, dropping the oldest once [`MAX_HISTORY`] are kept.
fn keep_last<T>(history: &mut VecDeque<T>, item: T) {
    if history.len() >= MAX_HISTORY {
        history.pop_front();
    }
    history.push_back(item);
}

/// "1 worker", "3 workers".
pub fn count_workers(n: u32) -> String {
    if n == 1 {
        "1 worker".to_owned()
    } else {
        format!("{n} workers")
    }
}

/// Logs a decision: one line, with what it saw and why.
fn log(decision: &Decision, lag: u64, cpu: Option<f64>) {
    let seconds = decision.at.as_secs_f64();
    // Left out of the line while not measured.
    let cpu = cpu.map(f64::round);
    if decision.desired == decision.current {
        info!(
            seconds,
            lag,
            cpu,
            "keeping {}: {}",
            count_workers(decision.current),
            decision.reason
        );
    } else {
        info!(
            seconds,
            lag,
            cpu,
            "scaling from {} to {}: {}",
            decision.current,
            count_workers(decision.desired),
            decision.reason
        );
    }
}

// ANCHOR: run
/// The `autoscale` command, with workers run as `program worker ...`: until Ctrl-C,
/// SIGTERM or `--for`, then every worker drained and the timeline written.
pub async fn run(args: AutoscaleArgs, program: &Path) -> Result<String> {
    let mut autoscale = Autoscale::start(&args, program).await?;
    let limit = autoscale.settings().limit;
    let ended = autoscale.run_until(limit, |_| false).await;
    autoscale.shutdown().await;
    let rows: Vec<TimelineRow> = autoscale.timeline().iter().copied().collect();
    if let Some(path) = &args.timeline {
        timeline::write_csv(path, &rows)?;
    }
    if let Some(path) = &args.plot {
        timeline::draw_png(path, &rows)?;
    }
    ended?;
    Ok(autoscale.report())
}
// ANCHOR_END: run

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_course_behaviour_at_real_speed() {
        let args = AutoscaleArgs::for_url("redis://127.0.0.1:1");
        assert_eq!(args.spec().unwrap().behavior, Behavior::course());
        let settings = args.settings().unwrap();
        assert_eq!(settings.sync_period, Duration::from_secs(15));
        assert_eq!((settings.initial, settings.limit), (1, None));
    }

    #[test]
    fn nonsense_is_refused_with_the_rule() {
        let refused = |change: fn(&mut AutoscaleArgs)| {
            let mut args = AutoscaleArgs::for_url("redis://127.0.0.1:1");
            change(&mut args);
            format!("{:#}", args.settings().unwrap_err())
        };
        assert!(refused(|a| a.speed = 0.0).contains("--speed (0) must be a positive number"));
        assert!(refused(|a| a.min = 5).contains("--min (5) must not exceed --max (4)"));
        assert!(refused(|a| a.speed = 100.0).contains("at --speed 100"));
        assert!(refused(|a| a.target_lag = f64::NAN).contains("--target-lag"));
        assert!(refused(|a| a.initial = Some(9)).contains("--initial (9) must be between"));
        assert!(refused(|a| a.sync_period = -1.0).contains("--sync-period"));
        assert!(refused(|a| a.worker_concurrency = Some(0)).contains("--worker-concurrency"));
        assert!(refused(|a| a.max = 65).contains("--max (65) must be at most 64"));
        let too_often = refused(|a| a.speed = 40.0);
        assert!(
            too_often.contains("it must be at least 0.5 s"),
            "{too_often}"
        );
        let no_change = refused(|a| a.scale_down_percent = 0);
        assert!(
            no_change.contains("--scale-down-window/--scale-down-percent/--scale-down-period: "),
            "{no_change}"
        );
    }

    #[test]
    fn the_history_keeps_the_newest() {
        let mut history = VecDeque::new();
        for n in 0..MAX_HISTORY + 3 {
            keep_last(&mut history, n);
        }
        assert_eq!(history.len(), MAX_HISTORY);
        assert_eq!(
            (history.front(), history.back()),
            (Some(&3), Some(&(MAX_HISTORY + 2)))
        );
    }
}
