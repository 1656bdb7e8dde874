//! The autoscaler's metrics: how many workers it runs, how many it wants, and what it
//! decided.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use session08_scaling::hpa::Decision;

/// The label of the decision counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct DirectionLabels {
    /// `up`, `down` or `hold`.
    pub direction: &'static str,
}

/// Which way `decision` goes.
pub fn direction(decision: &Decision) -> &'static str {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match decision.desired.cmp(&decision.current) {
        Greater => "up",
        Less => "down",
        Equal => "hold",
    }
}

/// The autoscaler's metrics; clones share them.
#[derive(Debug, Clone, Default)]
pub struct ScalerMetrics {
    replicas: Gauge,
    desired: Gauge,
    decisions: Family<DirectionLabels, Counter>,
    replaced: Counter,
}

impl ScalerMetrics {
    /// The metrics, registered in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "imgproc_autoscaler_replicas",
            "Workers serving, as of the last decision",
            m.replicas.clone(),
        );
        registry.register(
            "imgproc_autoscaler_desired_replicas",
            "Workers the last decision asked for",
            m.desired.clone(),
        );
        registry.register(
            "imgproc_autoscaler_decisions",
            "Decisions made, by direction",
            m.decisions.clone(),
        );
        registry.register(
            "imgproc_autoscaler_replaced",
            "Workers that died and were replaced",
            m.replaced.clone(),
        );
        for direction in ["up", "down", "hold"] {
            m.decisions
                .get_or_create_owned(&DirectionLabels { direction });
        }
        m
    }

    /// Records a decision, with the workers serving and replaced so far.
    pub fn record(&self, decision: &Decision, serving: u32, replaced: u32) {
        self.decisions
            .get_or_create(&DirectionLabels {
                direction: direction(decision),
            })
            .inc();
        self.desired.set(i64::from(decision.desired));
        self.replicas.set(i64::from(serving));
        // The supervisor counts since its start; the counter catches up to it.
        let replaced = u64::from(replaced);
        let seen = self.replaced.get();
        if replaced > seen {
            self.replaced.inc_by(replaced - seen);
        }
    }
}
