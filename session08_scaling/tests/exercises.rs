//! Session 08's graded exercises. `cargo xtask grade 8` runs these; each test's name starts
//! with its exercise's id (`ex08_2_...` belongs to exercise 8.2), which is how the grader
//! adds up the points in `exercises.toml`. Exercises 8.1 to 8.3 are plain functions on
//! plain values, several of them from the test tables of Kubernetes' own replica
//! calculator. The tests of exercise 8.4 start a redis-server of their own (session 04's
//! `RedisServer`) and real worker processes of this crate's binary.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use session02_pipelines::PipelineSpec;
use session03_workers::{BlobKey, BlobStore as _, Queue as _, Task, TaskId, TaskState};
use session04_redis::cli::QueueArgs;
use session04_redis::server::Children;
use session04_redis::{RedisBlobStore, RedisQueue, RedisServer};
use session05_distributed::registry::{Beat, Registry, RegistryConfig, WorkerInfo, WorkerState};
use session08_scaling::exercises::{
    AuditError, Behavior, Direction, PodCpu, PodPhase, Policy, PolicyKind, Poll, ReplicaError,
    Rule, Rules, ScaleEvent, ScaledObject, SelectPolicy, Violation, audit, desired_replicas,
    drain_one, scale_to_zero,
};

// ---- 8.1 the replica calculator, pod by pod

/// A running, ready pod requesting one core, using `usage` millicores (`None`: no sample).
fn pod(name: &str, usage: Option<u32>) -> PodCpu {
    PodCpu {
        name: name.to_owned(),
        phase: PodPhase::Running,
        deleting: false,
        ready: true,
        request_millicores: 1000,
        usage_millicores: usage,
    }
}

/// Pods `p0`, `p1`, ... using `usages` millicores of a one-core request each.
fn pods(usages: &[Option<u32>]) -> Vec<PodCpu> {
    usages
        .iter()
        .enumerate()
        .map(|(i, usage)| pod(&format!("p{i}"), *usage))
        .collect()
}

fn unready(mut pod: PodCpu) -> PodCpu {
    pod.ready = false;
    pod
}

fn in_phase(mut pod: PodCpu, phase: PodPhase) -> PodCpu {
    pod.phase = phase;
    pod
}

/// The answer for `pods`, which must be computable.
fn replicas(current: u32, target: u32, pods: &[PodCpu]) -> u32 {
    desired_replicas(current, target, pods).unwrap_or_else(|e| {
        panic!("{current} replicas, target {target} %: refused: {e}\n{pods:#?}")
    })
}

#[test]
fn ex08_1_with_every_pod_measured_it_is_the_formula() {
    // 300 + 500 + 700 of 3000 millicores is 50 %; 50 / 30 x 3 pods = 5.
    let three = pods(&[Some(300), Some(500), Some(700)]);
    assert_eq!(replicas(3, 30, &three), 5, "a scale-up, every pod measured");
    // 1400 of 5000 is 28 %; 28 / 50 x 5 = 2.8, rounded up.
    let five = pods(&[Some(100), Some(300), Some(500), Some(250), Some(250)]);
    assert_eq!(
        replicas(5, 50, &five),
        3,
        "a scale-down, every pod measured"
    );

    // Requests of 0.9, 1.0 and 1.1 cores: the utilisation is over their sum, 102 %.
    let mut uneven = pods(&[Some(1010), Some(1030), Some(1020)]);
    for (pod, request) in uneven.iter_mut().zip([900, 1000, 1100]) {
        pod.request_millicores = request;
    }
    assert_eq!(
        replicas(3, 100, &uneven),
        3,
        "102 % of a 100 % target is within the tolerance: no change"
    );
    assert_eq!(
        replicas(7, 100, &uneven),
        7,
        "within the tolerance the answer is the current count, whatever the pods"
    );
}

#[test]
fn ex08_1_failed_and_deleted_pods_are_ignored() {
    for (phase, deleting) in [(PodPhase::Failed, false), (PodPhase::Running, true)] {
        let mut four = pods(&[Some(500), Some(700), Some(0), Some(0)]);
        for pod in &mut four[2..] {
            pod.phase = phase;
            pod.deleting = deleting;
            pod.ready = false;
        }
        assert_eq!(
            replicas(2, 30, &four),
            4,
            "{phase:?} pods (being deleted: {deleting}) play no part: 60 % on the two \
             others, 60 / 30 x 2 = 4"
        );
    }
}

#[test]
fn ex08_1_utilisation_is_whole_percent_rounded_down() {
    // 1047 of 3000 millicores is 34.9 %, which Kubernetes counts as 34 %: 34 / 31 is
    // within the tolerance, 34.9 / 31 would not be.
    let three = pods(&[Some(349), Some(349), Some(349)]);
    assert_eq!(
        replicas(3, 31, &three),
        3,
        "the utilisation is a whole number of percent, rounded down: 34 %, not 34.9 %"
    );
}

#[test]
fn ex08_1_missing_pods_count_as_busy_on_a_scale_down() {
    // 495 of 2000 is 24 %: a scale-down. The two pods without a sample count as using
    // their whole request: 2495 of 4000 is 62 %, and 0.62 x 4 pods rounds up to 3.
    let four = pods(&[Some(400), Some(95), None, None]);
    assert_eq!(
        replicas(4, 100, &four),
        3,
        "missing pods count as 100 % of their request on a scale-down"
    );
    // 60 %, then 1600 of 2000 = 80 %: 0.8 x 2 rounds up to 2.
    let two = pods(&[Some(600), None]);
    assert_eq!(replicas(2, 100, &two), 2);
    // An unready pod stays out of a scale-down; the missing one counts as busy:
    // 200 of 2000 = 10 %, then 1200 of 3000 = 40 %, 0.8 x 3 pods = 2.4, so 3.
    let mixed = vec![
        unready(pod("cold", Some(100))),
        pod("a", Some(100)),
        pod("b", Some(100)),
        pod("new", None),
    ];
    assert_eq!(replicas(4, 50, &mixed), 3);
    // A target above 100 %: a missing pod counts as using the target, 150 %.
    // 30 %, then (300 + 1500 + 1500) of 3000 = 110 %, 110 / 150 x 3 pods = 2.2, so 3.
    let over = pods(&[Some(300), None, None]);
    assert_eq!(
        replicas(4, 150, &over),
        3,
        "on a scale-down a missing pod counts as max(100 %, target) of its request"
    );
}

#[test]
fn ex08_1_unready_pods_count_as_idle_on_a_scale_up() {
    // 1200 of 2000 ready = 60 %: a scale-up. The unready pod counts as 0:
    // 1200 of 3000 = 40 %, 40 / 30 x 3 = 4.
    let three = vec![
        unready(pod("hot", Some(300))),
        pod("a", Some(500)),
        pod("b", Some(700)),
    ];
    assert_eq!(replicas(3, 30, &three), 4);
    // The unready pod's own CPU is never used, busy as it is: 100 % on the ready one,
    // then 1000 of 2000 = 50 %, exactly the target.
    let burning = vec![pod("a", Some(1000)), unready(pod("starting", Some(1000)))];
    assert_eq!(
        replicas(2, 50, &burning),
        2,
        "an unready pod counts as idle on a scale-up, not as what it burns while it starts"
    );
    // Missing and unready pods both count as 0 on a scale-up: 2000 of 1000 = 200 %,
    // then 2000 of 3000 = 66 %, 66 / 50 x 3 = 3.96, so 4.
    let mixed = vec![
        unready(pod("cold", Some(100))),
        pod("a", Some(2000)),
        pod("new", None),
    ];
    assert_eq!(replicas(3, 50, &mixed), 4);
}

#[test]
fn ex08_1_a_second_pass_that_changes_direction_keeps_the_count() {
    // 400 of 1000 = 40 % for a 30 % target: up. With the two unready pods at 0, 400 of
    // 3000 is 13 %: down. The direction flips, so nothing changes.
    let three = vec![
        pod("a", Some(400)),
        unready(pod("b", Some(500))),
        unready(pod("c", Some(700))),
    ];
    assert_eq!(
        replicas(3, 30, &three),
        3,
        "a scale-up that becomes a scale-down once the unready pods count is no scale"
    );
    // Pending pods are unready: 90 % of a 50 % target is up, then 900 of 3000 is down.
    let pending = vec![
        pod("a", Some(900)),
        in_phase(pod("b", None), PodPhase::Pending),
        in_phase(pod("c", None), PodPhase::Pending),
    ];
    assert_eq!(
        replicas(3, 50, &pending),
        3,
        "pending pods count as unready"
    );
    // 45 % is a scale-down; with the missing pod busy, 1450 of 2000 = 72 %: up.
    let flipped = vec![
        unready(pod("cold", Some(100))),
        pod("a", Some(450)),
        pod("new", None),
    ];
    assert_eq!(replicas(3, 50, &flipped), 3);
    // 190 %, then with the missing pod at 0, 1900 of 2000 = 95 %: within the tolerance.
    let two = pods(&[Some(1900), None]);
    assert_eq!(replicas(2, 100, &two), 2);
}

#[test]
fn ex08_1_a_scale_down_never_adds_pods() {
    // A rolling update with maxSurge: 3 pods for 2 replicas, one not measured yet.
    // 10 %, then 1200 of 3000 = 40 %, 0.8 x 3 pods = 3: more than the 2 replicas,
    // from a ratio that says down. The count stays.
    let surge = pods(&[Some(100), Some(100), None]);
    assert_eq!(
        replicas(2, 50, &surge),
        2,
        "a scale-down must not end with more replicas than it started with"
    );
}

#[test]
fn ex08_1_bad_input_is_an_error() {
    let fine = pods(&[Some(500)]);
    assert_eq!(desired_replicas(1, 0, &fine), Err(ReplicaError::NoTarget));
    assert_eq!(
        desired_replicas(1, 0, &[]),
        Err(ReplicaError::NoTarget),
        "the target is checked first"
    );
    assert_eq!(desired_replicas(1, 50, &[]), Err(ReplicaError::NoPods));

    let mut no_request = pods(&[Some(500), Some(0)]);
    no_request[1].request_millicores = 0;
    no_request[1].phase = PodPhase::Failed;
    assert_eq!(
        desired_replicas(2, 50, &no_request),
        Err(ReplicaError::NoRequest {
            pod: "p1".to_owned()
        }),
        "every pod's request is checked, even a pod that would be ignored"
    );

    let unmeasured = pods(&[None, None]);
    assert_eq!(
        desired_replicas(2, 50, &unmeasured),
        Err(ReplicaError::NoMetrics)
    );
    let starting = vec![unready(pod("a", Some(500))), unready(pod("b", Some(500)))];
    assert_eq!(
        desired_replicas(2, 50, &starting),
        Err(ReplicaError::NoMetrics),
        "unready pods do not count as measured"
    );
}

// ---- 8.2 scale to zero and back

fn polls(every: u64, lags: &[u64]) -> Vec<Poll> {
    lags.iter()
        .enumerate()
        .map(|(i, lag)| Poll::new(i as u64 * every, *lag))
        .collect()
}

fn keda(activation_lag: u64, cooldown: u64, initial_cooldown: u64) -> ScaledObject {
    ScaledObject {
        activation_lag,
        cooldown: Duration::from_secs(cooldown),
        initial_cooldown: Duration::from_secs(initial_cooldown),
    }
}

fn events(settings: &ScaledObject, replicas: u32, polls: &[Poll]) -> Vec<ScaleEvent> {
    scale_to_zero(settings, replicas, polls)
        .unwrap_or_else(|e| panic!("valid polls were refused: {e}\n{polls:?}"))
}

#[test]
fn ex08_2_activates_above_the_activation_lag_only() {
    let settings = keda(5, 60, 0);
    assert_eq!(
        events(&settings, 0, &polls(10, &[0, 5, 6, 9, 6])),
        [ScaleEvent::new(20, 0, 1)],
        "a lag of 5 is not above activationLagCount 5; 6 is, and takes 0 replicas to 1, \
         once: above 0, the HPA decides"
    );
    assert_eq!(
        events(&ScaledObject::default(), 0, &polls(30, &[0, 0, 1])),
        [ScaleEvent::new(60, 0, 1)],
        "by default any lag at all activates"
    );
    assert_eq!(
        events(&settings, 0, &polls(10, &[0, 1, 2, 3])),
        [],
        "at 0 replicas and never active, nothing happens"
    );
}

#[test]
fn ex08_2_the_cooldown_counts_from_the_last_active_poll() {
    // Active until 60 s; the cooldown of 120 s has passed at a poll after 180 s.
    let settings = keda(0, 120, 0);
    let timeline = polls(30, &[10, 10, 10, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        events(&settings, 0, &timeline),
        [ScaleEvent::new(0, 0, 1), ScaleEvent::new(210, 1, 0)],
        "the cooldown runs from the last active poll (60 s), and must be over: the poll \
         at exactly 180 s is not more than 120 s after it, the one at 210 s is"
    );
}

#[test]
fn ex08_2_activity_during_the_cooldown_starts_it_again() {
    let settings = keda(0, 100, 0);
    // Active at 0, quiet, active again at 120 s (already at 1: no event), quiet after.
    let timeline = polls(30, &[4, 0, 0, 0, 3, 0, 0, 0, 0, 0]);
    assert_eq!(
        events(&settings, 0, &timeline),
        [ScaleEvent::new(0, 0, 1), ScaleEvent::new(240, 1, 0)],
        "activity at 120 s starts the cooldown again: the first poll more than 100 s \
         after it is at 240 s"
    );
}

#[test]
fn ex08_2_down_to_zero_and_up_again() {
    let settings = keda(2, 30, 0);
    let timeline = polls(10, &[0, 0, 0, 5, 1, 1, 1, 1, 3, 0, 0, 0, 0]);
    assert_eq!(
        events(&settings, 3, &timeline),
        [
            ScaleEvent::new(10, 3, 0),
            ScaleEvent::new(30, 0, 1),
            ScaleEvent::new(70, 1, 0),
            ScaleEvent::new(80, 0, 1),
            ScaleEvent::new(120, 1, 0),
        ],
        "created at 3 replicas and never active, it scales to 0 at the first poll after \
         time 0 (no initial cooldown); then up at 30 s, down 40 s later, up at 80 s, and \
         down again after the cooldown"
    );
}

#[test]
fn ex08_2_the_initial_cooldown_spares_a_new_scaled_object() {
    let quiet = polls(30, &[0, 0, 0, 0, 0]);
    assert_eq!(
        events(&keda(0, 300, 60), 2, &quiet),
        [ScaleEvent::new(90, 2, 0)],
        "never active: it waits until more than initialCooldownPeriod after its creation"
    );
    assert_eq!(
        events(&keda(0, 300, 0), 2, &quiet),
        [ScaleEvent::new(30, 2, 0)],
        "without an initial cooldown, the first poll after the creation (not the one at \
         the creation itself) scales to 0"
    );
    let once_active = polls(30, &[1, 0, 0, 0, 0]);
    assert_eq!(
        events(&keda(0, 60, 600), 2, &once_active),
        [ScaleEvent::new(90, 2, 0)],
        "once active, the cooldown counts, not the initial cooldown"
    );
}

#[test]
fn ex08_2_polls_out_of_order_are_an_error() {
    let settings = ScaledObject::default();
    for times in [[0, 30, 30], [0, 20, 10]] {
        let bad: Vec<Poll> = times.iter().map(|&at| Poll::new(at, 1)).collect();
        match scale_to_zero(&settings, 0, &bad) {
            Ok(events) => panic!("polls at {times:?} s were accepted: {events:?}"),
            Err(error) => {
                assert_eq!(error.index, 2, "the error names the poll out of order");
                assert!(!error.reason.trim().is_empty(), "the error says why");
            }
        }
    }
    assert_eq!(scale_to_zero(&settings, 4, &[]), Ok(Vec::new()));
}

// ---- 8.3 audit a scaling history

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn policy(kind: PolicyKind, value: u32, period: u64) -> Policy {
    Policy {
        kind,
        value,
        period: secs(period),
    }
}

fn rules(select: SelectPolicy, policies: &[Policy]) -> Rules {
    Rules {
        stabilization_window: Duration::ZERO,
        select,
        policies: policies.to_vec(),
    }
}

/// A behaviour that allows any change down at once.
fn any_down() -> Rules {
    rules(SelectPolicy::Max, &[policy(PolicyKind::Percent, 100, 1)])
}

/// A behaviour that allows up to a thousand more replicas at once.
fn any_up() -> Rules {
    rules(SelectPolicy::Max, &[policy(PolicyKind::Pods, 1000, 1)])
}

fn judged(behavior: &Behavior, events: &[ScaleEvent]) -> Option<Violation> {
    audit(behavior, events)
        .unwrap_or_else(|e| panic!("a valid behaviour and history were refused: {e}"))
}

fn breach(index: usize, direction: Direction, limit: u32, rule: Rule) -> Option<Violation> {
    Some(Violation {
        index,
        direction,
        limit,
        rule,
    })
}

#[test]
fn ex08_3_the_course_behaviour_doubles_at_most_once_a_minute() {
    let course = Behavior::course();
    let up = course.scale_up.policies[0];
    let fine = [
        ScaleEvent::new(0, 1, 2),
        ScaleEvent::new(60, 2, 4),
        ScaleEvent::new(120, 4, 8),
    ];
    assert_eq!(
        judged(&course, &fine),
        None,
        "100 % a minute: a change exactly 60 s after the last is in a new period"
    );
    let fast = [
        ScaleEvent::new(0, 1, 2),
        ScaleEvent::new(60, 2, 4),
        ScaleEvent::new(75, 4, 8),
    ];
    assert_eq!(
        judged(&course, &fast),
        breach(2, Direction::Up, 4, Rule::Policy(up)),
        "at 75 s the period started at 2 replicas (the change at 60 s is in it): 100 % of \
         2 allows 4"
    );
    assert_eq!(judged(&course, &[]), None, "no change, nothing to judge");
}

#[test]
fn ex08_3_percentages_round_toward_the_cautious_side() {
    let course = Behavior::course();
    let down = course.scale_down.policies[0];
    assert_eq!(
        judged(
            &course,
            &[ScaleEvent::new(0, 8, 4), ScaleEvent::new(61, 4, 2)]
        ),
        None
    );
    assert_eq!(
        judged(
            &course,
            &[ScaleEvent::new(0, 8, 4), ScaleEvent::new(30, 4, 3)]
        ),
        breach(1, Direction::Down, 4, Rule::Policy(down)),
        "50 % down a minute: 30 s after 8 to 4, the period started at 8, and 4 is the floor"
    );
    assert_eq!(judged(&course, &[ScaleEvent::new(0, 5, 2)]), None);
    assert_eq!(
        judged(&course, &[ScaleEvent::new(0, 5, 1)]),
        breach(0, Direction::Down, 2, Rule::Policy(down)),
        "50 % of 5 is 2.5: down, the limit rounds down to 2 replicas"
    );
    let half_up = Behavior {
        scale_up: rules(SelectPolicy::Max, &[policy(PolicyKind::Percent, 50, 60)]),
        scale_down: any_down(),
    };
    let up = half_up.scale_up.policies[0];
    assert_eq!(judged(&half_up, &[ScaleEvent::new(0, 3, 5)]), None);
    assert_eq!(
        judged(&half_up, &[ScaleEvent::new(0, 3, 6)]),
        breach(0, Direction::Up, 5, Rule::Policy(up)),
        "150 % of 3 is 4.5: up, the limit rounds up to 5 replicas"
    );
}

#[test]
fn ex08_3_percentages_are_computed_in_floating_point_as_kubernetes_does() {
    let tenth_up = Behavior {
        scale_up: rules(SelectPolicy::Max, &[policy(PolicyKind::Percent, 10, 60)]),
        scale_down: any_down(),
    };
    let up = tenth_up.scale_up.policies[0];
    assert_eq!(
        judged(&tenth_up, &[ScaleEvent::new(0, 50, 56)]),
        None,
        "in f64, 50 × 1.1 is 55.00000000000001: a real HPA rounds it up to 56"
    );
    assert_eq!(
        judged(&tenth_up, &[ScaleEvent::new(0, 50, 57)]),
        breach(0, Direction::Up, 56, Rule::Policy(up))
    );
    let most_down = Behavior {
        scale_up: any_up(),
        scale_down: rules(SelectPolicy::Max, &[policy(PolicyKind::Percent, 80, 60)]),
    };
    let down = most_down.scale_down.policies[0];
    assert_eq!(
        judged(&most_down, &[ScaleEvent::new(0, 10, 1)]),
        None,
        "in f64, 10 × (1 - 0.8) is 1.9999999999999996: a real HPA truncates it to 1"
    );
    assert_eq!(
        judged(&most_down, &[ScaleEvent::new(0, 10, 0)]),
        breach(0, Direction::Down, 1, Rule::Policy(down))
    );
}

#[test]
fn ex08_3_select_max_takes_the_policy_that_allows_most() {
    // Kubernetes' default scaleUp: 100 % or 4 pods every 15 s, whichever is more.
    let default = Behavior::kubernetes_default();
    let percent = default.scale_up.policies[0];
    let history = [
        ScaleEvent::new(0, 1, 5),
        ScaleEvent::new(15, 5, 10),
        ScaleEvent::new(30, 10, 21),
    ];
    assert_eq!(
        judged(&default, &history),
        breach(2, Direction::Up, 20, Rule::Policy(percent)),
        "1 to 5 is 4 pods (allowed: the Pods policy allows more than 100 % of 1); 5 to 10 \
         is 100 %; 10 to 21 is past both (20 and 14), and the Percent policy is the one \
         selectPolicy Max picked"
    );
    // Each policy counts over its own period.
    let mixed = Behavior {
        scale_up: rules(
            SelectPolicy::Max,
            &[
                policy(PolicyKind::Pods, 2, 60),
                policy(PolicyKind::Percent, 100, 15),
            ],
        ),
        scale_down: any_down(),
    };
    let fast = mixed.scale_up.policies[1];
    assert_eq!(
        judged(
            &mixed,
            &[
                ScaleEvent::new(0, 2, 4),
                ScaleEvent::new(20, 4, 8),
                ScaleEvent::new(30, 8, 17),
            ]
        ),
        breach(2, Direction::Up, 8, Rule::Policy(fast)),
        "at 20 s the 15 s period holds no change (100 % of 4 allows 8); at 30 s it holds \
         4 to 8, and the 60 s period both changes: both allow no more than 8"
    );
}

#[test]
fn ex08_3_select_min_takes_the_policy_that_allows_least() {
    let cautious = Behavior {
        scale_up: rules(
            SelectPolicy::Min,
            &[
                policy(PolicyKind::Percent, 100, 60),
                policy(PolicyKind::Pods, 2, 60),
            ],
        ),
        scale_down: rules(
            SelectPolicy::Min,
            &[
                policy(PolicyKind::Percent, 50, 60),
                policy(PolicyKind::Pods, 1, 60),
            ],
        ),
    };
    let up_pods = cautious.scale_up.policies[1];
    let down_pods = cautious.scale_down.policies[1];
    assert_eq!(
        judged(
            &cautious,
            &[ScaleEvent::new(0, 4, 6), ScaleEvent::new(60, 6, 9)]
        ),
        breach(1, Direction::Up, 8, Rule::Policy(up_pods)),
        "Min up: 100 % of 6 is 12, 2 pods is 8: the smaller, 8"
    );
    assert_eq!(
        judged(
            &cautious,
            &[ScaleEvent::new(0, 10, 9), ScaleEvent::new(60, 9, 7)]
        ),
        breach(1, Direction::Down, 8, Rule::Policy(down_pods)),
        "Min down: 50 % of 9 allows 4, 1 pod allows 8: the smaller change, 8"
    );
}

#[test]
fn ex08_3_disabled_forbids_every_change_that_way() {
    let no_down = Behavior {
        scale_up: any_up(),
        scale_down: rules(SelectPolicy::Disabled, &[]),
    };
    let history = [
        ScaleEvent::new(0, 1, 3),
        ScaleEvent::new(15, 3, 6),
        ScaleEvent::new(30, 6, 5),
    ];
    assert_eq!(
        judged(&no_down, &history),
        breach(2, Direction::Down, 6, Rule::Disabled),
        "scaleDown selectPolicy Disabled: no change down at all, whatever the policies"
    );
}

#[test]
fn ex08_3_changes_the_other_way_count_in_the_period() {
    let two_a_minute = Behavior {
        scale_up: rules(SelectPolicy::Max, &[policy(PolicyKind::Pods, 2, 60)]),
        scale_down: any_down(),
    };
    let pods = two_a_minute.scale_up.policies[0];
    let history = [
        ScaleEvent::new(0, 4, 2),
        ScaleEvent::new(10, 2, 4),
        ScaleEvent::new(20, 4, 7),
    ];
    assert_eq!(
        judged(&two_a_minute, &history),
        breach(2, Direction::Up, 6, Rule::Policy(pods)),
        "the period started at 4 replicas: 2 removed at 0 s and 2 added at 10 s both count, \
         so at 20 s the limit is 4 + 2 = 6"
    );
}

#[test]
fn ex08_3_a_bad_behaviour_or_history_is_an_error() {
    let empty_down = Behavior {
        scale_up: any_up(),
        scale_down: rules(SelectPolicy::Max, &[]),
    };
    let zero_value = Behavior {
        scale_up: rules(SelectPolicy::Max, &[policy(PolicyKind::Pods, 0, 60)]),
        scale_down: any_down(),
    };
    let zero_period = Behavior {
        scale_up: any_up(),
        scale_down: rules(SelectPolicy::Min, &[policy(PolicyKind::Percent, 10, 0)]),
    };
    for (behavior, direction) in [
        (empty_down, Direction::Down),
        (zero_value, Direction::Up),
        (zero_period, Direction::Down),
    ] {
        match audit(&behavior, &[ScaleEvent::new(0, 1, 2)]) {
            Err(AuditError::Behavior {
                direction: got,
                reason,
            }) => {
                assert_eq!(got, direction, "{behavior:?}");
                assert!(!reason.trim().is_empty(), "the error says why");
            }
            other => panic!("{behavior:?} must be refused, got {other:?}"),
        }
    }
    let disabled = Behavior {
        scale_up: rules(SelectPolicy::Disabled, &[]),
        scale_down: rules(SelectPolicy::Disabled, &[]),
    };
    assert!(audit(&disabled, &[]).is_ok(), "Disabled needs no policies");

    let course = Behavior::course();
    for (history, index) in [
        (vec![ScaleEvent::new(0, 1, 2), ScaleEvent::new(60, 2, 2)], 1),
        (
            vec![ScaleEvent::new(30, 1, 2), ScaleEvent::new(30, 2, 3)],
            1,
        ),
        (
            vec![ScaleEvent::new(30, 1, 2), ScaleEvent::new(20, 2, 3)],
            1,
        ),
        (vec![ScaleEvent::new(0, 1, 2), ScaleEvent::new(60, 3, 4)], 1),
        // A breach first, then a bad event: the history is checked before it is judged.
        (
            vec![
                ScaleEvent::new(0, 1, 9),
                ScaleEvent::new(60, 9, 18),
                ScaleEvent::new(50, 18, 20),
            ],
            2,
        ),
    ] {
        match audit(&course, &history) {
            Err(AuditError::Events(error)) => {
                assert_eq!(error.index, index, "{history:?}");
                assert!(!error.reason.trim().is_empty(), "the error says why");
            }
            other => panic!("{history:?} must be refused, got {other:?}"),
        }
    }
}

// ---- 8.4 a drain that loses nothing

/// The longest any step of a test may take before it fails.
const LIMIT: Duration = Duration::from_secs(30);
/// The lease of the tests' queue: a task held by a killed worker waits this long.
const LEASE_SECONDS: &str = "5";
const NAMESPACE: &str = "ex8";

/// A redis-server, the queue on it, the registry, and an image to process.
struct Lab {
    _server: RedisServer,
    url: String,
    queue: RedisQueue,
    registry: Registry,
    input: BlobKey,
}

async fn lab() -> Lab {
    let server = RedisServer::start_async().await.unwrap();
    let url = server.url();
    let mut args = QueueArgs::for_url(&url);
    args.namespace = NAMESPACE.to_owned();
    args.lease = LEASE_SECONDS.parse().unwrap();
    let (queue, blobs): (RedisQueue, Arc<RedisBlobStore>) = args.open().await.unwrap();
    let registry = Registry::new(
        queue.connection(),
        queue.keys(),
        RegistryConfig {
            interval: Duration::from_millis(200),
            ttl: Duration::from_secs(2),
            ..RegistryConfig::default()
        },
    );
    let image = image::DynamicImage::ImageRgb8(session01_image_basics::samples::generate(24, 16));
    let png = session01_image_basics::encode(&image, image::ImageFormat::Png).unwrap();
    let input = BlobKey::new("inputs/tiny.png").unwrap();
    blobs.put(&input, png.into()).await.unwrap();
    Lab {
        _server: server,
        url,
        queue,
        registry,
        input,
    }
}

/// Starts this crate's `worker` named `name`, one task at a time, each after `delay`
/// seconds, beating every 0.2 s; `extra` flags after.
fn spawn_worker(lab: &Lab, name: &str, delay: &str, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_session08_scaling"))
        .args(["worker", "--redis-url", &lab.url, "--namespace", NAMESPACE])
        .args([
            "--lease",
            LEASE_SECONDS,
            "--worker-id",
            name,
            "--delay",
            delay,
        ])
        .args([
            "--concurrency",
            "1",
            "--heartbeat",
            "0.2",
            "--heartbeat-ttl",
            "2",
        ])
        .args(extra)
        .env_remove("REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start the session's binary")
}

/// Polls `check` until it returns `Some`, failing the test after [`LIMIT`].
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the registry lists the worker of process `pid` as live and holding `tasks`
/// tasks; returns its id.
async fn holding(lab: &Lab, pid: u32, tasks: usize) -> String {
    eventually(&format!("worker {pid} to hold {tasks} task(s)"), || async {
        let workers = lab.registry.list().await.ok()?;
        workers
            .into_iter()
            .find(|w| w.info.pid == pid && w.state.is_live() && w.beat.current.len() == tasks)
            .map(|w| w.info.id)
    })
    .await
}

/// Enqueues `n` tasks that turn the lab's image grey.
async fn submit(lab: &Lab, n: usize) -> Vec<TaskId> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let mut task = Task::new(
            PipelineSpec::parse("grayscale").unwrap(),
            lab.input.clone(),
            lab.input.clone(),
        );
        task.output = BlobKey::new(format!("results/{}.png", task.id)).unwrap();
        ids.push(
            lab.queue
                .enqueue(task, session03_workers::Backpressure::Reject)
                .await
                .unwrap(),
        );
    }
    ids
}

/// Waits until every task of `ids` has succeeded, then checks each ran exactly once.
async fn all_succeeded_once(lab: &Lab, ids: &[TaskId]) {
    eventually("every task to succeed", || async {
        let states = lab.queue.states(ids.iter().copied()).await.ok()?;
        states
            .iter()
            .all(|s| *s == Some(TaskState::Succeeded))
            .then_some(())
    })
    .await;
    for id in ids {
        let record = lab.queue.status(*id).await.unwrap().unwrap();
        assert_eq!(
            record.attempts, 1,
            "task {id} was started {} times: a task held by a drained worker must finish \
             there, not run again after its lease ran out",
            record.attempts
        );
    }
    let stats = lab.queue.stats().await.unwrap();
    assert_eq!(
        (stats.succeeded, stats.retried, stats.expired_leases),
        (ids.len() as u64, 0, 0),
        "every task succeeds once, with no retry and no lease running out"
    );
}

/// The worker of process `pid`, as the registry lists it now.
async fn state_of(lab: &Lab, pid: u32) -> Option<WorkerState> {
    let workers = lab.registry.list().await.unwrap();
    workers
        .into_iter()
        .find(|w| w.info.pid == pid)
        .map(|w| w.state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex08_4_a_drained_worker_finishes_what_it_holds() {
    let lab = lab().await;
    let mut workers = Children::default();
    workers.0.push(spawn_worker(&lab, "old", "3", &[]));
    let old_pid = workers.0[0].id();
    holding(&lab, old_pid, 0).await;
    workers.0.push(spawn_worker(&lab, "new", "3", &[]));
    let new_pid = workers.0[1].id();
    holding(&lab, new_pid, 0).await;

    let ids = submit(&lab, 3).await;
    holding(&lab, old_pid, 1).await;
    let newest = holding(&lab, new_pid, 1).await;

    let drained = drain_one(&lab.registry, &lab.queue, &mut workers, LIMIT)
        .await
        .unwrap()
        .expect("two workers of ours are live: one is drained");
    assert_eq!(
        (drained.worker.as_str(), drained.pid),
        (newest.as_str(), new_pid),
        "both hold one task: the newest worker goes"
    );
    assert_eq!(drained.held.len(), 1, "it held one task: {drained:?}");
    assert_eq!(
        drained.finished, drained.held,
        "a worker drained with SIGTERM finishes the task it holds before it exits"
    );
    assert!(
        drained.status.success(),
        "a drained worker exits cleanly, not {}",
        drained.status
    );
    assert_eq!(
        workers.0.iter().map(Child::id).collect::<Vec<_>>(),
        [old_pid],
        "the drained worker leaves `workers`"
    );
    assert_eq!(
        state_of(&lab, new_pid).await,
        Some(WorkerState::Gone),
        "it said goodbye to the registry"
    );
    all_succeeded_once(&lab, &ids).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex08_4_the_least_busy_of_our_workers_goes_first() {
    let lab = lab().await;
    let mut workers = Children::default();
    // The older worker runs only `resize`: it never takes the grey tasks.
    workers.0.push(spawn_worker(
        &lab,
        "idle",
        "0",
        &["--capabilities", "resize"],
    ));
    let idle_pid = workers.0[0].id();
    let idle = holding(&lab, idle_pid, 0).await;
    workers.0.push(spawn_worker(&lab, "busy", "3", &[]));
    let busy_pid = workers.0[1].id();
    holding(&lab, busy_pid, 0).await;
    let ids = submit(&lab, 1).await;
    holding(&lab, busy_pid, 1).await;

    // Another program's worker: idle and the newest, but not ours to stop.
    let stranger = WorkerInfo {
        id: "stranger-00000000".to_owned(),
        host: "elsewhere".to_owned(),
        pid: u32::MAX - 1,
        capabilities: session03_workers::Capabilities::All,
        concurrency: 1,
        version: "0".to_owned(),
        started_at: chrono::Utc::now(),
        heartbeat_ms: 60_000,
        ttl_ms: 600_000,
    };
    lab.registry
        .beat(&stranger, &Beat::default(), false)
        .await
        .unwrap();

    let drained = drain_one(&lab.registry, &lab.queue, &mut workers, LIMIT)
        .await
        .unwrap()
        .expect("two workers of ours are live: one is drained");
    assert_eq!(
        (drained.worker.as_str(), drained.pid),
        (idle.as_str(), idle_pid),
        "the idle worker goes before the busy one, though it is older; a worker that is \
         not one of `workers` is never chosen"
    );
    assert!(drained.held.is_empty() && drained.finished.is_empty());
    assert!(drained.status.success(), "exited with {}", drained.status);
    assert_eq!(
        workers.0.iter().map(Child::id).collect::<Vec<_>>(),
        [busy_pid]
    );
    all_succeeded_once(&lab, &ids).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex08_4_with_no_worker_of_ours_nothing_is_drained() {
    let lab = lab().await;
    let mut workers = Children::default();
    let outcome = drain_one(&lab.registry, &lab.queue, &mut workers, LIMIT)
        .await
        .unwrap();
    assert_eq!(outcome, None, "an empty registry: nothing to drain");

    // A worker of ours that has not registered yet is not chosen either.
    let sleeper = Command::new("sleep")
        .arg("30")
        .stdin(Stdio::null())
        .spawn()
        .expect("cannot start `sleep`");
    let sleeper_pid = sleeper.id();
    workers.0.push(sleeper);
    let outcome = drain_one(&lab.registry, &lab.queue, &mut workers, LIMIT)
        .await
        .unwrap();
    assert_eq!(
        outcome, None,
        "a process the registry does not list is left alone"
    );
    assert_eq!(
        workers.0.iter().map(Child::id).collect::<Vec<_>>(),
        [sleeper_pid]
    );
    assert!(
        workers.0[0].try_wait().unwrap().is_none(),
        "and it still runs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex08_4_a_worker_that_outlives_the_deadline_is_killed_and_named() {
    let lab = lab().await;
    let mut workers = Children::default();
    workers.0.push(spawn_worker(
        &lab,
        "stubborn",
        "60",
        &["--shutdown-grace", "120"],
    ));
    let pid = workers.0[0].id();
    holding(&lab, pid, 0).await;
    submit(&lab, 1).await;
    let id = holding(&lab, pid, 1).await;

    let outcome = drain_one(
        &lab.registry,
        &lab.queue,
        &mut workers,
        Duration::from_millis(500),
    )
    .await;
    let error = match outcome {
        Ok(drained) => panic!(
            "a worker that cannot finish its task within the deadline was reported \
             drained: {drained:?}"
        ),
        Err(error) => format!("{error:#}"),
    };
    assert!(
        error.contains(&id),
        "the error names the worker ({id}): {error}"
    );
    assert!(
        workers.0.is_empty(),
        "the killed worker leaves `workers` too"
    );
    assert!(
        !process_exists(pid),
        "the worker was killed after the deadline, and waited for"
    );
}

/// Whether a process with this id exists (a zombie not yet waited for counts): signal 0
/// checks without sending anything.
fn process_exists(pid: u32) -> bool {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap());
    nix::sys::signal::kill(pid, None).is_ok()
}
