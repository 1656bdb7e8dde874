//! The base images the lab needs: those the Dockerfile builds `FROM` and those compose
//! runs, read from the files themselves. Each one is used when the engine has it, pulled
//! when the registry answers, and otherwise built as a stand-in under the same name from a
//! Debian bookworm made by `debootstrap` (recipes in `session06_docker/lab/standins/`), so
//! that the project's Dockerfile and compose file run unchanged where no registry can be
//! reached. Session 09's recipes (Prometheus) are in `session09_monitoring/lab/standins/`;
//! an image with no recipe that the lab can do without (Grafana) is reported as missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use yaml_rust2::{Yaml, YamlLoader};

use super::engine::{Engine, apt_install, is_root, which};
use super::fs::remove_tree;
use super::shell;

/// The debootstrap image the stand-ins start from (a name of the lab's own).
const BASE: &str = "session06-lab/bookworm:minbase";
/// Debian's mirror, reached over plain HTTP (apt checks signatures itself).
const MIRROR: &str = "http://deb.debian.org/debian";
/// The host's CA bundle, which the stand-ins trust: a network that inspects TLS signs with
/// an authority only the host knows.
const HOST_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// How long a pull, a debootstrap or a stand-in build may take.
const SLOW: Duration = Duration::from_secs(600);
/// How long a question to the engine may take.
const QUICK: Duration = Duration::from_secs(30);

/// The recipes, by the repository of the image they stand in for.
const RECIPES: [(&str, &str); 4] = [
    ("rust", "rust.Dockerfile"),
    ("redis", "redis.Dockerfile"),
    ("gcr.io/distroless/cc-debian12", "distroless.Dockerfile"),
    ("prom/prometheus", "prometheus.Dockerfile"),
];

/// Images the lab can do without, by repository, and what it does instead.
const OPTIONAL: [(&str, &str); 1] = [(
    "grafana/grafana-oss",
    "grafana: no image and no package: dashboard checked offline (queries run against \
     Prometheus)",
)];

/// The folders of stand-in recipes, under the workspace's root.
const RECIPE_FOLDERS: [&str; 2] = [
    "session06_docker/lab/standins",
    "session09_monitoring/lab/standins",
];

/// How the base images were had: a line each.
pub type Report = Vec<String>;

/// What [`ensure`] found: how each image was had, and the optional ones missing.
#[derive(Debug, Default)]
pub struct Had {
    /// A line per image.
    pub report: Report,
    /// Optional images the engine has not got (their services are left out).
    pub missing: Vec<String>,
}

/// Makes sure the engine has every base image; returns how each was had.
pub fn ensure(engine: &Engine, crate_dir: &Path) -> Result<Report> {
    let root = crate_dir.parent().unwrap_or(crate_dir);
    Ok(ensure_some(engine, root, &base_images(crate_dir)?)?.report)
}

/// Makes sure the engine has every image of `names` that it can have: present, pulled or
/// stood in for (recipes under the workspace's `root`); an optional one without a recipe is
/// reported missing.
pub fn ensure_some(engine: &Engine, root: &Path, names: &[String]) -> Result<Had> {
    let mut report = Vec::new();
    let mut missing = Vec::new();
    let mut unavailable = Vec::new();
    for name in names.iter().cloned() {
        if shell::succeeds(engine.docker(&["image", "inspect", &name]), QUICK) {
            report.push(format!("{name}: present"));
            continue;
        }
        let out = shell::capture(engine.docker(&["pull", "--quiet", &name]), SLOW)?;
        if out.status.success() {
            report.push(format!("{name}: pulled"));
        } else if let Some(instead) = optional(&name) {
            let line = format!("{instead} ({name} cannot be pulled)");
            eprintln!("{line}");
            report.push(line);
            unavailable.push(name);
        } else {
            let reason = out.stderr.lines().next().unwrap_or("").trim().to_owned();
            missing.push((name, reason));
        }
    }
    if missing.is_empty() {
        return Ok(Had {
            report,
            missing: unavailable,
        });
    }
    eprintln!("\nThese base images cannot be pulled here:");
    for (name, reason) in &missing {
        eprintln!("  {name}: {reason}");
    }
    eprintln!(
        "so the lab builds STAND-INS under the same names from Debian bookworm \
         (debootstrap; recipes in {}). The project's Dockerfile and compose file are used \
         unchanged.\n",
        RECIPE_FOLDERS.join(" and ")
    );
    let started = Instant::now();
    build_base(engine)?;
    report.push(format!(
        "{BASE}: Debian bookworm by debootstrap, imported in {:.0}s",
        started.elapsed().as_secs_f64()
    ));
    let context = StandinContext::new(root)?;
    // The Rust toolchain is large: it joins the context last, for the one recipe that uses it.
    let mut ordered: Vec<&(String, String)> = missing.iter().collect();
    ordered.sort_by_key(|(name, _)| recipe_for(name).is_ok_and(|r| r == "rust.Dockerfile"));
    for (name, _) in ordered {
        let recipe = recipe_for(name)?;
        if recipe == "rust.Dockerfile" {
            check_rust_version(name)?;
            context.add_toolchain()?;
        }
        let started = Instant::now();
        let mut build = engine.docker(&["build", "--quiet"]);
        build
            .args([
                "--build-arg",
                &format!("BASE={BASE}"),
                "--tag",
                name,
                "--file",
            ])
            .arg(context.dir.join(recipe))
            .arg(&context.dir);
        shell::output(build, SLOW)
            .with_context(|| format!("cannot build a stand-in for {name}"))?;
        report.push(format!(
            "{name}: STAND-IN built from {recipe} in {:.0}s",
            started.elapsed().as_secs_f64()
        ));
    }
    Ok(Had {
        report,
        missing: unavailable,
    })
}

/// What the lab does instead when an optional image cannot be had.
fn optional(name: &str) -> Option<&'static str> {
    let repository = name.rsplit_once(':').map_or(name, |(repo, _)| repo);
    OPTIONAL
        .iter()
        .find(|(repo, _)| *repo == repository)
        .map(|(_, instead)| *instead)
}

/// The images the Dockerfile builds from and compose runs, other than the one it builds.
pub fn base_images(crate_dir: &Path) -> Result<Vec<String>> {
    let dockerfile = crate_dir.join("Dockerfile");
    let text = std::fs::read_to_string(&dockerfile)
        .with_context(|| format!("cannot read {}", dockerfile.display()))?;
    let mut names = from_images(&text);
    let compose = crate_dir.join("compose.yaml");
    let text = std::fs::read_to_string(&compose)
        .with_context(|| format!("cannot read {}", compose.display()))?;
    for name in compose_images(&text)
        .with_context(|| format!("cannot read the images of {}", compose.display()))?
    {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

/// The images `FROM` lines name, stages of the same file left out.
fn from_images(dockerfile: &str) -> Vec<String> {
    let mut stages: Vec<String> = Vec::new();
    let mut images = Vec::new();
    for line in dockerfile.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((first, rest)) = words.split_first() else {
            continue;
        };
        if !first.eq_ignore_ascii_case("FROM") {
            continue;
        }
        let args: Vec<&str> = rest
            .iter()
            .copied()
            .filter(|w| !w.starts_with("--"))
            .collect();
        let Some(image) = args.first() else {
            continue;
        };
        if !stages.iter().any(|s| s.eq_ignore_ascii_case(image))
            && !images.iter().any(|i| i == image)
            && *image != "scratch"
        {
            images.push((*image).to_owned());
        }
        if let [_, alias, name] = args.as_slice()
            && alias.eq_ignore_ascii_case("AS")
        {
            stages.push((*name).to_owned());
        }
    }
    images
}

/// The images compose runs without building them: every `image:` of the file except
/// those of services that have a `build:` (merge keys `<<` followed).
fn compose_images(compose: &str) -> Result<Vec<String>> {
    let docs = YamlLoader::load_from_str(compose)?;
    let doc = docs.first().context("the file is empty")?;
    let services = doc["services"]
        .as_hash()
        .context("it has no `services` mapping")?;
    let built: Vec<String> = services
        .values()
        .filter(|service| lookup(service, "build").is_some())
        .filter_map(|service| lookup(service, "image")?.as_str().map(str::to_owned))
        .collect();
    let mut images = Vec::new();
    for service in services.values() {
        if let Some(image) = lookup(service, "image").and_then(Yaml::as_str)
            && !built.iter().any(|b| b == image)
            && !images.iter().any(|i| i == image)
        {
            images.push(image.to_owned());
        }
    }
    Ok(images)
}

/// A key of a mapping, or of the mappings it merges in with `<<`.
fn lookup<'a>(map: &'a Yaml, key: &str) -> Option<&'a Yaml> {
    let hash = map.as_hash()?;
    if let Some(value) = hash.get(&Yaml::String(key.to_owned())) {
        return Some(value);
    }
    match hash.get(&Yaml::String("<<".to_owned()))? {
        Yaml::Array(merged) => merged.iter().find_map(|m| lookup(m, key)),
        merged => lookup(merged, key),
    }
}

/// The stand-in recipe for an image name.
fn recipe_for(name: &str) -> Result<&'static str> {
    let repository = name.rsplit_once(':').map_or(name, |(repo, _)| repo);
    RECIPES
        .iter()
        .find(|(repo, _)| *repo == repository)
        .map(|(_, recipe)| *recipe)
        .with_context(|| {
            format!("{name} cannot be pulled and the lab has no stand-in recipe for it")
        })
}

/// Refuses to call this machine's toolchain by another version's name.
fn check_rust_version(name: &str) -> Result<()> {
    let tag = name.rsplit_once(':').map_or("", |(_, tag)| tag);
    let wanted = tag.split('-').next().unwrap_or("");
    let out = Command::new("rustc")
        .arg("--version")
        .output()
        .context("cannot run rustc")?;
    let version = String::from_utf8_lossy(&out.stdout);
    let local = version.split_whitespace().nth(1).unwrap_or("");
    if !(local == wanted || local.starts_with(&format!("{wanted}."))) {
        bail!(
            "the Dockerfile builds with {name} but this machine's Rust is {local}: a stand-in \
             would carry the wrong version (update the Dockerfile's FROM line, or the toolchain)"
        );
    }
    Ok(())
}

/// Makes the debootstrap image the stand-ins build from, unless the engine has it.
fn build_base(engine: &Engine) -> Result<()> {
    if shell::succeeds(engine.docker(&["image", "inspect", BASE]), QUICK) {
        return Ok(());
    }
    if !is_root() {
        bail!("building stand-in images needs root (debootstrap); run the lab as root");
    }
    if which("debootstrap").is_none() {
        apt_install(&["debootstrap"])?;
    }
    let tree = tempfile::Builder::new()
        .prefix("session06-lab-bookworm-")
        .tempdir()
        .context("cannot create a folder for debootstrap")?
        .keep();
    let made = debootstrap_and_import(engine, &tree);
    // Whatever happened, the tree (about 200 MB) goes.
    let removed = remove_tree(&tree);
    made?;
    removed
}

/// Debootstraps a minimal bookworm into `tree` and imports it as [`BASE`].
fn debootstrap_and_import(engine: &Engine, tree: &Path) -> Result<()> {
    let mut debootstrap = Command::new("debootstrap");
    debootstrap
        .args(["--variant=minbase", "bookworm"])
        .arg(tree)
        .arg(MIRROR);
    shell::output(debootstrap, SLOW)?;
    // What an image needs no copy of: downloaded packages, package lists, manuals.
    let mut tar = Command::new("tar");
    tar.arg("-C").arg(tree).args([
        "--exclude=./var/cache/apt/archives/*.deb",
        "--exclude=./var/lib/apt/lists/*",
        "--exclude=./usr/share/doc",
        "--exclude=./usr/share/man",
        "-c",
        ".",
    ]);
    eprintln!("$ {} |", shell::line(&tar));
    let mut tar = tar
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start tar")?;
    let stdout = tar.stdout.take().context("no tar output")?;
    let import = engine.docker(&["import", "--change", "CMD [\"bash\"]", "-", BASE]);
    let imported = shell::output_from(import, Stdio::from(stdout), SLOW);
    let tarred = tar.wait().context("tar did not finish")?;
    imported?;
    if !tarred.success() {
        bail!("tar of the debootstrap tree failed ({tarred})");
    }
    Ok(())
}

/// The build context of the stand-ins: their recipes and the host's CA bundle, and the
/// Rust toolchain once it is needed. Deleted when dropped.
struct StandinContext {
    dir: PathBuf,
    _temp: tempfile::TempDir,
}

impl StandinContext {
    /// The recipes of every folder of [`RECIPE_FOLDERS`] under `root`.
    fn new(root: &Path) -> Result<Self> {
        let temp = tempfile::Builder::new()
            .prefix("session06-lab-standins-")
            .tempdir()?;
        let dir = temp.path().to_path_buf();
        for folder in RECIPE_FOLDERS {
            let recipes = root.join(folder);
            if !recipes.is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(&recipes)
                .with_context(|| format!("cannot read {}", recipes.display()))?
            {
                let entry = entry?;
                std::fs::copy(entry.path(), dir.join(entry.file_name()))?;
            }
        }
        std::fs::copy(HOST_CA_BUNDLE, dir.join("ca-certificates.crt"))
            .with_context(|| format!("cannot copy {HOST_CA_BUNDLE}"))?;
        Ok(Self { dir, _temp: temp })
    }

    /// Adds `toolchain/bin` and `toolchain/lib` of the running Rust: hard links where the
    /// file system allows, copies elsewhere.
    fn add_toolchain(&self) -> Result<()> {
        let target = self.dir.join("toolchain");
        if target.exists() {
            return Ok(());
        }
        let out = Command::new("rustc")
            .args(["--print", "sysroot"])
            .output()
            .context("cannot run rustc")?;
        let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        std::fs::create_dir_all(&target)?;
        for part in ["bin", "lib"] {
            let from = sysroot.join(part);
            let linked = Command::new("cp")
                .arg("-al")
                .arg(&from)
                .arg(&target)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !linked {
                let mut copy = Command::new("cp");
                copy.arg("-a").arg(&from).arg(&target);
                shell::output(copy, SLOW)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_lines_name_images_and_stages_are_left_out() {
        let dockerfile = "\
FROM rust:1.95-slim-bookworm AS chef
FROM chef AS planner
FROM --platform=linux/amd64 chef AS builder
from gcr.io/distroless/cc-debian12:nonroot AS runtime
FROM scratch
";
        assert_eq!(
            from_images(dockerfile),
            [
                "rust:1.95-slim-bookworm",
                "gcr.io/distroless/cc-debian12:nonroot"
            ]
        );
    }

    #[test]
    fn compose_images_follow_merge_keys_and_skip_built_ones() {
        let compose = "
x-app: &app
  image: ours:latest
services:
  redis:
    image: redis:7.0-bookworm
  worker:
    <<: *app
    build: .
  cli:
    <<: *app
";
        assert_eq!(compose_images(compose).unwrap(), ["redis:7.0-bookworm"]);
    }

    #[test]
    fn every_base_image_of_the_session_has_a_recipe() {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("session06_docker");
        let names = base_images(&crate_dir).unwrap();
        assert_eq!(names.len(), 3, "{names:?}");
        for name in names {
            let recipe = recipe_for(&name).unwrap();
            assert!(crate_dir.join("lab/standins").join(recipe).is_file());
        }
    }

    #[test]
    fn session_09s_images_have_a_recipe_or_can_be_done_without() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let names = base_images(&root.join("session09_monitoring")).unwrap();
        assert!(names.iter().any(|n| n.starts_with("prom/")), "{names:?}");
        for name in names {
            match recipe_for(&name) {
                Ok(recipe) => assert!(
                    RECIPE_FOLDERS
                        .iter()
                        .any(|folder| root.join(folder).join(recipe).is_file()),
                    "{recipe}"
                ),
                Err(_) => assert!(optional(&name).is_some(), "{name}"),
            }
        }
    }
}
