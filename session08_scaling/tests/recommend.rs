//! The recommender: pure cases of `recommend` (idle, a backlog, a quiet crowd, no worker,
//! the bounds), and the `recommend` command against a real redis-server with tasks and
//! no worker.

use std::io::Read as _;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use session03_workers::{Backpressure, BlobKey, Queue};
use session04_redis::RedisServer;
use session06_docker::demo::exited;
use session08_scaling::hpa::{Behavior, Spec};
use session08_scaling::recommend::{
    Action, Recommendation, SystemMetrics, Targets, Urgency, recommend,
};

/// Session 04's test helpers: a queue on a real redis-server, tasks.
#[path = "../../session04_redis/tests/common/mod.rs"]
mod session04;

fn spec(min: u32, max: u32) -> Spec {
    Spec::new(min, max, Behavior::course()).unwrap()
}

fn advise(metrics: &SystemMetrics, min: u32, max: u32) -> Recommendation {
    recommend(metrics, &spec(min, max), &Targets::default())
}

/// Two workers, one busy, at ease: CPU 40 %, memory 50 %, a lag of 5, all tasks fine.
fn at_ease() -> SystemMetrics {
    SystemMetrics {
        cpu_percent: 40.0,
        memory_percent: 50.0,
        queue_depth: 5,
        queue_lag: 5,
        pending: 1,
        busy_workers: 1,
        total_workers: 2,
        success_rate: Some(1.0),
    }
}

#[test]
fn the_default_targets_are_the_course_s() {
    let targets = Targets::default();
    assert_eq!(
        (
            targets.cpu_percent,
            targets.memory_percent,
            targets.lag_per_worker
        ),
        (70.0, 80.0, 10.0)
    );
    assert_eq!(
        Targets::new(70.0, 0.0, 10.0).unwrap_err().to_string(),
        "--target-memory must be a positive number, not 0"
    );
    assert!(Targets::new(70.0, 80.0, f64::NAN).is_err());
}

#[test]
fn an_idle_system_maintains_with_the_optimal_reason() {
    // CPU at 40 % of a 70 % target asks for ceil(2 × 0.57) = 2: keep both.
    let advice = advise(&at_ease(), 1, 8);
    assert_eq!(advice.action, Action::Maintain);
    assert_eq!(
        (advice.current_replicas, advice.recommended_replicas),
        (2, 2)
    );
    assert_eq!(advice.reason, "System operating within optimal parameters");
    assert_eq!(advice.urgency, Urgency::Low);
    // The lag asks for 1, CPU for 2: no signal asks for more, so they do not disagree,
    // and every finished task succeeded: full confidence.
    assert_eq!(advice.confidence, 1.0);
    // CPU and the lag; memory is not a scaling signal.
    let names: Vec<&str> = advice
        .signals
        .iter()
        .map(|s| s.metric.name.as_str())
        .collect();
    assert_eq!(names, ["CPU", "queue lag"]);

    let json = serde_json::to_value(&advice).unwrap();
    assert_eq!(json["action"], "MAINTAIN");
    assert_eq!(json["urgency"], "LOW");
}

#[test]
fn a_backlog_with_every_worker_busy_scales_up_and_quotes_the_lag() {
    let metrics = SystemMetrics {
        cpu_percent: 60.0,
        queue_depth: 340,
        queue_lag: 340,
        pending: 4,
        busy_workers: 4,
        total_workers: 4,
        ..at_ease()
    };
    let advice = advise(&metrics, 1, 8);
    assert_eq!(advice.action, Action::ScaleUp);
    // The lag asks for ceil(340 / 10) = 34; maxReplicas is 8.
    assert_eq!(advice.recommended_replicas, 8);
    assert_eq!(
        advice.reason,
        "queue lag 340 tasks, 4 of 4 workers busy; capped at maxReplicas (8)"
    );
    // 85 waiting per worker, more than 5 times the target of 10.
    assert_eq!(advice.urgency, Urgency::Critical);
    assert_eq!(serde_json::to_value(&advice).unwrap()["action"], "SCALE_UP");

    // Within the cap, the reason is the lag alone, and 30 per worker is HIGH.
    let metrics = SystemMetrics {
        queue_lag: 120,
        ..metrics
    };
    let advice = advise(&metrics, 1, 20);
    assert_eq!(advice.recommended_replicas, 12);
    assert_eq!(advice.reason, "queue lag 120 tasks, 4 of 4 workers busy");
    assert_eq!(advice.urgency, Urgency::High);
}

#[test]
fn a_hot_cpu_scales_up_and_says_so() {
    let metrics = SystemMetrics {
        cpu_percent: 92.0,
        queue_lag: 0,
        ..at_ease()
    };
    let advice = advise(&metrics, 1, 8);
    // ceil(2 × 92 / 70) = 3.
    assert_eq!(
        (advice.action, advice.recommended_replicas),
        (Action::ScaleUp, 3)
    );
    assert_eq!(advice.reason, "CPU 92% against its 70% target");
    assert_eq!(advice.urgency, Urgency::High);
    // CPU asks for more, the lag for fewer: the signals disagree.
    assert_eq!(advice.confidence, 0.7);
}

#[test]
fn low_cpu_an_empty_queue_and_many_workers_scale_down() {
    let metrics = SystemMetrics {
        cpu_percent: 10.0,
        memory_percent: 30.0,
        queue_depth: 0,
        queue_lag: 0,
        pending: 1,
        busy_workers: 1,
        total_workers: 6,
        success_rate: Some(1.0),
    };
    let advice = advise(&metrics, 1, 8);
    // CPU asks for ceil(6 × 10 / 70) = 1, the lag for 0.
    assert_eq!(
        (advice.action, advice.recommended_replicas),
        (Action::ScaleDown, 1)
    );
    assert_eq!(
        advice.reason,
        "all signals below target: CPU 10% (target 70%), queue lag 0 tasks, 1 of 6 workers \
         busy (target 10 per worker)"
    );
    assert_eq!(advice.urgency, Urgency::Low);
    assert_eq!(
        serde_json::to_value(&advice).unwrap()["action"],
        "SCALE_DOWN"
    );

    // minReplicas 4 holds it at 4.
    let advice = advise(&metrics, 4, 8);
    assert_eq!(advice.recommended_replicas, 4);
    assert!(
        advice.reason.ends_with("; held at minReplicas (4)"),
        "{}",
        advice.reason
    );
}

#[test]
fn zero_workers_and_a_backlog_scale_up_to_at_least_min() {
    let metrics = SystemMetrics {
        cpu_percent: 3.0,
        memory_percent: 40.0,
        queue_depth: 25,
        queue_lag: 25,
        pending: 0,
        busy_workers: 0,
        total_workers: 0,
        success_rate: None,
    };
    let advice = advise(&metrics, 1, 8);
    // ceil(25 / 10) = 3.
    assert_eq!(
        (advice.action, advice.recommended_replicas),
        (Action::ScaleUp, 3)
    );
    assert_eq!(advice.reason, "queue lag 25 tasks and no worker running");
    assert_eq!(advice.urgency, Urgency::Critical);
    // Nothing finished yet: less sure.
    assert_eq!(advice.confidence, 0.8);

    // A small backlog still gets minReplicas.
    let small = SystemMetrics {
        queue_lag: 3,
        ..metrics.clone()
    };
    let advice = advise(&small, 5, 8);
    assert_eq!(advice.recommended_replicas, 5);
    assert_eq!(
        advice.reason,
        "queue lag 3 tasks and no worker running; raised to minReplicas (5)"
    );

    // No work and no worker: minReplicas all the same.
    let empty = SystemMetrics {
        queue_lag: 0,
        queue_depth: 0,
        ..metrics
    };
    let advice = advise(&empty, 1, 8);
    assert_eq!(
        (advice.action, advice.recommended_replicas),
        (Action::ScaleUp, 1)
    );
    assert_eq!(advice.reason, "0 workers running, below minReplicas (1)");
    assert_eq!(advice.urgency, Urgency::Medium);
}

#[test]
fn the_bounds_are_respected_and_failing_tasks_lower_confidence() {
    let overloaded = SystemMetrics {
        queue_lag: 1000,
        busy_workers: 8,
        total_workers: 8,
        success_rate: Some(0.4),
        ..at_ease()
    };
    let advice = advise(&overloaded, 2, 8);
    assert_eq!(
        (advice.action, advice.recommended_replicas),
        (Action::Maintain, 8)
    );
    assert_eq!(
        advice.reason,
        "queue lag 1000 tasks, 8 of 8 workers busy; already at maxReplicas (8)"
    );
    assert_eq!(advice.urgency, Urgency::Critical);
    // Signals disagree (CPU asks for fewer) and most tasks fail: 0.7 × 0.5.
    assert_eq!(advice.confidence, 0.35);

    // Many signals, many sizes: never outside min..=max.
    for workers in 0..12 {
        for lag in [0, 5, 50, 500] {
            let metrics = SystemMetrics {
                queue_lag: lag,
                total_workers: workers,
                busy_workers: workers,
                ..at_ease()
            };
            let advice = advise(&metrics, 2, 6);
            assert!(
                (2..=6).contains(&advice.recommended_replicas),
                "{workers} workers, lag {lag}: {advice:?}"
            );
            assert!((0.0..=1.0).contains(&advice.confidence));
        }
    }
}

#[test]
fn an_unusable_reading_is_left_out() {
    let metrics = SystemMetrics {
        cpu_percent: f64::NAN,
        queue_lag: 40,
        ..at_ease()
    };
    let advice = advise(&metrics, 1, 8);
    assert_eq!(advice.recommended_replicas, 4);
    assert_eq!(
        advice.reason,
        "queue lag 40 tasks, 1 of 2 workers busy; ignoring: CPU reads NaN, not a usable value"
    );
}

#[test]
fn an_unusable_reading_never_lets_the_others_scale_down() {
    // Six idle workers and no lag would go down to 1, but the CPU cannot be read.
    let metrics = SystemMetrics {
        cpu_percent: f64::NAN,
        memory_percent: 30.0,
        queue_depth: 0,
        queue_lag: 0,
        pending: 0,
        busy_workers: 0,
        total_workers: 6,
        success_rate: Some(1.0),
    };
    let advice = advise(&metrics, 1, 8);
    assert_eq!(
        (advice.action, advice.recommended_replicas),
        (Action::Maintain, 6)
    );
    assert_eq!(
        advice.reason,
        "keeping 6: not scaling down while a signal is unusable: CPU reads NaN, not a usable \
         value"
    );
}

#[test]
fn above_max_the_reason_is_the_bound_not_the_signals() {
    // Ten busy workers and a lag that asks for 20: the signals want more, maxReplicas 8.
    let metrics = SystemMetrics {
        queue_lag: 200,
        busy_workers: 10,
        total_workers: 10,
        ..at_ease()
    };
    let advice = advise(&metrics, 1, 8);
    assert_eq!(
        (advice.action, advice.recommended_replicas),
        (Action::ScaleDown, 8)
    );
    assert_eq!(advice.reason, "10 workers running, above maxReplicas (8)");
}

#[test]
fn at_min_with_signals_asking_for_fewer_the_reason_says_so() {
    // CPU asks for ceil(2 × 10 / 70) = 1, the lag for 0; minReplicas is 2.
    let metrics = SystemMetrics {
        cpu_percent: 10.0,
        queue_depth: 0,
        queue_lag: 0,
        ..at_ease()
    };
    let advice = advise(&metrics, 2, 8);
    assert_eq!(
        (advice.action, advice.recommended_replicas),
        (Action::Maintain, 2)
    );
    assert_eq!(
        advice.reason,
        "CPU 10% against its 70% target; already at minReplicas (2)"
    );
}

#[test]
fn memory_is_not_a_scaling_signal_but_tempers_a_scale_up() {
    // The machine's memory nearly full, the workers idle: still a scale-down, HIGH.
    let idle = SystemMetrics {
        cpu_percent: 10.0,
        memory_percent: 95.0,
        queue_depth: 0,
        queue_lag: 0,
        ..at_ease()
    };
    let advice = advise(&idle, 1, 8);
    assert_eq!(
        (advice.action, advice.recommended_replicas),
        (Action::ScaleDown, 1)
    );
    assert_eq!(advice.urgency, Urgency::High);

    // A backlog with memory at its 80 % target: the scale-up stands, less sure.
    let backlog = SystemMetrics {
        memory_percent: 80.0,
        queue_lag: 60,
        ..at_ease()
    };
    let advice = advise(&backlog, 1, 8);
    // The lag asks for 6, CPU for 2 (no fewer than run): they do not disagree.
    assert_eq!(
        (advice.action, advice.recommended_replicas),
        (Action::ScaleUp, 6)
    );
    assert_eq!(advice.confidence, 0.8);
    let easy = advise(
        &SystemMetrics {
            memory_percent: 79.0,
            ..backlog
        },
        1,
        8,
    );
    assert_eq!(easy.confidence, 1.0);
}

/// Runs the session's binary with `args` (and no `REDIS_URL`), waiting at most 30 s.
async fn session08(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_session08_scaling"))
        .args(args)
        .env_remove("REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the session's binary");
    let status = match exited(&mut child, Duration::from_secs(30)).await {
        Ok(status) => status,
        Err(error) => {
            let _ = child.kill();
            let _ = exited(&mut child, Duration::from_secs(5)).await;
            panic!("session08_scaling {args:?}: {error}");
        }
    };
    // A table or one JSON document: small enough for the pipes, so the program never
    // waits on a full pipe, and both can be read once it has exited.
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    if let Some(mut pipe) = child.stdout.take() {
        pipe.read_to_end(&mut stdout).unwrap();
    }
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_end(&mut stderr).unwrap();
    }
    Output {
        status,
        stdout,
        stderr,
    }
}

/// The `recommend` command on a real Redis: tasks waiting, no worker.
#[tokio::test(flavor = "multi_thread")]
async fn the_command_recommends_scaling_up_a_queue_nobody_works_on() {
    let server = RedisServer::start_async().await.unwrap();
    let ns = session04::namespace();
    let queue = session04::queue(&server, &ns, Duration::from_secs(30)).await;
    let input = BlobKey::new("inputs/photo.png").unwrap();
    for _ in 0..34 {
        queue
            .enqueue(session04::task("grayscale", &input), Backpressure::Reject)
            .await
            .unwrap();
    }

    let url = server.url();
    let output = session08(&[
        "recommend",
        "--redis-url",
        &url,
        "--namespace",
        &ns,
        "--json",
    ])
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let advice: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(advice["action"], "SCALE_UP", "{advice:#}");
    assert_eq!(advice["current_replicas"], 0);
    // ceil(34 / 10) = 4.
    assert_eq!(advice["recommended_replicas"], 4);
    assert_eq!(advice["reason"], "queue lag 34 tasks and no worker running");
    assert_eq!(advice["urgency"], "CRITICAL");
    assert_eq!(advice["metrics"]["queue_lag"], 34);
}

/// The same command for people: a table and the verdict; bad flags refused with the rule.
#[tokio::test(flavor = "multi_thread")]
async fn the_command_renders_a_table_and_refuses_bad_flags() {
    let server = RedisServer::start_async().await.unwrap();
    let url = server.url();
    let ns = session04::namespace();
    let run = |extra: &'static [&'static str]| {
        let mut args = vec!["recommend", "--redis-url", &url, "--namespace", &ns];
        args.extend_from_slice(extra);
        async move { session08(&args).await }
    };
    let output = run(&[]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("queue lag"), "{stdout}");
    assert!(stdout.contains("SCALE_UP: 0 → 1 workers"), "{stdout}");

    let output = run(&["--min", "5", "--max", "3"]).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("minReplicas (5) must not exceed maxReplicas (3)"),
        "{stderr}"
    );
    let output = run(&["--target-cpu", "-3"]).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--target-cpu must be a positive number, not -3"),
        "{stderr}"
    );
}
