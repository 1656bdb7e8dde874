//! The original course's advisory "scaling recommendation", on the HPA's own formula.
//!
//! The recommender reads the system once (CPU, memory, the queue's lag, the workers) and
//! says how many workers it would run: each signal proposes a count with
//! [`formula::proposal`](crate::hpa::formula::proposal), exactly as an HPA metric does
//! (CPU as a utilisation, the lag as an average value per worker), the largest proposal
//! wins, and minReplicas and maxReplicas bound it. It changes nothing: one reading has no
//! history, so there is no stabilisation window and no rate policy here; the `autoscale`
//! command adds those. As the HPA does, it never scales down while a signal cannot be
//! read (it keeps the workers there are, and says why), but scales up on the others.
//!
//! **Memory is not a scaling signal.** An HPA's memory utilisation is each pod's use over
//! its own request: more pods share the load, and each uses less. Here the workers share
//! one machine, and its memory in use counts everything on it: another worker adds its
//! own memory and takes none away, so the formula's "more workers, lower use" does not
//! hold. Memory therefore only says how sure and how urgent a recommendation is (below).
//! The CPU reading is the machine's too; it stands in for the pods' average, as in the
//! original course, and the lag is the signal that tracks the work itself.
//!
//! It also says how sure it is and how urgent the change is:
//!
//! - **confidence**, from 0 to 1, starts at 1 and is multiplied by 0.7 when the signals
//!   disagree (one asks for more workers, another for fewer), by 0.8 when no task has
//!   finished yet (nothing shows the workers keep up), by 0.8 when fewer than 90 % of the
//!   finished tasks succeeded and by 0.5 when fewer than half did (more workers do not
//!   fix failing tasks), and by 0.8 for a scale-up when the machine's memory is at or
//!   above its target (the new workers would need memory the machine may not have);
//! - **urgency** is `CRITICAL` when tasks wait and no worker runs, when fewer than half
//!   the finished tasks succeeded, or when the lag per worker is 5 times its target or
//!   more; `HIGH` when the lag per worker is twice its target or more, or CPU or memory is
//!   at 90 % or more; `MEDIUM` for any other scale-up, or when fewer than 90 % of the
//!   finished tasks succeeded; `LOW` otherwise.

use std::fmt::{self, Write as _};

use anyhow::Result;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;
use session04_redis::cli::QueueArgs;
use session05_distributed::Registry;
use session05_distributed::worker::HeartbeatArgs;

use crate::hpa::formula::{MetricSample, Proposal, Target, proposal};
use crate::hpa::{Behavior, Spec, SpecError};
use crate::metrics::{Host, read_system};

/// What the recommender reads.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SystemMetrics {
    /// The machine's (or pods') CPU use, percent.
    pub cpu_percent: f64,
    /// The machine's memory in use, percent (not a scaling signal: see the module's guide).
    pub memory_percent: f64,
    /// Tasks waiting (not taken, or waiting for a retry).
    pub queue_depth: u64,
    /// Stream entries no worker has taken yet.
    pub queue_lag: u64,
    /// Tasks leased by a worker.
    pub pending: u64,
    /// Live workers holding at least one task.
    pub busy_workers: u32,
    /// Live workers.
    pub total_workers: u32,
    /// Succeeded over finished, when anything finished.
    pub success_rate: Option<f64>,
}

/// What each signal aims at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Targets {
    /// CPU use, percent (70).
    pub cpu_percent: f64,
    /// The machine's memory in use, percent (80), at or above which a scale-up is less
    /// sure.
    pub memory_percent: f64,
    /// Tasks waiting per worker (10).
    pub lag_per_worker: f64,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            cpu_percent: 70.0,
            memory_percent: 80.0,
            lag_per_worker: 10.0,
        }
    }
}

impl Targets {
    /// Targets, each checked to be a positive number (named by its flag in the error).
    pub fn new(
        cpu_percent: f64,
        memory_percent: f64,
        lag_per_worker: f64,
    ) -> Result<Self, SpecError> {
        Target::Utilization(cpu_percent).check("--target-cpu")?;
        Target::Utilization(memory_percent).check("--target-memory")?;
        Target::AverageValue(lag_per_worker).check("--target-lag")?;
        Ok(Targets {
            cpu_percent,
            memory_percent,
            lag_per_worker,
        })
    }
}

// ANCHOR: action
/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    /// Run more workers.
    ScaleUp,
    /// Run fewer workers.
    ScaleDown,
    /// Keep the workers there are.
    Maintain,
}
// ANCHOR_END: action

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::ScaleUp => "SCALE_UP",
            Action::ScaleDown => "SCALE_DOWN",
            Action::Maintain => "MAINTAIN",
        })
    }
}

/// How soon the change matters (the rule is in the module's guide).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Urgency {
    /// Whenever convenient.
    Low,
    /// Soon.
    Medium,
    /// Now.
    High,
    /// Tasks are not being done.
    Critical,
}

impl fmt::Display for Urgency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Urgency::Low => "LOW",
            Urgency::Medium => "MEDIUM",
            Urgency::High => "HIGH",
            Urgency::Critical => "CRITICAL",
        })
    }
}

/// One signal: its reading and what it asks for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signal {
    /// The reading, as an HPA metric.
    pub metric: MetricSample,
    /// What the formula makes of it.
    pub proposal: Proposal,
}

/// The recommendation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// Live workers now.
    pub current_replicas: u32,
    /// The workers it would run.
    pub recommended_replicas: u32,
    /// Up, down, or as it is.
    pub action: Action,
    /// Why, in words.
    pub reason: String,
    /// From 0 to 1: how far to trust it (the rule is in the module's guide).
    pub confidence: f64,
    /// How soon it matters.
    pub urgency: Urgency,
    /// Each scaling signal (CPU and the queue's lag) and what it asks for.
    pub signals: Vec<Signal>,
    /// What was read.
    pub metrics: SystemMetrics,
}

// ANCHOR: recommend
/// Recommends a number of workers for `metrics`, within `spec`'s minReplicas and
/// maxReplicas, each signal judged against `targets` with `spec`'s tolerance.
pub fn recommend(metrics: &SystemMetrics, spec: &Spec, targets: &Targets) -> Recommendation {
    let current = metrics.total_workers;
    let samples = [
        MetricSample::utilization("CPU", metrics.cpu_percent, targets.cpu_percent),
        MetricSample::average_value(
            "queue lag",
            metrics.queue_lag as f64,
            targets.lag_per_worker,
        ),
    ];
    let signals: Vec<Signal> = samples
        .into_iter()
        .map(|metric| Signal {
            proposal: proposal(current, &metric, spec.tolerance),
            metric,
        })
        .collect();
    // The largest proposal of a usable signal wins, as with an HPA's metrics.
    let problems: Vec<String> = signals.iter().filter_map(|s| s.metric.problem()).collect();
    let usable: Vec<&Signal> = signals
        .iter()
        .filter(|signal| signal.metric.problem().is_none())
        .collect();
    let winner = usable.iter().copied().reduce(|best, signal| {
        if signal.proposal.replicas > best.proposal.replicas {
            signal
        } else {
            best
        }
    });
    let asked = winner.map_or(current, |signal| signal.proposal.replicas);
    // A signal unusable: scale up on the others, never down.
    let held_down = !problems.is_empty() && asked < current;
    let wanted = if held_down { current } else { asked };
    let recommended = if wanted > spec.max_replicas {
        spec.max_replicas
    } else if wanted < spec.min_replicas {
        spec.min_replicas
    } else {
        wanted
    };
    let action = match recommended.cmp(&current) {
        std::cmp::Ordering::Greater => Action::ScaleUp,
        std::cmp::Ordering::Less => Action::ScaleDown,
        std::cmp::Ordering::Equal => Action::Maintain,
    };
    // ANCHOR_END: recommend
    let outcome = Outcome {
        winner,
        problems,
        held_down,
        wanted,
        recommended,
        action,
    };
    let reason = reason(metrics, spec, targets, &outcome);
    let disagree = usable.iter().any(|s| s.proposal.replicas > current)
        && usable.iter().any(|s| s.proposal.replicas < current);
    Recommendation {
        current_replicas: current,
        recommended_replicas: recommended,
        action,
        reason,
        confidence: confidence(metrics, targets, action, disagree),
        urgency: urgency(metrics, targets, action),
        signals,
        metrics: metrics.clone(),
    }
}

/// What [`recommend`] worked out, for the reason.
struct Outcome<'a> {
    /// The usable signal with the largest proposal.
    winner: Option<&'a Signal>,
    /// Why the other signals cannot be used.
    problems: Vec<String>,
    /// Whether an unusable signal kept the workers from going down.
    held_down: bool,
    /// What the signals ask for, before minReplicas and maxReplicas.
    wanted: u32,
    /// After them.
    recommended: u32,
    /// Up, down or as it is.
    action: Action,
}

/// The queue's part of a reason: `queue lag 340 tasks, 4 of 4 workers busy`.
fn lag_clause(metrics: &SystemMetrics) -> String {
    let lag = metrics.queue_lag;
    if metrics.total_workers == 0 {
        format!("queue lag {lag} tasks and no worker running")
    } else {
        format!(
            "queue lag {lag} tasks, {} of {} workers busy",
            metrics.busy_workers, metrics.total_workers
        )
    }
}

/// One signal's part of a reason: `CPU 92% against its 70% target`.
fn signal_clause(metrics: &SystemMetrics, signal: &Signal) -> String {
    match signal.metric.target {
        Target::AverageValue(_) => lag_clause(metrics),
        target => format!(
            "{} {}% against its {}% target",
            signal.metric.name,
            whole(signal.metric.current),
            whole(target.value())
        ),
    }
}

/// A percentage to the unit: `92`.
fn whole(value: f64) -> String {
    format!("{value:.0}")
}

fn reason(
    metrics: &SystemMetrics,
    spec: &Spec,
    targets: &Targets,
    outcome: &Outcome<'_>,
) -> String {
    let (min, max) = (spec.min_replicas, spec.max_replicas);
    let current = metrics.total_workers;
    let problems = outcome.problems.join("; ");
    let Some(winner) = outcome.winner else {
        return format!("no usable signal ({problems}): only minReplicas and maxReplicas apply");
    };
    let cause = signal_clause(metrics, winner);
    let (wanted, recommended) = (outcome.wanted, outcome.recommended);
    let mut text = match outcome.action {
        Action::ScaleUp if wanted > recommended => {
            format!("{cause}; capped at maxReplicas ({max})")
        }
        // Raised to the minimum: the signals alone ask for fewer.
        Action::ScaleUp if wanted < recommended => {
            if metrics.queue_lag > 0 {
                format!("{cause}; raised to minReplicas ({min})")
            } else {
                format!("{current} workers running, below minReplicas ({min})")
            }
        }
        Action::ScaleUp => cause,
        // Lowered to the maximum, whatever the signals ask.
        Action::ScaleDown if wanted > recommended => {
            format!("{current} workers running, above maxReplicas ({max})")
        }
        Action::ScaleDown => {
            let mut text = format!(
                "all signals below target: CPU {}% (target {}%), {} (target {} per worker)",
                whole(metrics.cpu_percent),
                whole(targets.cpu_percent),
                lag_clause(metrics),
                crate::hpa::formula::number(targets.lag_per_worker)
            );
            if wanted < recommended {
                let _ = write!(text, "; held at minReplicas ({min})");
            }
            text
        }
        Action::Maintain if outcome.held_down => {
            return format!(
                "keeping {current}: not scaling down while a signal is unusable: {problems}"
            );
        }
        Action::Maintain if wanted > recommended => {
            format!("{cause}; already at maxReplicas ({max})")
        }
        Action::Maintain if wanted < recommended => {
            format!("{cause}; already at minReplicas ({min})")
        }
        Action::Maintain => "System operating within optimal parameters".to_owned(),
    };
    if !outcome.problems.is_empty() {
        let _ = write!(text, "; ignoring: {problems}");
    }
    text
}

/// The confidence rule of the module's guide, to two decimals.
fn confidence(metrics: &SystemMetrics, targets: &Targets, action: Action, disagree: bool) -> f64 {
    let mut confidence: f64 = 1.0;
    if disagree {
        confidence *= 0.7;
    }
    if action == Action::ScaleUp && metrics.memory_percent >= targets.memory_percent {
        confidence *= 0.8;
    }
    match metrics.success_rate {
        None => confidence *= 0.8,
        Some(rate) if rate < 0.5 => confidence *= 0.5,
        Some(rate) if rate < 0.9 => confidence *= 0.8,
        Some(_) => {}
    }
    (confidence * 100.0).round() / 100.0
}

/// The urgency rule of the module's guide.
fn urgency(metrics: &SystemMetrics, targets: &Targets, action: Action) -> Urgency {
    let lag = metrics.queue_lag as f64;
    let per_worker = lag / f64::from(metrics.total_workers.max(1));
    let failing = metrics.success_rate.is_some_and(|rate| rate < 0.5);
    let some_failing = metrics.success_rate.is_some_and(|rate| rate < 0.9);
    if (metrics.total_workers == 0 && lag > 0.0)
        || failing
        || per_worker >= 5.0 * targets.lag_per_worker
    {
        Urgency::Critical
    } else if per_worker >= 2.0 * targets.lag_per_worker
        || metrics.cpu_percent >= 90.0
        || metrics.memory_percent >= 90.0
    {
        Urgency::High
    } else if action == Action::ScaleUp || some_failing {
        Urgency::Medium
    } else {
        Urgency::Low
    }
}

/// Recommends a number of workers from the live queue, CPU and memory.
#[derive(Debug, Clone, clap::Args)]
pub struct RecommendArgs {
    /// The queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// The heartbeat timing to judge workers by when their records do not carry their own.
    #[command(flatten)]
    pub heartbeat: HeartbeatArgs,
    /// The recommendation as JSON, for programs.
    #[arg(long)]
    pub json: bool,
    /// Never recommend fewer workers (minReplicas).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub min: u32,
    /// Never recommend more workers (maxReplicas).
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub max: u32,
    /// The CPU use to aim at, percent.
    #[arg(
        long,
        value_name = "PERCENT",
        default_value_t = Targets::default().cpu_percent,
        allow_negative_numbers = true
    )]
    pub target_cpu: f64,
    /// The machine's memory use at or above which a scale-up is less sure, percent.
    #[arg(
        long,
        value_name = "PERCENT",
        default_value_t = Targets::default().memory_percent,
        allow_negative_numbers = true
    )]
    pub target_memory: f64,
    /// The tasks waiting per worker to aim at.
    #[arg(
        long,
        value_name = "TASKS",
        default_value_t = Targets::default().lag_per_worker,
        allow_negative_numbers = true
    )]
    pub target_lag: f64,
}

impl RecommendArgs {
    /// The bounds as an HPA spec (the course's behaviour, which one reading does not use).
    pub fn spec(&self) -> Result<Spec, SpecError> {
        Spec::new(self.min, self.max, Behavior::course())
    }

    /// The targets, checked.
    pub fn targets(&self) -> Result<Targets, SpecError> {
        Targets::new(self.target_cpu, self.target_memory, self.target_lag)
    }
}

/// The `recommend` command: reads the system once and recommends, as a table or JSON.
pub async fn run(args: RecommendArgs) -> Result<String> {
    let spec = args.spec()?;
    let targets = args.targets()?;
    let (queue, _) = args.queue.open().await?;
    let registry = Registry::new(queue.connection(), queue.keys(), args.heartbeat.config()?);
    let metrics = read_system(&queue, &registry, &mut Host::new()?).await?;
    let recommendation = recommend(&metrics, &spec, &targets);
    if args.json {
        Ok(serde_json::to_string_pretty(&recommendation)? + "\n")
    } else {
        render(&recommendation)
    }
}

/// The recommendation for people: the signals as a table, then the verdict.
pub fn render(recommendation: &Recommendation) -> Result<String> {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_header(["signal", "now", "target", "asks for"]);
    let workers = recommendation.current_replicas;
    for signal in &recommendation.signals {
        let metric = &signal.metric;
        let (now, target) = match metric.target {
            Target::Utilization(target) => (
                format!("{}%", whole(metric.current)),
                format!("{}%", whole(target)),
            ),
            Target::AverageValue(target) => (
                format!("{} tasks", whole(metric.current)),
                format!("{} per worker", crate::hpa::formula::number(target)),
            ),
            Target::Value(target) => (whole(metric.current), whole(target)),
        };
        let asks = if signal.proposal.within_tolerance {
            format!("{workers} (within tolerance)")
        } else {
            signal.proposal.replicas.to_string()
        };
        table.add_row([metric.name.clone(), now, target, asks]);
    }
    let metrics = &recommendation.metrics;
    let mut out = format!("{table}\n");
    writeln!(
        out,
        "workers: {} running, {} busy; tasks: {} waiting, {} in hand",
        metrics.total_workers, metrics.busy_workers, metrics.queue_depth, metrics.pending
    )?;
    writeln!(
        out,
        "machine: memory {}% in use (not a scaling signal)",
        whole(metrics.memory_percent)
    )?;
    writeln!(
        out,
        "{}: {} → {} workers",
        recommendation.action, recommendation.current_replicas, recommendation.recommended_replicas
    )?;
    writeln!(out, "reason: {}", recommendation.reason)?;
    writeln!(
        out,
        "confidence {:.2}, urgency {}",
        recommendation.confidence, recommendation.urgency
    )?;
    Ok(out)
}
