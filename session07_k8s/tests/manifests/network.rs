//! The NetworkPolicies against the traffic the system needs: every pod whose command reads
//! REDIS_URL may reach the Redis pods on the Redis port, and every Service's target port is
//! open on the pods it selects.
//!
//! As Kubernetes evaluates them: a pod that no policy of type Ingress selects accepts
//! everything; a pod that one selects accepts only what some selecting policy's rules
//! allow. A rule allows a port when it lists no ports or lists that one (by number, range
//! or the container port's name, over TCP), and a peer when it lists no peers or one whose
//! selectors match the peer (a `podSelector` alone means the policy's namespace). An
//! `ipBlock` names addresses, not pods: it allows no pod here. Egress is not evaluated.

use yaml_rust2::Yaml;

use super::binary::{Binary, repository};
use super::check::{Template, command_of, selected};
use super::render::Objects;
use super::selector;

/// The port Redis listens on.
const REDIS_PORT: i64 = 6379;

/// A port of a destination pod: its number, and its name if the container names it.
struct Port {
    number: i64,
    name: Option<String>,
}

impl Port {
    /// `targetPort` (a number or a port name) as one of the template's container ports.
    fn of(template: &Template<'_>, target: &Yaml) -> Option<Self> {
        template
            .containers()
            .flat_map(|container| container["ports"].as_vec().into_iter().flatten())
            .find(|declared| match target {
                Yaml::String(_) => declared["name"] == *target,
                _ => declared["containerPort"] == *target,
            })
            .and_then(|declared| {
                Some(Self {
                    number: declared["containerPort"].as_i64()?,
                    name: declared["name"].as_str().map(str::to_owned),
                })
            })
    }

    /// The port as a policy's `ports` entry matches it.
    fn allowed_by(&self, entry: &Yaml) -> bool {
        if entry["protocol"].as_str().unwrap_or("TCP") != "TCP" {
            return false;
        }
        match &entry["port"] {
            Yaml::BadValue | Yaml::Null => true,
            Yaml::Integer(first) => {
                let last = entry["endPort"].as_i64().unwrap_or(*first);
                (*first..=last).contains(&self.number)
            }
            Yaml::String(name) => self.name.as_deref() == Some(name.as_str()),
            _ => false,
        }
    }
}

/// A pod that opens connections: its namespace's labels and its own.
struct Peer<'a> {
    namespace: Option<&'a str>,
    namespace_labels: Yaml,
    labels: &'a Yaml,
}

/// The policies that isolate `template` for ingress: of type Ingress (said, or implied
/// by no `policyTypes`), in its namespace, selecting its labels.
fn isolating<'a>(policies: &[&'a Yaml], template: &Template<'_>) -> Vec<&'a Yaml> {
    policies
        .iter()
        .copied()
        .filter(|policy| {
            let types = &policy["spec"]["policyTypes"];
            let ingress = types.is_badvalue()
                || types
                    .as_vec()
                    .into_iter()
                    .flatten()
                    .any(|kind| kind.as_str() == Some("Ingress"));
            ingress
                && policy["metadata"]["namespace"].as_str() == template.namespace
                && selector::matches(&policy["spec"]["podSelector"], template.labels)
        })
        .collect()
}

/// Whether `policy` lets `port` in, from `peer` (or from anywhere, when `None`).
fn allows(policy: &Yaml, port: &Port, peer: Option<&Peer<'_>>) -> bool {
    let namespace = policy["metadata"]["namespace"].as_str();
    let any_or = |list: &Yaml, each: &dyn Fn(&Yaml) -> bool| match list.as_vec() {
        Some(entries) if !entries.is_empty() => entries.iter().any(each),
        _ => true,
    };
    policy["spec"]["ingress"]
        .as_vec()
        .into_iter()
        .flatten()
        .any(|rule| {
            any_or(&rule["ports"], &|entry| port.allowed_by(entry))
                && peer
                    .is_none_or(|peer| any_or(&rule["from"], &|from| admits(from, namespace, peer)))
        })
}

/// Whether a rule's `from` entry admits `peer`, for a policy in `namespace`.
fn admits(from: &Yaml, namespace: Option<&str>, peer: &Peer<'_>) -> bool {
    if !from["ipBlock"].is_badvalue() {
        return false;
    }
    let pods = &from["podSelector"];
    let namespaces = &from["namespaceSelector"];
    let pod_matches = pods.is_badvalue() || selector::matches(pods, peer.labels);
    let namespace_matches = if namespaces.is_badvalue() {
        peer.namespace == namespace
    } else {
        selector::matches(namespaces, &peer.namespace_labels)
    };
    pod_matches && namespace_matches
}

/// Both checks: the Redis clients reach Redis, and the Services reach their pods.
pub fn policies(
    objects: &Objects,
    templates: &[Template<'_>],
    binary: &Binary,
    problems: &mut Vec<String>,
) {
    let policies: Vec<&Yaml> = objects.of_kind("NetworkPolicy").collect();
    redis_clients(objects, templates, &policies, binary, problems);
    services(objects, templates, &policies, problems);
}

/// Each pod template with a container whose command reads REDIS_URL is let in by the
/// Redis pods of its namespace, on the Redis port.
fn redis_clients(
    objects: &Objects,
    templates: &[Template<'_>],
    policies: &[&Yaml],
    binary: &Binary,
    problems: &mut Vec<String>,
) {
    let runs = |template: &Template<'_>, image: &str| {
        template
            .containers()
            .any(|container| repository(container["image"].as_str().unwrap_or("")) == image)
    };
    let redis_image = repository(&binary.redis_image);
    let reads_redis_url = |template: &Template<'_>| {
        template.containers().any(|container| {
            repository(container["image"].as_str().unwrap_or("")) == binary.image
                && binary
                    .commands
                    .get(command_of(container))
                    .is_some_and(|command| command.env.contains_key("REDIS_URL"))
        })
    };
    for client in templates
        .iter()
        .filter(|template| reads_redis_url(template))
    {
        let namespace = client.namespace.unwrap_or("default");
        let peer = Peer {
            namespace: client.namespace,
            namespace_labels: selector::namespace_labels(
                objects.find("Namespace", namespace),
                namespace,
            ),
            labels: client.labels,
        };
        let servers = templates.iter().filter(|template| {
            template.namespace == client.namespace && runs(template, redis_image)
        });
        for server in servers {
            let port = Port::of(server, &Yaml::Integer(REDIS_PORT)).unwrap_or(Port {
                number: REDIS_PORT,
                name: None,
            });
            let isolated_by = isolating(policies, server);
            let let_in = isolated_by.is_empty()
                || isolated_by
                    .iter()
                    .any(|policy| allows(policy, &port, Some(&peer)));
            if !let_in {
                problems.push(format!(
                    "{}: reads REDIS_URL, but no NetworkPolicy lets it reach {} on port {REDIS_PORT}",
                    client.owner, server.owner
                ));
            }
        }
    }
}

/// Each Service's target ports are open, from somewhere, on the pods it selects.
fn services(
    objects: &Objects,
    templates: &[Template<'_>],
    policies: &[&Yaml],
    problems: &mut Vec<String>,
) {
    for service in objects.of_kind("Service") {
        let name = service["metadata"]["name"].as_str().unwrap_or("?");
        let chosen = selected(
            templates,
            service["metadata"]["namespace"].as_str(),
            &service["spec"]["selector"],
        );
        for template in chosen {
            let isolated_by = isolating(policies, template);
            if isolated_by.is_empty() {
                continue;
            }
            for entry in service["spec"]["ports"].as_vec().into_iter().flatten() {
                let target = match &entry["targetPort"] {
                    Yaml::BadValue => &entry["port"],
                    other => other,
                };
                // A target the pods do not have is the Services check's problem.
                let Some(port) = Port::of(template, target) else {
                    continue;
                };
                if !isolated_by.iter().any(|policy| allows(policy, &port, None)) {
                    let shown = match &port.name {
                        Some(port_name) if target.as_str().is_some() => {
                            format!("{port_name} ({})", port.number)
                        }
                        _ => port.number.to_string(),
                    };
                    problems.push(format!(
                        "Service {name}: no NetworkPolicy lets traffic in to port {shown} of {}",
                        template.owner
                    ));
                }
            }
        }
    }
}
