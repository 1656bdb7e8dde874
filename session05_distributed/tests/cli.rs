//! The session's commands as a student runs them: the demo, named workers in the
//! registry, `workers --watch`, `submit` (session 04's, and `--tiled`), and bad flags.

mod common;

use std::time::{Duration, Instant};

use common::session04::{exit_status, namespace, sigterm};
use common::{run, spawn_worker};
use session01_image_basics::{Filter, samples};
use session02_pipelines::PipelineSpec;
use session04_redis::RedisServer;
use session04_redis::server::Children;

/// Heartbeats every 0.2 s, so a worker shows in the registry at once.
const FAST: &[&str] = &["--heartbeat", "0.2", "--heartbeat-ttl", "1"];

/// Stops each worker of `workers` as `docker stop` would, and checks it exits cleanly.
fn stop(workers: &mut Children) {
    for worker in &mut workers.0 {
        sigterm(worker);
        assert!(exit_status(worker, Duration::from_secs(30)).success());
    }
}

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
    for (args, expected) in [
        (&["worker", "--worker-id", "a/b"][..], "--worker-id"),
        (&["workers", "--watch", "--json"], "--json"),
        (&["submit", "--tiled", "--tile", "8"], "--tile"),
        (&["submit", "--output", "out"], "--wait"),
        (&["submit", "--tiled"], "cannot tile this pipeline"),
    ] {
        let (ok, _, stderr) = run(args);
        assert!(!ok, "{args:?}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let (ok, _, stderr) = run(&["requeue"]);
    assert!(!ok);
    assert!(
        stderr.contains("TASK_ID") || stderr.contains("--all"),
        "{stderr}"
    );
}

#[test]
fn a_named_worker_shows_in_the_registry_and_workers_watch_redraws() {
    let server = RedisServer::start().unwrap();
    let (url, ns) = (server.url(), namespace());
    let flags = ["--redis-url", &url, "--namespace", &ns];
    let mut workers = Children(vec![spawn_worker(
        &url,
        &ns,
        &[FAST, &["--worker-id", "edge-box.2"]].concat(),
    )]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let id = loop {
        let (ok, stdout, stderr) = run(&[&["workers", "--json"][..], &flags].concat());
        assert!(ok, "{stderr}");
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        if let Some(id) = report["workers"][0]["info"]["id"].as_str() {
            break id.to_owned();
        }
        assert!(Instant::now() < deadline, "the worker never registered");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(id.starts_with("edge-box.2-"), "{id}");

    let watch = [
        "workers",
        "--watch",
        "--interval",
        "0.1",
        "--iterations",
        "2",
    ];
    let (ok, stdout, stderr) = run(&[&watch[..], &flags].concat());
    assert!(ok, "{stderr}");
    assert_eq!(stdout.matches("Ctrl-C to stop").count(), 2, "{stdout}");
    assert_eq!(stdout.matches(&id).count(), 2, "{stdout}");
    stop(&mut workers);
}

#[test]
fn submit_runs_session_04s_or_tiled_jobs_whose_results_it_writes() {
    let server = RedisServer::start().unwrap();
    let (url, ns) = (server.url(), namespace());
    let flags = ["--redis-url", &url, "--namespace", &ns];
    let shared = tempfile::tempdir().unwrap();
    let shared_dir = shared.path().to_str().unwrap();
    let worker_flags = [FAST, &["--concurrency", "2", "--shared-dir", shared_dir]].concat();
    let mut workers = Children(
        (0..2)
            .map(|_| spawn_worker(&url, &ns, &worker_flags))
            .collect(),
    );
    let rocket = samples::path("rocket.jpg");
    let rocket = rocket.to_str().unwrap();

    // Without --tiled: session 04's submit.
    let (ok, stdout, stderr) = run(&[
        &["submit", "--wait", "--pipeline", "invert", rocket][..],
        &flags,
    ]
    .concat());
    assert!(ok, "{stderr}");
    assert!(stdout.contains("\tsucceeded\t"), "{stdout}");

    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("tiled");
    let pipeline = "blur:sigma=2|resize:width=300";
    let submit = [
        "submit",
        "--tiled",
        "--tile",
        "128",
        "--count",
        "2",
        "--timeout",
        "120",
        "--pipeline",
        pipeline,
        "--output",
        dir.to_str().unwrap(),
        rocket,
    ];
    let (ok, stdout, stderr) = run(&[&submit[..], &flags].concat());
    // On the shared folder, raw results: a raw image already there, read in place, and a
    // JPEG, written there raw first.
    let raw = shared.path().join("rocket.ppm");
    let photo = session01_image_basics::load(samples::path("rocket.jpg")).unwrap();
    session01_image_basics::save(&photo, &raw).unwrap();
    assert!(std::fs::read(&raw).unwrap().starts_with(b"P6\n"));
    let in_bands = |how: &[&str], output: &std::path::Path, inputs: &[&str]| {
        let mut args = vec!["submit", "--tiled"];
        args.extend(how);
        args.extend([
            "--tile",
            "128",
            "--timeout",
            "120",
            "--pipeline",
            "blur:sigma=2",
        ]);
        args.extend(["--output", output.to_str().unwrap()]);
        args.extend(inputs);
        args.extend(flags);
        run(&args)
    };
    let (folder_ok, folder_stdout, folder_stderr) = in_bands(
        &["--shared-dir", shared_dir, "--format", "ppm"],
        &out.path().join("folder"),
        &[raw.to_str().unwrap(), rocket],
    );
    // In bands in place in Redis.
    let (redis_ok, redis_stdout, redis_stderr) =
        in_bands(&["--in-place"], &out.path().join("redis"), &[rocket]);
    stop(&mut workers);
    assert!(folder_ok, "{folder_stdout}\n{folder_stderr}");
    let blurred = PipelineSpec::parse("blur:sigma=2")
        .unwrap()
        .build()
        .unwrap()
        .apply(&photo)
        .unwrap();
    assert!(redis_ok, "{redis_stdout}\n{redis_stderr}");
    assert_eq!(folder_stdout.lines().count(), 2, "{folder_stdout}");
    assert_eq!(redis_stdout.lines().count(), 1, "{redis_stdout}");
    for line in folder_stdout.lines().chain(redis_stdout.lines()) {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 4, "{line}");
        assert_eq!(fields[2], "assembled", "{line}");
        let image = image::open(fields[3]).unwrap();
        assert!(
            image.to_rgb8() == blurred.to_rgb8(),
            "{line}: the result in bands is the one-process result"
        );
    }
    assert!(raw.exists(), "the raw image on the folder was deleted");
    assert!(ok, "{stdout}\n{stderr}");
    let expected = PipelineSpec::parse(pipeline)
        .unwrap()
        .build()
        .unwrap()
        .apply(&session01_image_basics::load(samples::path("rocket.jpg")).unwrap())
        .unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    for (line, name) in lines.iter().zip(["rocket.png", "rocket-2.png"]) {
        let file = dir.join(name);
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 4, "{line}");
        let tiles: usize = fields[1].strip_suffix(" tiles").unwrap().parse().unwrap();
        assert!(tiles > 1, "{line}");
        assert_eq!(fields[2], "assembled", "{line}");
        assert_eq!(fields[3], file.to_str().unwrap(), "{line}");
        let image = image::open(&file).unwrap();
        assert_eq!(
            (image.width(), image.height()),
            (expected.width(), expected.height()),
            "{name}"
        );
        assert!(
            image.to_rgb8() == expected.to_rgb8(),
            "{name}: the stitched result is the one-process result"
        );
    }
}
