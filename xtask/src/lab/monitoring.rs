//! Session 09's phase of the compose lab, in the same project after session 06's checks:
//! session 09's compose file over session 06's brings up workers and a status API that
//! serve `/metrics`, Prometheus and (when its image can be had) Grafana. Then, for real:
//! Prometheus scrapes every worker and the API; after the `send` demo it counts the tasks;
//! every PromQL expression of the provisioned dashboard runs against it; Grafana answers and
//! has the dashboard; and with the workers stopped the `NoLiveWorker` alert fires.
//!
//! Without a Grafana image (no registry, and no package to build a stand-in from) the lab
//! says so, leaves the service out, and checks the dashboard's queries against Prometheus.

use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, ensure};
use serde_json::Value;

use super::compose::{
    BUILD_TIME, COMMAND_TIME, DEMO_TIME, LabCommand, POLL, Project, images_written_since,
    prepare_output,
};
use super::http::{Http, split_url};
use super::images;
use super::poll::{Answer, answer};
use super::prometheus::{self, PanelQuery};
use super::steps::Steps;

/// The crate folder the phase's compose commands run in.
pub const FOLDER: &str = "session09_monitoring";

const fn typed(words: &'static [&'static str]) -> LabCommand {
    LabCommand {
        env: &[],
        words,
        folder: FOLDER,
    }
}

/// Builds session 09's image (session 06's dependency layers come from the cache).
pub const BUILD: LabCommand = typed(over_session06!["build", "worker"]);
/// Workers on session 09's image, the status API, Prometheus and Grafana.
pub const UP: LabCommand = typed(over_session06!["up", "-d"]);
/// The same without Grafana, when its image cannot be had.
pub const UP_WITHOUT_GRAFANA: LabCommand =
    typed(over_session06!["up", "-d", "worker", "api", "prometheus"]);
/// The project's containers, session 09's among them.
pub const PS: LabCommand = typed(over_session06!["ps"]);
/// Prometheus is ready to answer queries.
pub const READY: LabCommand = typed(&["curl", "http://127.0.0.1:9090/-/ready"]);
/// What Prometheus scrapes, and how the last scrape went.
pub const TARGETS: LabCommand = typed(&["curl", "http://127.0.0.1:9090/api/v1/targets"]);
/// The status API's own metrics: the queue's gauges, read from Redis.
pub const API_METRICS: LabCommand = typed(&["curl", "http://127.0.0.1:8080/metrics"]);
/// Demo 1 again, now run by session 09's workers.
pub const SEND: LabCommand = typed(over_session06!["run", "--rm", "send"]);
/// The tasks every worker counted, summed by Prometheus.
pub const QUERY_TASKS: LabCommand = typed(&[
    "curl",
    "http://127.0.0.1:9090/api/v1/query?query=sum(imgproc_tasks_total)",
]);
/// Grafana answers, its database too.
pub const GRAFANA_HEALTH: LabCommand = typed(&["curl", "http://127.0.0.1:3000/api/health"]);
/// The provisioned dashboard (anonymous viewers may read it).
pub const GRAFANA_DASHBOARD: LabCommand =
    typed(&["curl", "http://127.0.0.1:3000/api/dashboards/uid/imgproc"]);
/// The alert drill: every worker stopped (each drains first).
pub const STOP_WORKERS: LabCommand = typed(over_session06!["stop", "worker"]);
/// The alerts Prometheus evaluates, and their state.
pub const ALERTS: LabCommand = typed(&["curl", "http://127.0.0.1:9090/api/v1/alerts"]);
/// Stops and deletes everything, session 09's services and volumes too.
pub const DOWN: LabCommand = typed(over_session06!["down", "-v"]);

/// Every command of the phase, in order.
pub const MONITORING_COMMANDS: [LabCommand; 14] = [
    BUILD,
    UP,
    UP_WITHOUT_GRAFANA,
    PS,
    READY,
    TARGETS,
    API_METRICS,
    SEND,
    QUERY_TASKS,
    GRAFANA_HEALTH,
    GRAFANA_DASHBOARD,
    STOP_WORKERS,
    ALERTS,
    DOWN,
];

/// The tasks `send` submits.
const SENT: f64 = 5.0;
/// The alert the drill waits for.
const ALERT: &str = "NoLiveWorker";
/// The dashboard's uid (its JSON's `uid`).
const DASHBOARD_UID: &str = "imgproc";
/// The host ports the phase publishes, by service.
const PORTS: [(&str, u16); 3] = [("api", 8080), ("prometheus", 9090), ("grafana", 3000)];

/// Deadlines.
const READY_TIME: Duration = Duration::from_secs(120);
const TARGETS_TIME: Duration = Duration::from_secs(90);
const DATA_TIME: Duration = Duration::from_secs(90);
/// NoLiveWorker waits a minute (`for: 1m`) after the workers' last beats go stale.
const ALERT_TIME: Duration = Duration::from_secs(180);

/// Runs the phase: what it found goes to `found`; `up` is set once its services may run.
pub fn run(
    project: &Project<'_>,
    steps: &mut Steps,
    found: &mut Vec<String>,
    up: &mut bool,
) -> Result<()> {
    let crate_dir = project.root.join(FOLDER);
    let had = steps.run("monitoring images", || {
        images::ensure_some(
            project.engine,
            &project.root,
            &images::base_images(&crate_dir)?,
        )
    })?;
    found.extend(had.report.iter().map(|line| format!("monitoring: {line}")));
    let grafana = !had.missing.iter().any(|name| name.starts_with("grafana/"));
    steps.run("build the session 09 image", || {
        project.stream(BUILD, BUILD_TIME)
    })?;
    let http = Http::new();
    let services = if grafana {
        "workers, API, Prometheus, Grafana"
    } else {
        "workers, API, Prometheus"
    };
    steps.run(&format!("up: {services}"), || {
        check_ports_free(grafana)?;
        *up = true;
        project.stream(if grafana { UP } else { UP_WITHOUT_GRAFANA }, COMMAND_TIME)?;
        project.stream(PS, COMMAND_TIME)?;
        http.poll(READY, READY_TIME, |status, _| {
            Ok(answer(status == 200, (), || format!("status {status}")))
        })
    })?;
    found.push(
        steps.run("Prometheus scrapes every worker and the API", || {
            scraped(project, &http)
        })?,
    );
    found.push(steps.run("demo: send, counted by Prometheus", || {
        counted(project, &http)
    })?);
    found.push(steps.run("the dashboard's queries against Prometheus", || {
        dashboard(&http, &crate_dir)
    })?);
    if grafana {
        found.push(
            steps.run("Grafana: health and the provisioned dashboard", || {
                grafana_checks(&http)
            })?,
        );
    }
    found.push(
        steps.run("alert drill: stop the workers, NoLiveWorker fires", || {
            alert_drill(project, &http)
        })?,
    );
    Ok(())
}

/// The phase publishes fixed host ports (on 127.0.0.1): each must be free.
fn check_ports_free(grafana: bool) -> Result<()> {
    for (service, port) in PORTS {
        if service == "grafana" && !grafana {
            continue;
        }
        // Dropped at once: only whether it can be bound matters.
        TcpListener::bind(("127.0.0.1", port)).with_context(|| {
            format!(
                "port {port} is taken on this machine: the lab's {service} publishes it \
                 (stop what listens there, e.g. a packaged Prometheus service)"
            )
        })?;
    }
    Ok(())
}

/// Waits until Prometheus scrapes every worker container and the API, all up.
fn scraped(project: &Project<'_>, http: &Http) -> Result<String> {
    let fleet = project.containers(Some("worker"))?;
    ensure!(!fleet.is_empty(), "compose lists no worker container");
    // Only running containers are scraped; compose also lists stopped ones.
    let workers = project
        .inspect("container", "{{.State.Running}}", &fleet)?
        .iter()
        .filter(|running| running.trim() == "true")
        .count();
    ensure!(workers > 0, "no worker container runs");
    let targets = http.poll(TARGETS, TARGETS_TIME, |_, body| {
        let targets = prometheus::parse_targets(body)?;
        Ok(match prometheus::targets_not_ready(&targets, workers) {
            None => Answer::Done(targets),
            Some(reason) => Answer::NotYet(reason),
        })
    })?;
    for line in prometheus::describe_targets(&targets) {
        eprintln!("  {line}");
    }
    http.poll(API_METRICS, READY_TIME, |status, body| {
        let reached = body.lines().any(|l| l.trim() == "imgproc_redis_up 1");
        Ok(answer(status == 200 && reached, (), || {
            format!("status {status}, no `imgproc_redis_up 1` line")
        }))
    })?;
    Ok(format!(
        "monitoring: Prometheus scrapes {workers} worker(s) and the API, all up; the API \
         reaches Redis (imgproc_redis_up 1)"
    ))
}

/// Runs the `send` demo and waits until Prometheus counts at least its tasks.
fn counted(project: &Project<'_>, http: &Http) -> Result<String> {
    let output_dir = project.dir.join("output");
    prepare_output(&output_dir)?;
    let started = SystemTime::now();
    project.stream(SEND, DEMO_TIME)?;
    let written = images_written_since(&output_dir, started)?;
    ensure!(
        written as f64 >= SENT,
        "send wrote {written} results, expected {SENT}"
    );
    let clock = Instant::now();
    let total = http.poll(QUERY_TASKS, DATA_TIME, |_, body| {
        let (_, value) = prometheus::parse_query(body)?;
        Ok(match value {
            Some(total) if total >= SENT => Answer::Done(total),
            other => Answer::NotYet(format!("sum(imgproc_tasks_total) is {other:?}")),
        })
    })?;
    Ok(format!(
        "monitoring: after `send`, sum(imgproc_tasks_total) = {total} (>= {SENT} sent), \
         {:.1}s after the demo ended",
        clock.elapsed().as_secs_f64()
    ))
}

/// Runs every PromQL expression of the provisioned dashboard against Prometheus: each must
/// parse, and those over the task counters must return data.
fn dashboard(http: &Http, crate_dir: &std::path::Path) -> Result<String> {
    let path = crate_dir.join("monitoring/grafana/dashboards/imgproc.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let queries =
        prometheus::dashboard_queries(&text).with_context(|| format!("in {}", path.display()))?;
    let (mut with_data, mut counters) = (0, 0);
    for query in &queries {
        let PanelQuery { panel, expr } = query;
        let started = Instant::now();
        let series = loop {
            let body = instant_query(http, expr)?;
            let (series, _) = prometheus::parse_query(&body)
                .with_context(|| format!("panel {panel:?}: `{expr}`"))?;
            if series > 0 || !query.needs_data() {
                break series;
            }
            ensure!(
                started.elapsed() < DATA_TIME,
                "panel {panel:?}: `{expr}` returned no data within {}s",
                DATA_TIME.as_secs()
            );
            thread::sleep(POLL);
        };
        eprintln!("  {panel}: `{expr}`: {series} series");
        counters += usize::from(query.needs_data());
        with_data += usize::from(series > 0);
    }
    Ok(format!(
        "monitoring: the dashboard's {} queries all parse in Prometheus; the {counters} over \
         task counters return data, {with_data} in all",
        queries.len()
    ))
}

/// Grafana answers with its database up, and has the provisioned dashboard.
fn grafana_checks(http: &Http) -> Result<String> {
    http.poll(GRAFANA_HEALTH, READY_TIME, |status, body| {
        let healthy =
            serde_json::from_str::<Value>(body).is_ok_and(|health| health["database"] == "ok");
        Ok(answer(status == 200 && healthy, (), || {
            format!("status {status}: {body}")
        }))
    })?;
    let title = http.poll(GRAFANA_DASHBOARD, READY_TIME, |status, body| {
        if status != 200 {
            return Ok(Answer::NotYet(format!("status {status}")));
        }
        let value: Value = serde_json::from_str(body)
            .with_context(|| format!("Grafana answered no JSON: {body}"))?;
        let dashboard = &value["dashboard"];
        ensure!(
            dashboard["uid"] == DASHBOARD_UID,
            "Grafana answered another dashboard: {}",
            dashboard["uid"]
        );
        Ok(Answer::Done(
            dashboard["title"].as_str().unwrap_or_default().to_owned(),
        ))
    })?;
    Ok(format!(
        "monitoring: Grafana is healthy and serves the provisioned dashboard {title:?} \
         (uid {DASHBOARD_UID})"
    ))
}

/// Stops every worker and waits until the `NoLiveWorker` alert fires. The lab goes down
/// afterwards, so the workers are not started again.
fn alert_drill(project: &Project<'_>, http: &Http) -> Result<String> {
    project.stream(STOP_WORKERS, COMMAND_TIME)?;
    let stopped = Instant::now();
    http.poll(ALERTS, ALERT_TIME, |_, body| {
        Ok(answer(prometheus::is_firing(body, ALERT)?, (), || {
            format!("{ALERT} is not firing yet")
        }))
    })?;
    Ok(format!(
        "monitoring: alert drill: {ALERT} fired {:.0}s after `docker compose stop worker` \
         (its rule waits 1 minute)",
        stopped.elapsed().as_secs_f64()
    ))
}

/// An instant query's answer (any status: the body says what went wrong).
fn instant_query(http: &Http, expr: &str) -> Result<String> {
    let (base, _) = split_url(QUERY_TASKS)?;
    Ok(http.get(base, &[("query", expr)])?.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_commands_are_split_into_url_and_query() {
        let (base, query) = split_url(QUERY_TASKS).unwrap();
        assert_eq!(base, "http://127.0.0.1:9090/api/v1/query");
        assert_eq!(query, [("query", "sum(imgproc_tasks_total)")]);
        assert_eq!(split_url(TARGETS).unwrap().1, []);
        let error = split_url(UP).unwrap_err().to_string();
        assert!(error.contains("no `curl URL`"), "{error}");
        let foreign = typed(&["curl", "http://127.0.0.1:9/x"]);
        assert!(split_url(foreign).is_err());
    }

    #[test]
    fn the_phase_runs_in_session_09_with_both_compose_files() {
        for command in MONITORING_COMMANDS {
            assert_eq!(command.folder, FOLDER);
            let line = command.to_string();
            match command.words {
                ["docker", "compose", ..] => assert!(
                    line.starts_with(
                        "docker compose -f ../session06_docker/compose.yaml -f compose.yaml "
                    ),
                    "{line}"
                ),
                ["curl", url] => assert!(url.starts_with("http://127.0.0.1:"), "{line}"),
                _ => panic!("{line} is neither docker compose nor `curl URL`"),
            }
        }
        let all = super::super::compose::commands();
        assert!(all.contains(&"curl http://127.0.0.1:9090/api/v1/targets".to_owned()));
    }

    #[test]
    fn the_files_the_phase_reads_are_there() {
        let crate_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(FOLDER);
        assert!(
            crate_dir
                .join("monitoring/grafana/dashboards/imgproc.json")
                .is_file()
        );
        let names = images::base_images(&crate_dir).unwrap();
        for name in ["prom/prometheus:v2.53.0", "grafana/grafana-oss:11.1.0"] {
            assert!(names.iter().any(|n| n == name), "{name} not in {names:?}");
        }
    }
}
