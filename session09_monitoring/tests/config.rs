//! The monitoring lab's configuration (`monitoring/`, `compose.yaml`, the Dockerfile)
//! agrees with itself and with the binary: Prometheus's configurations load and find
//! their rules, the alert rules pass their unit tests (and a rule changed breaks them),
//! every PromQL expression of the Grafana dashboard parses, every metric they name is a
//! sample the binaries' own registries serve, and compose runs the binary on the ports
//! and variables it reads.
//!
//! `promtool` (Debian's `prometheus` package) checks the PromQL; without it those tests
//! say why and pass. Debian builds it without Kubernetes discovery, so the kind
//! configuration is checked with its discovery block swapped for a static one.

mod config {
    pub mod names;
    pub mod promtool;
}

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

use config::names::{self, metrics_in, samples};
use config::promtool::promtool;
use session07_k8s::routes::{API_PORT, PROBE_PORT};

/// The crate's folder.
fn crate_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// `monitoring/`.
fn monitoring() -> PathBuf {
    crate_dir().join("monitoring")
}

/// Where compose resolves the relative paths of both files: the first file's folder.
fn project_dir() -> PathBuf {
    crate_dir().join("../session06_docker")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn yaml_file(path: &Path) -> Yaml {
    let mut docs = YamlLoader::load_from_str(&read(path))
        .unwrap_or_else(|error| panic!("{} is not YAML: {error}", path.display()));
    assert_eq!(docs.len(), 1, "{}: one document", path.display());
    docs.remove(0)
}

fn dashboard() -> Value {
    let path = monitoring().join("grafana/dashboards/imgproc.json");
    serde_json::from_str(&read(&path))
        .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()))
}

/// Every PromQL expression of the dashboard, with its panel's title.
fn dashboard_exprs() -> Vec<(String, String)> {
    let dashboard = dashboard();
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut exprs = Vec::new();
    for panel in panels {
        let title = panel["title"].as_str().expect("a title");
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("an expr");
            exprs.push((title.to_owned(), expr.to_owned()));
        }
    }
    exprs
}

/// Every alert rule: its name and expression.
fn alert_exprs() -> Vec<(String, String)> {
    let rules = yaml_file(&monitoring().join("alerts.yml"));
    let mut exprs = Vec::new();
    for group in rules["groups"].as_vec().expect("groups") {
        for rule in group["rules"].as_vec().expect("rules") {
            exprs.push((
                rule["alert"].as_str().expect("an alert name").to_owned(),
                rule["expr"].as_str().expect("an expr").to_owned(),
            ));
        }
    }
    exprs
}

/// Writes `expressions` as recording rules into `dir`/`file`, for `promtool check rules`.
fn recording_rules(dir: &Path, file: &str, exprs: &[(String, String)]) -> PathBuf {
    let mut text = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (index, (_, expr)) in exprs.iter().enumerate() {
        let quoted = serde_json::to_string(expr).expect("a string");
        text += &format!("      - record: dashboard:expr_{index}\n        expr: {quoted}\n");
    }
    let path = dir.join(file);
    std::fs::write(&path, text).expect("writable");
    path
}

// Prometheus.

#[test]
fn the_compose_prometheus_config_loads_and_finds_its_rules() {
    let Some(promtool) = promtool("the_compose_prometheus_config_loads_and_finds_its_rules") else {
        return;
    };
    let text = promtool.passes(&monitoring(), &["check", "config", "prometheus.yml"]);
    assert!(text.contains("1 rule files found"), "{text}");
    assert!(text.contains("4 rules found"), "{text}");
}

#[test]
fn the_compose_prometheus_config_scrapes_every_worker_and_the_api() {
    let config = yaml_file(&monitoring().join("prometheus.yml"));
    let jobs = config["scrape_configs"].as_vec().expect("scrape_configs");
    let job = |name: &str| {
        jobs.iter()
            .find(|job| job["job_name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("no job {name}"))
    };
    // Every replica: one address per container, by DNS, on the probe port.
    let dns = &job("worker")["dns_sd_configs"][0];
    assert_eq!(dns["names"][0].as_str(), Some("worker"));
    assert_eq!(dns["type"].as_str(), Some("A"));
    assert_eq!(dns["port"].as_i64(), Some(i64::from(PROBE_PORT)));
    let api = job("api")["static_configs"][0]["targets"][0].as_str();
    assert_eq!(api, Some(format!("api:{API_PORT}").as_str()));
    assert_eq!(config["global"]["scrape_interval"].as_str(), Some("5s"));
}

#[test]
fn the_kubernetes_prometheus_config_loads_with_static_discovery() {
    let path = monitoring().join("prometheus-kubernetes.yml");
    let mut config = yaml_file(&path);
    let job = &mut config["scrape_configs"][0];
    // What it asks of Kubernetes: pods of our namespace.
    let sd = &job["kubernetes_sd_configs"][0];
    assert_eq!(sd["role"].as_str(), Some("pod"));
    assert_eq!(sd["namespaces"]["names"][0].as_str(), Some("imgproc"));
    // Only the pods that ask, on the port and path they name.
    let relabels: Vec<String> = job["relabel_configs"]
        .as_vec()
        .expect("relabel_configs")
        .iter()
        .map(|relabel| {
            format!(
                "{:?} -> {}",
                relabel["source_labels"]
                    .as_vec()
                    .expect("source_labels")
                    .iter()
                    .filter_map(Yaml::as_str)
                    .collect::<Vec<_>>(),
                relabel["action"]
                    .as_str()
                    .or(relabel["target_label"].as_str())
                    .expect("an action or a target")
            )
        })
        .collect();
    for expected in [
        "[\"__meta_kubernetes_pod_annotation_prometheus_io_scrape\"] -> keep",
        "[\"__meta_kubernetes_pod_annotation_prometheus_io_path\"] -> __metrics_path__",
        "[\"__address__\", \"__meta_kubernetes_pod_annotation_prometheus_io_port\"] -> __address__",
    ] {
        assert!(relabels.iter().any(|r| r == expected), "{relabels:#?}");
    }
    let Some(promtool) = promtool("the_kubernetes_prometheus_config_loads_with_static_discovery")
    else {
        return;
    };
    // Debian's promtool has no Kubernetes discovery: the rest is checked with a static one.
    let hash = job.as_mut_hash().expect("a job");
    hash.remove(&Yaml::String("kubernetes_sd_configs".into()));
    let statics = YamlLoader::load_from_str("[{targets: ['10.0.0.1:8081']}]").expect("YAML");
    hash.insert(Yaml::String("static_configs".into()), statics[0].clone());
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut text = String::new();
    yaml_rust2::YamlEmitter::new(&mut text)
        .dump(&config)
        .expect("emitted");
    std::fs::write(dir.path().join("prometheus.yml"), text).expect("writable");
    std::fs::copy(
        monitoring().join("alerts.yml"),
        dir.path().join("alerts.yml"),
    )
    .expect("copied");
    let text = promtool.passes(dir.path(), &["check", "config", "prometheus.yml"]);
    assert!(text.contains("1 rule files found"), "{text}");
}

// The alert rules.

#[test]
fn the_alert_rules_pass_their_unit_tests() {
    let Some(promtool) = promtool("the_alert_rules_pass_their_unit_tests") else {
        return;
    };
    promtool.passes(&monitoring(), &["check", "rules", "alerts.yml"]);
    let text = promtool.passes(&monitoring(), &["test", "rules", "alerts.test.yml"]);
    assert!(text.contains("SUCCESS"), "{text}");
    // Every alert has a unit test.
    let tests = read(&monitoring().join("alerts.test.yml"));
    for (alert, _) in alert_exprs() {
        assert!(
            tests.contains(&format!("alertname: {alert}")),
            "{alert} has no unit test"
        );
    }
}

/// `promtool test rules` on the unit tests, against alerts.yml changed by `change`.
fn unit_tests_against(change: impl FnOnce(String) -> String) -> String {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let rules = change(read(&monitoring().join("alerts.yml")));
    std::fs::write(dir.path().join("alerts.yml"), rules).expect("writable");
    std::fs::copy(
        monitoring().join("alerts.test.yml"),
        dir.path().join("alerts.test.yml"),
    )
    .expect("copied");
    let promtool = promtool("unit_tests_against").expect("checked by the caller");
    let run = promtool.run(dir.path(), &["test", "rules", "alerts.test.yml"]);
    assert!(
        !run.success,
        "the unit tests pass a broken rule:\n{}",
        run.text
    );
    run.text
}

#[test]
fn a_no_live_worker_alert_too_slow_or_too_eager_fails_its_unit_test() {
    if promtool("a_no_live_worker_alert_too_slow_or_too_eager_fails_its_unit_test").is_none() {
        return;
    }
    let slow = unit_tests_against(|rules| rules.replacen("for: 1m", "for: 2m", 1));
    assert!(slow.contains("alertname: NoLiveWorker"), "{slow}");
    let eager = unit_tests_against(|rules| rules.replacen("for: 1m", "for: 15s", 1));
    assert!(eager.contains("alertname: NoLiveWorker"), "{eager}");
    // Busy workers counted as dead: it fires while they work.
    let busy = unit_tests_against(|rules| rules.replacen("idle|busy", "idle", 1));
    assert!(busy.contains("alertname: NoLiveWorker"), "{busy}");
}

#[test]
fn a_dead_letter_alert_that_never_fires_fails_its_unit_test() {
    if promtool("a_dead_letter_alert_that_never_fires_fails_its_unit_test").is_none() {
        return;
    }
    let text = unit_tests_against(|rules| {
        rules.replace(
            "(delta(imgproc_dead_letters[5m])) > 0",
            "(delta(imgproc_dead_letters[5m])) > 1",
        )
    });
    assert!(text.contains("alertname: DeadLettersRising"), "{text}");
}

// The dashboard.

#[test]
fn every_dashboard_expression_parses() {
    let exprs = dashboard_exprs();
    assert!(exprs.len() >= 8, "{exprs:#?}");
    let Some(promtool) = promtool("every_dashboard_expression_parses") else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    recording_rules(dir.path(), "dashboard.yml", &exprs);
    let text = promtool.passes(dir.path(), &["check", "rules", "dashboard.yml"]);
    assert!(
        text.contains(&format!("{} rules found", exprs.len())),
        "{text}"
    );
    // And the check checks: a broken expression is refused.
    let broken = [("broken".to_owned(), "rate(imgproc_tasks_total)".to_owned())];
    recording_rules(dir.path(), "broken.yml", &broken);
    let run = promtool.run(dir.path(), &["check", "rules", "broken.yml"]);
    assert!(
        !run.success,
        "promtool accepts rate() without a range:\n{}",
        run.text
    );
}

#[test]
fn the_dashboard_has_the_golden_signals_panels() {
    let dashboard = dashboard();
    assert_eq!(dashboard["uid"].as_str(), Some("imgproc"));
    let exprs = dashboard_exprs();
    let panel = |title: &str| -> Vec<&str> {
        exprs
            .iter()
            .filter(|(panel, _)| panel == title)
            .map(|(_, expr)| expr.as_str())
            .collect()
    };
    assert!(panel("Throughput")[0].contains("rate(imgproc_tasks_total["));
    let latency = panel("Latency");
    for quantile in ["0.5", "0.9", "0.99"] {
        assert!(
            latency.iter().any(|expr| expr.starts_with(&format!(
                "histogram_quantile({quantile}, sum by (le) (rate(imgproc_task_duration_seconds_bucket{{outcome=\"succeeded\"}}["
            ))),
            "no p{quantile} in {latency:?}"
        );
    }
    assert!(panel("Queue").contains(&"imgproc_queue_lag"));
    assert!(panel("Workers by state")[0].contains("imgproc_workers"));
    assert!(panel("CPU")[0].contains("rate(process_cpu_seconds_total["));
}

#[test]
fn the_dashboard_reads_the_provisioned_datasource() {
    let provisioned =
        yaml_file(&monitoring().join("grafana/provisioning/datasources/prometheus.yaml"));
    let source = &provisioned["datasources"][0];
    let uid = source["uid"].as_str().expect("a fixed uid");
    assert_eq!(source["type"].as_str(), Some("prometheus"));
    // Prometheus by its compose service name and port.
    assert_eq!(source["url"].as_str(), Some("http://prometheus:9090"));
    let dashboard = dashboard();
    for panel in dashboard["panels"].as_array().expect("panels") {
        assert_eq!(
            panel["datasource"]["uid"].as_str(),
            Some(uid),
            "{}",
            panel["title"]
        );
        for target in panel["targets"].as_array().expect("targets") {
            assert_eq!(target["datasource"]["uid"].as_str(), Some(uid));
        }
    }
}

// Metric names.

#[test]
fn every_metric_named_is_one_the_binaries_serve() {
    let served = names::served();
    let mut exposed = BTreeSet::new();
    for (process, text) in &served {
        let found = samples(text);
        // The binaries' own: a process with nothing of ours would mean a registry lost.
        assert!(
            found.iter().any(|name| name.starts_with("imgproc_")),
            "{process} serves nothing of ours:\n{text}"
        );
        exposed.extend(found);
    }
    let mut used = BTreeSet::new();
    for (place, expr) in dashboard_exprs().into_iter().chain(alert_exprs()) {
        let found = metrics_in(&expr);
        assert!(
            !found.is_empty() || expr.contains("vector("),
            "{place}: {expr}"
        );
        for name in found {
            assert!(
                exposed.contains(&name) || names::PROMETHEUS_OWN.contains(&name.as_str()),
                "{place}: {name} is no sample the binaries serve"
            );
            used.insert(name);
        }
    }
    // The reader itself: it finds names, skips functions and label values.
    assert_eq!(
        metrics_in(r#"sum by (outcome) (rate(imgproc_tasks_total{x="imgproc_no"}[1m])) / up"#),
        BTreeSet::from(["imgproc_tasks_total".to_owned(), "up".to_owned()])
    );
    // And the samples are the names as Prometheus stores them: histograms by their
    // series, counters with `_total`, units spelled out.
    for name in [
        "imgproc_task_duration_seconds_bucket",
        "imgproc_tasks_total",
        "imgproc_worker_heartbeat_age_seconds",
        "process_cpu_seconds_total",
    ] {
        assert!(exposed.contains(name), "{name} not in {exposed:?}");
    }
    for name in ["imgproc_task_duration_seconds", "imgproc_tasks"] {
        assert!(!exposed.contains(name), "{name} in {exposed:?}");
    }
    assert!(used.len() >= 10, "{used:?}");
}

// Compose and the image.

/// The compose override, parsed.
fn compose() -> Yaml {
    yaml_file(&crate_dir().join("compose.yaml"))
}

/// The variables and the defaults `session09_monitoring COMMAND --help` lists.
fn help(command: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_session09_monitoring"))
        .args([command, "--help"])
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "{command} --help fails");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The `NAME: value` pairs of a compose service's `environment`.
fn environment(service: &Yaml) -> Vec<(String, String)> {
    service["environment"]
        .as_hash()
        .expect("environment as a map")
        .iter()
        .map(|(name, value)| {
            let value = match value {
                Yaml::String(text) => text.clone(),
                Yaml::Integer(number) => number.to_string(),
                other => panic!("{other:?}"),
            };
            (name.as_str().expect("a name").to_owned(), value)
        })
        .collect()
}

/// `yaml` with YAML merge keys (`<<: *anchor`) applied, as compose applies them: the
/// merged maps first, the map's own keys over them.
fn merged(yaml: &Yaml) -> Yaml {
    match yaml {
        Yaml::Hash(hash) => {
            let key = Yaml::String("<<".to_owned());
            let mut out = yaml_rust2::yaml::Hash::new();
            let bases = match hash.get(&key) {
                Some(Yaml::Array(list)) => list.clone(),
                Some(base) => vec![base.clone()],
                None => Vec::new(),
            };
            for base in bases {
                if let Yaml::Hash(base) = merged(&base) {
                    out.extend(base);
                }
            }
            for (name, value) in hash.iter().filter(|(name, _)| **name != key) {
                out.insert(name.clone(), merged(value));
            }
            Yaml::Hash(out)
        }
        Yaml::Array(list) => Yaml::Array(list.iter().map(merged).collect()),
        other => other.clone(),
    }
}

#[test]
fn the_workers_keep_session06s_settings_and_read_every_one() {
    let session06 = merged(&yaml_file(&project_dir().join("compose.yaml")));
    let inherited = environment(&session06["services"]["worker"]);
    assert!(inherited.len() >= 7, "{inherited:?}");
    let help = help("worker");
    for (variable, _) in inherited {
        assert!(
            help.contains(&format!("[env: {variable}=")),
            "session 06's worker sets {variable}, which this `worker` does not read"
        );
    }
}

#[test]
fn compose_runs_the_binary_on_the_ports_and_variables_it_reads() {
    let compose = compose();
    let services = &compose["services"];
    for (name, command, variable, port) in [
        ("worker", "worker", "PROBE_LISTEN", PROBE_PORT),
        ("api", "api", "API_LISTEN", API_PORT),
    ] {
        let service = &services[name];
        assert_eq!(
            service["image"].as_str(),
            Some("session09-monitoring:latest")
        );
        assert_eq!(service["command"][0].as_str(), Some(command), "{name}");
        let env = environment(service);
        // Every variable it sets is one the command reads.
        let help = help(command);
        for (variable, _) in &env {
            assert!(
                help.contains(&format!("[env: {variable}=")),
                "{name} sets {variable}, which `{command}` does not read"
            );
        }
        // It listens on every interface, on the port the binary defaults to.
        let listen = env
            .iter()
            .find(|(found, _)| found == variable)
            .map(|(_, value)| value.as_str());
        assert_eq!(listen, Some(format!("0.0.0.0:{port}").as_str()), "{name}");
        assert!(
            help.contains(&format!("[default: 127.0.0.1:{port}]")),
            "`{command}` no longer listens on {port} by default"
        );
    }
    let ports = |name: &str| services[name]["ports"][0].as_str().map(str::to_owned);
    assert_eq!(
        ports("api"),
        Some(format!("127.0.0.1:{API_PORT}:{API_PORT}"))
    );
    assert_eq!(ports("prometheus").as_deref(), Some("127.0.0.1:9090:9090"));
    assert_eq!(ports("grafana").as_deref(), Some("127.0.0.1:3000:3000"));
    assert_eq!(
        services["prometheus"]["image"].as_str(),
        Some("prom/prometheus:v2.53.0")
    );
    assert_eq!(
        services["grafana"]["image"].as_str(),
        Some("grafana/grafana-oss:11.1.0")
    );
    // Scaled workers need no fixed name.
    assert!(services["worker"]["container_name"].is_badvalue());
}

#[test]
fn the_image_listens_where_compose_and_prometheus_look() {
    let dockerfile = read(&crate_dir().join("Dockerfile"));
    for expected in [
        format!("API_LISTEN=0.0.0.0:{API_PORT}"),
        format!("PROBE_LISTEN=0.0.0.0:{PROBE_PORT}"),
        "LOG_FORMAT=json".to_owned(),
        "USER 65532:65532".to_owned(),
    ] {
        assert!(
            dockerfile.contains(&expected),
            "the Dockerfile lacks {expected}"
        );
    }
    // Session 06's builder first, word for word, so that Docker shares its layers; then
    // one more build, of this package.
    let session06 = read(&crate_dir().join("../session06_docker/Dockerfile"));
    let builder = |text: &str| -> Vec<String> {
        text.lines()
            .skip_while(|line| *line != "FROM chef AS builder")
            .skip(1)
            .take_while(|line| !line.starts_with("FROM "))
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(str::to_owned)
            .collect()
    };
    let (ours, theirs) = (builder(&dockerfile), builder(&session06));
    assert!(
        !theirs.is_empty(),
        "session 06's Dockerfile has no builder stage"
    );
    assert_eq!(ours[..theirs.len()], theirs[..], "{ours:#?}");
    assert_eq!(
        ours[theirs.len()..],
        ["RUN cargo build --release --locked -p session09_monitoring --bin session09_monitoring"],
        "{ours:#?}"
    );
    assert!(
        !dockerfile
            .lines()
            .any(|line| line.starts_with("HEALTHCHECK")),
        "no shell to run one"
    );
}

#[test]
fn every_path_compose_mounts_exists_from_the_first_files_folder() {
    let compose = compose();
    let project = project_dir();
    let build = &compose["services"]["worker"]["build"];
    let context = project.join(build["context"].as_str().expect("a context"));
    assert!(
        context
            .join(build["dockerfile"].as_str().expect("a Dockerfile"))
            .is_file()
    );
    // Session 06's demos build session 06's image when it is missing, from its Dockerfile.
    let session06 = merged(&yaml_file(&project.join("compose.yaml")));
    for name in ["send", "full-test", "monitor", "cli"] {
        assert_eq!(
            session06["services"][name]["image"].as_str(),
            Some("session06-docker:latest"),
            "{name}"
        );
        let build = &compose["services"][name]["build"];
        let context = project.join(build["context"].as_str().expect("a context"));
        assert!(
            context
                .join(build["dockerfile"].as_str().expect("a Dockerfile"))
                .ends_with("session06_docker/Dockerfile")
                && context.join("session06_docker/Dockerfile").is_file(),
            "{name}: {build:?}"
        );
    }
    let mut mounts = 0;
    for (name, service) in compose["services"].as_hash().expect("services") {
        let Some(volumes) = service["volumes"].as_vec() else {
            continue;
        };
        for volume in volumes {
            let volume = volume.as_str().expect("short syntax");
            let source = volume.split(':').next().expect("a source");
            if source.starts_with('.') {
                mounts += 1;
                assert!(
                    project.join(source).exists(),
                    "{name:?} mounts {source}, which is not there from session06_docker/"
                );
            }
        }
    }
    assert_eq!(mounts, 4);
    // What the mounts put where Grafana's provisioning looks.
    let provider = yaml_file(&monitoring().join("grafana/provisioning/dashboards/imgproc.yaml"));
    let path = provider["providers"][0]["options"]["path"].as_str();
    let grafana = compose["services"]["grafana"]["volumes"]
        .as_vec()
        .expect("volumes")
        .iter()
        .filter_map(Yaml::as_str)
        .map(|volume| volume.split(':').nth(1).expect("a target"))
        .collect::<Vec<_>>();
    assert!(grafana.contains(&path.expect("a path")), "{grafana:?}");
}

// The excerpts the chapter includes.

#[test]
fn every_anchor_is_closed_and_short() {
    let files = [
        crate_dir().join("Dockerfile"),
        crate_dir().join("compose.yaml"),
        monitoring().join("prometheus.yml"),
        monitoring().join("prometheus-kubernetes.yml"),
        monitoring().join("alerts.yml"),
    ];
    let mut found = BTreeSet::new();
    for file in &files {
        let text = read(file);
        let lines: Vec<&str> = text.lines().collect();
        for (start, line) in lines.iter().enumerate() {
            let Some(name) = line.trim().strip_prefix("# ANCHOR: ") else {
                continue;
            };
            let end = lines[start..]
                .iter()
                .position(|line| line.trim() == format!("# ANCHOR_END: {name}"))
                .unwrap_or_else(|| panic!("{}: {name} is never closed", file.display()));
            assert!(end <= 35, "{}: {name} is {end} lines long", file.display());
            assert!(found.insert(name.to_owned()), "{name} twice");
        }
    }
    for name in [
        "cook",
        "worker",
        "api",
        "prometheus",
        "grafana",
        "scrape",
        "kubernetes-sd",
        "no-live-worker",
        "dead-letters",
    ] {
        assert!(found.contains(name), "no anchor {name}");
    }
}
