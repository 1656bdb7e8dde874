//! The compose lab's files (`compose.yaml` over session 06's, the Dockerfile), read
//! offline: the lab (`cargo xtask lab compose`) runs them on a real engine.

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn compose() -> Yaml {
    YamlLoader::load_from_str(&read(&crate_dir().join("compose.yaml")))
        .unwrap()
        .remove(0)
}

/// The builder stage's instructions, comments left out.
fn builder(dockerfile: &str) -> Vec<String> {
    dockerfile
        .lines()
        .skip_while(|line| *line != "FROM chef AS builder")
        .skip(1)
        .take_while(|line| !line.starts_with("FROM "))
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_builder_repeats_session_09s_so_docker_shares_its_layers() {
    let ours = builder(&read(&crate_dir().join("Dockerfile")));
    let theirs = builder(&read(
        &crate_dir().join("../session09_monitoring/Dockerfile"),
    ));
    assert!(theirs.len() > 3, "session 09's builder: {theirs:#?}");
    assert_eq!(ours[..theirs.len()], theirs[..], "{ours:#?}");
    assert_eq!(
        ours[theirs.len()..],
        ["RUN cargo build --release --locked -p session10_final --bin session10_final"],
        "{ours:#?}"
    );
}

#[test]
fn the_image_serves_on_every_interface_as_a_user_other_than_root() {
    let dockerfile = read(&crate_dir().join("Dockerfile"));
    for expected in [
        "API_LISTEN=0.0.0.0:8080",
        "PROBE_LISTEN=0.0.0.0:8081",
        "USER 65532:65532",
        "ENTRYPOINT [\"/usr/local/bin/session10_final\"]",
        // full-test and /api/compare read the bundled photos.
        "COPY --from=builder /app/session01_image_basics/samples",
    ] {
        assert!(
            dockerfile.contains(expected),
            "the Dockerfile lacks {expected}"
        );
    }
}

#[test]
fn the_api_runs_on_the_labs_redis_and_is_published_on_loopback_only() {
    let compose = compose();
    let api = &compose["services"]["api"];
    let command: Vec<&str> = api["command"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(
        command,
        ["--redis", "${REDIS_URL}", "--bind", "0.0.0.0:8080"]
    );
    assert_eq!(api["ports"][0].as_str(), Some("127.0.0.1:8080:8080"));
    assert_eq!(api["image"].as_str(), Some("session10-final:latest"));
    // Through `<<: *hardened` (the parser leaves merge keys as they are).
    assert_eq!(api["<<"]["read_only"].as_bool(), Some(true));
    // Session 06's workers, on this image: the one built here.
    let worker = &compose["services"]["worker"];
    assert_eq!(worker["image"].as_str(), Some("session10-final:latest"));
    assert_eq!(
        worker["build"]["dockerfile"].as_str(),
        Some("session10_final/Dockerfile")
    );
    // The build context is the workspace, from session 06's folder (the project's).
    let context = crate_dir()
        .join("../session06_docker")
        .join(worker["build"]["context"].as_str().unwrap());
    assert!(
        context.join("Cargo.lock").is_file(),
        "{}",
        context.display()
    );
}

#[test]
fn the_api_test_is_a_demo_that_tests_the_api_service() {
    let compose = compose();
    let test = &compose["services"]["api-test"];
    assert_eq!(
        test["profiles"][0].as_str(),
        Some("demo"),
        "not started by `up`"
    );
    let command: Vec<&str> = test["command"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(command, ["full-test", "--url", "http://api:8080"]);
    assert!(!test["depends_on"]["api"].is_badvalue());
}
