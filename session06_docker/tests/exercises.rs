//! Session 06's graded exercises. `cargo xtask grade 6` runs these; each test's name starts
//! with its exercise's id (`ex06_2_...` belongs to exercise 6.2), which is how the grader
//! adds up the points in `exercises.toml`. The tests of exercise 6.3 start a redis-server
//! of their own (session 04's `RedisServer`), so tests never see each other's keys.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::future::Future;
use std::io::{self, Write};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use session04_redis::RedisServer;
use session04_redis::connect::redact;
use session06_docker::exercises::{
    Capabilities, ConfigError, ContainerHealth, DEFAULT_SHUTDOWN_GRACE, DockerfileError,
    DrainReport, Finding, FindingKind, HealthState, HealthcheckOptions, InHand, MAX_SECRET_BYTES,
    Probe, WorkerConfig, config_from_env, drain, health_states, processing_key, ready_key,
    review_dockerfile,
};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// The longest any step of a test may take before it fails.
const LIMIT: Duration = Duration::from_secs(5);

// ---- 6.1 configuration from the environment

/// A lookup over `vars`, as the environment would answer.
fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| vars.get(name).cloned()
}

fn config(vars: &[(&str, &str)]) -> Result<WorkerConfig, Vec<ConfigError>> {
    config_from_env(&env(vars))
}

/// The errors of a configuration that must fail.
fn refused(vars: &[(&str, &str)]) -> Vec<ConfigError> {
    match config(vars) {
        Ok(config) => panic!("{vars:?} must be refused, but it gave {config:?}"),
        Err(errors) => errors,
    }
}

/// Checks that `errors` are about `expected` (variable, value), in that order, and that
/// each error's message names its variable, and its value when it has one.
fn assert_errors(errors: &[ConfigError], expected: &[(&str, &str)]) {
    let got: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.variable.as_str(), e.value.as_str()))
        .collect();
    assert_eq!(
        got, expected,
        "the errors' (variable, value), in the order of the spec's list: {errors:#?}"
    );
    for error in errors {
        let message = error.to_string();
        assert!(
            message.contains(&error.variable) && message.contains(&error.value),
            "an error's message names its variable and value: {message:?}"
        );
        assert!(
            !error.problem.trim().is_empty(),
            "an error says what is wrong: {error:?}"
        );
    }
}

fn only(names: &[&str]) -> Capabilities {
    Capabilities::Only(names.iter().map(|n| (*n).to_owned()).collect())
}

#[test]
fn ex06_1_reads_every_variable() {
    let config = config(&[
        ("REDIS_URL", "redis://redis:6379/0"),
        ("REDIS_PASSWORD", "s3cret"),
        ("WORKER_CONCURRENCY", "8"),
        ("WORKER_CAPABILITIES", "resize,blur"),
        ("SHUTDOWN_GRACE", "2.5"),
        ("HOME", "/root"),
    ])
    .unwrap();
    assert_eq!(
        config,
        WorkerConfig {
            redis_url: "redis://redis:6379/0".to_owned(),
            redis_password: Some("s3cret".to_owned()),
            concurrency: Some(8),
            capabilities: only(&["resize", "blur"]),
            shutdown_grace: Duration::from_millis(2500),
        }
    );
    let config = config_from_env(&env(&[
        ("REDIS_URL", "  redis://cache:6380  "),
        ("WORKER_CONCURRENCY", " 1 "),
        ("SHUTDOWN_GRACE", "0"),
        ("REDIS_PASSWORD", " with spaces "),
    ]))
    .unwrap();
    assert_eq!(config.redis_url, "redis://cache:6380", "values are trimmed");
    assert_eq!(config.concurrency, Some(1), "values are trimmed");
    assert_eq!(
        config.shutdown_grace,
        Duration::ZERO,
        "a grace of 0 is allowed"
    );
    assert_eq!(
        config.redis_password.as_deref(),
        Some(" with spaces "),
        "REDIS_PASSWORD is taken exactly as set"
    );
}

#[test]
fn ex06_1_defaults_when_unset_or_empty() {
    let expected = WorkerConfig {
        redis_url: "redis://redis:6379".to_owned(),
        redis_password: None,
        concurrency: None,
        capabilities: Capabilities::All,
        shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
    };
    assert_eq!(
        config(&[("REDIS_URL", "redis://redis:6379")]).unwrap(),
        expected
    );
    // What compose passes for `${VAR}` when VAR is not set where it runs.
    let blank = config(&[
        ("REDIS_URL", "redis://redis:6379"),
        ("REDIS_PASSWORD", ""),
        ("REDIS_PASSWORD_FILE", " "),
        ("WORKER_CONCURRENCY", ""),
        ("WORKER_CAPABILITIES", "  "),
        ("SHUTDOWN_GRACE", "\t"),
    ]);
    assert_eq!(
        blank.unwrap(),
        expected,
        "a variable set to an empty or blank value counts as unset"
    );
}

#[test]
fn ex06_1_the_redis_url_is_required() {
    let errors = refused(&[("WORKER_CONCURRENCY", "2")]);
    assert_errors(&errors, &[("REDIS_URL", "")]);
    let errors = refused(&[("REDIS_URL", "   ")]);
    assert_errors(&errors, &[("REDIS_URL", "")]);
}

#[test]
fn ex06_1_a_typo_is_an_error_not_the_default() {
    for (variable, value) in [
        ("WORKER_CONCURRENCY", "four"),
        ("WORKER_CONCURRENCY", "0"),
        ("WORKER_CONCURRENCY", "-2"),
        ("WORKER_CONCURRENCY", "2.5"),
        ("WORKER_CAPABILITIES", "resize,blurr"),
        ("WORKER_CAPABILITIES", ","),
        ("SHUTDOWN_GRACE", "30s"),
        ("SHUTDOWN_GRACE", "-1"),
        ("SHUTDOWN_GRACE", "inf"),
        ("SHUTDOWN_GRACE", "NaN"),
        ("SHUTDOWN_GRACE", "1e30"),
        ("REDIS_URL", "http://redis:6379/"),
    ] {
        let mut vars = vec![("REDIS_URL", "redis://redis:6379")];
        vars.retain(|(name, _)| *name != variable);
        vars.push((variable, value));
        let errors = refused(&vars);
        assert_errors(&errors, &[(variable, value)]);
    }
}

#[test]
fn ex06_1_every_error_at_once() {
    let errors = refused(&[
        ("SHUTDOWN_GRACE", "soon"),
        ("WORKER_CAPABILITIES", "sharpen,teleport"),
        ("WORKER_CONCURRENCY", "many"),
    ]);
    assert_errors(
        &errors,
        &[
            ("REDIS_URL", ""),
            ("WORKER_CONCURRENCY", "many"),
            ("WORKER_CAPABILITIES", "sharpen,teleport"),
            ("SHUTDOWN_GRACE", "soon"),
        ],
    );
}

#[test]
fn ex06_1_the_password_from_a_secret_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, contents: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let password = |vars: &[(&str, &str)]| {
        let mut all = vec![("REDIS_URL", "redis://redis:6379")];
        all.extend_from_slice(vars);
        config(&all)
    };

    // `echo hunter2 > secret` ends the file with a line end; Windows editors with two.
    for (name, contents) in [("unix", &b"hunter2\n"[..]), ("windows", b"hunter2\r\n")] {
        let path = file(name, contents);
        let config = password(&[("REDIS_PASSWORD_FILE", &path)]).unwrap();
        assert_eq!(
            config.redis_password.as_deref(),
            Some("hunter2"),
            "the password is the file's contents without the line ends at its end"
        );
    }
    let path = file("spaces", b" pass phrase \n");
    assert_eq!(
        password(&[("REDIS_PASSWORD_FILE", &path)])
            .unwrap()
            .redis_password
            .as_deref(),
        Some(" pass phrase "),
        "only line ends are cut off"
    );

    let secret = file("secret", b"hunter2\n");
    let both = password(&[
        ("REDIS_PASSWORD", "hunter2"),
        ("REDIS_PASSWORD_FILE", &secret),
    ]);
    assert_errors(&both.unwrap_err(), &[("REDIS_PASSWORD_FILE", &secret)]);

    let missing = dir.path().join("missing").to_str().unwrap().to_owned();
    let empty = file("empty", b"\n");
    let huge = file("huge", &vec![b'x'; MAX_SECRET_BYTES as usize + 1]);
    let just_fits = file("fits", &vec![b'y'; MAX_SECRET_BYTES as usize]);
    for path in [&missing, &empty, &huge] {
        let errors = password(&[("REDIS_PASSWORD_FILE", path)]).unwrap_err();
        assert_errors(&errors, &[("REDIS_PASSWORD_FILE", path)]);
    }
    assert_eq!(
        password(&[("REDIS_PASSWORD_FILE", &just_fits)])
            .unwrap()
            .redis_password
            .map(|p| p.len()),
        Some(MAX_SECRET_BYTES as usize),
        "a file of MAX_SECRET_BYTES bytes is a password"
    );
}

#[test]
fn ex06_1_the_secret_file_is_read_no_further_than_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("endless");
    match std::process::Command::new("mkfifo").arg(&fifo).status() {
        Ok(status) => assert!(status.success(), "mkfifo {fifo:?}: {status}"),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            // Straight to stderr: the harness hides what a passing test prints with eprintln!.
            let skipped = "ex06_1_the_secret_file_is_read_no_further_than_the_limit: SKIPPED, \
                           no mkfifo here to make a file that never ends";
            let _ = writeln!(io::stderr(), "{skipped}");
            return;
        }
        Err(error) => panic!("cannot run mkfifo: {error}"),
    }
    let path = fifo.to_str().unwrap().to_owned();

    // The writer: more bytes than allowed, and no end of file until `hold` is dropped.
    // Opened for reading too, the FIFO does not wait for a reader to open it (Linux).
    let (hold, held) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut fifo = OpenOptions::new().read(true).write(true).open(&fifo)?;
        fifo.write_all(&vec![b'x'; 2 * MAX_SECRET_BYTES as usize])?;
        let _ = held.recv();
        io::Result::Ok(())
    });
    // The call, on a thread of its own: one that reads to the end waits for an end.
    let (done, result) = mpsc::channel();
    let secret = path.clone();
    std::thread::spawn(move || {
        let vars = [
            ("REDIS_URL", "redis://redis:6379"),
            ("REDIS_PASSWORD_FILE", secret.as_str()),
        ];
        let _ = done.send(config(&vars));
    });
    let outcome = result.recv_timeout(LIMIT);
    // The file ends: a call still reading it returns, and its thread with it.
    drop(hold);
    match outcome {
        Ok(Err(errors)) => assert_errors(&errors, &[("REDIS_PASSWORD_FILE", &path)]),
        Ok(Ok(config)) => panic!("a secret file longer than MAX_SECRET_BYTES gave {config:?}"),
        Err(RecvTimeoutError::Timeout) => panic!(
            "config_from_env still reads the secret file after {LIMIT:?}: a file may never \
             end (/dev/zero), so read no more than MAX_SECRET_BYTES + 1 bytes of it"
        ),
        Err(RecvTimeoutError::Disconnected) => panic!("config_from_env panicked"),
    }
}

#[test]
fn ex06_1_a_password_is_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret");
    std::fs::write(&path, "correct-horse-battery\n").unwrap();
    let errors = refused(&[
        ("REDIS_PASSWORD", "correct-horse-battery"),
        ("REDIS_PASSWORD_FILE", path.to_str().unwrap()),
    ]);
    assert_errors(
        &errors,
        &[
            ("REDIS_URL", ""),
            ("REDIS_PASSWORD_FILE", path.to_str().unwrap()),
        ],
    );
    for error in &errors {
        assert!(
            !format!("{error} {error:?}").contains("correct-horse-battery"),
            "an error shows the password: {error:?}"
        );
    }

    // Refused URLs that hold a password: the scheme, the database, the port.
    for url in [
        "http://default:correct-horse-battery@redis:6379/",
        "redis://:correct-horse-battery@redis:6379/zero",
        "redis://:correct-horse-battery@redis:port",
    ] {
        let errors = refused(&[("REDIS_URL", url)]);
        assert_eq!(
            errors.first().map(|e| e.value.clone()),
            Some(redact(url)),
            "a refused REDIS_URL is shown as session 04's `connect::redact` shows it"
        );
        assert_errors(&errors, &[("REDIS_URL", &redact(url))]);
        for error in &errors {
            assert!(
                !format!("{error} {error:?}").contains("correct-horse-battery"),
                "an error shows the password in {url}: {error:?}"
            );
        }
    }
}

// ---- 6.2 how Docker judges health

const STARTING: ContainerHealth = ContainerHealth::Starting;
const HEALTHY: ContainerHealth = ContainerHealth::Healthy;
const UNHEALTHY: ContainerHealth = ContainerHealth::Unhealthy;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn options(timeout: f64, start_period: f64, retries: u32) -> HealthcheckOptions {
    HealthcheckOptions {
        timeout: secs(timeout),
        start_period: secs(start_period),
        retries,
    }
}

/// Probes every 5 s from 5 s on, each taking 0.1 s, with these exit codes.
fn probes(exit_codes: &[i32]) -> Vec<Probe> {
    (1..)
        .zip(exit_codes)
        .map(|(n, &exit_code)| Probe {
            started: secs(5.0 * f64::from(n)),
            took: secs(0.1),
            exit_code,
        })
        .collect()
}

fn states(expected: &[(ContainerHealth, u32)]) -> Vec<HealthState> {
    expected
        .iter()
        .map(|&(status, failing_streak)| HealthState {
            status,
            failing_streak,
        })
        .collect()
}

#[test]
fn ex06_2_a_pass_makes_it_healthy_and_resets_the_streak() {
    let got = health_states(options(3.0, 0.0, 3), &probes(&[1, 1, 0, 1, 1, 1, 1, 0]));
    assert_eq!(
        got,
        states(&[
            (STARTING, 1),
            (STARTING, 2),
            (HEALTHY, 0),
            (HEALTHY, 1),
            (HEALTHY, 2),
            (UNHEALTHY, 3),
            (UNHEALTHY, 4),
            (HEALTHY, 0),
        ]),
        "retries 3, no start period: fail, fail, pass, fail x4, pass"
    );
    assert_eq!(
        health_states(options(3.0, 0.0, 3), &[]),
        Vec::new(),
        "no probes, no states"
    );
}

#[test]
fn ex06_2_failures_in_the_start_period_do_not_count() {
    // A worker that needs 25 s to connect: --start-period=30s.
    let got = health_states(options(3.0, 30.0, 3), &probes(&[1, 1, 1, 1, 1, 1, 1, 0]));
    assert_eq!(
        got,
        states(&[
            (STARTING, 0),
            (STARTING, 0),
            (STARTING, 0),
            (STARTING, 0),
            (STARTING, 0),
            (STARTING, 1),
            (STARTING, 2),
            (HEALTHY, 0),
        ]),
        "probes at 5, 10 ... 25 s start before the 30 s start period is over: their \
         failures do not count; the one at 30 s does"
    );
    let got = health_states(options(3.0, 60.0, 2), &probes(&[1, 0, 1, 1, 0]));
    assert_eq!(
        got,
        states(&[
            (STARTING, 0),
            (HEALTHY, 0),
            (HEALTHY, 1),
            (UNHEALTHY, 2),
            (HEALTHY, 0),
        ]),
        "once a probe has passed, failures count, even within the start period"
    );
}

#[test]
fn ex06_2_a_probe_that_outruns_its_timeout_fails() {
    let probe = |took: f64, exit_code: i32| Probe {
        started: secs(10.0),
        took: secs(took),
        exit_code,
    };
    let got = health_states(
        options(3.0, 0.0, 1),
        &[probe(2.9, 0), probe(3.0, 0), probe(1.0, 0), probe(7.5, 0)],
    );
    assert_eq!(
        got,
        states(&[(HEALTHY, 0), (UNHEALTHY, 1), (HEALTHY, 0), (UNHEALTHY, 1)]),
        "with --timeout=3s, a probe that runs 3 s or longer fails, even with exit code 0"
    );
    let got = health_states(options(0.0, 0.0, 1), &[probe(29.0, 0), probe(30.0, 0)]);
    assert_eq!(
        got,
        states(&[(HEALTHY, 0), (UNHEALTHY, 1)]),
        "a timeout of 0 means Docker's default, 30 s"
    );
}

#[test]
fn ex06_2_any_exit_code_but_0_fails_and_retries_0_means_3() {
    let got = health_states(options(3.0, 0.0, 0), &probes(&[2, -1, 137, 0]));
    assert_eq!(
        got,
        states(&[(STARTING, 1), (STARTING, 2), (UNHEALTHY, 3), (HEALTHY, 0)]),
        "exit codes 2, -1 and 137 fail; retries 0 means Docker's default, 3"
    );
    let got = health_states(options(3.0, 0.0, 1), &probes(&[1, 1]));
    assert_eq!(
        got,
        states(&[(UNHEALTHY, 1), (UNHEALTHY, 2)]),
        "with --retries=1, one failure is enough"
    );
}

// ---- 6.3 a graceful drain

const NS: &str = "t";
const WORKER: &str = "w1";

/// A fresh redis-server and a connection to it. Its answers may take up to [`LIMIT`]:
/// printing a panic's backtrace (with `RUST_BACKTRACE` set) can hold up the test's thread,
/// and the connection with it, for longer than the default half second.
async fn redis() -> (RedisServer, ConnectionManager) {
    let server = RedisServer::start_async().await.unwrap();
    let config = ConnectionManagerConfig::new().set_response_timeout(Some(LIMIT));
    let conn = redis::Client::open(server.url())
        .unwrap()
        .get_connection_manager_with_config(config)
        .await
        .unwrap();
    (server, conn)
}

/// Runs `future` to its end, failing the test after [`LIMIT`].
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {LIMIT:?}"))
}

/// Waits until `check` holds while `drained` runs, failing the test after [`LIMIT`].
async fn wait_until(
    conn: &mut ConnectionManager,
    drained: &tokio::task::JoinHandle<DrainReport>,
    what: &str,
    check: impl Fn(&Lists) -> bool,
) {
    let deadline = Instant::now() + LIMIT;
    loop {
        let lists = Lists::read(conn).await;
        if check(&lists) {
            return;
        }
        assert!(
            !drained.is_finished(),
            "drain ended (or panicked) before {what}: {lists:?}"
        );
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {LIMIT:?}: {lists:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The two lists, each in the order tasks will be taken from it.
#[derive(Debug, PartialEq)]
struct Lists {
    /// The ready tasks, the next to be taken first.
    ready: Vec<String>,
    /// The worker's tasks, the one it took first first.
    processing: Vec<String>,
}

impl Lists {
    async fn read(conn: &mut ConnectionManager) -> Self {
        let mut ready: Vec<String> = conn.lrange(ready_key(NS), 0, -1).await.unwrap();
        ready.reverse();
        let mut processing: Vec<String> = conn
            .lrange(processing_key(NS, WORKER), 0, -1)
            .await
            .unwrap();
        processing.reverse();
        Lists { ready, processing }
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Queues `ready` (the first to be taken first) and puts `held` in the worker's processing
/// list, as `LMOVE ready processing RIGHT LEFT` leaves them.
async fn queue(conn: &mut ConnectionManager, ready: &[&str], held: &[&str]) {
    for task in ready {
        let () = conn.lpush(ready_key(NS), task).await.unwrap();
    }
    for task in held {
        let () = conn.lpush(processing_key(NS, WORKER), task).await.unwrap();
    }
}

/// A task's work that runs until its gate opens, and tells when it was dropped.
struct Gate {
    open: Option<oneshot::Sender<()>>,
    alive: oneshot::Receiver<()>,
}

impl Gate {
    /// The task `task` in hand, and the gate its work waits at.
    fn new(task: &str) -> (InHand, Gate) {
        let (open, opened) = oneshot::channel::<()>();
        let (alive_sender, alive) = oneshot::channel::<()>();
        let work = Box::pin(async move {
            let _alive = alive_sender;
            let _ = opened.await;
        });
        let held = InHand {
            task: task.to_owned(),
            work,
        };
        let gate = Gate {
            open: Some(open),
            alive,
        };
        (held, gate)
    }

    /// Lets the work return.
    fn open(&mut self) {
        let _ = self.open.take().expect("a gate opens once").send(());
    }

    /// Whether the work has ended (returned, or been dropped after an abort).
    fn ended(&mut self) -> bool {
        matches!(
            self.alive.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        )
    }
}

/// Starts `drain` on its own task with `held`, as worker [`WORKER`].
fn start_drain(
    conn: &ConnectionManager,
    held: Vec<InHand>,
    stop: &CancellationToken,
    grace: Duration,
) -> tokio::task::JoinHandle<DrainReport> {
    let (mut conn, stop) = (conn.clone(), stop.clone());
    tokio::spawn(async move {
        drain(&mut conn, NS, WORKER, held, stop, grace)
            .await
            .expect("drain returned a Redis error")
    })
}

fn report(finished: &[&str], released: &[&str]) -> DrainReport {
    DrainReport {
        finished: strings(finished),
        released: strings(released),
    }
}

#[tokio::test]
async fn ex06_3_each_task_is_acknowledged_as_it_finishes() {
    let (_server, mut conn) = redis().await;
    queue(&mut conn, &["r1"], &["a", "b", "c"]).await;
    let (a, mut gate_a) = Gate::new("a");
    let (b, mut gate_b) = Gate::new("b");
    let (c, mut gate_c) = Gate::new("c");
    let stop = CancellationToken::new();
    let drained = start_drain(&conn, vec![a, b, c], &stop, Duration::from_secs(3600));

    gate_b.open();
    wait_until(
        &mut conn,
        &drained,
        "task b's removal from the processing list when its work returned",
        |lists| lists.processing == ["a", "c"],
    )
    .await;
    assert!(
        !drained.is_finished(),
        "drain returned while tasks a and c were still running"
    );
    gate_c.open();
    gate_a.open();
    let report_ = within("drain, once every task finished", drained)
        .await
        .unwrap();
    assert_eq!(
        report_,
        report(&["a", "b", "c"], &[]),
        "without a stop, every task runs to its end; the report lists them in the order \
         they were in hand"
    );
    assert_eq!(
        Lists::read(&mut conn).await,
        Lists {
            ready: strings(&["r1"]),
            processing: Vec::new()
        },
        "the ready list is left alone, and the processing list is empty"
    );
    assert!(gate_a.ended() && gate_b.ended() && gate_c.ended());

    let nothing = start_drain(&conn, Vec::new(), &stop, Duration::from_secs(3600));
    assert_eq!(
        within("drain with no task in hand", nothing).await.unwrap(),
        report(&[], &[]),
        "with nothing in hand, there is nothing to wait for"
    );
}

#[tokio::test]
async fn ex06_3_a_stop_lets_running_tasks_finish() {
    let (_server, mut conn) = redis().await;
    queue(&mut conn, &["r1", "r2"], &["a", "b"]).await;
    let (a, mut gate_a) = Gate::new("a");
    let (b, mut gate_b) = Gate::new("b");
    let stop = CancellationToken::new();
    let drained = start_drain(&conn, vec![a, b], &stop, Duration::from_secs(3600));

    // SIGTERM, then the two tasks end, well within their hour of grace.
    stop.cancel();
    gate_b.open();
    gate_a.open();
    let report_ = within(
        "drain, once both tasks finished after the stop (grace: one hour)",
        drained,
    )
    .await
    .unwrap();
    assert_eq!(
        report_,
        report(&["a", "b"], &[]),
        "tasks that finish within the grace period after the stop are finished, not \
         released: released, they would run again on another worker"
    );
    assert_eq!(
        Lists::read(&mut conn).await,
        Lists {
            ready: strings(&["r1", "r2"]),
            processing: Vec::new()
        }
    );
}

#[tokio::test]
async fn ex06_3_what_outlasts_the_grace_goes_back_to_the_queue() {
    let (_server, mut conn) = redis().await;
    queue(&mut conn, &["r1", "r2"], &["h1", "quick", "h2"]).await;
    let (h1, mut gate_h1) = Gate::new("h1");
    let (quick, mut gate_quick) = Gate::new("quick");
    let (h2, mut gate_h2) = Gate::new("h2");
    let stop = CancellationToken::new();
    let drained = start_drain(
        &conn,
        vec![h1, quick, h2],
        &stop,
        Duration::from_millis(100),
    );

    gate_quick.open();
    wait_until(
        &mut conn,
        &drained,
        "task quick's acknowledgement",
        |lists| lists.processing == ["h1", "h2"],
    )
    .await;
    // h1 and h2 never end by themselves: the grace runs out.
    stop.cancel();
    let report_ = within(
        "drain, with tasks that never end and a grace of 100 ms",
        drained,
    )
    .await
    .unwrap();
    assert_eq!(report_, report(&["quick"], &["h1", "h2"]));
    assert_eq!(
        Lists::read(&mut conn).await,
        Lists {
            ready: strings(&["h1", "h2", "r1", "r2"]),
            processing: Vec::new()
        },
        "released tasks go back to the end of the ready list that workers take from, \
         the first in hand first, and leave the processing list"
    );
    assert!(
        gate_h1.ended() && gate_h2.ended(),
        "the work of released tasks must have stopped when drain returns (abort it, then \
         wait for it): a task given back must not also still run here"
    );
}

#[tokio::test]
async fn ex06_3_the_grace_counts_from_the_stop() {
    let (_server, mut conn) = redis().await;
    queue(&mut conn, &[], &["long"]).await;
    let (long, mut gate) = Gate::new("long");
    let stop = CancellationToken::new();
    let grace = Duration::from_millis(500);
    let drained = start_drain(&conn, vec![long], &stop, grace);

    // The task has run longer than the grace when the stop comes; it ends right after.
    tokio::time::sleep(grace * 2).await;
    stop.cancel();
    gate.open();
    let report_ = within("drain", drained).await.unwrap();
    assert_eq!(
        report_,
        report(&["long"], &[]),
        "the grace period starts at the stop, not when drain was called"
    );
    assert_eq!(
        Lists::read(&mut conn).await.processing,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn ex06_3_a_task_whose_work_panics_goes_back_at_once() {
    let (_server, mut conn) = redis().await;
    queue(&mut conn, &["r1"], &["boom", "a"]).await;
    let boom = InHand {
        task: "boom".to_owned(),
        work: Box::pin(async { panic!("a bug in the work (this panic is part of the test)") }),
    };
    let (a, mut gate_a) = Gate::new("a");
    let stop = CancellationToken::new();
    let drained = start_drain(&conn, vec![boom, a], &stop, Duration::from_secs(3600));

    wait_until(
        &mut conn,
        &drained,
        "the release of the task whose work panicked, while the other still runs",
        |lists| lists.ready == ["boom", "r1"] && lists.processing == ["a"],
    )
    .await;
    gate_a.open();
    let report_ = within("drain", drained).await.unwrap();
    assert_eq!(
        report_,
        report(&["a"], &["boom"]),
        "a task whose work panicked did not finish: it is released"
    );
}

// ---- 6.4 a Dockerfile review

fn review(text: &str) -> Vec<Finding> {
    review_dockerfile(text).unwrap_or_else(|e| panic!("a readable Dockerfile was refused: {e}"))
}

fn at(line: usize, kind: FindingKind) -> Finding {
    Finding { line, kind }
}

fn unpinned(image: &str) -> FindingKind {
    FindingKind::UnpinnedImage {
        image: image.to_owned(),
    }
}

fn shell_form(instruction: &str) -> FindingKind {
    FindingKind::ShellForm {
        instruction: instruction.to_owned(),
    }
}

/// A multi-stage Dockerfile with nothing to find, written in every way the spec allows.
const GOOD: &str = r#"# syntax=docker/dockerfile:1
ARG RUST_VERSION=1.95
from --platform=$BUILDPLATFORM rust:${RUST_VERSION}-slim-bookworm as chef
RUN cargo install cargo-chef --locked
WORKDIR /app

FROM chef AS planner
# cargo-chef's planner copies everything on purpose: it builds nothing.
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
RUN cargo chef cook --release \
    # a comment inside an instruction
    --recipe-path recipe.json
COPY . .
RUN cargo build --release --bin worker

From debian:bookworm-slim@sha256:0123456789abcdef AS runtime
COPY --from=builder /app/target/release/worker /usr/local/bin/worker
user 10001:10001
HealthCheck --interval=5s --timeout=3s \
    CMD ["/usr/local/bin/worker", "health"]
Entrypoint ["/usr/local/bin/worker"]
CMD ["worker"]
"#;

#[test]
fn ex06_4_a_good_multi_stage_dockerfile_has_no_findings() {
    assert_eq!(review(GOOD), Vec::new(), "nothing is wrong with:\n{GOOD}");
}

#[test]
fn ex06_4_the_sessions_own_dockerfile_has_no_findings() {
    let ours = include_str!("../Dockerfile");
    assert_eq!(
        review(ours),
        Vec::new(),
        "session06_docker/Dockerfile has nothing to find"
    );
}

#[test]
fn ex06_4_a_user_in_the_builder_is_not_the_final_images_user() {
    let text = "\
FROM rust:1.95 AS builder
USER builder
RUN cargo build --release
HEALTHCHECK CMD [\"true\"]

FROM debian:bookworm-slim
# USER app would go here
ONBUILD USER app
COPY --from=builder /target/release/app /app
HEALTHCHECK CMD [\"/app\", \"health\"]
ENTRYPOINT [\"/app\"]
";
    assert_eq!(
        review(text),
        [at(6, FindingKind::RunsAsRoot)],
        "only the final stage's own USER counts (not the builder's, a comment's or \
         ONBUILD's): none, so root, at its FROM"
    );
    let root_again = "\
FROM debian:bookworm-slim
USER app
HEALTHCHECK CMD [\"/app\", \"health\"]
USER root
";
    assert_eq!(
        review(root_again),
        [at(4, FindingKind::RunsAsRoot)],
        "the last USER counts"
    );
    for user in ["0", "0:0", "root:root", "root:app"] {
        let text = format!("FROM debian:12\nHEALTHCHECK CMD [\"x\"]\nuser {user}\n");
        assert_eq!(
            review(&text),
            [at(3, FindingKind::RunsAsRoot)],
            "USER {user}: root is root or 0, with or without a group"
        );
    }
}

#[test]
fn ex06_4_shell_form_in_the_final_image() {
    let text = "\
FROM rust:1.95 AS builder
CMD cargo test

FROM debian:bookworm-slim
USER app
HEALTHCHECK CMD /app health
CMD worker
ENTRYPOINT /usr/local/bin/app \\
    --log-format json
CMD ['worker']
";
    assert_eq!(
        review(text),
        [at(8, shell_form("ENTRYPOINT")), at(10, shell_form("CMD"))],
        "the final image's last ENTRYPOINT and last CMD, at their lines; ['worker'] is not \
         JSON, so it is shell form; the builder's CMD and HEALTHCHECK's form do not count"
    );
    let fixed = "\
FROM debian:bookworm-slim
USER app
HEALTHCHECK CMD [\"/app\", \"health\"]
CMD worker
ENTRYPOINT [\"/app\"]
CMD [\"worker\", \"--fast\"]
";
    assert_eq!(
        review(fixed),
        Vec::new(),
        "a later exec-form CMD replaces a shell-form one"
    );
    let base = "\
FROM debian:bookworm-slim AS base
USER app
HEALTHCHECK CMD [\"/app\", \"health\"]
CMD run-it
";
    assert_eq!(
        review(&format!("{base}FROM base\n")),
        [at(4, shell_form("CMD"))],
        "FROM an earlier stage inherits its CMD"
    );
    assert_eq!(
        review(&format!("{base}FROM base\nENTRYPOINT [\"/app\"]\n")),
        Vec::new(),
        "an ENTRYPOINT unsets the CMD its stage inherited, as in Docker"
    );
    assert_eq!(
        review(&format!(
            "{base}FROM base\nCMD run-it --fast\nENTRYPOINT [\"/app\"]\n"
        )),
        [at(6, shell_form("CMD"))],
        "an ENTRYPOINT keeps a CMD its own stage set above it"
    );
}

#[test]
fn ex06_4_sources_copied_before_the_dependency_build() {
    let naive = "\
FROM rust:1.95 AS builder
WORKDIR /app
COPY Cargo.toml Cargo.lock ./
COPY . .
COPY src src
RUN cargo \\
    build --release

FROM debian:bookworm-slim
USER app
HEALTHCHECK CMD [\"/app\", \"health\"]
";
    assert_eq!(
        review(naive),
        [at(4, FindingKind::SourcesBeforeDependencies)],
        "the first whole-context COPY before the first RUN that builds (its words hold \
         `cargo build`, over a continuation too)"
    );
    let cached = "\
FROM rust:1.95 AS deps
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && cargo build --release
COPY . .
RUN cargo build --release

FROM rust:1.95 AS other
COPY --from=deps . .
COPY --chown=app [\"src\", \"/app/src\"]
RUN cargo build

FROM rust:1.95 AS adder
ADD --chown=app [\"./\", \"/app\"]
RUN cargo chef cook

FROM debian:bookworm-slim
COPY . .
USER app
HEALTHCHECK CMD [\"/app\", \"health\"]
";
    assert_eq!(
        review(cached),
        [at(13, FindingKind::SourcesBeforeDependencies)],
        "deps builds before it copies everything; `--from=` copies another stage, not the \
         context; `src` is not the whole context; ADD ./ in JSON form before a cargo chef \
         cook is; the final stage builds nothing"
    );
}

#[test]
fn ex06_4_unpinned_images() {
    let text = "\
ARG BASE=debian:12
FROM debian AS a
FROM rust:latest AS b
FROM localhost:5000/worker AS c
FROM registry.example.com:5000/team/worker:1.4 AS d
FROM debian@sha256:0123456789abcdef AS e
FROM scratch AS f
FROM B AS g
FROM ${BASE} AS h
FROM ghcr.io/org/tool:latest
USER app
HEALTHCHECK CMD [\"/tool\"]
";
    assert_eq!(
        review(text),
        [
            at(2, unpinned("debian")),
            at(3, unpinned("rust:latest")),
            at(4, unpinned("localhost:5000/worker")),
            at(10, unpinned("ghcr.io/org/tool:latest")),
        ],
        "a port is not a tag; digests, scratch, stage names and ARGs are not judged"
    );
}

#[test]
fn ex06_4_no_healthcheck_in_the_final_image() {
    let text = "\
FROM debian:12 AS base
HEALTHCHECK CMD [\"/app\", \"health\"]

FROM debian:12
USER app
";
    assert_eq!(
        review(text),
        [at(4, FindingKind::NoHealthcheck)],
        "the builder's HEALTHCHECK is not the final image's"
    );
    let inherited = "\
FROM debian:12 AS base
USER app
HEALTHCHECK CMD [\"/app\", \"health\"]
ENTRYPOINT /app

FROM base AS final
ENV A=1
";
    assert_eq!(
        review(inherited),
        [at(4, shell_form("ENTRYPOINT"))],
        "FROM an earlier stage inherits its USER, HEALTHCHECK and ENTRYPOINT, at their lines"
    );
    let disabled = "\
FROM debian:12
USER app
HEALTHCHECK CMD [\"/app\", \"health\"]
HEALTHCHECK none
";
    assert_eq!(
        review(disabled),
        [at(1, FindingKind::NoHealthcheck)],
        "HEALTHCHECK NONE turns it off"
    );
}

#[test]
fn ex06_4_findings_in_line_order() {
    let text = "\
FROM ubuntu
RUN apt-get update && \\

    # install nothing much
    apt-get install -y \\
        ca-certificates
CMD run-it
";
    assert_eq!(
        review(text),
        [
            at(1, unpinned("ubuntu")),
            at(1, FindingKind::RunsAsRoot),
            at(1, FindingKind::NoHealthcheck),
            at(7, shell_form("CMD")),
        ],
        "sorted by line, then in the order of FindingKind; a continued instruction's \
         blank and comment lines are skipped, and lines are still counted"
    );
}

#[test]
fn ex06_4_unreadable_dockerfiles_are_errors() {
    for text in ["", "# only a comment\n\n", "ARG X=1\n"] {
        assert_eq!(
            review_dockerfile(text),
            Err(DockerfileError::NoFrom),
            "no FROM in {text:?}"
        );
    }
    for (text, line, word) in [
        ("ARG X=1\nRUN echo hi\nFROM debian:12\n", 2, "RUN"),
        ("FROM debian:12\n\nFORM debian:12\n", 3, "FORM"),
        ("FROM debian:12\nUSER\n", 2, "USER"),
        ("# a comment\nfrom\n", 2, "FROM"),
    ] {
        match review_dockerfile(text) {
            Err(DockerfileError::Invalid { line: l, reason }) => {
                assert_eq!(l, line, "the error's line in {text:?}");
                assert!(
                    reason.to_uppercase().contains(word),
                    "the error names the instruction {word}: {reason:?}"
                );
            }
            other => panic!("{text:?} is not a Dockerfile: an error, not {other:?}"),
        }
    }
}
