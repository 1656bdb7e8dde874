//! The dashboard in a real terminal: `monitor` runs in a tmux pane (160 × 48) against a
//! real redis-server and three real workers; the test sends keys with `tmux send-keys`,
//! reads the screen with `tmux capture-pane`, and checks that it follows the load of a
//! real `stress` run. Skipped, saying why, without tmux or redis-server.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use session04_redis::{RedisServer, ServerOptions};

mod processes;
use processes::{PROGRAM, VARIABLES, command, metrics_until, missing, text, workers};

/// A tmux server of the test's own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts the shell line `line` in a detached 160 × 48 session named `pane`, kept on
    /// screen after it exits (so its exit status and the restored screen can be read).
    fn start(line: &str) -> Self {
        let socket = format!("s09-{}", uuid::Uuid::new_v4().simple());
        let tmux = Self { socket };
        let mut command = tmux.command(&["new-session", "-d", "-x", "160", "-y", "48"]);
        // The shell says how the program ended.
        command.args(["-s", "pane", &format!("{line}; echo \"exited with $?\"")]);
        for variable in VARIABLES {
            command.env_remove(variable);
        }
        let status = command.env("TERM", "xterm-256color").status().unwrap();
        assert!(status.success(), "tmux did not start");
        // The pane stays after the shell ends, to be read (the program runs until `q`).
        let status = tmux
            .command(&["set-option", "-w", "-t", "pane", "remain-on-exit", "on"])
            .status()
            .unwrap();
        assert!(status.success(), "tmux did not set remain-on-exit");
        tmux
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("tmux");
        command
            .args(["-L", &self.socket])
            .args(args)
            .stdin(Stdio::null());
        command
    }

    /// The pane's text now.
    fn capture(&self) -> String {
        let output = self
            .command(&["capture-pane", "-p", "-t", "pane"])
            .output()
            .unwrap();
        text(&output.stdout)
    }

    /// The pane's text with the lines scrolled out of it.
    fn capture_all(&self) -> String {
        let output = self
            .command(&["capture-pane", "-p", "-S", "-", "-t", "pane"])
            .output()
            .unwrap();
        text(&output.stdout)
    }

    /// A format of the pane (`#{pane_dead}`, say).
    fn show(&self, format: &str) -> String {
        let output = self
            .command(&["display-message", "-p", "-t", "pane", format])
            .output()
            .unwrap();
        text(&output.stdout).trim().to_owned()
    }

    /// Waits for the pane's program to exit, failing after `limit`; its exit status, as
    /// the shell printed it after the program (see [`Tmux::start`]).
    fn exit_status(&self, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        // With the lines scrolled out of the pane: the shell's line may be among them.
        let screen = loop {
            let screen = self.capture_all();
            if screen.contains("exited with ") {
                break screen;
            }
            let dead = self.show("#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}");
            assert!(
                Instant::now() < deadline,
                "the program did not exit ({dead}); the pane shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let line = line_with(&screen, "exited with ").unwrap_or_default();
        line.trim().trim_start_matches("exited with ").to_owned()
    }

    fn keys(&self, keys: &str) {
        let status = self
            .command(&["send-keys", "-t", "pane", keys])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Captures the pane until `check` accepts it, failing after `limit` with the screen.
    fn until(&self, limit: Duration, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.capture();
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the pane shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .command(&["kill-server"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The shell line that runs `monitor` on `url`.
fn monitor(url: &str, namespace: &str) -> String {
    format!("{PROGRAM} monitor --interval 0.5 --redis-url {url} --namespace {namespace}")
}

/// The row of the screen that mentions `needle`.
fn line_with<'a>(screen: &'a str, needle: &str) -> Option<&'a str> {
    screen.lines().find(|line| line.contains(needle))
}

#[test]
fn the_dashboard_follows_a_stress_run_and_its_keys() {
    if missing("tmux") || missing("redis-server") {
        return;
    }
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let _workers = workers(&url, "tmux", 3, "1");
    metrics_until(&url, "tmux", Duration::from_secs(20), "3 workers", |s| {
        s["workers"]["active"] == 3
    });
    let tmux = Tmux::start(&monitor(&url, "tmux"));
    tmux.until(Duration::from_secs(20), "3 idle workers", |screen| {
        screen.contains("workers: 3 active, 0 busy") && screen.contains("utilisation 0%")
    });

    // Load: 12 tasks of a second each on 3 workers.
    let stress = command(&[
        "stress",
        "12",
        "--no-dashboard",
        "--pipeline",
        "resize:width=64",
        "--timeout",
        "60",
        "--redis-url",
        &url,
        "--namespace",
        "tmux",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let loaded = tmux.until(Duration::from_secs(10), "3 busy workers", |screen| {
        screen.contains("workers: 3 active, 3 busy") && screen.contains("utilisation 100%")
    });
    println!("the dashboard under load:\n{loaded}");
    assert!(loaded.contains("every 0.5 s · sort: id"), "{loaded}");

    // s: the next sort order, named in the title and the table's title.
    tmux.keys("s");
    tmux.until(Duration::from_secs(5), "sort: state", |screen| {
        screen.contains("every 0.5 s · sort: state") && screen.contains("workers · sort: state")
    });
    // p: paused, said in the title; p again: running again.
    tmux.keys("p");
    tmux.until(Duration::from_secs(5), "PAUSED", |screen| {
        screen.contains("PAUSED")
    });
    tmux.keys("p");
    tmux.until(Duration::from_secs(5), "not PAUSED", |screen| {
        !screen.contains("PAUSED")
    });
    // Down: the first worker selected, and its recent tasks once it finished one.
    tmux.keys("Down");
    let selected = tmux.until(Duration::from_secs(15), "the recent tasks", |screen| {
        screen.contains("recent tasks of ")
            && line_with(screen, "resize").is_some_and(|line| line.contains("succeeded"))
    });
    assert!(
        line_with(&selected, "> ").is_some(),
        "a row is highlighted:\n{selected}"
    );

    // Bounded: stress ends at its --timeout (60 s) at the latest.
    let output = stress.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report = text(&output.stdout);
    assert!(report.contains("all workers busy:"), "{report}");
    tmux.until(Duration::from_secs(10), "the load drained", |screen| {
        screen.contains("workers: 3 active, 0 busy") && screen.contains("12 succeeded")
    });

    // q: the program ends with status 0 and the terminal is back as it was: the main
    // screen, not the dashboard's alternate one.
    tmux.keys("q");
    assert_eq!(tmux.exit_status(Duration::from_secs(20)), "0");
    assert_eq!(tmux.show("#{alternate_on}"), "0");
    let after = tmux.capture();
    assert!(!after.contains("imgproc monitor"), "{after}");
}

#[test]
fn the_dashboard_says_redis_is_unreachable_and_keeps_trying() {
    if missing("tmux") || missing("redis-server") {
        return;
    }
    // The port is free when picked, but something else may take it before Redis starts
    // on it: then the whole attempt is made again on another port.
    let mut attempts = 0;
    let (tmux, mut server, url) = loop {
        attempts += 1;
        let port = session04_redis::server::free_port().unwrap();
        let url = format!("redis://127.0.0.1:{port}");
        let tmux = Tmux::start(&monitor(&url, "down"));
        let banner = tmux.until(Duration::from_secs(15), "the banner", |screen| {
            screen.contains("Redis unreachable;")
        });
        assert!(
            banner.contains(
                "retrying 0.5 s after each failed attempt (an attempt gives up after 2 s)"
            ),
            "{banner}"
        );
        assert!(banner.contains(&url), "the banner names Redis:\n{banner}");
        // The keys still work while Redis does not answer.
        tmux.keys("p");
        tmux.until(Duration::from_secs(5), "PAUSED", |screen| {
            screen.contains("PAUSED")
        });
        tmux.keys("p");
        // Redis comes up on that port: the next reading clears the banner.
        match RedisServer::start_with(ServerOptions {
            port: Some(port),
            ..ServerOptions::default()
        }) {
            Ok(server) => break (tmux, server, url),
            Err(error) if attempts < 3 => eprintln!("port {port} was taken ({error:#}): again"),
            Err(error) => panic!("redis-server did not start on {port}: {error:#}"),
        }
    };
    tmux.until(Duration::from_secs(20), "the first reading", |screen| {
        !screen.contains("Redis unreachable") && screen.contains("workers: 0 active, 0 busy")
    });
    // Redis dies: the banner again. It comes back, empty (the queue's functions gone
    // with it): the dashboard connects again, loading them, and the banner clears.
    server.kill();
    tmux.until(
        Duration::from_secs(20),
        "the banner after the kill",
        |screen| screen.contains("Redis unreachable;") && screen.contains(&url),
    );
    server.restart().unwrap();
    tmux.until(
        Duration::from_secs(20),
        "a reading after the restart",
        |screen| {
            !screen.contains("Redis unreachable") && screen.contains("workers: 0 active, 0 busy")
        },
    );
    tmux.keys("q");
    assert_eq!(tmux.exit_status(Duration::from_secs(20)), "0");
}

#[test]
fn a_panic_puts_the_terminal_back() {
    if missing("tmux") {
        return;
    }
    // No Redis needed: the test variable makes the screen loop panic after its first
    // frame. After it, the shell prints the status and whether the terminal is back in
    // canonical mode (`icanon`, not raw mode's `-icanon`).
    let port = session04_redis::server::free_port().unwrap();
    let url = format!("redis://127.0.0.1:{port}");
    let tmux = Tmux::start(&format!(
        "{}=1 {}; echo \"monitor ended with $?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-*icanon'",
        session09_monitoring::monitor::PANIC_VARIABLE,
        monitor(&url, "panic")
    ));
    assert_eq!(tmux.exit_status(Duration::from_secs(20)), "0");
    assert_eq!(tmux.show("#{alternate_on}"), "0");
    let after = tmux.capture_all();
    assert!(after.contains("monitor ended with 101"), "{after}");
    assert!(after.contains("the monitor panics, as asked"), "{after}");
    assert!(
        after.lines().any(|line| line.trim() == "icanon"),
        "the terminal is out of raw mode:\n{after}"
    );
    assert!(!after.contains("imgproc monitor"), "{after}");
}

#[test]
fn stress_on_a_terminal_shows_the_dashboard_then_its_report() {
    if missing("tmux") || missing("redis-server") {
        return;
    }
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let _workers = workers(&url, "dash", 3, "1");
    metrics_until(&url, "dash", Duration::from_secs(20), "3 workers", |s| {
        s["workers"]["active"] == 3
    });
    let tmux = Tmux::start(&format!(
        "{PROGRAM} stress 12 --pipeline resize:width=64 --interval 0.5 --redis-url {url} \
         --namespace dash"
    ));
    tmux.until(Duration::from_secs(15), "3 busy workers", |screen| {
        screen.contains("workers: 3 active, 3 busy") && screen.contains("utilisation 100%")
    });
    tmux.until(Duration::from_secs(20), "the load drained", |screen| {
        screen.contains("12 succeeded")
    });
    tmux.keys("q");
    assert_eq!(tmux.exit_status(Duration::from_secs(20)), "0");
    assert_eq!(tmux.show("#{alternate_on}"), "0");
    // Back on the main screen: the report.
    let report = tmux.capture_all();
    assert!(
        report.contains("stress: 12 tasks, 3 live workers at the start, 0 of them busy"),
        "{report}"
    );
    assert!(
        report.contains("peak: 3 workers busy, utilisation 100%"),
        "{report}"
    );
}
