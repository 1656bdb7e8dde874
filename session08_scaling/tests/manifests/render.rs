//! The manifests as objects: rendered by `kubectl kustomize`, or read from files, then
//! parsed into YAML documents that the checks read and the tests break on purpose.

use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

/// The crate's `k8s/` folder.
pub fn k8s_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("k8s")
}

/// Session 07's `k8s/` folder, which the overlays build on.
pub fn session07_k8s_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../session07_k8s/k8s")
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

    /// Parses a stream of YAML documents; empty ones are left out.
    pub fn parse(text: &str, origin: &dyn std::fmt::Display) -> Self {
        let docs = YamlLoader::load_from_str(text)
            .unwrap_or_else(|error| panic!("{origin} is not YAML: {error}"));
        Self(docs.into_iter().filter(|doc| !doc.is_null()).collect())
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

/// One YAML value, written as YAML.
pub fn yaml(text: &str) -> Yaml {
    YamlLoader::load_from_str(text).expect("YAML").remove(0)
}

/// A YAML string, for building objects in tests.
pub fn string(text: &str) -> Yaml {
    Yaml::String(text.to_owned())
}

/// A value as text: a string as it is, a number written out, anything else as `None`.
pub fn text(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(text) => Some(text.clone()),
        Yaml::Integer(number) => Some(number.to_string()),
        Yaml::Real(number) => Some(number.clone()),
        Yaml::Boolean(flag) => Some(flag.to_string()),
        _ => None,
    }
}
