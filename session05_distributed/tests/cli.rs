//! The session's commands as a student runs them.

mod common;

use common::run;

#[test]
fn the_demo_kills_a_worker_and_still_finishes_everything() {
    let out = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = run(&["--output-dir", out.path().to_str().unwrap()]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("killed worker B (SIGKILL) while it ran"),
        "{stdout}"
    );
    // B's tasks were taken over: their leases expired and they ran a second time.
    let expired = stdout
        .lines()
        .find_map(|l| {
            l.split(" retried, ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse::<u32>()
                .ok()
        })
        .expect("the summary line");
    assert!(expired >= 1, "{stdout}");
    assert!(stdout.contains("assembled once, by worker"), "{stdout}");
    assert!(stdout.contains("48 succeeded, 0 failed"), "{stdout}");
    // Every result is there for the student to open, the tiled one too.
    let files = std::fs::read_dir(out.path()).unwrap().count();
    assert_eq!(files, 36);
    let tiled = session01_image_basics::info(out.path().join("hubble-tiled.png")).unwrap();
    assert_eq!((tiled.width, tiled.height), (1600, 1200));
}

#[test]
fn bad_flags_are_named() {
    let (ok, _, stderr) = run(&["worker", "--heartbeat", "5", "--heartbeat-ttl", "6"]);
    assert!(!ok);
    assert!(
        stderr.contains("--heartbeat-ttl (6s) must be at least twice --heartbeat (5s)"),
        "{stderr}"
    );
    let (ok, _, stderr) = run(&["requeue"]);
    assert!(!ok);
    assert!(
        stderr.contains("TASK_ID") || stderr.contains("--all"),
        "{stderr}"
    );
}
