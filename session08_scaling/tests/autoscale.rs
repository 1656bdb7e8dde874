//! The local autoscaler with real parts: a real `redis-server`, real worker processes (this
//! crate's binary), real tasks. Windows and periods are shortened (`--speed` and the
//! behaviour flags) so each test takes seconds; every wait has a deadline.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use session03_workers::logging::LogFormat;
use session03_workers::{Queue as _, TaskState};
use session04_redis::server::Children;
use session04_redis::{RedisOptions, RedisServer};
use session05_distributed::Registry;
use session06_docker::batch::{self, Planned};
use session08_scaling::autoscale::{Autoscale, AutoscaleArgs, Ended};
use session08_scaling::cli::{Cli, Command as Sub};
use session08_scaling::metrics::{in_hand_by_pid, worker_signals};
use session08_scaling::supervisor::{Supervisor, WorkerCommand};

/// Session 04's test helpers: waiting for a process with a deadline.
#[path = "../../session04_redis/tests/common/mod.rs"]
mod session04;

/// The binary the workers run as.
const PROGRAM: &str = env!("CARGO_BIN_EXE_session08_scaling");

/// The binary with `args`, away from every environment variable it reads.
fn command(args: &[&str]) -> Command {
    let mut command = Command::new(PROGRAM);
    command.args(args).stdin(Stdio::null());
    for variable in variables(&<Cli as clap::CommandFactory>::command()) {
        command.env_remove(variable);
    }
    command
}

/// Every environment variable an argument of `command` or of its subcommands reads.
fn variables(command: &clap::Command) -> Vec<std::ffi::OsString> {
    let mut found: Vec<_> = command
        .get_arguments()
        .filter_map(|arg| arg.get_env().map(ToOwned::to_owned))
        .collect();
    for sub in command.get_subcommands() {
        found.extend(variables(sub));
    }
    found
}

/// The autoscale flags of `flags`, parsed as the command line would be, on the Redis at
/// `url` and a namespace of the test's own.
fn args(url: &str, namespace: &str, flags: &[&str]) -> AutoscaleArgs {
    let mut line = vec![
        "session08_scaling",
        "autoscale",
        "--redis-url",
        url,
        "--namespace",
        namespace,
        "--heartbeat",
        "0.5",
        "--heartbeat-ttl",
        "2",
    ];
    line.extend_from_slice(flags);
    match Cli::try_parse_from(line).unwrap().command {
        Some(Sub::Autoscale(args)) => args,
        other => panic!("not the autoscale command: {other:?}"),
    }
}

/// `count` quick tasks on the sample photos.
fn planned(count: usize) -> Vec<Planned> {
    let photos = batch::photos(None, &Default::default()).unwrap();
    photos
        .into_iter()
        .cycle()
        .take(count)
        .enumerate()
        .map(|(i, input)| Planned {
            name: format!("task-{i}"),
            pipeline: "resize:width=64".to_owned(),
            input,
        })
        .collect()
}

#[tokio::test]
async fn a_backlog_scales_up_then_down_and_nothing_is_lost() {
    let server = RedisServer::start_async().await.unwrap();
    // At 4x: decisions every second, up after 1 s, down after 2 s, each at most doubling
    // or halving every 2 s.
    let args = args(
        &server.url(),
        "scale-up-down",
        &[
            "--max",
            "3",
            "--speed",
            "4",
            "--sync-period",
            "4",
            "--scale-up-window",
            "4",
            "--scale-up-period",
            "8",
            "--scale-down-window",
            "8",
            "--scale-down-period",
            "8",
            "--target-lag",
            "2",
            "--worker-delay",
            "0.4",
            "--worker-concurrency",
            "1",
            "--drain-grace",
            "20",
        ],
    );
    let mut autoscale = Autoscale::start(&args, Path::new(PROGRAM)).await.unwrap();
    let (queue, blobs) = args.queue.open().await.unwrap();
    let tasks = planned(30);
    let output = tempfile::tempdir().unwrap();
    let load_done = AtomicBool::new(false);
    let load = async {
        let finished = batch::run(
            &queue,
            &blobs,
            &tasks,
            output.path(),
            Duration::from_secs(90),
        )
        .await;
        load_done.store(true, Ordering::SeqCst);
        finished
    };
    let watch = autoscale.run_until(Some(Duration::from_secs(100)), |a| {
        let reached_max = a.timeline().iter().any(|row| row.replicas == 3);
        reached_max && load_done.load(Ordering::SeqCst) && a.supervisor().serving() == 1
    });
    let (finished, ended) = tokio::join!(load, watch);
    let finished = finished.unwrap();
    assert_eq!(ended.unwrap(), Ended::Done, "{:#?}", autoscale.timeline());

    // Up to the cap and back, by decisions the controller made.
    let changes: Vec<(u32, u32)> = autoscale
        .decisions()
        .iter()
        .filter(|d| d.desired != d.current)
        .map(|d| (d.current, d.desired))
        .collect();
    assert!(changes.iter().any(|(from, to)| to > from), "{changes:?}");
    assert!(changes.iter().any(|(from, to)| to < from), "{changes:?}");
    assert!(
        autoscale
            .decisions()
            .iter()
            .all(|d| (1..=3).contains(&d.desired))
    );

    // Every task succeeded at its first attempt: drains finished what they held.
    assert_eq!(finished.len(), 30);
    for task in &finished {
        assert_eq!(
            (task.record.state, task.record.attempts),
            (TaskState::Succeeded, 1),
            "{}",
            task.name
        );
    }
    let stats = queue.stats().await.unwrap();
    assert_eq!(
        (stats.succeeded, stats.retried, stats.expired_leases),
        (30, 0, 0)
    );

    autoscale.shutdown().await;
    assert_eq!(autoscale.supervisor().killed(), 0);
    assert_eq!(autoscale.supervisor().replaced(), 0);
    // Each worker's last beat counts what it ran: 30 in all, so none ran twice.
    let workers = autoscale.registry().list().await.unwrap();
    let processed: u64 = workers.iter().map(|w| w.beat.processed).sum();
    assert_eq!(processed, 30, "{workers:#?}");
    assert!(workers.len() >= 3);
}

#[tokio::test]
async fn a_drained_worker_finishes_what_it_holds() {
    let server = RedisServer::start_async().await.unwrap();
    let args = args(&server.url(), "drain", &[]);
    let mut supervisor = Supervisor::new(WorkerCommand {
        program: PROGRAM.into(),
        redis: RedisOptions::new(server.url()),
        namespace: "drain".into(),
        lease: 30.0,
        heartbeat: args.heartbeat.clone(),
        delay: 1.5,
        concurrency: Some(2),
        drain_grace: Duration::from_secs(20),
        name_prefix: "slow".into(),
        logs: false,
        log_format: LogFormat::Human,
    });
    supervisor.start_one().unwrap();
    let (queue, blobs) = args.queue.open().await.unwrap();
    let registry = Registry::new(
        queue.connection(),
        queue.keys(),
        args.heartbeat.config().unwrap(),
    );
    let tasks = planned(2);
    let output = tempfile::tempdir().unwrap();
    let finished = batch::run(
        &queue,
        &blobs,
        &tasks,
        output.path(),
        Duration::from_secs(30),
    );
    let drill = async {
        // Both tasks in the worker's hands, by its heartbeat, then SIGTERM.
        let in_hand = wait_for(Duration::from_secs(20), || async {
            let workers = registry.list().await.unwrap();
            let in_hand = in_hand_by_pid(&workers);
            (in_hand.values().sum::<usize>() == 2).then_some(in_hand)
        })
        .await;
        assert_eq!(supervisor.drain_one(&in_hand).as_deref(), Some("slow-1"));
        assert_eq!((supervisor.serving(), supervisor.draining()), (0, 1));
        wait_for(Duration::from_secs(30), || {
            supervisor.reap().unwrap();
            std::future::ready((supervisor.draining() == 0).then_some(()))
        })
        .await;
    };
    let (finished, ()) = tokio::join!(finished, drill);
    for task in finished.unwrap() {
        assert_eq!(
            (task.record.state, task.record.attempts),
            (TaskState::Succeeded, 1)
        );
    }
    assert_eq!(supervisor.killed(), 0);
    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.retried, stats.expired_leases), (0, 0));
}

/// Polls `check` every 50 ms until it gives a value; fails after `limit`.
async fn wait_for<T, F, Fut>(limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_worker_killed_from_outside_is_replaced_and_counted() {
    let server = RedisServer::start_async().await.unwrap();
    let args = args(
        &server.url(),
        "replace",
        &["--min", "2", "--max", "2", "--sync-period", "0.5"],
    );
    let mut autoscale = Autoscale::start(&args, Path::new(PROGRAM)).await.unwrap();
    assert_eq!(autoscale.supervisor().serving(), 2);
    let victim = autoscale.supervisor().workers()[0].pid();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(victim).unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let ended = autoscale
        .run_until(Some(Duration::from_secs(20)), |a| {
            a.supervisor().replaced() == 1
        })
        .await
        .unwrap();
    assert_eq!(ended, Ended::Done);
    let supervisor = autoscale.supervisor();
    assert_eq!((supervisor.serving(), supervisor.started()), (2, 3));
    assert!(supervisor.workers().iter().all(|w| w.pid() != victim));
    assert_eq!(supervisor.workers()[1].name(), "auto-3");
}

#[tokio::test]
async fn without_redis_it_holds_and_says_why() {
    let mut server = RedisServer::start_async().await.unwrap();
    // A decision every half second; an idle queue would shrink the pool to one.
    let args = args(
        &server.url(),
        "hold",
        &["--initial", "2", "--speed", "4", "--sync-period", "2"],
    );
    let mut autoscale = Autoscale::start(&args, Path::new(PROGRAM)).await.unwrap();
    // Both workers ready and beating: a worker that loses Redis while it starts exits,
    // and would be replaced.
    wait_for(Duration::from_secs(30), || async {
        let workers = worker_signals(autoscale.registry()).await.unwrap();
        (workers.total == 2).then_some(())
    })
    .await;
    let first = autoscale.tick().await.unwrap();
    assert!(!first.reason.contains("Redis unreachable"), "{first:?}");
    server.stop().unwrap();
    let before = autoscale.decisions_made();
    let ended = autoscale
        .run_until(Some(Duration::from_secs(3)), |_| false)
        .await
        .unwrap();
    assert_eq!(ended, Ended::Deadline);
    let since = usize::try_from(autoscale.decisions_made() - before).unwrap();
    assert!(since >= 1, "no decision without Redis");
    let held: Vec<_> = autoscale.decisions().iter().rev().take(since).collect();
    for decision in held {
        assert_eq!((decision.current, decision.desired), (2, 2), "{decision:?}");
        assert!(
            decision.reason.contains("Redis unreachable"),
            "{decision:?}"
        );
    }
    let supervisor = autoscale.supervisor();
    assert_eq!((supervisor.serving(), supervisor.replaced()), (2, 0));
    let last = autoscale.timeline().back().unwrap();
    assert_eq!((last.replicas, last.desired), (2, 2));
}

#[test]
fn nonsense_settings_are_refused_with_the_rule() {
    for (flags, rule) in [
        (
            &["--min", "5", "--max", "3"][..],
            "--min (5) must not exceed --max (3)",
        ),
        (
            &["--scale-down-window", "-5"][..],
            "--scale-down-window must be a number of seconds from 0",
        ),
        (
            &["--speed", "0"][..],
            "--speed (0) must be a positive number",
        ),
        (
            &["--sync-period", "1", "--speed", "4"][..],
            "it must be at least 0.5 s",
        ),
        (&["--max", "65"][..], "--max (65) must be at most 64"),
        (&["--scale-up-percent", "0"][..], "--scale-up-percent"),
        (
            &["--scale-up-period", "0.5"][..],
            "--scale-up-window/--scale-up-percent/--scale-up-period: ",
        ),
    ] {
        let mut command = command(&["autoscale"]);
        command
            .args(flags)
            // Never reached: the settings are checked before anything starts.
            .args(["--redis-url", "redis://127.0.0.1:1"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // Killed and reaped if the test fails before it exits.
        let mut child = Children(vec![command.spawn().unwrap()]);
        let mut stderr = child.0[0].stderr.take().unwrap();
        // Read once it has exited: its few lines fit in the pipe.
        let status = session04::exit_status(&mut child.0[0], Duration::from_secs(60));
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        assert!(!status.success(), "{flags:?} was accepted");
        assert!(text.contains(rule), "{flags:?}: {text}");
    }
}
