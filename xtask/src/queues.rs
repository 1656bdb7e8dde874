//! `cargo xtask bench-queues`: session 04's reliable queue beside the queues Python users
//! run, RQ and Celery, on the same redis-server, with the same no-op task and the same
//! number of worker processes.
//!
//! The Python queues live in a venv under `target/bench-queues` (created on first use from
//! `xtask/queues/requirements.txt`); `xtask/queues/bench_queues.py` times them, with their
//! workers already up. Session 04's benchmark starts its workers with the clock, which only
//! counts against it. Every system is timed from the first enqueue to the last task done.
//! The systems are far apart in speed, so each gets a number of tasks that takes it
//! seconds, not hours: the figure compared is tasks per second.
//!
//! Session 04's workers run 64 tasks at once each, where Celery's and RQ's run one, so it
//! also runs with one slot per worker: the like-for-like row.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::{Deserialize, Serialize};

use crate::bench_api::median;
use crate::peers::{capture, machine, venv};
use crate::redis_server::RedisServer;
use crate::{cargo, run, target_dir};

/// Where `--record` keeps the comparison the book shows.
pub const RECORD: &str = "book/src/data/bench-queues.json";

/// Worker processes, for every system.
const WORKERS: usize = 2;

/// A system of the comparison: its name, its label, how many tasks a run gives it at
/// `scale` 1, and for session 04's rows, its slots per worker.
struct System {
    name: &'static str,
    label: &'static str,
    tasks: usize,
    slots: Option<usize>,
}

/// The name of session 04's row, the one the others are compared with.
const OURS: &str = "session04";
/// Session 04's like-for-like row: one slot per worker, as Celery and RQ run here.
const ONE_SLOT: &str = "session04-one-slot";

const SYSTEMS: &[System] = &[
    System {
        name: OURS,
        label: "session 04's queue (streams, leases, a record per task), 64 slots per worker",
        tasks: 100_000,
        slots: Some(64),
    },
    System {
        name: ONE_SLOT,
        label: "session 04's queue, 1 slot per worker",
        tasks: 20_000,
        slots: Some(1),
    },
    System {
        name: "celery",
        label: "Celery, prefork, acks_late, reject_on_worker_lost, prefetch 1",
        tasks: 10_000,
        slots: None,
    },
    System {
        name: "rq-simple",
        label: "RQ, SimpleWorker (jobs run in the worker process)",
        tasks: 3_000,
        slots: None,
    },
    System {
        name: "rq",
        label: "RQ, its default worker (a fork per job)",
        tasks: 300,
        slots: None,
    },
];

/// One system's runs.
#[derive(Debug, Serialize, Deserialize)]
pub struct Row {
    /// The script's name for it.
    pub system: String,
    /// What ran, and how it was configured.
    pub label: String,
    /// The library and its version.
    pub version: String,
    /// Tasks per run.
    pub tasks: usize,
    /// Tasks per second, each run.
    pub tasks_per_second: Vec<f64>,
    /// Their median.
    pub median: f64,
}

/// The whole comparison, as recorded.
#[derive(Debug, Serialize, Deserialize)]
pub struct Results {
    /// The CPU model and core count.
    pub machine: String,
    /// The redis-server every system ran on.
    pub redis: String,
    /// Worker processes per system.
    pub workers: usize,
    /// Session 04 first, then the Python queues.
    pub rows: Vec<Row>,
}

/// One run's figures, from either side.
#[derive(Debug, Deserialize)]
struct Run {
    tasks_per_second: f64,
    #[serde(default)]
    version: String,
}

/// Runs every system `runs` times and prints the table (or the JSON).
pub fn bench_queues(root: &Path, runs: usize, scale: f64, json: bool, record: bool) -> Result<()> {
    anyhow::ensure!(runs > 0, "--runs must be at least 1");
    anyhow::ensure!(
        scale > 0.0 && scale <= 10.0,
        "--scale must be above 0 and at most 10"
    );
    crate::tools::python_venv()?;
    let work = target_dir(root).join("bench-queues");
    std::fs::create_dir_all(&work)?;
    let python = venv(
        root,
        &work.join("venv"),
        &["-r", "xtask/queues/requirements.txt"],
    )?;
    run(cargo(root).args(["build", "--release", "-p", "session04_redis"]))?;
    let exe = target_dir(root).join("release/session04_redis");
    let script = root.join("xtask/queues/bench_queues.py");

    let server = RedisServer::start()?;
    let url = server.url();
    let redis = redis_version(&url)?;
    let mut rows = Vec::new();
    for system in SYSTEMS {
        let tasks = ((system.tasks as f64 * scale).round() as usize).max(WORKERS);
        let mut figures = Vec::new();
        let mut version = String::new();
        for _ in 0..runs {
            // Every run starts from an empty Redis (the Python script empties it too).
            flush(&url)?;
            let mut command = if let Some(slots) = system.slots {
                let mut command = Command::new(&exe);
                command.args(["bench", "--json", "--redis-url", &url]);
                command.args(["--workers", &WORKERS.to_string()]);
                command.args(["--concurrency", &slots.to_string()]);
                command
            } else {
                let mut command = Command::new(&python);
                command.arg(&script).args(["--system", system.name]);
                command.args(["--redis-url", &url]);
                command.args(["--workers", &WORKERS.to_string()]);
                command
            };
            command.args(["--tasks", &tasks.to_string()]);
            let output = capture(&mut command)?;
            let measured: Run = serde_json::from_str(output.trim())
                .with_context(|| format!("cannot read {}'s figures: {output}", system.name))?;
            eprintln!("{}: {:.0} tasks/s", system.name, measured.tasks_per_second);
            figures.push(measured.tasks_per_second);
            version = measured.version;
        }
        if version.is_empty() {
            version = "this workspace".to_owned();
        }
        rows.push(Row {
            system: system.name.to_owned(),
            label: system.label.to_owned(),
            version,
            tasks,
            median: median(&figures),
            tasks_per_second: figures,
        });
    }
    drop(server);

    let results = Results {
        machine: machine(),
        redis,
        workers: WORKERS,
        rows,
    };
    let text = serde_json::to_string_pretty(&results)? + "\n";
    std::fs::write(work.join("results.json"), &text)?;
    if record {
        let path = root.join(RECORD);
        std::fs::write(&path, &text).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("recorded for the book in {RECORD}");
    }
    if json {
        print!("{text}");
    } else {
        println!("{}", table(&results));
    }
    Ok(())
}

/// Empties the Redis at `url`.
fn flush(url: &str) -> Result<()> {
    let mut conn = redis::Client::open(url)?
        .get_connection()
        .with_context(|| format!("cannot reach {url}"))?;
    redis::cmd("FLUSHALL")
        .exec(&mut conn)
        .context("FLUSHALL failed")
}

/// `redis-server 7.0.15`, as the server at `url` reports itself.
fn redis_version(url: &str) -> Result<String> {
    let mut conn = redis::Client::open(url)?.get_connection()?;
    let info: String = redis::cmd("INFO").arg("server").query(&mut conn)?;
    Ok(info
        .lines()
        .find_map(|line| line.strip_prefix("redis_version:"))
        .map_or_else(
            || "redis-server".to_owned(),
            |v| format!("redis-server {}", v.trim()),
        ))
}

/// Session 04's median over each system's: how many times as fast it is.
fn ratio(results: &Results, row: &Row) -> Option<f64> {
    let ours = results.rows.iter().find(|r| r.system == OURS)?;
    (!row.system.starts_with(OURS) && row.median > 0.0).then(|| ours.median / row.median)
}

/// A ratio as the tables write it: one decimal below 10, none above.
fn times(ratio: f64) -> String {
    if (ratio * 10.0).round() < 100.0 {
        format!("{ratio:.1}")
    } else {
        format!("{ratio:.0}")
    }
}

/// The table `bench-queues` prints.
fn table(results: &Results) -> Table {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header([
        "system",
        "tasks per run",
        "tasks/s (median)",
        "session 04 / system",
    ]);
    for row in &results.rows {
        table.add_row([
            format!("{} ({})", row.label, row.version),
            row.tasks.to_string(),
            format!("{:.0}", row.median),
            ratio(results, row).map_or("-".to_owned(), |r| format!("{}x", times(r))),
        ]);
    }
    table
}

/// The recorded comparison as the book's Markdown table.
pub fn markdown(results: &Results) -> String {
    let mut text = String::from(
        "| system | tasks per run | tasks per second (median) | session 04's queue (64 slots) is |\n\
         |---|---|---|---|\n",
    );
    for row in &results.rows {
        text.push_str(&format!(
            "| {} ({}) | {} | {} | {} |\n",
            row.label,
            row.version,
            crate::record::grouped(row.tasks as f64),
            crate::record::grouped(row.median),
            ratio(results, row).map_or("-".to_owned(), |r| format!("{}x as fast", times(r))),
        ));
    }
    let median = |system: &str| {
        let row = results.rows.iter().find(|r| r.system == system)?;
        (row.median > 0.0).then_some(row.median)
    };
    if let (Some(one), Some(celery)) = (median(ONE_SLOT), median("celery")) {
        text.push_str(&format!(
            "\nLike for like, one task at a time per worker, session 04's queue is {}x as fast \
             as Celery.\n",
            times(one / celery)
        ));
    }
    let runs = results.rows.first().map_or(0, |r| r.tasks_per_second.len());
    text.push_str(&format!(
        "\n*`cargo xtask bench-queues --record`: {} worker processes per system, a no-op task, \
         one {} on {}; the median of {runs} runs each.*\n",
        results.workers, results.redis, results.machine
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(system: &str, median: f64) -> Row {
        Row {
            system: system.to_owned(),
            label: system.to_owned(),
            version: "v".to_owned(),
            tasks: 1000,
            tasks_per_second: vec![median],
            median,
        }
    }

    #[test]
    fn ratios_are_session_04_over_each_system() {
        let results = Results {
            machine: "m".to_owned(),
            redis: "redis-server 7".to_owned(),
            workers: 2,
            rows: vec![
                row(OURS, 20_000.0),
                row(ONE_SLOT, 4_000.0),
                row("celery", 800.0),
                row("rq", 5_000.0),
            ],
        };
        assert_eq!(ratio(&results, &results.rows[0]), None);
        assert_eq!(ratio(&results, &results.rows[1]), None);
        assert_eq!(ratio(&results, &results.rows[2]), Some(25.0));
        let text = markdown(&results);
        assert!(text.contains("| 20 000 | - |"), "{text}");
        assert!(text.contains("| 4 000 | - |"), "{text}");
        assert!(text.contains("| 800 | 25x as fast |"), "{text}");
        assert!(text.contains("| 5 000 | 4.0x as fast |"), "{text}");
        assert!(
            text.contains("session 04's queue is 5.0x as fast as Celery"),
            "{text}"
        );
        assert_eq!(
            (times(9.94), times(9.96), times(12.4)),
            ("9.9".into(), "10".into(), "12".into())
        );
        assert!(text.contains("one redis-server 7 on m"), "{text}");
    }
}
