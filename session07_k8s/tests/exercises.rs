//! Session 07's graded exercises. `cargo xtask grade 7` runs these; each test's name starts
//! with its exercise's id (`ex07_2_...` belongs to exercise 7.2), which is how the grader
//! adds up the points in `exercises.toml`. The tests of exercise 7.3 start a redis-server
//! of their own (session 04's `RedisServer`) and serve the routes on a free port, asked
//! over real HTTP.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use session03_workers::{
    Backpressure, Capabilities, Queue as _, Task, TaskId, TaskState, WorkerId,
};
use session04_redis::{RedisOptions, RedisQueue, RedisQueueConfig, RedisServer};
use session05_distributed::registry::{Registry, RegistryConfig};
use session07_k8s::exercises::{
    API_TASKS, Check, ContainerProbes, DEFAULT_LIST_LIMIT, EventKind, IntOrString, LabelSelector,
    MAX_LIST_LIMIT, Operator, PodTemplate, ProbeEvent, ProbeKind, ProbeSpec, Requirement,
    RollingUpdate, RolloutBounds, Selecting, TaskList, probe_events, rollout_bounds, router,
    selecting_nothing, selects,
};
use session07_k8s::state::{AppState, Connected};
use session07_k8s::{api, server};

/// The longest any step of a test may take before it fails.
const LIMIT: Duration = Duration::from_secs(5);

// ---- 7.1 labels and selectors

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn expression(key: &str, operator: Operator, values: &[&str]) -> Requirement {
    Requirement {
        key: key.to_owned(),
        operator,
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    }
}

fn selector(match_labels: &[(&str, &str)], match_expressions: &[Requirement]) -> LabelSelector {
    LabelSelector {
        match_labels: labels(match_labels),
        match_expressions: match_expressions.to_vec(),
    }
}

/// Whether `selector` selects a pod with `pod`'s labels; it must be valid.
fn picks(selector: &LabelSelector, pod: &[(&str, &str)]) -> bool {
    selects(selector, &labels(pod))
        .unwrap_or_else(|e| panic!("a valid selector was refused: {e}\n{selector:?}"))
}

const NAME: &str = "app.kubernetes.io/name";
const PART_OF: &str = "app.kubernetes.io/part-of";

#[test]
fn ex07_1_match_labels_must_all_be_set_to_their_value() {
    let worker = selector(&[(NAME, "worker"), (PART_OF, "image-course")], &[]);
    for (pod, expected) in [
        (
            &[
                (NAME, "worker"),
                (PART_OF, "image-course"),
                ("pod-template-hash", "7d9f"),
            ][..],
            true,
        ),
        (&[(NAME, "worker"), (PART_OF, "image-course")], true),
        (&[(NAME, "worker")], false),
        (&[(NAME, "redis"), (PART_OF, "image-course")], false),
        (&[(NAME, "Worker"), (PART_OF, "image-course")], false),
        (&[], false),
    ] {
        assert_eq!(
            picks(&worker, pod),
            expected,
            "matchLabels {{name: worker, part-of: image-course}} on a pod labelled {pod:?}: \
             every entry must be set to its value, other labels play no part"
        );
    }
}

#[test]
fn ex07_1_in_exists_and_does_not_exist() {
    let web_or_api = selector(&[], &[expression("tier", Operator::In, &["web", "api"])]);
    assert!(picks(&web_or_api, &[("tier", "api")]));
    assert!(picks(&web_or_api, &[("tier", "web"), ("x", "y")]));
    assert!(!picks(&web_or_api, &[("tier", "batch")]), "In: not listed");
    assert!(!picks(&web_or_api, &[]), "In: a pod without the label");

    let has_track = selector(&[], &[expression("track", Operator::Exists, &[])]);
    assert!(picks(&has_track, &[("track", "")]), "Exists: any value");
    assert!(picks(&has_track, &[("track", "canary")]));
    assert!(!picks(&has_track, &[("tier", "web")]));

    let no_track = selector(&[], &[expression("track", Operator::DoesNotExist, &[])]);
    assert!(picks(&no_track, &[("tier", "web")]));
    assert!(picks(&no_track, &[]));
    assert!(!picks(&no_track, &[("track", "stable")]));
}

#[test]
fn ex07_1_not_in_selects_pods_without_the_label() {
    let not_canary = selector(&[], &[expression("track", Operator::NotIn, &["canary"])]);
    assert!(picks(&not_canary, &[("track", "stable")]));
    assert!(!picks(&not_canary, &[("track", "canary")]));
    assert!(
        picks(&not_canary, &[(NAME, "worker")]),
        "NotIn [canary] selects a pod that has no `track` label at all: it is not a canary"
    );
    assert!(
        picks(&not_canary, &[]),
        "NotIn selects a pod with no labels"
    );
}

#[test]
fn ex07_1_every_term_must_hold_and_none_selects_all() {
    let all_terms = selector(
        &[(PART_OF, "image-course")],
        &[
            expression(NAME, Operator::In, &["worker", "status-api"]),
            expression("track", Operator::NotIn, &["canary"]),
            expression("version", Operator::Exists, &[]),
        ],
    );
    let base = [
        (PART_OF, "image-course"),
        (NAME, "worker"),
        ("version", "v2"),
    ];
    assert!(picks(&all_terms, &base), "every term holds");
    assert!(picks(
        &all_terms,
        &[&base[..], &[("track", "stable")][..]].concat()
    ));
    for (pod, broken) in [
        (&[(NAME, "worker"), ("version", "v2")][..], "matchLabels"),
        (
            &[
                (PART_OF, "image-course"),
                (NAME, "redis"),
                ("version", "v2"),
            ],
            "In",
        ),
        (
            &[
                (PART_OF, "image-course"),
                (NAME, "worker"),
                ("version", "v2"),
                ("track", "canary"),
            ],
            "NotIn",
        ),
        (&[(PART_OF, "image-course"), (NAME, "worker")], "Exists"),
    ] {
        assert!(
            !picks(&all_terms, pod),
            "the terms are ANDed: {pod:?} breaks the {broken} term, so it is not selected"
        );
    }

    let empty = LabelSelector::default();
    assert!(picks(&empty, &[]), "an empty selector selects every pod");
    assert!(picks(&empty, &[(NAME, "redis"), ("track", "canary")]));
}

#[test]
fn ex07_1_invalid_expressions_are_errors() {
    for (requirement, problem) in [
        (expression("tier", Operator::In, &[]), "In with no values"),
        (
            expression("tier", Operator::NotIn, &[]),
            "NotIn with no values",
        ),
        (
            expression("tier", Operator::Exists, &["web"]),
            "Exists with values",
        ),
        (
            expression("tier", Operator::DoesNotExist, &["web"]),
            "DoesNotExist with values",
        ),
    ] {
        // matchLabels already fails on this pod: the selector is checked whole anyway.
        let bad = selector(
            &[(NAME, "worker")],
            &[expression("ok", Operator::Exists, &[]), requirement],
        );
        for pod in [&[][..], &[(NAME, "worker"), ("ok", "1"), ("tier", "web")]] {
            match selects(&bad, &labels(pod)) {
                Ok(answer) => panic!("{problem} is invalid, but the selector gave {answer}"),
                Err(error) => {
                    assert_eq!(error.key, "tier", "the error names the expression's key");
                    assert!(!error.reason.trim().is_empty(), "the error says why");
                }
            }
        }
    }
    let two_bad = selector(
        &[],
        &[
            expression("first", Operator::In, &[]),
            expression("second", Operator::Exists, &["x"]),
        ],
    );
    assert_eq!(
        selects(&two_bad, &labels(&[])).map_err(|e| e.key),
        Err("first".to_owned()),
        "the first invalid expression is the error"
    );
}

fn object(kind: &str, namespace: &str, name: &str, selector: LabelSelector) -> Selecting {
    Selecting {
        kind: kind.to_owned(),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        selector,
    }
}

fn template(owner: &str, namespace: &str, pod: &[(&str, &str)]) -> PodTemplate {
    PodTemplate {
        owner: owner.to_owned(),
        namespace: namespace.to_owned(),
        labels: labels(pod),
    }
}

/// The pods of the session's manifests, in namespace `imgproc`.
fn course_templates() -> Vec<PodTemplate> {
    vec![
        template(
            "StatefulSet/redis",
            "imgproc",
            &[(NAME, "redis"), (PART_OF, "image-course")],
        ),
        template(
            "Deployment/worker-deployment",
            "imgproc",
            &[(NAME, "worker"), (PART_OF, "image-course")],
        ),
        template(
            "Deployment/status-api-deployment",
            "imgproc",
            &[(NAME, "status-api"), (PART_OF, "image-course")],
        ),
    ]
}

fn names(found: &[&Selecting]) -> Vec<String> {
    found
        .iter()
        .map(|o| format!("{}/{}/{}", o.namespace, o.kind, o.name))
        .collect()
}

#[test]
fn ex07_1_finds_the_objects_that_select_no_pod() {
    let objects = vec![
        object(
            "Service",
            "imgproc",
            "redis-service",
            selector(&[(NAME, "redis")], &[]),
        ),
        // A typo: the label is status-api.
        object(
            "Service",
            "imgproc",
            "status-api-service",
            selector(&[(NAME, "status_api")], &[]),
        ),
        // No selector: endpoints managed by hand. Not judged.
        object("Service", "imgproc", "legacy-db", LabelSelector::default()),
        object(
            "PodDisruptionBudget",
            "imgproc",
            "worker-pdb",
            selector(&[(NAME, "worker")], &[]),
        ),
        object(
            "NetworkPolicy",
            "imgproc",
            "redis-clients",
            selector(
                &[],
                &[expression(NAME, Operator::In, &["worker", "status-api"])],
            ),
        ),
        // Every pod of the course but canaries: the pods have no `track` label at all.
        object(
            "PodDisruptionBudget",
            "imgproc",
            "no-canaries",
            selector(
                &[(PART_OF, "image-course")],
                &[expression("track", Operator::NotIn, &["canary"])],
            ),
        ),
        object(
            "NetworkPolicy",
            "imgproc",
            "default-deny",
            LabelSelector::default(),
        ),
        // The same selectors in namespaces with no such pods.
        object(
            "NetworkPolicy",
            "other",
            "default-deny",
            LabelSelector::default(),
        ),
        object(
            "Service",
            "default",
            "redis-service",
            selector(&[(NAME, "redis")], &[]),
        ),
    ];
    let found = selecting_nothing(&objects, &course_templates())
        .unwrap_or_else(|e| panic!("valid selectors were refused: {e}"));
    assert_eq!(
        names(&found),
        [
            "imgproc/Service/status-api-service",
            "other/NetworkPolicy/default-deny",
            "default/Service/redis-service",
        ],
        "a Service's empty selector is no selector; any other empty selector selects \
         every pod of its namespace; NotIn selects pods without the label; an object only \
         selects pods of its own namespace; the objects come in their order"
    );
    assert_eq!(
        selecting_nothing(&[], &course_templates()).map(|f| f.len()),
        Ok(0),
        "no objects, nothing found"
    );
}

#[test]
fn ex07_1_every_selector_is_checked() {
    let objects = vec![
        object(
            "Service",
            "imgproc",
            "redis-service",
            selector(&[(NAME, "redis")], &[]),
        ),
        object(
            "NetworkPolicy",
            "nowhere",
            "broken",
            selector(&[], &[expression("tier", Operator::In, &[])]),
        ),
    ];
    for templates in [course_templates(), Vec::new()] {
        match selecting_nothing(&objects, &templates) {
            Ok(found) => panic!(
                "an In expression with no values must be an error, even with no pod in its \
                 namespace to match; got {:?}",
                names(&found)
            ),
            Err(error) => assert_eq!(error.key, "tier"),
        }
    }
}

// ---- 7.2 rolling update arithmetic

fn text(value: &str) -> IntOrString {
    IntOrString::String(value.to_owned())
}

fn strategy(max_surge: IntOrString, max_unavailable: IntOrString) -> RollingUpdate {
    RollingUpdate {
        max_surge,
        max_unavailable,
    }
}

/// (max_surge, max_unavailable, max_pods, min_available) for `replicas` and `strategy`.
fn bounds(replicas: u32, strategy: &RollingUpdate) -> (u64, u64, u64, u64) {
    let RolloutBounds {
        max_surge,
        max_unavailable,
        max_pods,
        min_available,
    } = rollout_bounds(replicas, strategy).unwrap_or_else(|e| {
        panic!("{replicas} replicas with {strategy:?} are valid, but were refused: {e}")
    });
    (max_surge, max_unavailable, max_pods, min_available)
}

#[test]
fn ex07_2_the_defaults_on_ten_replicas() {
    assert_eq!(
        bounds(10, &RollingUpdate::default()),
        (3, 2, 13, 8),
        "10 replicas, maxSurge 25% and maxUnavailable 25%: (surge, unavailable, most pods, \
         fewest available)"
    );
}

#[test]
fn ex07_2_surge_rounds_up_and_unavailable_rounds_down() {
    for (replicas, surge, unavailable, expected) in [
        (1, "25%", "25%", (1, 0, 2, 1)),
        (3, "25%", "25%", (1, 0, 4, 3)),
        (4, "25%", "25%", (1, 1, 5, 3)),
        (7, "50%", "50%", (4, 3, 11, 4)),
        (10, "30%", "30%", (3, 3, 13, 7)),
        (9, "10%", "90%", (1, 8, 10, 1)),
    ] {
        assert_eq!(
            bounds(replicas, &strategy(text(surge), text(unavailable))),
            expected,
            "{replicas} replicas, maxSurge {surge} (rounds up), maxUnavailable \
             {unavailable} (rounds down)"
        );
    }
}

#[test]
fn ex07_2_numbers_are_pods_and_surge_may_pass_100_percent() {
    let pods =
        |surge, unavailable| strategy(IntOrString::Int(surge), IntOrString::Int(unavailable));
    assert_eq!(bounds(5, &pods(2, 1)), (2, 1, 7, 4));
    assert_eq!(bounds(5, &pods(0, 1)), (0, 1, 5, 4));
    assert_eq!(
        bounds(3, &strategy(text("200%"), IntOrString::Int(0))),
        (6, 0, 9, 3),
        "maxSurge 200% of 3: six new pods at once"
    );
    assert_eq!(
        bounds(4, &strategy(IntOrString::Int(0), text("100%"))),
        (0, 4, 4, 0),
        "maxUnavailable 100% is allowed"
    );
}

#[test]
fn ex07_2_when_both_resolve_to_zero_one_pod_may_be_unavailable() {
    assert_eq!(
        bounds(3, &strategy(IntOrString::Int(0), text("25%"))),
        (0, 1, 3, 2),
        "maxSurge 0 and 25% of 3 rounded down: both 0, so maxUnavailable becomes 1"
    );
    assert_eq!(bounds(1, &strategy(text("0%"), text("50%"))), (0, 1, 1, 0));
}

#[test]
fn ex07_2_unavailable_is_at_most_the_replicas() {
    assert_eq!(
        bounds(3, &strategy(IntOrString::Int(1), IntOrString::Int(5))),
        (1, 3, 4, 0),
        "maxUnavailable 5 of 3 replicas: at most 3"
    );
    assert_eq!(
        bounds(0, &RollingUpdate::default()),
        (0, 0, 0, 0),
        "0 replicas: nothing may be unavailable (the 1 of both-zero is capped too)"
    );
    assert_eq!(
        bounds(0, &strategy(IntOrString::Int(1), text("25%"))),
        (1, 0, 1, 0)
    );
}

#[test]
fn ex07_2_bad_values_are_errors_that_name_the_field() {
    let ok = || text("25%");
    let cases = [
        (strategy(text("abc%"), ok()), "maxSurge", "abc%"),
        (strategy(ok(), text("25")), "maxUnavailable", "25"),
        (strategy(IntOrString::Int(-1), ok()), "maxSurge", "-1"),
        (strategy(ok(), IntOrString::Int(-3)), "maxUnavailable", "-3"),
        (strategy(text("-5%"), ok()), "maxSurge", "-5%"),
        (strategy(text("+5%"), ok()), "maxSurge", "+5%"),
        (strategy(text(" 5%"), ok()), "maxSurge", " 5%"),
        (strategy(text("2.5%"), ok()), "maxSurge", "2.5%"),
        (strategy(text("%"), ok()), "maxSurge", "%"),
        (strategy(text(""), ok()), "maxSurge", ""),
        (strategy(text("25%%"), ok()), "maxSurge", "25%%"),
        (
            strategy(text("99999999999%"), ok()),
            "maxSurge",
            "99999999999%",
        ),
        (strategy(ok(), text("101%")), "maxUnavailable", "101%"),
        (
            strategy(IntOrString::Int(0), IntOrString::Int(0)),
            "maxUnavailable",
            "0",
        ),
        (
            strategy(text("0%"), IntOrString::Int(0)),
            "maxUnavailable",
            "0",
        ),
        (
            strategy(IntOrString::Int(0), text("0%")),
            "maxUnavailable",
            "0%",
        ),
        (strategy(text("x"), text("y")), "maxUnavailable", "y"),
    ];
    for (strategy, field, value) in cases {
        match rollout_bounds(10, &strategy) {
            Ok(bounds) => panic!("{strategy:?} must be refused, but gave {bounds:?}"),
            Err(error) => {
                assert_eq!(
                    (error.field.as_str(), error.value.as_str()),
                    (field, value),
                    "{strategy:?}: the error names the field at fault and its value as written \
                     (maxUnavailable is checked first)"
                );
                assert!(!error.reason.trim().is_empty(), "the error says why");
            }
        }
    }
}

// ---- 7.3 a status API route over real HTTP

/// A queue in namespace `ex7` on `server`.
async fn queue_on(server: &RedisServer) -> RedisQueue {
    let config = RedisQueueConfig {
        namespace: "ex7".to_owned(),
        ..RedisQueueConfig::default()
    };
    RedisQueue::connect(&RedisOptions::new(server.url()), config)
        .await
        .unwrap()
}

/// A task that turns an image grey.
fn grey_task() -> Task {
    let id = TaskId::new();
    serde_json::from_value(serde_json::json!({
        "id": id,
        "pipeline": {"filters": [{"name": "grayscale"}]},
        "input": format!("inputs/{id}.png"),
        "output": format!("results/{id}.png"),
        "created_at": chrono::Utc::now(),
    }))
    .unwrap()
}

/// The API with the exercise's route, served on a free port until the test ends.
struct Served {
    base: String,
    server: tokio::task::JoinHandle<anyhow::Result<String>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves the exercise's router merged with the API's, as a later session's API would,
/// with the API's own `server::serve`.
async fn serve(state: AppState) -> Served {
    let state = Arc::new(state);
    let app = router(Arc::clone(&state)).merge(api::router(state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stop = std::future::pending();
    let server = tokio::spawn(server::serve(listener, app, stop, Duration::ZERO));
    Served { base, server }
}

/// A Redis with tasks in three states, and the API on it: the ids in each state, oldest
/// first.
async fn api_with_tasks() -> (RedisServer, Served, BTreeMap<TaskState, Vec<TaskId>>) {
    let server = RedisServer::start_async().await.unwrap();
    let queue = queue_on(&server).await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(
            queue
                .enqueue(grey_task(), Backpressure::Reject)
                .await
                .unwrap(),
        );
    }
    let worker = WorkerId::named("w1");
    let mut leases = Vec::new();
    for _ in 0..2 {
        let lease = queue
            .reserve(&worker, &Capabilities::All, Duration::from_millis(100))
            .await
            .unwrap()
            .expect("a task to reserve");
        leases.push(lease);
    }
    queue.ack(&leases[0]).await.unwrap();
    let by_state = BTreeMap::from([
        (TaskState::Succeeded, ids[..1].to_vec()),
        (TaskState::Running, ids[1..2].to_vec()),
        (TaskState::Pending, ids[2..].to_vec()),
    ]);

    let registry = Registry::new(queue.connection(), queue.keys(), RegistryConfig::default());
    let state = AppState::with(Connected { queue, registry });
    (server, serve(state).await, by_state)
}

/// `GET url`: the status and the JSON body, within [`LIMIT`].
async fn get(url: String) -> (u16, serde_json::Value) {
    let shown = url.clone();
    let call = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(LIMIT))
            .build()
            .into();
        let mut response = agent.get(&url).call()?;
        let body = response.body_mut().read_to_string()?;
        Ok::<_, ureq::Error>((response.status().as_u16(), body))
    });
    let (status, body) = tokio::time::timeout(LIMIT * 2, call)
        .await
        .unwrap_or_else(|_| panic!("GET {shown} did not answer within {LIMIT:?}"))
        .expect("the HTTP client's thread panicked")
        .unwrap_or_else(|e| panic!("GET {shown}: {e}"));
    let json = serde_json::from_str(&body).unwrap_or_else(|_| {
        panic!("GET {shown} answered {status} with a body that is not JSON: {body:?}")
    });
    (status, json)
}

/// `GET` on the API at `served`, expecting 200 and a [`TaskList`].
async fn list(served: &Served, query: &str) -> TaskList {
    let (status, json) = get(format!("{}{API_TASKS}?{query}", served.base)).await;
    assert_eq!(status, 200, "GET {API_TASKS}?{query}: {json}");
    serde_json::from_value(json.clone())
        .unwrap_or_else(|e| panic!("GET {API_TASKS}?{query}: {json} is not a TaskList: {e}"))
}

/// `GET` on the API at `served`, expecting `status` and a JSON error; its reason.
async fn refused(served: &Served, query: &str, status: u16) -> String {
    let (got, json) = get(format!("{}{API_TASKS}?{query}", served.base)).await;
    assert_eq!(got, status, "GET {API_TASKS}?{query}: {json}");
    let reason = json["reason"].as_str().unwrap_or_else(|| {
        panic!("GET {API_TASKS}?{query}: an error is {{\"error\", \"reason\"}}, not {json}")
    });
    assert!(json["error"].is_string(), "GET {API_TASKS}?{query}: {json}");
    reason.to_owned()
}

#[tokio::test]
async fn ex07_3_lists_the_ids_in_a_state_oldest_first() {
    let (_redis, served, by_state) = api_with_tasks().await;
    for (state, ids) in &by_state {
        let got = list(&served, &format!("state={}", state.name())).await;
        assert_eq!(
            got,
            TaskList {
                state: *state,
                limit: DEFAULT_LIST_LIMIT,
                ids: ids.clone(),
            },
            "the {} tasks, oldest first, with the default limit",
            state.name()
        );
    }
    let pending = &by_state[&TaskState::Pending];
    let two = list(&served, "limit=2&state=pending&other=ignored").await;
    assert_eq!(two.ids, pending[..2], "limit=2: the two oldest");
    assert_eq!(two.limit, 2);
    let one = list(&served, "state=Pending&limit=1").await;
    assert_eq!(one.ids, pending[..1], "a state in any case");
    let most = list(&served, &format!("state=pending&limit={MAX_LIST_LIMIT}")).await;
    assert_eq!(most.ids, *pending);
    let dead = list(&served, "state=dead").await;
    assert_eq!(
        dead.ids,
        Vec::<TaskId>::new(),
        "no dead task: an empty list"
    );
}

#[tokio::test]
async fn ex07_3_a_limit_out_of_range_is_refused() {
    let (_redis, served, _) = api_with_tasks().await;
    for limit in ["0", "101", "1000", "-1", "ten", "2.5", ""] {
        let reason = refused(&served, &format!("state=pending&limit={limit}"), 400).await;
        assert!(
            reason.contains("limit") && reason.contains(&MAX_LIST_LIMIT.to_string()),
            "limit={limit}: the reason names the limit and its bound, {MAX_LIST_LIMIT}: {reason:?}"
        );
    }
}

#[tokio::test]
async fn ex07_3_the_state_is_required_and_checked() {
    let (_redis, served, _) = api_with_tasks().await;
    for query in [
        "",
        "limit=5",
        "state=",
        "state=done",
        "state=pending,running",
    ] {
        let reason = refused(&served, query, 400).await;
        for state in TaskState::ALL {
            assert!(
                reason.contains(state.name()),
                "?{query}: the reason names every state, so the caller can fix the request; \
                 {} is missing from {reason:?}",
                state.name()
            );
        }
    }
}

#[tokio::test]
async fn ex07_3_without_redis_a_right_request_is_503_and_a_wrong_one_400() {
    let served = serve(AppState::default()).await;
    let reason = refused(&served, "state=pending", 503).await;
    assert!(reason.contains("Redis"), "503 says why: {reason:?}");
    refused(&served, "state=pending&limit=0", 400).await;
    refused(&served, "state=nope", 400).await;
}

#[tokio::test]
async fn ex07_3_the_apis_own_routes_still_answer() {
    let (_redis, served, by_state) = api_with_tasks().await;
    let (status, _) = get(format!("{}/api/health", served.base)).await;
    assert_eq!(
        status, 200,
        "/api/health, merged with the exercise's router"
    );
    let id = by_state[&TaskState::Running][0];
    let (status, json) = get(format!("{}/api/tasks/{id}", served.base)).await;
    assert_eq!(status, 200, "/api/tasks/{{id}} next to /api/tasks: {json}");
    assert_eq!(json["task"]["state"], "running");
    let (status, _) = get(format!("{}/api/nothing", served.base)).await;
    assert_eq!(
        status, 404,
        "the API's own fallback still answers unknown paths"
    );
}

// ---- 7.4 how the kubelet probes

fn probe(delay: u64, period: u64, failure: u32, success: u32) -> ProbeSpec {
    ProbeSpec {
        initial_delay_seconds: delay,
        period_seconds: period,
        failure_threshold: failure,
        success_threshold: success,
    }
}

fn event(at: u64, kind: EventKind) -> ProbeEvent {
    ProbeEvent { at, kind }
}

const READY: EventKind = EventKind::Ready;
const NOT_READY: EventKind = EventKind::NotReady;
const BY_LIVENESS: EventKind = EventKind::Restarted {
    by: ProbeKind::Liveness,
};
const BY_STARTUP: EventKind = EventKind::Restarted {
    by: ProbeKind::Startup,
};

/// The events, and every check made, in order.
fn simulate(
    probes: ContainerProbes,
    seconds: u64,
    answers: impl Fn(Check) -> bool,
) -> (Vec<ProbeEvent>, Vec<Check>) {
    let checks = RefCell::new(Vec::new());
    let answer = |check: Check| {
        checks.borrow_mut().push(check);
        answers(check)
    };
    let events = probe_events(&probes, &answer, seconds)
        .unwrap_or_else(|e| panic!("valid probes were refused: {e}\n{probes:?}"));
    (events, checks.into_inner())
}

#[test]
fn ex07_4_without_probes_a_container_is_ready_at_once() {
    let (events, checks) = simulate(ContainerProbes::default(), 30, |_| true);
    assert_eq!(events, [event(0, READY)]);
    assert_eq!(checks, [], "no probe, no check");
    let (events, _) = simulate(ContainerProbes::default(), 0, |_| true);
    assert_eq!(events, [], "no second, no event");
}

#[test]
fn ex07_4_readiness_follows_its_thresholds_in_a_row() {
    let readiness = ContainerProbes {
        readiness: Some(probe(0, 5, 3, 1)),
        ..ContainerProbes::default()
    };
    let (events, checks) = simulate(readiness, 50, |c| (12..28).contains(&c.age) || c.age >= 43);
    assert_eq!(
        events,
        [event(15, READY), event(40, NOT_READY), event(45, READY)],
        "checks every 5 s: fails at 0, 5, 10, passes at 15 (Ready), fails at 30, 35, 40 \
         (NotReady after 3 in a row), passes at 45"
    );
    let ages: Vec<u64> = checks.iter().map(|c| c.age).collect();
    assert_eq!(ages, (0..50).step_by(5).collect::<Vec<_>>());
    assert!(
        checks
            .iter()
            .all(|c| c.probe == ProbeKind::Readiness && c.container == 0)
    );

    // Two successes in a row to become ready; failures that never reach 3 in a row.
    let answers = [
        false, true, false, true, true, false, false, true, false, false, true,
    ];
    let (events, checks) = simulate(
        ContainerProbes {
            readiness: Some(probe(3, 4, 3, 2)),
            ..ContainerProbes::default()
        },
        3 + 4 * answers.len() as u64,
        |c| {
            let n = c
                .age
                .checked_sub(3)
                .map_or(usize::MAX, |a| (a / 4) as usize);
            answers.get(n).copied().unwrap_or(false)
        },
    );
    assert_eq!(
        checks.iter().map(|c| c.age).collect::<Vec<_>>(),
        (3..47).step_by(4).collect::<Vec<_>>(),
        "initialDelaySeconds 3, periodSeconds 4: checks at ages 3, 7, 11, ..."
    );
    assert_eq!(
        events,
        [event(19, READY)],
        "successThreshold 2: Ready at the second success in a row (age 19); then never 3 \
         failures in a row, so it stays Ready"
    );
}

#[test]
fn ex07_4_a_slow_starter_is_not_killed_while_it_starts() {
    // A program that needs 20 s to start, and a startup probe that allows it 60.
    let probes = ContainerProbes {
        startup: Some(probe(0, 2, 30, 1)),
        liveness: Some(probe(0, 5, 3, 1)),
        readiness: Some(probe(0, 5, 3, 1)),
    };
    let (events, checks) = simulate(probes, 60, |c| c.age >= 20);
    assert_eq!(
        events,
        [event(20, READY)],
        "the startup probe passes at age 20, and the liveness and readiness checks due at \
         20 run then: no restart, Ready at 20"
    );
    let early: Vec<&Check> = checks
        .iter()
        .filter(|c| c.probe != ProbeKind::Startup && c.age < 20)
        .collect();
    assert_eq!(
        early,
        Vec::<&Check>::new(),
        "no liveness or readiness check until the startup probe has passed"
    );
    let startup_ages: Vec<u64> = checks
        .iter()
        .filter(|c| c.probe == ProbeKind::Startup)
        .map(|c| c.age)
        .collect();
    assert_eq!(
        startup_ages,
        (0..=20).step_by(2).collect::<Vec<_>>(),
        "the startup probe runs until it passes, and no more"
    );
}

#[test]
fn ex07_4_checks_skipped_while_starting_are_not_put_off() {
    let probes = ContainerProbes {
        startup: Some(probe(0, 1, 10, 1)),
        liveness: Some(probe(0, 10, 1, 1)),
        readiness: None,
    };
    let (events, checks) = simulate(probes, 30, |c| c.probe == ProbeKind::Startup && c.age >= 3);
    assert_eq!(
        events,
        [
            event(3, READY),
            event(10, NOT_READY),
            event(10, BY_LIVENESS),
            event(14, READY),
            event(21, NOT_READY),
            event(21, BY_LIVENESS),
            event(25, READY),
        ],
        "started at age 3 (Ready: no readiness probe); the liveness check due at 0 was \
         skipped, the next is at age 10 and fails: restart. Container 1 starts at second 11, \
         starts at age 3 (second 14), fails its liveness check at age 10 (second 21) ..."
    );
    let liveness: Vec<(u32, u64)> = checks
        .iter()
        .filter(|c| c.probe == ProbeKind::Liveness)
        .map(|c| (c.container, c.age))
        .collect();
    assert_eq!(
        liveness,
        [(0, 10), (1, 10)],
        "container 2's liveness check due at age 0 comes before it has started: skipped"
    );
}

#[test]
fn ex07_4_liveness_counts_failures_in_a_row() {
    let probes = ContainerProbes {
        liveness: Some(probe(0, 1, 3, 1)),
        ..ContainerProbes::default()
    };
    // Container 0: fail, fail, pass, fail, fail, pass, fail, fail, fail.
    let first = [false, false, true, false, false, true, false, false, false];
    let (events, _) = simulate(probes, 20, |c| match c.container {
        0 => first.get(c.age as usize).copied().unwrap_or(true),
        _ => true,
    });
    assert_eq!(
        events,
        [
            event(0, READY),
            event(8, NOT_READY),
            event(8, BY_LIVENESS),
            event(9, READY),
        ],
        "failureThreshold 3 counts failures in a row: the 3rd and 5th failures do not \
         restart it, the 3rd in a row (age 8) does; the new container starts the next second"
    );
}

#[test]
fn ex07_4_a_startup_probe_that_never_passes_restarts_the_container() {
    let probes = ContainerProbes {
        startup: Some(probe(5, 2, 3, 1)),
        ..ContainerProbes::default()
    };
    let (events, checks) = simulate(probes, 16, |c| c.container == 1);
    assert_eq!(
        events,
        [event(9, BY_STARTUP), event(15, READY)],
        "container 0 fails its startup checks at ages 5, 7, 9: restarted at 9; container 1 \
         starts at 10 and passes at age 5"
    );
    assert_eq!(
        checks
            .iter()
            .map(|c| (c.container, c.age))
            .collect::<Vec<_>>(),
        [(0, 5), (0, 7), (0, 9), (1, 5)]
    );
}

#[test]
fn ex07_4_a_ready_container_is_not_ready_when_restarted() {
    let probes = ContainerProbes {
        startup: None,
        liveness: Some(probe(0, 1, 2, 1)),
        readiness: Some(probe(0, 1, 1, 1)),
    };
    let (events, checks) = simulate(probes, 8, |c| {
        c.container > 0 || c.probe == ProbeKind::Readiness || c.age < 4
    });
    assert_eq!(
        events,
        [
            event(0, READY),
            event(5, NOT_READY),
            event(5, BY_LIVENESS),
            event(6, READY),
        ]
    );
    assert!(
        !checks
            .iter()
            .any(|c| c.container == 0 && c.age == 5 && c.probe == ProbeKind::Readiness),
        "the checks after a restart at the same second do not run"
    );
}

#[test]
fn ex07_4_invalid_probes_are_errors() {
    let bad = [
        (
            ContainerProbes {
                liveness: Some(probe(0, 10, 3, 2)),
                ..ContainerProbes::default()
            },
            ProbeKind::Liveness,
        ),
        (
            ContainerProbes {
                startup: Some(probe(0, 10, 3, 2)),
                ..ContainerProbes::default()
            },
            ProbeKind::Startup,
        ),
        (
            ContainerProbes {
                readiness: Some(probe(0, 0, 3, 1)),
                ..ContainerProbes::default()
            },
            ProbeKind::Readiness,
        ),
        (
            ContainerProbes {
                readiness: Some(probe(0, 10, 0, 1)),
                ..ContainerProbes::default()
            },
            ProbeKind::Readiness,
        ),
        (
            ContainerProbes {
                readiness: Some(probe(0, 10, 3, 0)),
                ..ContainerProbes::default()
            },
            ProbeKind::Readiness,
        ),
        (
            ContainerProbes {
                startup: Some(probe(0, 0, 3, 1)),
                liveness: Some(probe(0, 10, 3, 2)),
                readiness: Some(probe(0, 0, 3, 1)),
            },
            ProbeKind::Startup,
        ),
    ];
    for (probes, at_fault) in bad {
        match probe_events(&probes, &|_| true, 10) {
            Ok(events) => panic!("{probes:?} must be refused, but gave {events:?}"),
            Err(error) => {
                assert_eq!(
                    error.probe, at_fault,
                    "{probes:?}: the first probe at fault"
                );
                assert!(!error.reason.trim().is_empty(), "the error says why");
            }
        }
    }
    let ready_twice = ContainerProbes {
        readiness: Some(probe(0, 1, 3, 2)),
        ..ContainerProbes::default()
    };
    assert!(
        probe_events(&ready_twice, &|_| true, 3).is_ok(),
        "a readiness probe may ask for 2 successes"
    );
}
