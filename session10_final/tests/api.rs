//! The API over real HTTP, in both modes: a server on `127.0.0.1:0`, on the in-process
//! system and on a real redis-server with worker processes, asked with a real client: every
//! route and every refusal.

use std::io::{BufRead, BufReader};

use base64::Engine as _;
use image::ImageFormat;
use serde_json::Value;
use session10_final::limits::UploadLimits;

mod common;
use common::*;

#[test]
fn health_readiness_filters_and_the_page() {
    for server in servers(Setup::default()) {
        health_readiness_filters_and_the_page_on(&server);
    }
}

fn health_readiness_filters_and_the_page_on(server: &Server) {
    let health = get(&format!("{}/api/health", server.base));
    assert_eq!(
        (health.status, health.json()["status"].as_str()),
        (200, Some("ok"))
    );
    let ready = get(&format!("{}/api/ready", server.base));
    assert_eq!(
        (ready.status, ready.json()["ready"].as_bool()),
        (200, Some(true))
    );

    let filters = get(&format!("{}/api/filters", server.base)).json();
    let blur = filters
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "blur")
        .expect("blur is in the catalog");
    let sigma = &blur["params"][0];
    assert_eq!(sigma["name"], "sigma");
    assert!(
        sigma["min"].is_number() && sigma["max"].is_number(),
        "{sigma}"
    );

    let page = get(&format!("{}/", server.base));
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = String::from_utf8(page.body.clone()).unwrap();
    for script in html.split("<script").skip(1) {
        let tag = script.split('>').next().unwrap();
        assert!(tag.contains("src="), "an inline script: <script{tag}>");
    }
    let script = get(&format!("{}/app.js", server.base));
    assert_eq!(
        script.header("content-type"),
        "text/javascript; charset=utf-8"
    );
    assert!(String::from_utf8_lossy(&script.body).contains("/api/jobs"));

    let metrics = get(&format!("{}/metrics", server.base));
    let text = String::from_utf8(metrics.body).unwrap();
    let family = match server.mode {
        Mode::Embedded => "imgproc_tasks_total",
        Mode::Distributed => "imgproc_queue_depth",
    };
    assert!(text.contains(family), "{:?}: {text}", server.mode);
    let unknown = get(&format!("{}/api/nothing", server.base));
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["reason"], "no such route");
}

#[test]
fn a_job_goes_from_upload_to_events_to_its_result() {
    for server in servers(Setup::default()) {
        a_job_goes_from_upload_to_events_to_its_result_on(&server);
    }
}

fn a_job_goes_from_upload_to_events_to_its_result_on(server: &Server) {
    let image = photo("chelsea.png");
    let accepted = submit(server, &image, "blur:sigma=2|grayscale");
    assert_eq!(accepted.status, 202, "{}", accepted.json());
    let location = accepted.header("location").to_owned();
    let job = accepted.json();
    assert_eq!(
        location,
        format!("/api/jobs/{}", job["id"].as_str().unwrap())
    );
    assert_eq!(job["pipeline"], "blur:sigma=2|grayscale");

    // The events: each view as it comes, until the final state.
    let states: Vec<String> = events(server, &job)
        .iter()
        .map(|view| view["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        states.last().map(String::as_str),
        Some("succeeded"),
        "{states:?}"
    );

    let result = get(&format!(
        "{}{}",
        server.base,
        job["links"]["result"].as_str().unwrap()
    ));
    assert_eq!(result.status, 200);
    assert_eq!(result.header("content-type"), "image/png");
    let decoded = image::load_from_memory(&result.body).unwrap();
    let original = image::load_from_memory(&image).unwrap();
    assert_eq!(
        (decoded.width(), decoded.height()),
        (original.width(), original.height())
    );
    let etag = result.header("etag").to_owned();
    let again = answer(
        agent()
            .get(&format!("{}{location}/result", server.base))
            .header("if-none-match", &etag)
            .call(),
    );
    assert_eq!(again.status, 304);
}

#[test]
fn json_with_base64_a_raw_body_process_and_info() {
    for server in servers(Setup::default()) {
        json_with_base64_a_raw_body_process_and_info_on(&server);
    }
}

fn json_with_base64_a_raw_body_process_and_info_on(server: &Server) {
    let image = photo("coffee.png");
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&image);
    let body = serde_json::json!({
        "image": encoded,
        "pipeline": {"filters": [{"name": "invert"}]},
        "format": "jpeg",
    });
    let accepted = post(
        &format!("{}/api/jobs", server.base),
        "application/json",
        body.to_string().as_bytes(),
    );
    assert_eq!(accepted.status, 202, "{}", accepted.json());
    let job = finished(server, accepted.header("location"));
    assert_eq!(job["state"], "succeeded", "{job}");
    let result = get(&format!(
        "{}{}",
        server.base,
        job["links"]["result"].as_str().unwrap()
    ));
    assert_eq!(result.header("content-type"), "image/jpeg");
    assert_eq!(
        image::guess_format(&result.body).unwrap(),
        ImageFormat::Jpeg
    );

    let processed = post(
        &format!("{}/api/process?pipeline=resize:width=100", server.base),
        "image/png",
        &image,
    );
    assert_eq!(
        processed.status,
        200,
        "{}",
        String::from_utf8_lossy(&processed.body)
    );
    assert_eq!(
        image::load_from_memory(&processed.body).unwrap().width(),
        100
    );

    let info = post(
        &format!("{}/api/image/info", server.base),
        "image/png",
        &image,
    )
    .json();
    let original = image::load_from_memory(&image).unwrap();
    assert_eq!(info["format"], "PNG");
    assert_eq!(info["width"], original.width());
    assert_eq!(info["height"], original.height());
}

#[test]
fn every_bad_input_gets_its_status_and_a_reason_and_the_server_stays_up() {
    let setup = Setup {
        workers: 1,
        limits: UploadLimits {
            max_body_bytes: 2_000_000,
            max_pixels: 1_000_000,
        },
        ..Setup::default()
    };
    for server in servers(setup) {
        every_bad_input_on(&server);
    }
}

fn every_bad_input_on(server: &Server) {
    let jobs = format!("{}/api/jobs", server.base);
    let refused = |answer: Answer, status: u16, says: &str| {
        assert_eq!(
            answer.status,
            status,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        let reason = answer.json()["reason"].as_str().unwrap().to_owned();
        assert!(
            reason.contains(says),
            "{status}: {reason:?} should say {says:?}"
        );
        answer
    };
    refused(oversized(server, 3_000_000), 413, "limit");
    refused(
        submit(server, &png(1001, 1000), "invert"),
        413,
        "megapixels",
    );
    // A decompression bomb: a few hundred bytes announcing 40 000 x 40 000 pixels.
    let mut bomb = png(1, 1);
    bomb[16..20].copy_from_slice(&40_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&40_000u32.to_be_bytes());
    let crc = crc32(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    refused(submit(server, &bomb, "invert"), 413, "40000x40000");
    refused(
        submit(server, b"GIF89a\x01\x00\x01\x00", "invert"),
        415,
        "not a JPEG, PNG or WebP",
    );
    let mut cut = png(64, 64);
    cut.truncate(24);
    refused(submit(server, &cut, "invert"), 422, "PNG");
    let unknown = refused(
        submit(server, &png(8, 8), "resize:width=4|blurr"),
        422,
        "blurr",
    );
    assert_eq!(
        unknown.json()["position"],
        serde_json::json!({"start": 15, "end": 20})
    );
    refused(submit(server, &png(8, 8), "blur:sigma=-3"), 422, "sigma");
    let long = vec!["invert"; 33].join("|");
    refused(submit(server, &png(8, 8), &long), 422, "at most 32");
    let huge = format!("blur:sigma=1.{}", "0".repeat(5000));
    refused(submit(server, &png(8, 8), &huge), 422, "at most 4096");
    let stress = format!("{}/api/stress", server.base);
    refused(
        post(&stress, "application/json", br#"{"count": "x"}"#),
        400,
        "JSON",
    );
    refused(submit(server, &png(8, 8), ""), 400, "no pipeline");
    refused(get(&format!("{jobs}/not-a-uuid")), 400, "not a job id");
    refused(
        get(&format!("{jobs}/0190a3c4-1111-7000-8000-000000000000")),
        404,
        "no job",
    );
    let (kind, body) = form(&[("pipeline", b"invert")]);
    refused(post(&jobs, &kind, &body), 400, "no file");

    // Pixels cut short after a valid header: accepted, then the job fails and says why.
    let mut truncated = photo("chelsea.png");
    truncated.truncate(truncated.len() / 2);
    let accepted = submit(server, &truncated[..], "invert");
    assert_eq!(accepted.status, 202);
    let job = finished(server, accepted.header("location"));
    assert_eq!(job["state"], "failed", "{job}");
    let result = get(&format!(
        "{}{}",
        server.base,
        job["links"]["result"].as_str().unwrap()
    ));
    refused(result, 422, "truncated");

    let health = get(&format!("{}/api/health", server.base));
    assert_eq!(health.status, 200, "the server is still up");
}

#[test]
fn a_full_queue_answers_429_with_retry_after() {
    let setup = Setup {
        workers: 1,
        queue_capacity: 1,
        ..Setup::default()
    };
    for server in servers(setup) {
        a_full_queue_on(&server);
    }
}

fn a_full_queue_on(server: &Server) {
    // Each job takes the one worker far longer than sending the next request takes.
    let slow = png(1500, 1500);
    let answers: Vec<Answer> = (0..4)
        .map(|_| submit(server, &slow, "blur:sigma=40"))
        .collect();
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses[0], 202, "{statuses:?}");
    let busy = answers
        .iter()
        .find(|a| a.status == 429)
        .unwrap_or_else(|| panic!("no 429 in {statuses:?}"));
    assert_eq!(busy.header("retry-after"), "1");
    assert!(busy.json()["reason"].as_str().unwrap().contains("full"));
}

#[test]
fn the_openapi_document_lists_what_the_router_serves() {
    use session10_final::routes::*;
    for server in servers(Setup::default()) {
        let doc = get(&format!("{}{API_OPENAPI}", server.base)).json();
        assert_eq!(
            doc["openapi"].as_str().map(|v| &v[..2]),
            Some("3."),
            "{doc}"
        );
        let paths = doc["paths"].as_object().unwrap();
        let mut documented: Vec<&str> = paths.keys().map(String::as_str).collect();
        documented.sort_unstable();
        let mut routed = vec![
            API_HEALTH,
            API_METRICS,
            API_COMPARE,
            API_STRESS,
            API_READY,
            API_STATS,
            API_WORKERS,
            API_FILTERS,
            API_JOBS,
            API_JOB,
            API_JOB_RESULT,
            API_JOB_EVENTS,
            API_PROCESS,
            API_IMAGE_INFO,
            METRICS,
        ];
        routed.sort_unstable();
        assert_eq!(documented, routed);
        // Each documented method reaches a handler: no fallback 404 or 405 answers it.
        let id = "0190a3c4-1111-7000-8000-000000000000";
        for (path, item) in paths {
            let url = format!("{}{}", server.base, path.replace("{id}", id));
            for method in item.as_object().unwrap().keys() {
                let answer = match method.as_str() {
                    "get" => get(&url),
                    "post" => post(&url, "application/octet-stream", b""),
                    other => panic!("{path}: method {other} is not routed"),
                };
                let routed = answer.status != 405
                    && !(answer.status == 404
                        && String::from_utf8_lossy(&answer.body).contains("no such route"));
                assert!(
                    routed,
                    "{:?}: {method} {path} is documented, not served",
                    server.mode
                );
            }
        }
    }
}

#[test]
fn metrics_stress_and_compare() {
    use session10_final::routes::{API_COMPARE, API_METRICS, API_STRESS};
    for server in servers(Setup::default()) {
        let mode = server.mode;
        let stress = format!("{}{API_STRESS}", server.base);
        let body = br#"{"count": 6, "pipeline": "grayscale"}"#;
        let accepted = post(&stress, "application/json", body);
        assert_eq!(accepted.status, 202, "{mode:?}: {}", accepted.json());
        let ids = accepted.json()["submitted"].as_array().unwrap().clone();
        assert_eq!(ids.len(), 6);
        for id in &ids {
            let job = finished(&server, &format!("/api/jobs/{}", id.as_str().unwrap()));
            assert_eq!(job["state"], "succeeded", "{mode:?}: {job}");
        }
        let refused = post(&stress, "application/json", br#"{"count": 201}"#);
        assert_eq!(refused.status, 400, "{mode:?}");

        let metrics = get(&format!("{}{API_METRICS}", server.base));
        assert_eq!(
            metrics.status,
            200,
            "{mode:?}: {}",
            String::from_utf8_lossy(&metrics.body)
        );
        let metrics = metrics.json();
        for field in ["host", "workers", "queue", "success_rate"] {
            assert!(
                metrics.get(field).is_some(),
                "{mode:?}: no {field} in {metrics}"
            );
        }
        assert!(
            metrics["queue"]["succeeded"].as_u64().unwrap() >= 6,
            "{mode:?}: {metrics}"
        );
        assert_eq!(metrics["success_rate"], 1.0, "{mode:?}: {metrics}");
        assert!(
            metrics["workers"]["total_slots"].as_u64().unwrap() >= 2,
            "{metrics}"
        );
    }
    // The comparison runs in-process whatever the mode: once is enough.
    let server = default_server();
    let compare = format!("{}{API_COMPARE}", server.base);
    let report = post(
        &compare,
        "application/json",
        br#"{"pipeline": "grayscale", "workers": 2}"#,
    );
    assert_eq!(
        report.status,
        200,
        "{}",
        String::from_utf8_lossy(&report.body)
    );
    let report = report.json();
    let strategies: Vec<&str> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["strategy"].as_str().unwrap())
        .collect();
    assert_eq!(strategies, ["sequential", "threads", "rayon", "processes"]);
    for row in report["rows"].as_array().unwrap() {
        assert_eq!(row["failed"], 0, "{row}");
        assert!(row["images"].as_u64().unwrap() >= 7, "{row}");
    }
    let bad = post(&compare, "application/json", br#"{"workers": 0}"#);
    assert_eq!(bad.status, 400);
}

#[test]
fn a_full_store_gives_up_its_oldest_finished_jobs() {
    // Room for a few jobs' images only: without eviction, the tenth upload would be refused.
    let image = photo("chelsea.png");
    let store = 8 * image.len() as u64;
    let server = start(
        Mode::Embedded,
        Setup {
            store_bytes: Some(store),
            ..Setup::default()
        },
    );
    let mut locations = Vec::new();
    for _ in 0..20 {
        let accepted = submit(&server, &image, "invert");
        assert_eq!(accepted.status, 202, "{}", accepted.json());
        let location = accepted.header("location").to_owned();
        assert_eq!(finished(&server, &location)["state"], "succeeded");
        locations.push(location);
    }
    // The newest result is there; the oldest one's images were deleted, and it says so.
    let newest = get(&format!("{}{}/result", server.base, locations[19]));
    assert_eq!(newest.status, 200);
    let oldest = get(&format!("{}{}/result", server.base, locations[0]));
    assert_eq!(
        oldest.status,
        404,
        "{}",
        String::from_utf8_lossy(&oldest.body)
    );
}

#[test]
fn a_tiled_job_counts_its_tiles_and_matches_the_whole_image() {
    for server in servers(Setup::default()) {
        a_tiled_job_on(&server);
    }
}

fn a_tiled_job_on(server: &Server) {
    // 2500x1500 with a pattern that changes every pixel: a seam would show. Six tiles of
    // 1024, and a resize that runs once, on the stitched image.
    let pattern = image::RgbImage::from_fn(2500, 1500, |x, y| {
        let v = |k: u32| ((x.wrapping_mul(k) ^ y.wrapping_mul(k + 6)) % 251) as u8;
        image::Rgb([v(7), v(13), v(29)])
    });
    let image = session01_image_basics::encode(&pattern.into(), ImageFormat::Png).unwrap();
    let pipeline = "blur:sigma=3|resize:width=1250";
    let tiled = |image: &[u8], pipeline: &str, tiled: &str| {
        let (kind, body) = form(&[
            ("file", image),
            ("pipeline", pipeline.as_bytes()),
            ("tiled", tiled.as_bytes()),
        ]);
        post(&format!("{}/api/jobs", server.base), &kind, &body)
    };
    let maybe = tiled(&image, pipeline, "perhaps");
    assert_eq!(maybe.status, 400, "{}", maybe.json());

    let accepted = tiled(&image, pipeline, "true");
    if server.mode == Mode::Embedded {
        // The tiles live in Redis: the embedded mode says where tiled jobs run.
        assert_eq!(accepted.status, 422, "{}", accepted.json());
        let reason = accepted.json()["reason"].as_str().unwrap().to_owned();
        assert!(reason.contains("--redis"), "{reason}");
        return;
    }
    assert_eq!(accepted.status, 202, "{}", accepted.json());
    let job = accepted.json();
    assert_eq!(job["pipeline"], pipeline);
    assert_eq!(job["tiles"]["total"], 6, "{job}");

    // The events: a view at each tile done, until the assembly's final state.
    let mut seen = Vec::new();
    for view in events(server, &job) {
        assert_eq!(view["tiles"]["total"], 6, "{view}");
        let done = view["tiles"]["done"].as_u64().unwrap();
        let progress = view["progress"].as_f64().unwrap();
        seen.push((view["state"].as_str().unwrap().to_owned(), done, progress));
    }
    let (state, done, progress) = seen.last().cloned().unwrap();
    assert_eq!(
        (state.as_str(), done, progress),
        ("succeeded", 6, 1.0),
        "{seen:?}"
    );
    for pair in seen.windows(2) {
        assert!(
            pair[0].1 <= pair[1].1 && pair[0].2 <= pair[1].2,
            "tiles done and progress never go back: {seen:?}"
        );
    }
    let shown = get(&format!("{}{}", server.base, accepted.header("location"))).json();
    assert_eq!(
        (&shown["state"], &shown["tiles"]["done"], &shown["pipeline"]),
        (
            &Value::from("succeeded"),
            &Value::from(6),
            &Value::from(pipeline)
        ),
        "{shown}"
    );

    // The same pixels as the image processed whole.
    let whole = submit(server, &image, pipeline);
    assert_eq!(whole.status, 202, "{}", whole.json());
    let whole = finished(server, whole.header("location"));
    assert_eq!(whole["state"], "succeeded", "{whole}");
    assert!(whole.get("tiles").is_none(), "{whole}");
    let result = |view: &Value| {
        let link = view["links"]["result"].as_str().unwrap();
        let answer = get(&format!("{}{link}", server.base));
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("content-type"), "image/png");
        image::load_from_memory(&answer.body).unwrap().to_rgb8()
    };
    let (from_tiles, from_whole) = (result(&shown), result(&whole));
    assert_eq!(from_tiles.dimensions(), (1250, 750));
    assert!(from_tiles == from_whole, "the tiled result differs");

    // What cannot run in tiles is refused before anything is queued.
    let enqueued =
        || get(&format!("{}/api/stats", server.base)).json()["stats"]["enqueued"].clone();
    let before = enqueued();
    let geometry = tiled(&image, "resize:width=100|blur:sigma=1", "true");
    assert_eq!(geometry.status, 422, "{}", geometry.json());
    let reason = geometry.json()["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("geometry"), "{reason}");
    let corrupt = tiled(&image[..image.len() / 2], pipeline, "true");
    assert_eq!(corrupt.status, 422, "{}", corrupt.json());
    assert_eq!(enqueued(), before);

    // Six tiles on a queue with room for four: refused whole, before anything is cut.
    let small = start(
        Mode::Distributed,
        Setup {
            workers: 1,
            queue_capacity: 4,
            ..Setup::default()
        },
    );
    let (kind, body) = form(&[
        ("file", &image),
        ("pipeline", pipeline.as_bytes()),
        ("tiled", b"true"),
    ]);
    let full = post(&format!("{}/api/jobs", small.base), &kind, &body);
    assert_eq!(full.status, 429, "{}", full.json());
    assert_eq!(full.header("retry-after"), "1");
    let reason = full.json()["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("6 tiles"), "{reason}");
    let stats = get(&format!("{}/api/stats", small.base)).json();
    assert_eq!(stats["stats"]["enqueued"], 0, "nothing was queued: {stats}");
}

/// The views a job's event stream sends, read as they come until it ends.
fn events(server: &Server, job: &Value) -> Vec<Value> {
    let link = job["links"]["events"].as_str().unwrap();
    let mut response = agent()
        .get(&format!("{}{link}", server.base))
        .call()
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let reader = BufReader::new(response.body_mut().as_reader());
    let mut views = Vec::new();
    for line in reader.lines() {
        if let Some(data) = line.unwrap().strip_prefix("data: ") {
            views.push(serde_json::from_str(data).unwrap());
        }
    }
    views
}
