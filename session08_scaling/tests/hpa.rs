//! The HPA algorithm on simulated time: the Kubernetes documentation's worked examples, the
//! course's behaviour block and Kubernetes' defaults under a sustained load, and the rules
//! a spec must keep. Pure and fast: no process, no clock, no sleep.

use std::time::Duration;

use session08_scaling::hpa::policies::{scale_down_limit, scale_up_limit};
use session08_scaling::hpa::spec::seconds;
use session08_scaling::hpa::{
    Autoscaler, Behavior, Limit, MetricSample, Policy, PolicyKind, Rules, SelectPolicy, Spec,
    SpecError, TOLERANCE, Target, proposal,
};

/// The HPA controller's default sync period.
const SYNC: u64 = 15;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A queue lag of `total` tasks against a target of 10 per replica: it asks for
/// `ceil(total / 10)` replicas whatever runs now.
fn lag(total: f64) -> Vec<MetricSample> {
    vec![MetricSample::average_value("queue lag", total, 10.0)]
}

/// Decides every 15 s from `from` (included) to `to` (excluded) with the same `metrics`,
/// applying every decision at once; returns the (second, new count) of every change.
fn run(
    hpa: &mut Autoscaler,
    replicas: &mut u32,
    from: u64,
    to: u64,
    metrics: &[MetricSample],
) -> Vec<(u64, u32)> {
    let mut changes = Vec::new();
    for second in (from..to).step_by(SYNC as usize) {
        let decision = hpa.decide(secs(second), *replicas, metrics);
        if decision.desired != *replicas {
            *replicas = decision.desired;
            changes.push((second, *replicas));
        }
    }
    changes
}

fn policy(kind: PolicyKind, value: u32, period: u64) -> Policy {
    Policy {
        kind,
        value,
        period: secs(period),
    }
}

// --- The formula (Kubernetes docs, "Algorithm details") ---

#[test]
fn a_metric_at_twice_its_target_doubles_and_at_half_halves() {
    // 4 pods averaging 200m against 100m: ratio 2.0, 8 pods. 50m: ratio 0.5, 2 pods.
    // (Milli-units, as Kubernetes counts them: 0.8 / 0.1 is not 8 in floating point.)
    let doubled = proposal(
        4,
        &MetricSample::average_value("cpu", 800.0, 100.0),
        TOLERANCE,
    );
    assert_eq!((doubled.replicas, doubled.ratio), (8, 2.0));
    assert!(!doubled.within_tolerance);
    let halved = proposal(
        4,
        &MetricSample::average_value("cpu", 200.0, 100.0),
        TOLERANCE,
    );
    assert_eq!((halved.replicas, halved.ratio), (2, 0.5));

    // The same with a utilisation: 2 pods at 140 % of a 70 % target ask for 4.
    let utilization = proposal(2, &MetricSample::utilization("cpu", 140.0, 70.0), TOLERANCE);
    assert_eq!((utilization.replicas, utilization.ratio), (4, 2.0));
    // And a single value for the workload: 300 against 100 with 2 pods asks for 6.
    let value = proposal(2, &MetricSample::value("requests", 300.0, 100.0), TOLERANCE);
    assert_eq!(value.replicas, 6);
}

#[test]
fn a_ratio_within_the_tolerance_changes_nothing() {
    // 105m against 100m: 5 % off, within 10 %: 4 pods stay 4 (the formula alone says 5).
    let close = proposal(
        4,
        &MetricSample::average_value("cpu", 420.0, 100.0),
        TOLERANCE,
    );
    assert_eq!(close.replicas, 4);
    assert!(close.within_tolerance);
    // 115m: 15 % off, outside: ceil(460 / 100) = 5.
    let far = proposal(
        4,
        &MetricSample::average_value("cpu", 460.0, 100.0),
        TOLERANCE,
    );
    assert_eq!(far.replicas, 5);
    assert!(!far.within_tolerance);
    // Below too: 66 % against 70 % is within; 60 % is not.
    let low = MetricSample::utilization("cpu", 66.0, 70.0);
    assert_eq!(proposal(10, &low, TOLERANCE).replicas, 10);
    let lower = MetricSample::utilization("cpu", 60.0, 70.0);
    assert_eq!(proposal(10, &lower, TOLERANCE).replicas, 9);
    // A tolerance of 0 keeps only an exact hit.
    assert_eq!(
        proposal(4, &MetricSample::average_value("cpu", 420.0, 100.0), 0.0).replicas,
        5
    );
}

#[test]
fn with_no_replica_a_metric_asks_from_its_total() {
    assert_eq!(
        proposal(
            0,
            &MetricSample::average_value("queue lag", 35.0, 10.0),
            TOLERANCE
        )
        .replicas,
        4
    );
    assert_eq!(
        proposal(0, &MetricSample::value("queue", 2.5, 1.0), TOLERANCE).replicas,
        3
    );
    assert_eq!(
        proposal(
            0,
            &MetricSample::average_value("queue lag", 0.0, 10.0),
            TOLERANCE
        )
        .replicas,
        0
    );
}

#[test]
fn an_unusable_reading_asks_for_no_change_and_says_why() {
    for sample in [
        MetricSample::utilization("cpu", f64::NAN, 70.0),
        MetricSample::utilization("cpu", -1.0, 70.0),
        MetricSample::utilization("cpu", 50.0, 0.0),
        MetricSample::average_value("queue lag", 5.0, f64::INFINITY),
    ] {
        assert!(sample.problem().is_some(), "{sample:?}");
        let asked = proposal(3, &sample, TOLERANCE);
        assert_eq!(asked.replicas, 3);
        assert!(asked.ratio.is_nan());
    }
    assert_eq!(
        Target::Utilization(0.0)
            .check("--target-cpu")
            .unwrap_err()
            .to_string(),
        "--target-cpu must be a positive number, not 0"
    );
}

#[test]
fn with_several_metrics_the_largest_proposal_wins() {
    // From 3: cpu asks for 4 (ratio 1.33), the queue lag for 6; the defaults allow 7.
    let mut hpa = Autoscaler::new(Spec::new(1, 10, Behavior::kubernetes_default()).unwrap());
    let metrics = [
        MetricSample::utilization("cpu", 93.0, 70.0),
        MetricSample::average_value("queue lag", 60.0, 10.0),
    ];
    let decision = hpa.decide(secs(0), 3, &metrics);
    assert_eq!(decision.proposed, 6);
    assert_eq!(decision.desired, 6);
    assert_eq!(decision.metric.as_deref(), Some("queue lag"));
    assert_eq!(decision.limit, None);
    assert_eq!(
        decision.reason,
        "queue lag 20 per replica (60 in all) against a target of 10: 3 → 6"
    );
}

#[test]
fn tolerance_is_judged_per_metric_before_the_largest_is_taken() {
    // cpu at 1.05 of its target keeps 4; the lag asks for 2: the largest is 4, no change.
    let mut hpa = Autoscaler::new(Spec::new(1, 10, Behavior::kubernetes_default()).unwrap());
    let metrics = [
        MetricSample::utilization("cpu", 73.5, 70.0),
        MetricSample::average_value("queue lag", 20.0, 10.0),
    ];
    let decision = hpa.decide(secs(0), 4, &metrics);
    assert_eq!((decision.proposed, decision.desired), (4, 4));
    assert_eq!(decision.metric.as_deref(), Some("cpu"));
    assert_eq!(
        decision.reason,
        "cpu 73.5% of target 70%: within the 10% tolerance, stays at 4"
    );
}

#[test]
fn a_missing_metric_never_lets_the_others_scale_down_but_lets_them_scale_up() {
    let spec = Spec::new(1, 10, Behavior::kubernetes_default()).unwrap();
    let broken = MetricSample::utilization("cpu", f64::NAN, 70.0);

    let mut hpa = Autoscaler::new(spec.clone());
    let decision = hpa.decide(secs(0), 5, &[broken.clone(), lag(10.0)[0].clone()]);
    assert_eq!(decision.desired, 5);
    assert!(
        decision.reason.starts_with("holding 5: cpu reads NaN"),
        "{}",
        decision.reason
    );

    let mut hpa = Autoscaler::new(spec.clone());
    let decision = hpa.decide(secs(0), 5, &[broken.clone(), lag(80.0)[0].clone()]);
    assert_eq!(decision.desired, 8);
    assert!(
        decision
            .reason
            .ends_with("5 → 8; ignoring: cpu reads NaN, not a usable value"),
        "the reason says which metric was left out: {}",
        decision.reason
    );

    let mut hpa = Autoscaler::new(spec);
    let decision = hpa.decide(secs(0), 5, &[broken]);
    assert_eq!((decision.desired, decision.metric), (5, None));
    let decision = hpa.decide(secs(15), 5, &[]);
    assert_eq!(decision.reason, "holding 5: no metric");
}

// --- hold and the bounds ---

#[test]
fn hold_keeps_the_count_and_never_goes_below_min() {
    let mut hpa = Autoscaler::new(Spec::new(2, 6, Behavior::course()).unwrap());
    let decision = hpa.hold(secs(0), 4, "Redis is unreachable");
    assert_eq!((decision.desired, decision.limit), (4, None));
    assert_eq!(decision.reason, "holding 4: Redis is unreachable");
    // Every worker gone: back to minReplicas, never to zero.
    let decision = hpa.hold(secs(15), 0, "Redis is unreachable");
    assert_eq!(
        (decision.desired, decision.limit),
        (2, Some(Limit::MinReplicas))
    );
    assert_eq!(
        decision.reason,
        "0 replicas, below minReplicas (2): scaling to 2"
    );
    // Above the max, down to it, metrics or not.
    let decision = hpa.decide(secs(30), 9, &lag(90.0));
    assert_eq!(
        (decision.desired, decision.limit),
        (6, Some(Limit::MaxReplicas))
    );
}

#[test]
fn min_and_max_bound_the_metrics() {
    let mut hpa = Autoscaler::new(Spec::new(2, 10, Behavior::kubernetes_default()).unwrap());
    // Asks for 20 from 8: the policies allow 16, maxReplicas 10.
    let decision = hpa.decide(secs(0), 8, &lag(200.0));
    assert_eq!((decision.proposed, decision.desired), (20, 10));
    assert_eq!(decision.limit, Some(Limit::MaxReplicas));
    assert!(
        decision
            .reason
            .ends_with("8 → 20, held at 10 by maxReplicas (10)"),
        "{}",
        decision.reason
    );

    let mut hpa = Autoscaler::new(Spec::new(2, 10, Behavior::course()).unwrap());
    // No lag asks for 0 from 3. The first decision remembers the 3 it found, and the
    // scale-down window holds it.
    let decision = hpa.decide(secs(0), 3, &lag(0.0));
    assert_eq!((decision.stabilized, decision.desired), (3, 3));
    // A window later, the policy allows 1 (50 % of 3, rounded down); minReplicas 2.
    let decision = hpa.decide(secs(60), 3, &lag(0.0));
    assert_eq!((decision.proposed, decision.desired), (0, 2));
    assert_eq!(decision.limit, Some(Limit::MinReplicas));
}

// --- Policies (Kubernetes docs, "Scaling policies") ---

/// The docs' block: down by at most 4 pods or 10 % a minute; no window, so that each
/// step shows the policies alone.
fn docs_scale_down(select: SelectPolicy) -> Behavior {
    Behavior {
        scale_up: Behavior::kubernetes_default().scale_up,
        scale_down: Rules {
            stabilization_window: Duration::ZERO,
            select,
            policies: vec![
                policy(PolicyKind::Pods, 4, 60),
                policy(PolicyKind::Percent, 10, 60),
            ],
        },
    }
}

#[test]
fn the_docs_policy_example_80_replicas_down_to_10() {
    // 80 replicas, the target wants 10. selectPolicy Max: the policy allowing the biggest
    // change. 10 % of 80 is 8 (more than 4 pods): 72. Then 10 % of 72 is 7.2, rounded up
    // to 8 (floor(72 × 0.9) = 64). Each step waits for the last to leave the 60 s
    // period. At 40 both allow 4; below, 4 pods is more than 10 %.
    let mut hpa = Autoscaler::new(Spec::new(1, 100, docs_scale_down(SelectPolicy::Max)).unwrap());
    let mut replicas = 80;
    let changes = run(&mut hpa, &mut replicas, 0, 1200, &lag(100.0));
    let counts: Vec<u32> = changes.iter().map(|&(_, count)| count).collect();
    assert_eq!(
        counts,
        [72, 64, 57, 51, 45, 40, 36, 32, 28, 24, 20, 16, 12, 10]
    );
    // One change a minute, no more.
    let times: Vec<u64> = changes.iter().map(|&(second, _)| second).collect();
    assert_eq!(times, (0..14).map(|minute| minute * 60).collect::<Vec<_>>());

    // The reasons name the policy that held each step.
    let mut hpa = Autoscaler::new(Spec::new(1, 100, docs_scale_down(SelectPolicy::Max)).unwrap());
    let first = hpa.decide(secs(0), 80, &lag(100.0));
    assert_eq!(first.limit, Some(Limit::Policy));
    assert!(
        first
            .reason
            .ends_with("80 → 10, held at 72 by the scale-down policy (10% per 60s)"),
        "{}",
        first.reason
    );
    let between = hpa.decide(secs(15), 72, &lag(100.0));
    assert_eq!(between.desired, 72, "the period's allowance is used up");
    let mut hpa = Autoscaler::new(Spec::new(1, 100, docs_scale_down(SelectPolicy::Max)).unwrap());
    let small = hpa.decide(secs(0), 28, &lag(100.0));
    assert_eq!(small.desired, 24);
    assert!(
        small
            .reason
            .ends_with("held at 24 by the scale-down policy (4 pods per 60s)"),
        "{}",
        small.reason
    );
}

#[test]
fn select_policy_min_takes_the_smallest_change() {
    let mut hpa = Autoscaler::new(Spec::new(1, 100, docs_scale_down(SelectPolicy::Min)).unwrap());
    let mut replicas = 80;
    let changes = run(&mut hpa, &mut replicas, 0, 180, &lag(100.0));
    // 4 pods (76) is a smaller change than 10 % (72); then 72, then 68.
    assert_eq!(changes, [(0, 76), (60, 72), (120, 68)]);
}

#[test]
fn select_policy_disabled_never_scales_that_way() {
    let mut behavior = Behavior::course();
    behavior.scale_down = Rules {
        stabilization_window: Duration::ZERO,
        select: SelectPolicy::Disabled,
        policies: Vec::new(),
    };
    let mut hpa = Autoscaler::new(Spec::new(1, 10, behavior).unwrap());
    let mut replicas = 5;
    assert_eq!(run(&mut hpa, &mut replicas, 0, 600, &lag(10.0)), []);
    let decision = hpa.decide(secs(600), 5, &lag(10.0));
    assert_eq!(decision.limit, Some(Limit::Disabled));
    assert!(
        decision
            .reason
            .ends_with("5 → 1, held at 5: scaling down is disabled"),
        "{}",
        decision.reason
    );
}

#[test]
fn percent_policies_round_as_kubernetes_does() {
    let up = Rules {
        stabilization_window: Duration::ZERO,
        select: SelectPolicy::Max,
        policies: vec![policy(PolicyKind::Percent, 10, 60)],
    };
    // A controller that has not scaled yet: no event in any period.
    let fresh = Autoscaler::new(Spec::new(1, 100, Behavior::course()).unwrap());
    let none = fresh.events();
    // Up rounds up: 10 % of 4 is 0.4, still one more pod.
    assert_eq!(scale_up_limit(4, none, &up, secs(0)).replicas, 5);
    // In floating point 50 × 1.1 is 55.00000000000001: a real HPA allows 56, and so do we.
    assert_eq!(scale_up_limit(50, none, &up, secs(0)).replicas, 56);
    // Down rounds down: 10 % off 45 leaves 40.5, so 40.
    assert_eq!(scale_down_limit(45, none, &up, secs(0)).replicas, 40);
}

#[test]
fn a_policy_limit_never_reverses_the_direction() {
    let slow_up = Rules {
        stabilization_window: Duration::ZERO,
        select: SelectPolicy::Max,
        policies: vec![policy(PolicyKind::Pods, 1, 60)],
    };
    // 2 → 6 a moment ago: 2 replicas below minReplicas 6, so the controller scales to 6
    // and records it. The period started at 2, so the policy allows 3, fewer than run
    // now. The limit holds 6 rather than scale down.
    let behavior = Behavior::kubernetes_default();
    let mut hpa = Autoscaler::new(Spec::new(6, 10, behavior.clone()).unwrap());
    assert_eq!(hpa.hold(secs(0), 2, "start").desired, 6);
    let limit = scale_up_limit(6, hpa.events(), &slow_up, secs(10));
    assert_eq!(limit.replicas, 6);
    // Once the event is a full period old, the allowance is back.
    assert_eq!(
        scale_up_limit(6, hpa.events(), &slow_up, secs(60)).replicas,
        7
    );

    // 9 → 3: above maxReplicas 3, down to it.
    let mut hpa = Autoscaler::new(Spec::new(1, 3, behavior).unwrap());
    assert_eq!(hpa.hold(secs(0), 9, "start").desired, 3);
    let events = hpa.events();
    assert_eq!(scale_down_limit(3, events, &slow_up, secs(10)).replicas, 3);
    // Scale-downs in the period count for scaling up too: the period started at 9.
    assert_eq!(events.period_start(secs(10), 3, secs(60)), 9);
}

#[test]
fn an_event_is_outdated_only_past_its_direction_s_longest_period() {
    // Up: 1 pod a minute; down: 1 pod per 15 s; no windows, so each step shows the
    // policies alone.
    let behavior = Behavior {
        scale_up: Rules {
            stabilization_window: Duration::ZERO,
            select: SelectPolicy::Max,
            policies: vec![policy(PolicyKind::Pods, 1, 60)],
        },
        scale_down: Rules {
            stabilization_window: Duration::ZERO,
            select: SelectPolicy::Max,
            policies: vec![policy(PolicyKind::Pods, 1, 15)],
        },
    };
    let mut hpa = Autoscaler::new(Spec::new(1, 20, behavior).unwrap());
    // The lag asks for 5; the down policy allows one pod at a time.
    assert_eq!(hpa.decide(secs(0), 10, &lag(50.0)).desired, 9);
    assert_eq!(hpa.decide(secs(15), 9, &lag(50.0)).desired, 8);
    // At 15 s the event of 0 s is exactly 15 s old: out of the down period, but not
    // outdated (Kubernetes marks only events *more* than the longest period old), so it
    // is kept, and the up policy's minute still counts it.
    assert_eq!(hpa.events().down().len(), 2);
    assert_eq!(hpa.events().period_start(secs(20), 8, secs(60)), 10);
    let up = hpa.decide(secs(20), 8, &lag(200.0));
    assert_eq!((up.proposed, up.desired), (20, 11), "{}", up.reason);
    assert_eq!(up.limit, Some(Limit::Policy));

    // Later events overwrite the last outdated slot: the list stays bounded.
    let mut replicas = 11;
    for second in (35..3600).step_by(SYNC as usize) {
        replicas = hpa.decide(secs(second), replicas, &lag(10.0)).desired;
    }
    assert_eq!(replicas, 1);
    assert!(hpa.events().down().len() <= 3, "{:?}", hpa.events());
}

// --- Stabilisation windows (Kubernetes docs, "Stabilization window") ---

#[test]
fn the_scale_down_window_keeps_the_highest_recent_recommendation() {
    // The defaults: a 300 s scale-down window. 10 replicas wanted at 0 s, 4 from 15 s on:
    // the 10s of 0 s count until they are 300 s old, then the count falls to 4 at once
    // (the defaults allow 100 % down per 15 s).
    let mut hpa = Autoscaler::new(Spec::new(1, 10, Behavior::kubernetes_default()).unwrap());
    let mut replicas = 10;
    assert_eq!(run(&mut hpa, &mut replicas, 0, 15, &lag(100.0)), []);
    let held = hpa.decide(secs(15), 10, &lag(40.0));
    assert_eq!((held.proposed, held.stabilized, held.desired), (4, 10, 10));
    assert_eq!(held.limit, Some(Limit::Stabilization));
    assert!(held.reason.ends_with(
        "10 → 4, held at 10 by the scale-down window (the highest recommendation of the last 300s)"
    ), "{}", held.reason);
    assert_eq!(
        run(&mut hpa, &mut replicas, 30, 600, &lag(40.0)),
        [(300, 4)]
    );
}

#[test]
fn a_load_that_flaps_inside_the_window_never_scales_down() {
    let mut hpa = Autoscaler::new(Spec::new(1, 10, Behavior::kubernetes_default()).unwrap());
    let mut replicas = 10;
    for second in (0..1800).step_by(SYNC as usize) {
        let wanted = if second % 30 == 0 { 100.0 } else { 40.0 };
        let decision = hpa.decide(secs(second), replicas, &lag(wanted));
        replicas = decision.desired;
        assert_eq!(replicas, 10, "at {second} s");
    }
}

#[test]
fn the_scale_up_window_ignores_a_spike_shorter_than_it() {
    // The course's 30 s scale-up window: one period of a high lag changes nothing.
    let mut hpa = Autoscaler::new(Spec::new(1, 10, Behavior::course()).unwrap());
    let mut replicas = 2;
    assert_eq!(run(&mut hpa, &mut replicas, 0, 60, &lag(20.0)), []);
    let spike = hpa.decide(secs(60), 2, &lag(80.0));
    assert_eq!((spike.proposed, spike.desired), (8, 2));
    assert!(
        spike.reason.ends_with(
            "2 → 8, held at 2 by the scale-up window (the lowest recommendation of the last 30s)"
        ),
        "{}",
        spike.reason
    );
    assert_eq!(run(&mut hpa, &mut replicas, 75, 600, &lag(20.0)), []);
}

#[test]
fn the_history_is_pruned_to_the_longest_window() {
    let mut hpa = Autoscaler::new(Spec::new(1, 10, Behavior::course()).unwrap());
    let mut replicas = 2;
    for second in (0..3600).step_by(SYNC as usize) {
        let wanted = if (second / 300) % 2 == 0 { 80.0 } else { 20.0 };
        replicas = hpa.decide(secs(second), replicas, &lag(wanted)).desired;
    }
    // A 60 s window at a 15 s sync: the proposals 45, 30, 15 and 0 s old.
    assert_eq!(hpa.proposals().history().len(), 4);
    let now = secs(3585);
    assert!(
        hpa.proposals()
            .history()
            .iter()
            .all(|old| now - old.at < secs(60))
    );
}

// --- The course's block and the defaults under a sustained load ---

#[test]
fn the_course_block_takes_90_s_to_reach_8_and_105_s_to_come_back_to_2() {
    // From 2 replicas; from 0 s a load that asks for 8 (a lag of 80 at 10 per worker),
    // until 300 s; then a load that asks for 2. A decision every 15 s.
    //
    // Up (window 30 s, 100 % per 60 s):
    // -   0 s: the first decision remembers the 2 it found; the up window's lowest is 2.
    // -  15 s: the 2 of 0 s is 15 s old, still in the window: held at 2.
    // -  30 s: it is 30 s old, out; the window's lowest is 8. 100 % of 2 allows 4: 4.
    // -  45, 60, 75 s: the +2 of 30 s is in the 60 s period: the period started at 2,
    //    100 % of 2 is 4: held at 4.
    // -  90 s: the +2 is 60 s old, out; 100 % of 4 allows 8: 8.
    let mut hpa = Autoscaler::new(Spec::new(1, 10, Behavior::course()).unwrap());
    let mut replicas = 2;
    assert_eq!(
        run(&mut hpa, &mut replicas, 0, 300, &lag(80.0)),
        [(30, 4), (90, 8)]
    );
    // Down (window 60 s, 50 % per 60 s): the last proposal of 8 was made at 285 s.
    // - 300, 315, 330 s: an 8 of the last 60 s is in the window: held at 8.
    // - 345 s: the 8 of 285 s is 60 s old, out; the window's highest is 2. 50 % of 8
    //   leaves 4: 4 (45 s after the load ended).
    // - 360 .. 390 s: the -4 of 345 s is in the period, which started at 8: held at 4.
    // - 405 s: the -4 is 60 s old; 50 % of 4 leaves 2: 2 (105 s after the load ended).
    assert_eq!(
        run(&mut hpa, &mut replicas, 300, 900, &lag(20.0)),
        [(345, 4), (405, 2)]
    );
}

#[test]
fn kubernetes_defaults_take_15_s_to_reach_8_and_285_s_to_come_back_to_2() {
    // The same load with Kubernetes' defaults.
    // Up (no window; 100 % or 4 pods per 15 s, whichever is more):
    // -  0 s: 100 % of 2 is 4, 4 pods is 6: 6.
    // - 15 s: the +4 of 0 s is 15 s old, out of the period; 100 % of 6 is 12: 8.
    let mut hpa = Autoscaler::new(Spec::new(1, 10, Behavior::kubernetes_default()).unwrap());
    let mut replicas = 2;
    assert_eq!(
        run(&mut hpa, &mut replicas, 0, 300, &lag(80.0)),
        [(0, 6), (15, 8)]
    );
    // Down (window 300 s, 100 % per 15 s): the last 8 was proposed at 285 s and counts
    // until it is 300 s old, at 585 s; then 100 % down is allowed, so straight to 2
    // (285 s after the load ended).
    assert_eq!(
        run(&mut hpa, &mut replicas, 300, 1200, &lag(20.0)),
        [(585, 2)]
    );
}

#[test]
fn the_reason_says_what_held_the_count() {
    let mut hpa = Autoscaler::new(Spec::new(1, 10, Behavior::kubernetes_default()).unwrap());
    let decision = hpa.decide(secs(0), 2, &[MetricSample::utilization("cpu", 280.0, 70.0)]);
    assert_eq!(
        decision.reason,
        "cpu 280% of target 70%: 2 → 8, held at 6 by the scale-up policy (4 pods per 15s)"
    );
    assert_eq!(
        (decision.proposed, decision.stabilized, decision.desired),
        (8, 8, 6)
    );
    assert!(decision.changed());

    // A window and then a policy: the course's block at its second step.
    let mut hpa = Autoscaler::new(Spec::new(1, 10, Behavior::course()).unwrap());
    hpa.decide(secs(0), 2, &lag(80.0));
    hpa.decide(secs(15), 2, &lag(40.0));
    // The window's lowest is the 4 of 15 s, which the policy allows too.
    let decision = hpa.decide(secs(30), 2, &lag(80.0));
    assert_eq!((decision.stabilized, decision.desired), (4, 4));
    assert_eq!(decision.limit, Some(Limit::Stabilization));
    let decision = hpa.decide(secs(45), 4, &lag(160.0));
    assert_eq!(
        decision.reason,
        "queue lag 40 per replica (160 in all) against a target of 10: 4 → 16, held at 8 by \
         the scale-up window (the lowest recommendation of the last 30s), then at 4 by the \
         scale-up policy (100% per 60s)"
    );
    assert_eq!(decision.limit, Some(Limit::Policy));

    // In JSON, the time is in seconds.
    let json = serde_json::to_value(&decision).unwrap();
    assert_eq!(json["at"], 45.0);
    assert_eq!(json["limit"], "Policy");
}

// --- The behaviour blocks ---

#[test]
fn the_defaults_are_kubernetes_own() {
    let defaults = Behavior::kubernetes_default();
    assert_eq!(defaults.scale_up.stabilization_window, secs(0));
    assert_eq!(defaults.scale_up.select, SelectPolicy::Max);
    assert_eq!(
        defaults.scale_up.policies,
        [
            policy(PolicyKind::Percent, 100, 15),
            policy(PolicyKind::Pods, 4, 15)
        ]
    );
    assert_eq!(defaults.scale_down.stabilization_window, secs(300));
    assert_eq!(
        defaults.scale_down.policies,
        [policy(PolicyKind::Percent, 100, 15)]
    );
    assert_eq!(defaults.scale_up.policies[1].to_string(), "4 pods per 15s");
}

#[test]
fn scaled_divides_every_window_and_period() {
    let fast = Behavior::course().scaled(4.0).unwrap();
    assert_eq!(
        fast.scale_up.stabilization_window,
        Duration::from_millis(7500)
    );
    assert_eq!(fast.scale_down.stabilization_window, secs(15));
    assert_eq!(fast.scale_up.policies[0].period, secs(15));
    assert_eq!(fast.scale_down.policies[0].period, secs(15));
    assert_eq!(fast.scale_up.policies[0].value, 100);
    assert_eq!(Behavior::course().scaled(1.0).unwrap(), Behavior::course());
    // At 4x the course's timeline runs 4 times faster: 8 at 22.5 s instead of 90 s.
    let mut hpa = Autoscaler::new(Spec::new(1, 10, fast).unwrap());
    let mut replicas = 2;
    let mut changes = Vec::new();
    for tick in 0..40u32 {
        let now = Duration::from_secs_f64(f64::from(tick) * 3.75);
        replicas = {
            let decision = hpa.decide(now, replicas, &lag(80.0));
            if decision.changed() {
                changes.push((now.as_secs_f64(), decision.desired));
            }
            decision.desired
        };
    }
    assert_eq!(changes, [(7.5, 4), (22.5, 8)]);

    for speed in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_eq!(
            Behavior::course().scaled(speed).unwrap_err().to_string(),
            format!("the speed must be a positive number, not {speed}")
        );
    }
    let too_fast = Behavior::course().scaled(100.0).unwrap();
    assert_eq!(
        Spec::new(1, 4, too_fast).unwrap_err().to_string(),
        "scaleUp.policies[0].periodSeconds must be between 1 and 1800, not 0.6"
    );
}

// --- The rules of a spec ---

#[test]
fn a_spec_that_breaks_a_rule_is_refused_with_the_rule() {
    let course = Behavior::course;
    let message = |result: Result<Spec, SpecError>| result.unwrap_err().to_string();
    assert_eq!(
        message(Spec::new(0, 3, course())),
        "minReplicas must be at least 1, not 0"
    );
    assert_eq!(
        message(Spec::new(5, 3, course())),
        "minReplicas (5) must not exceed maxReplicas (3)"
    );

    let mut behavior = course();
    behavior.scale_down.stabilization_window = secs(4000);
    assert_eq!(
        message(Spec::new(1, 3, behavior)),
        "scaleDown.stabilizationWindowSeconds must be between 0 and 3600, not 4000"
    );
    let mut behavior = course();
    behavior.scale_up.policies[0].period = secs(1801);
    assert_eq!(
        message(Spec::new(1, 3, behavior)),
        "scaleUp.policies[0].periodSeconds must be between 1 and 1800, not 1801"
    );
    let mut behavior = course();
    behavior
        .scale_down
        .policies
        .push(policy(PolicyKind::Pods, 0, 60));
    assert_eq!(
        message(Spec::new(1, 3, behavior)),
        "scaleDown.policies[1].value must be greater than 0"
    );
    let mut behavior = course();
    behavior.scale_up.policies.clear();
    assert_eq!(
        message(Spec::new(1, 3, behavior)),
        "scaleUp.policies must hold at least one policy unless selectPolicy is Disabled"
    );
    let spec = Spec::new(1, 3, course()).unwrap();
    assert_eq!(spec.tolerance, TOLERANCE);
    for tolerance in [-0.1, 1.0, f64::NAN] {
        assert!(
            matches!(
                spec.clone().with_tolerance(tolerance),
                Err(SpecError::Tolerance(_))
            ),
            "{tolerance}"
        );
    }
    assert_eq!(
        spec.clone().with_tolerance(1.5).unwrap_err().to_string(),
        "the tolerance must be at least 0 and below 1, not 1.5"
    );
    assert_eq!(spec.with_tolerance(0.0).unwrap().tolerance, 0.0);
    // The edges are allowed.
    let mut behavior = course();
    behavior.scale_down.stabilization_window = secs(3600);
    behavior.scale_up.policies[0].period = secs(1);
    assert!(Spec::new(4, 4, behavior).is_ok());
}

#[test]
fn seconds_refuse_what_is_not_a_duration() {
    assert_eq!(
        seconds("--scale-up-window", 7.5).unwrap(),
        Duration::from_millis(7500)
    );
    assert_eq!(seconds("--scale-up-window", 0.0).unwrap(), Duration::ZERO);
    assert_eq!(
        seconds("--scale-down-window", -5.0)
            .unwrap_err()
            .to_string(),
        "--scale-down-window must be a number of seconds from 0 to 1000000000, not -5"
    );
    for value in [f64::NAN, f64::INFINITY, 1e30] {
        assert!(seconds("--scale-down-period", value).is_err(), "{value}");
    }
}
