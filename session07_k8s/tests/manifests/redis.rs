//! Redis's memory: its `maxmemory` (from the config file mounted from a ConfigMap, or its
//! command line, which wins) must stay below three quarters of the container's memory
//! limit. Rewriting the append-only file forks Redis, the copy's changed pages take memory
//! too, and Redis needs some of its own beyond its data: past the limit the kernel kills
//! it (OOMKilled).

use yaml_rust2::Yaml;

use super::check::Template;
use super::render::Objects;

/// The share of the memory limit `maxmemory` must stay under, in percent.
const MAX_SHARE: f64 = 75.0;

/// Checks one Redis container.
pub fn memory(
    template: &Template<'_>,
    container: &Yaml,
    objects: &Objects,
    at: &str,
    problems: &mut Vec<String>,
) {
    let args: Vec<&str> = container["args"]
        .as_vec()
        .into_iter()
        .flatten()
        .filter_map(Yaml::as_str)
        .collect();
    let from_file = args
        .iter()
        .find(|arg| !arg.starts_with("--") && arg.ends_with(".conf"))
        .and_then(|file| mounted_file(template, container, objects, file))
        .and_then(|text| directive(&text, "maxmemory"));
    let from_args = args
        .windows(2)
        .filter(|pair| pair[0] == "--maxmemory")
        .map(|pair| pair[1].to_owned())
        .next_back();
    let Some(maxmemory) = from_args.or(from_file) else {
        problems.push(format!(
            "{at}: sets no maxmemory: Redis would grow until the kernel kills it"
        ));
        return;
    };
    let limit = &container["resources"]["limits"]["memory"];
    let limit_text = match limit {
        Yaml::String(text) => text.clone(),
        Yaml::Integer(bytes) => bytes.to_string(),
        _ => {
            problems.push(format!(
                "{at}: has no memory limit to keep maxmemory {maxmemory} under"
            ));
            return;
        }
    };
    let (Some(bytes), Some(limit_bytes)) = (redis_bytes(&maxmemory), quantity(&limit_text)) else {
        problems.push(format!(
            "{at}: cannot compare maxmemory {maxmemory} with the memory limit {limit_text}"
        ));
        return;
    };
    let share = bytes / limit_bytes * 100.0;
    if share >= MAX_SHARE {
        problems.push(format!(
            "{at}: maxmemory {maxmemory} is {share:.0} % of the memory limit {limit_text}: keep it under {MAX_SHARE} %, or rewriting the append-only file (a fork) gets Redis OOMKilled"
        ));
    }
}

/// The text of the file at `path` in the container, when a ConfigMap volume mounts it.
fn mounted_file(
    template: &Template<'_>,
    container: &Yaml,
    objects: &Objects,
    path: &str,
) -> Option<String> {
    container["volumeMounts"]
        .as_vec()
        .into_iter()
        .flatten()
        .find_map(|mount| {
            let at = mount["mountPath"].as_str()?.trim_end_matches('/');
            // The file's path inside the volume.
            let inside = match mount["subPath"].as_str() {
                Some(sub) if path == at => sub.to_owned(),
                Some(_) => return None,
                None => path.strip_prefix(at)?.strip_prefix('/')?.to_owned(),
            };
            let volume = template.spec["volumes"]
                .as_vec()?
                .iter()
                .find(|volume| volume["name"] == mount["name"])?;
            let config_map = &volume["configMap"];
            let key = match config_map["items"].as_vec() {
                Some(items) => items
                    .iter()
                    .find(|item| item["path"].as_str() == Some(inside.as_str()))?["key"]
                    .as_str()?
                    .to_owned(),
                None => inside,
            };
            let object = objects.find("ConfigMap", config_map["name"].as_str()?)?;
            object["data"][key.as_str()].as_str().map(str::to_owned)
        })
}

/// The value of the last `name value` line of a Redis config file.
fn directive(text: &str, name: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once(char::is_whitespace))
        .filter(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim().to_owned())
        .next_back()
}

/// A Redis memory size in bytes: `1k` is 1000, `1kb` 1024, and so on for m and g.
pub fn redis_bytes(text: &str) -> Option<f64> {
    let text = text.to_ascii_lowercase();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit {
        "" | "b" => 1.0,
        "k" => 1e3,
        "kb" => 1024.0,
        "m" => 1e6,
        "mb" => 1024.0 * 1024.0,
        "g" => 1e9,
        "gb" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(number.parse::<f64>().ok()? * scale)
}

/// A Kubernetes quantity in bytes: `256Mi`, `1Gi`, `500M`, `1e9`.
pub fn quantity(text: &str) -> Option<f64> {
    const SUFFIXES: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
        ("m", 1e-3),
    ];
    for (suffix, scale) in SUFFIXES {
        if let Some(number) = text.strip_suffix(suffix) {
            return Some(number.parse::<f64>().ok()? * scale);
        }
    }
    text.parse().ok()
}
