//! The manifests as objects: rendered by `kubectl kustomize`, or read from files, then
//! parsed into YAML documents that the checks read and the tests break on purpose.

use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

/// The `k8s/` folder of the crate.
pub fn k8s_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("k8s")
}

/// Every object of a set of manifests, in order.
#[derive(Debug, Clone)]
pub struct Objects(pub Vec<Yaml>);

impl Objects {
    /// `kubectl kustomize DIR`, parsed.
    pub fn kustomize(dir: &Path) -> Self {
        let output = Command::new("kubectl")
            .arg("kustomize")
            .arg(dir)
            .output()
            .unwrap_or_else(|error| panic!("cannot run kubectl: {error}"));
        assert!(
            output.status.success(),
            "kubectl kustomize {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        Self::parse(&String::from_utf8_lossy(&output.stdout), &dir.display())
    }

    /// The objects of these files, as they are (no kustomize).
    pub fn files(paths: &[PathBuf]) -> Self {
        let mut all = Vec::new();
        for path in paths {
            let text = std::fs::read_to_string(path)
                .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
            all.extend(Self::parse(&text, &path.display()).0);
        }
        Self(all)
    }

    /// Parses a stream of YAML documents; empty ones (a trailing `---`) are left out.
    pub fn parse(text: &str, origin: &dyn std::fmt::Display) -> Self {
        let docs = YamlLoader::load_from_str(text)
            .unwrap_or_else(|error| panic!("{origin} is not YAML: {error}"));
        Self(docs.into_iter().filter(|doc| !doc.is_null()).collect())
    }

    /// These objects and those of `other`.
    pub fn with(mut self, other: Self) -> Self {
        self.0.extend(other.0);
        self
    }

    /// The objects of a kind.
    pub fn of_kind<'a>(&'a self, kind: &str) -> impl Iterator<Item = &'a Yaml> + use<'a> {
        let kind = kind.to_owned();
        self.0
            .iter()
            .filter(move |object| object["kind"].as_str() == Some(kind.as_str()))
    }

    /// The object of this kind and name.
    pub fn find(&self, kind: &str, name: &str) -> Option<&Yaml> {
        self.of_kind(kind)
            .find(|object| object["metadata"]["name"].as_str() == Some(name))
    }

    /// The object of this kind and name, to change; panics when there is none.
    pub fn find_mut(&mut self, kind: &str, name: &str) -> &mut Yaml {
        self.0
            .iter_mut()
            .find(|object| {
                object["kind"].as_str() == Some(kind)
                    && object["metadata"]["name"].as_str() == Some(name)
            })
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    }
}

/// The files a `kustomization.yaml` lists under `resources` (files only, not folders).
pub fn kustomization_files(dir: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(dir.join("kustomization.yaml"))
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()));
    let docs = YamlLoader::load_from_str(&text).expect("kustomization.yaml is YAML");
    docs[0]["resources"]
        .as_vec()
        .expect("a resources list")
        .iter()
        .filter_map(Yaml::as_str)
        .map(|file| dir.join(file))
        .filter(|path| path.is_file())
        .collect()
}

/// A YAML string, for building objects in tests.
pub fn string(text: &str) -> Yaml {
    Yaml::String(text.to_owned())
}
