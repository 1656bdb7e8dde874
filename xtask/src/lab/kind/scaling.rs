//! Session 08's scaling drill on the kind cluster: the HPA overlay applied and awaited with
//! its metrics at its minimum, the stress Job started, the HPA's wish for more workers than
//! its minimum awaited, the load stopped, and the HPA's return to its minimum awaited,
//! every wait with a deadline. The HPA's
//! status (`get hpa -o json`) is read and judged here, by pure functions tested without a
//! cluster.

use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use super::plan::{
    APPLY_HPA, DELETE_STRESS, DESCRIBE_HPA, FAST_WORKERS, GET_HPA, HPA_STATUS, KindCommand, PODS,
    STRESS, TOP, TOP_NODES, WATCH_HPA, WORKERS_READY,
};
use super::{COMMAND_TIME, Lab};
use crate::lab::shell;

/// How long the HPA may take to show its first metrics: metrics-server scrapes every
/// 15 s, the HPA syncs every 15 s, and a new pod needs a scrape or two.
const METRICS_TIME: Duration = Duration::from_secs(240);
/// How long the load may take to make the HPA want more workers: the CPU must show in two
/// scrapes, then stay high for the 30 s up window.
const SCALE_UP_TIME: Duration = Duration::from_secs(360);
/// How long the HPA may take to come back to its minimum after the load: the backlog
/// runs out, the 60 s down window passes, then at most half the workers go each minute
/// (8, 4, 2: two periods).
const SCALE_DOWN_TIME: Duration = Duration::from_secs(480);
/// Between two looks at the HPA.
const POLL: Duration = Duration::from_secs(5);
/// How far from 1 a metric's ratio to its target may be before the HPA acts on it.
const TOLERANCE: f64 = 0.1;

/// The HPA's state, as `get hpa -o json` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct HpaStatus {
    /// `spec.minReplicas`.
    pub min: u64,
    /// `spec.maxReplicas`.
    pub max: u64,
    /// `status.currentReplicas`; `None` before the HPA's first sync.
    pub current: Option<u64>,
    /// `status.desiredReplicas`; `None` before the HPA's first sync.
    pub desired: Option<u64>,
    /// Each Utilization metric: its resource, target and current value, in % of requests
    /// (`None` until metrics-server has it).
    pub metrics: Vec<(String, u64, Option<u64>)>,
    /// The conditions worth a look, as `Type: Reason: message`: `ScalingLimited` when
    /// `True` (the bounds cut the HPA's wish), any other when not `True`.
    pub trouble: Vec<String>,
}

impl HpaStatus {
    /// Reads `kubectl get hpa NAME -o json`.
    pub fn parse(json: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(json.trim())
            .with_context(|| format!("the HPA is not JSON: {json}"))?;
        let spec = &value["spec"];
        let status = &value["status"];
        let current = |resource: &str| {
            status["currentMetrics"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|metric| metric["resource"]["name"] == resource)
                .and_then(|metric| metric["resource"]["current"]["averageUtilization"].as_u64())
        };
        let metrics = spec["metrics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|metric| {
                let resource = metric["resource"]["name"].as_str()?;
                let target = metric["resource"]["target"]["averageUtilization"].as_u64()?;
                Some((resource.to_owned(), target, current(resource)))
            })
            .collect();
        let trouble = status["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|condition| {
                if condition["type"] == "ScalingLimited" {
                    condition["status"] == "True"
                } else {
                    condition["status"] != "True"
                }
            })
            .map(|condition| {
                let text = |key: &str| condition[key].as_str().unwrap_or("?").to_owned();
                format!("{}: {}: {}", text("type"), text("reason"), text("message"))
            })
            .collect();
        Ok(Self {
            min: spec["minReplicas"].as_u64().unwrap_or(1),
            max: spec["maxReplicas"]
                .as_u64()
                .with_context(|| format!("the HPA has no maxReplicas: {json}"))?,
            current: status["currentReplicas"].as_u64(),
            desired: status["desiredReplicas"].as_u64(),
            metrics,
            trouble,
        })
    }

    /// Whether every metric has a current value.
    pub fn has_metrics(&self) -> bool {
        !self.metrics.is_empty() && self.metrics.iter().all(|(_, _, now)| now.is_some())
    }

    /// Whether the HPA wants more workers than its minimum.
    pub fn scaled_up(&self) -> bool {
        self.desired.is_some_and(|desired| desired > self.min)
    }

    /// Whether the HPA wants, and has, its minimum.
    pub fn at_minimum(&self) -> bool {
        self.desired == Some(self.min) && self.current == Some(self.min)
    }

    /// The metrics that ask for more pods than the minimum, as `memory at 85% of 80%
    /// (about 3 pods)`: each proposes `ceil(replicas x current / target)`, unless within
    /// the tolerance of its target (then it keeps the replicas), and the largest wins.
    pub fn holding(&self) -> Vec<String> {
        let Some(replicas) = self.current else {
            return Vec::new();
        };
        self.metrics
            .iter()
            .filter_map(|(resource, target, now)| {
                let now = (*now)?;
                let ratio = now as f64 / (*target).max(1) as f64;
                let proposal = if (ratio - 1.0).abs() <= TOLERANCE {
                    replicas
                } else {
                    (replicas as f64 * ratio).ceil() as u64
                };
                (proposal > self.min)
                    .then(|| format!("{resource} at {now}% of {target}% (about {proposal} pods)"))
            })
            .collect()
    }

    /// In a line: `2 replicas, desired 4 (2 to 8); cpu 312% of 70%, memory 20% of 80%`.
    pub fn summary(&self) -> String {
        let count = |n: Option<u64>| n.map_or_else(|| "?".to_owned(), |n| n.to_string());
        let metrics: Vec<String> = self
            .metrics
            .iter()
            .map(|(resource, target, now)| {
                let now = now.map_or_else(|| "<unknown>".to_owned(), |now| format!("{now}%"));
                format!("{resource} {now} of {target}%")
            })
            .collect();
        let mut line = format!(
            "{} replicas, desired {} ({} to {}); {}",
            count(self.current),
            count(self.desired),
            self.min,
            self.max,
            metrics.join(", ")
        );
        if !self.trouble.is_empty() {
            line.push_str(&format!(" [{}]", self.trouble.join("; ")));
        }
        line
    }
}

/// A command left running in the background with its output shown (`get hpa --watch`),
/// stopped when dropped.
pub struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        // It may have exited already; either way it is gone afterwards.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the drill found, for the lab's findings.
pub struct Drill {
    /// The most workers the HPA asked for.
    peak: u64,
    /// Seconds from the load's start to the HPA asking for more than its minimum.
    up: f64,
    /// The HPA's status then.
    loaded: String,
    /// When the load was stopped.
    stopped: Instant,
    /// Seconds from the load's end to the HPA back at its minimum.
    back: f64,
}

impl Drill {
    /// The line the lab prints at the end.
    pub fn finding(&self) -> String {
        format!(
            "scaling: {:.0}s into the stress Job the HPA asked for more workers ({}); at most \
             {}; {:.0}s after the load stopped it was back at its minimum",
            self.up, self.loaded, self.peak, self.back
        )
    }
}

impl Lab {
    /// The autoscaler step: metrics-server answering, the workers fast again, the HPA
    /// overlay applied, and the HPA with metrics and at its minimum: the scale-up is judged
    /// from there, so a wish above the minimum can only come from the load.
    pub(super) fn autoscaler(&self) -> Result<String> {
        self.top(TOP_NODES)?;
        for command in [FAST_WORKERS, APPLY_HPA, WORKERS_READY] {
            self.stream(command)?;
        }
        let status = self.await_hpa(METRICS_TIME, "its metrics, at its minimum", |status| {
            status.has_metrics() && status.at_minimum()
        })?;
        self.stream(GET_HPA)?;
        Ok(format!("autoscaler: the HPA reads {}", status.summary()))
    }

    /// The load, until the HPA asks for more workers than its minimum; then the load
    /// stopped. `get hpa --watch` runs until what this returns is dropped, so that it
    /// shows the way down too.
    pub(super) fn scale_up(&self) -> Result<(Drill, Background)> {
        let started = Instant::now();
        self.stream(STRESS)?;
        let watch = self.background(WATCH_HPA)?;
        let loaded = self.await_hpa(SCALE_UP_TIME, "more workers than its minimum", |status| {
            status.scaled_up()
        })?;
        let up = started.elapsed().as_secs_f64();
        self.top(TOP)?;
        self.stream(PODS)?;
        self.stream(DELETE_STRESS)?;
        let drill = Drill {
            peak: loaded.desired.unwrap_or_default(),
            up,
            loaded: loaded.summary(),
            stopped: Instant::now(),
            back: 0.0,
        };
        Ok((drill, watch))
    }

    /// The HPA back at its minimum after the load; the most workers it asked for on the
    /// way is kept. If it does not come back, the pods' usage is shown and the metrics
    /// that hold them named: the largest proposal wins, and memory seldom falls.
    pub(super) fn scale_down(&self, mut drill: Drill) -> Result<Drill> {
        let mut last = None;
        let waited = self.await_hpa(SCALE_DOWN_TIME, "its minimum again", |status| {
            drill.peak = drill.peak.max(status.desired.unwrap_or_default());
            last = Some(status.clone());
            status.at_minimum()
        });
        if let Err(error) = waited {
            if let Err(top) = self.top(TOP) {
                eprintln!("({top:#})");
            }
            let holding = last.map(|status| status.holding()).unwrap_or_default();
            let why = if holding.is_empty() {
                "no metric asked for more than the minimum at the last look".to_owned()
            } else {
                format!("held by {} (the largest proposal wins)", holding.join(", "))
            };
            return Err(error.context(format!("the HPA did not scale down: {why}")));
        }
        drill.back = drill.stopped.elapsed().as_secs_f64();
        self.stream(DESCRIBE_HPA)?;
        self.stream(GET_HPA)?;
        Ok(drill)
    }

    /// Reads the HPA's status every few seconds until `done` holds, printing it when it
    /// changes; fails after `timeout` with the last status read.
    fn await_hpa(
        &self,
        timeout: Duration,
        what: &str,
        mut done: impl FnMut(&HpaStatus) -> bool,
    ) -> Result<HpaStatus> {
        eprintln!("$ {HPA_STATUS} (every {}s, until {what})", POLL.as_secs());
        let started = Instant::now();
        let mut last = String::new();
        loop {
            let out = shell::capture(self.command(HPA_STATUS, &[])?, COMMAND_TIME)?;
            let status = if out.status.success() {
                Some(HpaStatus::parse(&out.stdout)?)
            } else {
                None
            };
            let line = status.as_ref().map_or_else(
                || format!("no HPA yet: {}", out.stderr.trim()),
                HpaStatus::summary,
            );
            if line != last {
                eprintln!("{:>5.0}s  {line}", started.elapsed().as_secs_f64());
                last = line;
            }
            if let Some(status) = status.filter(|status| done(status)) {
                return Ok(status);
            }
            ensure!(
                started.elapsed() < timeout,
                "the HPA did not reach {what} within {}s; the last status: {last}",
                timeout.as_secs()
            );
            thread::sleep(POLL);
        }
    }

    /// Starts `command` in the background, its output shown; it stops when dropped.
    fn background(&self, command: KindCommand) -> Result<Background> {
        let mut built = self.command(command, &[])?;
        eprintln!("$ {command} (in the background)");
        built.stdin(Stdio::null());
        let child = built
            .spawn()
            .with_context(|| format!("cannot start `{command}`"))?;
        let mut running = Background(child);
        if let Some(status) = running.0.try_wait()? {
            bail!("`{command}` exited at once ({status})");
        }
        Ok(running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hpa(current: Option<u64>, desired: Option<u64>, cpu: Option<u64>) -> String {
        let mut status = serde_json::json!({
            "conditions": [
                {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale"},
                {"type": "ScalingLimited", "status": "False", "reason": "DesiredWithinRange",
                 "message": "the desired count is within the acceptable range"},
                {"type": "ScalingActive", "status": if cpu.is_some() { "True" } else { "False" },
                 "reason": "FailedGetResourceMetric",
                 "message": "unable to get metrics for resource cpu"}
            ]
        });
        if let Some(current) = current {
            status["currentReplicas"] = current.into();
        }
        if let Some(desired) = desired {
            status["desiredReplicas"] = desired.into();
        }
        if let Some(cpu) = cpu {
            status["currentMetrics"] = serde_json::json!([
                {"type": "Resource", "resource": {"name": "cpu",
                 "current": {"averageUtilization": cpu, "averageValue": "7m"}}},
                {"type": "Resource", "resource": {"name": "memory",
                 "current": {"averageUtilization": 9, "averageValue": "24Mi"}}}
            ]);
        }
        serde_json::json!({
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "spec": {
                "minReplicas": 2, "maxReplicas": 8,
                "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu",
                     "target": {"type": "Utilization", "averageUtilization": 70}}},
                    {"type": "Resource", "resource": {"name": "memory",
                     "target": {"type": "Utilization", "averageUtilization": 80}}}
                ]
            },
            "status": status
        })
        .to_string()
    }

    #[test]
    fn a_new_hpa_has_no_metrics_and_says_why() {
        let status = HpaStatus::parse(&hpa(None, None, None)).unwrap();
        assert!(!status.has_metrics() && !status.scaled_up() && !status.at_minimum());
        assert_eq!(
            status.summary(),
            "? replicas, desired ? (2 to 8); cpu <unknown> of 70%, memory <unknown> of 80% \
             [ScalingActive: FailedGetResourceMetric: unable to get metrics for resource cpu]"
        );
    }

    #[test]
    fn the_drill_is_judged_on_the_desired_replicas() {
        let idle = HpaStatus::parse(&hpa(Some(2), Some(2), Some(3))).unwrap();
        assert!(idle.has_metrics() && idle.at_minimum() && !idle.scaled_up());
        assert_eq!(
            idle.summary(),
            "2 replicas, desired 2 (2 to 8); cpu 3% of 70%, memory 9% of 80%"
        );
        let loaded = HpaStatus::parse(&hpa(Some(2), Some(4), Some(312))).unwrap();
        assert!(loaded.scaled_up() && !loaded.at_minimum());
        // Wanting the minimum is not enough: the extra pods must be gone too.
        let shrinking = HpaStatus::parse(&hpa(Some(4), Some(2), Some(1))).unwrap();
        assert!(!shrinking.at_minimum() && !shrinking.scaled_up());
        assert!(HpaStatus::parse("{}").is_err());
        assert!(HpaStatus::parse("Error from server (NotFound)").is_err());
    }

    #[test]
    fn scaling_limited_is_worth_a_look_only_when_true() {
        let within = HpaStatus::parse(&hpa(Some(8), Some(8), Some(90))).unwrap();
        assert!(within.trouble.is_empty(), "{:?}", within.trouble);
        let mut capped: Value = serde_json::from_str(&hpa(Some(8), Some(8), Some(90))).unwrap();
        capped["status"]["conditions"][1] = serde_json::json!({"type": "ScalingLimited",
            "status": "True", "reason": "TooManyReplicas",
            "message": "the desired replica count is more than the maximum replica count"});
        let capped = HpaStatus::parse(&capped.to_string()).unwrap();
        assert_eq!(
            capped.trouble,
            [
                "ScalingLimited: TooManyReplicas: the desired replica count is more than the \
              maximum replica count"
            ]
        );
    }

    #[test]
    fn the_metrics_holding_the_pods_up_are_named() {
        // 4 pods: cpu 10% of 70% proposes 1, memory 9% of 80% proposes 1: nothing holds.
        let idle = HpaStatus::parse(&hpa(Some(4), Some(4), Some(10))).unwrap();
        assert!(idle.holding().is_empty(), "{:?}", idle.holding());
        // Memory at 75% of 80% is within the tolerance: it keeps the 4 pods.
        let mut held: Value = serde_json::from_str(&hpa(Some(4), Some(4), Some(10))).unwrap();
        held["status"]["currentMetrics"][1]["resource"]["current"]["averageUtilization"] =
            75.into();
        let held = HpaStatus::parse(&held.to_string()).unwrap();
        assert_eq!(held.holding(), ["memory at 75% of 80% (about 4 pods)"]);
        // CPU at 105% of 70% on 2 pods proposes 3.
        let busy = HpaStatus::parse(&hpa(Some(2), Some(3), Some(105))).unwrap();
        assert_eq!(busy.holding(), ["cpu at 105% of 70% (about 3 pods)"]);
        // No replicas known yet: nothing to say.
        assert!(
            HpaStatus::parse(&hpa(None, None, Some(105)))
                .unwrap()
                .holding()
                .is_empty()
        );
    }

    #[test]
    fn the_finding_says_how_far_and_how_fast() {
        let drill = Drill {
            peak: 6,
            up: 95.2,
            loaded: "2 replicas, desired 4".to_owned(),
            stopped: Instant::now(),
            back: 241.0,
        };
        assert_eq!(
            drill.finding(),
            "scaling: 95s into the stress Job the HPA asked for more workers (2 replicas, \
             desired 4); at most 6; 241s after the load stopped it was back at its minimum"
        );
    }
}
