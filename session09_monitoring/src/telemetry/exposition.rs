//! The exposition: the registry written as text, and the `/metrics` route serving it.
//!
//! `prometheus-client` writes OpenMetrics, the standardised successor of Prometheus's text
//! format: a counter's family is named without `_total` (`# TYPE imgproc_tasks counter`)
//! while its sample carries it (`imgproc_tasks_total{outcome="succeeded"} 3`), and the
//! text ends with `# EOF`. Prometheus asks for OpenMetrics first when it scrapes, and
//! gets it.
//!
//! Anyone else (`curl`, a browser, `promtool check metrics`) gets Prometheus's older text
//! format, which `promtool` (2.42, Debian's) reads: it takes a counter's `# HELP` and
//! `# TYPE` as naming another family than its `_total` sample, and reports "no help text".
//! [`classic`] turns one into the other: counter families renamed to `_total`, no
//! `# UNIT`, no `# EOF`.

use std::collections::HashSet;
use std::future::Future;

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::registry::Registry;

/// The route Prometheus scrapes.
pub const METRICS: &str = "/metrics";

/// The content type `prometheus-client` documents for its text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The content type of Prometheus's older text format.
pub const CLASSIC_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The registry as OpenMetrics text.
pub fn encode(registry: &Registry) -> String {
    let mut text = String::new();
    // Writing into a `String` cannot fail; a collector that fails leaves its part out.
    if let Err(error) = prometheus_client::encoding::text::encode(&mut text, registry) {
        tracing::warn!(%error, "cannot encode the metrics");
    }
    text
}

/// OpenMetrics text as Prometheus's older text format (version 0.0.4).
pub fn classic(openmetrics: &str) -> String {
    let counters: HashSet<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut text = String::with_capacity(openmetrics.len() + 16 * counters.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].into_iter().find_map(|comment| {
            let (name, rest) = line.strip_prefix(comment)?.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{comment}{name}_total {rest}"))
        });
        text.push_str(renamed.as_deref().unwrap_or(line));
        text.push('\n');
    }
    text
}

/// A router serving `/metrics`: each scrape awaits `scrape` (which refreshes what must be
/// read now, then encodes) and answers its text, as OpenMetrics to a client that asks for
/// it (Prometheus), in the older format to the others.
pub fn router<F, Fut>(scrape: F) -> Router
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = String> + Send + 'static,
{
    Router::new().route(
        METRICS,
        get(move |headers: HeaderMap| {
            let text = scrape();
            async move {
                let text = text.await;
                // The answer depends on `Accept`: a cache must not serve one for the other.
                let vary = (header::VARY, "Accept");
                if wants_openmetrics(&headers) {
                    ([(header::CONTENT_TYPE, CONTENT_TYPE), vary], text).into_response()
                } else {
                    let kind = (header::CONTENT_TYPE, CLASSIC_CONTENT_TYPE);
                    ([kind, vary], classic(&text)).into_response()
                }
            }
        }),
    )
}

/// Whether the request's `Accept` header names OpenMetrics.
fn wants_openmetrics(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|accept| accept.contains("application/openmetrics-text"))
}

#[cfg(test)]
mod tests {
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::gauge::Gauge;
    use prometheus_client::registry::Unit;

    use super::*;

    #[test]
    fn the_classic_text_names_counter_families_with_total_and_has_no_eof_or_units() {
        let mut registry = Registry::default();
        let counter: Counter = Counter::default();
        counter.inc_by(3);
        registry.register("demo_tasks", "Tasks", counter);
        registry.register_with_unit("demo_age", "Age", Unit::Seconds, Gauge::<i64>::default());
        let open = encode(&registry);
        assert!(open.contains("# TYPE demo_tasks counter\n"), "{open}");
        assert!(open.ends_with("# EOF\n"), "{open}");
        let text = classic(&open);
        assert_eq!(
            text,
            "# HELP demo_tasks_total Tasks.\n# TYPE demo_tasks_total counter\n\
             demo_tasks_total 3\n# HELP demo_age_seconds Age.\n\
             # TYPE demo_age_seconds gauge\ndemo_age_seconds 0\n"
        );
    }

    #[test]
    fn only_a_client_asking_for_openmetrics_gets_it() {
        let mut headers = HeaderMap::new();
        assert!(!wants_openmetrics(&headers));
        headers.insert(header::ACCEPT, "text/plain;version=0.0.4".parse().unwrap());
        assert!(!wants_openmetrics(&headers));
        let prometheus = "application/openmetrics-text;version=1.0.0,text/plain;q=0.5";
        headers.insert(header::ACCEPT, prometheus.parse().unwrap());
        assert!(wants_openmetrics(&headers));
    }
}
