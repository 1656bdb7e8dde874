//! What session 09's lab reads back from Prometheus and how it judges it: the scrape
//! targets, a query's answer, the alerts that fire, and the PromQL expressions of the
//! provisioned Grafana dashboard. Pure functions of the JSON the HTTP API answers, so each
//! rule is tested here without Docker.

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

/// The worker's probe port, which serves its `/metrics`.
pub const WORKER_PORT: &str = "8081";
/// The status API's port, which serves its `/metrics`.
pub const API_PORT: &str = "8080";

/// A scrape target as `/api/v1/targets` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its `job` label.
    pub job: String,
    /// The URL Prometheus scrapes.
    pub scrape_url: String,
    /// `up`, `down` or `unknown` (not scraped yet).
    pub health: String,
    /// Why the last scrape failed, if it did.
    pub last_error: String,
}

impl Target {
    /// Whether it scrapes a process listening on `port`.
    fn on_port(&self, port: &str) -> bool {
        self.scrape_url.contains(&format!(":{port}/"))
    }

    /// Whether its last scrape succeeded.
    fn is_up(&self) -> bool {
        self.health == "up"
    }
}

/// The `data` of an API answer whose `status` is `success`; otherwise its error.
fn data(json: &str) -> Result<Value> {
    let mut value: Value = serde_json::from_str(json.trim())
        .with_context(|| format!("Prometheus answered no JSON: {}", cut(json)))?;
    if value["status"] != "success" {
        bail!(
            "Prometheus answered {}: {}",
            value["errorType"].as_str().unwrap_or("an error"),
            value["error"].as_str().unwrap_or(json)
        );
    }
    Ok(value["data"].take())
}

/// The first 300 characters of `text`, for an error message.
fn cut(text: &str) -> &str {
    text.char_indices()
        .nth(300)
        .map_or(text, |(end, _)| &text[..end])
}

/// Reads `/api/v1/targets`: the active targets.
pub fn parse_targets(json: &str) -> Result<Vec<Target>> {
    let data = data(json)?;
    let active = data["activeTargets"]
        .as_array()
        .context("`/api/v1/targets` has no activeTargets list")?;
    active
        .iter()
        .map(|target| {
            let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
            Ok(Target {
                job: text(&target["labels"]["job"]),
                scrape_url: target["scrapeUrl"]
                    .as_str()
                    .with_context(|| format!("a target without a scrapeUrl: {target}"))?
                    .to_owned(),
                health: text(&target["health"]),
                last_error: text(&target["lastError"]),
            })
        })
        .collect()
}

/// What keeps the targets from being what the lab wants (`workers` worker targets, every
/// one up, and the API up); `None` when they are.
pub fn targets_not_ready(targets: &[Target], workers: usize) -> Option<String> {
    let on = |port| -> Vec<&Target> { targets.iter().filter(|t| t.on_port(port)).collect() };
    let (fleet, api) = (on(WORKER_PORT), on(API_PORT));
    let down: Vec<String> = fleet
        .iter()
        .chain(&api)
        .filter(|t| !t.is_up())
        .map(|t| format!("{} is {} {}", t.scrape_url, t.health, t.last_error))
        .collect();
    if fleet.len() != workers {
        Some(format!(
            "{} worker target(s), expected {workers}",
            fleet.len()
        ))
    } else if api.is_empty() {
        Some("no target scrapes the API".to_owned())
    } else if !down.is_empty() {
        Some(down.join("; "))
    } else {
        None
    }
}

/// Every target in one line each: its job, URL and health.
pub fn describe_targets(targets: &[Target]) -> Vec<String> {
    targets
        .iter()
        .map(|t| format!("{} {} {}", t.job, t.scrape_url, t.health))
        .collect()
}

/// Reads `/api/v1/query`'s answer: how many series it returned, and the first one's value
/// (a scalar answer counts as one series).
pub fn parse_query(json: &str) -> Result<(usize, Option<f64>)> {
    let data = data(json)?;
    let number = |sample: &Value| sample[1].as_str().and_then(|v| v.parse::<f64>().ok());
    match data["resultType"].as_str() {
        Some("vector") => {
            let series = data["result"]
                .as_array()
                .context("a vector answer without a result list")?;
            let first = series.first().and_then(|s| number(&s["value"]));
            Ok((series.len(), first))
        }
        Some("matrix") => {
            let series = data["result"]
                .as_array()
                .context("a matrix answer without a result list")?;
            Ok((series.len(), None))
        }
        Some("scalar" | "string") => Ok((1, number(&data["result"]))),
        other => bail!("a query answer of an unknown type {other:?}"),
    }
}

/// Reads `/api/v1/alerts`: whether `name` is firing.
pub fn is_firing(json: &str, name: &str) -> Result<bool> {
    let data = data(json)?;
    let alerts = data["alerts"]
        .as_array()
        .context("`/api/v1/alerts` has no alerts list")?;
    Ok(alerts
        .iter()
        .any(|a| a["labels"]["alertname"] == name && a["state"] == "firing"))
}

/// A panel's query in the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelQuery {
    /// The panel's title.
    pub panel: String,
    /// Its PromQL, Grafana's variables filled in.
    pub expr: String,
}

impl PanelQuery {
    /// Whether it reads a task counter, which has data once tasks ran: the lab requires
    /// an answer with at least one series from those.
    pub fn needs_data(&self) -> bool {
        self.expr.contains("imgproc_tasks_total") || self.expr.contains("imgproc_filter_tasks")
    }
}

/// Every PromQL expression of a dashboard's panels (rows' panels too), in order.
pub fn dashboard_queries(json: &str) -> Result<Vec<PanelQuery>> {
    let value: Value = serde_json::from_str(json).context("the dashboard is not JSON")?;
    let mut found = Vec::new();
    collect(&value["panels"], &mut found);
    ensure!(!found.is_empty(), "the dashboard has no PromQL expression");
    Ok(found)
}

fn collect(panels: &Value, found: &mut Vec<PanelQuery>) {
    for panel in panels.as_array().into_iter().flatten() {
        let title = panel["title"].as_str().unwrap_or("(untitled)");
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str().filter(|e| !e.trim().is_empty()) {
                found.push(PanelQuery {
                    panel: title.to_owned(),
                    expr: fill_variables(expr),
                });
            }
        }
        collect(&panel["panels"], found);
    }
}

/// Grafana's interval variables as the lab queries them: windows of a minute, wide enough
/// for several 5 s scrapes.
fn fill_variables(expr: &str) -> String {
    [
        ("${__rate_interval}", "1m"),
        ("$__rate_interval", "1m"),
        ("${__interval}", "15s"),
        ("$__interval", "15s"),
        ("${__range}", "5m"),
        ("$__range", "5m"),
    ]
    .iter()
    .fold(expr.to_owned(), |e, (variable, value)| {
        e.replace(variable, value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(list: &[(&str, &str, &str)]) -> String {
        let active: Vec<Value> = list
            .iter()
            .map(|(job, url, health)| {
                serde_json::json!({"labels": {"job": job}, "scrapeUrl": url,
                    "health": health, "lastError": ""})
            })
            .collect();
        serde_json::json!({"status": "success", "data": {"activeTargets": active,
            "droppedTargets": []}})
        .to_string()
    }

    #[test]
    fn every_worker_and_the_api_must_be_up() {
        let json = targets(&[
            ("worker", "http://172.18.0.4:8081/metrics", "up"),
            ("worker", "http://172.18.0.5:8081/metrics", "up"),
            ("api", "http://api:8080/metrics", "up"),
        ]);
        let parsed = parse_targets(&json).unwrap();
        assert_eq!(targets_not_ready(&parsed, 2), None);
        let missing = targets_not_ready(&parsed, 3).unwrap();
        assert!(
            missing.contains("2 worker target(s), expected 3"),
            "{missing}"
        );
        let down = targets(&[
            ("worker", "http://172.18.0.4:8081/metrics", "down"),
            ("api", "http://api:8080/metrics", "up"),
        ]);
        let reason = targets_not_ready(&parse_targets(&down).unwrap(), 1).unwrap();
        assert!(reason.contains("is down"), "{reason}");
        let no_api = targets(&[("worker", "http://172.18.0.4:8081/metrics", "up")]);
        assert!(targets_not_ready(&parse_targets(&no_api).unwrap(), 1).is_some());
    }

    #[test]
    fn a_query_gives_its_series_and_first_value() {
        let json = r#"{"status":"success","data":{"resultType":"vector",
            "result":[{"metric":{},"value":[1700000000.1,"5"]}]}}"#;
        assert_eq!(parse_query(json).unwrap(), (1, Some(5.0)));
        let empty = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert_eq!(parse_query(empty).unwrap(), (0, None));
        let error = r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        let message = parse_query(error).unwrap_err().to_string();
        assert!(message.contains("bad_data: parse error"), "{message}");
        assert!(parse_query("<html>").is_err());
    }

    #[test]
    fn a_firing_alert_is_told_from_a_pending_one() {
        let alerts = |state: &str| {
            serde_json::json!({"status": "success", "data": {"alerts": [
                {"labels": {"alertname": "NoLiveWorker"}, "state": state}]}})
            .to_string()
        };
        assert!(is_firing(&alerts("firing"), "NoLiveWorker").unwrap());
        assert!(!is_firing(&alerts("pending"), "NoLiveWorker").unwrap());
        assert!(!is_firing(&alerts("firing"), "DeadLettersRising").unwrap());
    }

    #[test]
    fn dashboard_queries_are_found_in_rows_and_filled_in() {
        let json = r#"{"panels": [
            {"title": "Throughput", "targets": [
                {"expr": "sum(rate(imgproc_tasks_total[$__rate_interval]))"}]},
            {"type": "row", "title": "More", "panels": [
                {"title": "Lag", "targets": [{"expr": "imgproc_queue_lag"}, {"expr": ""}]}]},
            {"title": "Text"}]}"#;
        let found = dashboard_queries(json).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].expr, "sum(rate(imgproc_tasks_total[1m]))");
        assert!(found[0].needs_data());
        assert_eq!(found[1].panel, "Lag");
        assert!(!found[1].needs_data());
        assert!(dashboard_queries(r#"{"panels": []}"#).is_err());
    }

    #[test]
    fn the_sessions_dashboard_has_counter_queries() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../session09_monitoring/monitoring/grafana/dashboards/imgproc.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("skipped: no {}", path.display());
            return;
        };
        let found = dashboard_queries(&text).unwrap();
        assert!(found.iter().any(PanelQuery::needs_data), "{found:?}");
        assert!(found.iter().all(|q| !q.expr.contains('$')), "{found:?}");
    }
}
