//! What a Docker engine changes on its host, taken down before the lab starts one and put
//! back after it stops: firewall rules and policies (dockerd leaves the FORWARD policy at
//! DROP and its chains behind), IP forwarding, the `docker0` bridge, and the files it
//! writes outside its own folders (its key in `/etc/docker`, runtime folders in `/run`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::shell;

/// The firewall tools, IPv4 and IPv6: the `-save` program and the `-restore` one.
const FIREWALLS: [(&str, &str); 2] = [
    ("iptables-save", "iptables-restore"),
    ("ip6tables-save", "ip6tables-restore"),
];

/// The kernel switches dockerd turns on.
const SYSCTLS: [&str; 2] = [
    "/proc/sys/net/ipv4/ip_forward",
    "/proc/sys/net/ipv6/conf/all/forwarding",
];

/// What dockerd 20.10 and its containerd create whatever their data and exec roots (the
/// engine's identity key, shim sockets, plugin sockets), and `mount` its table of mounts.
const PATHS: [&str; 4] = [
    "/etc/docker/key.json",
    "/run/containerd",
    "/run/docker",
    "/run/mount",
];

/// How long one firewall or `ip` command may take.
const QUICK: Duration = Duration::from_secs(30);

/// A firewall table, reduced to what filters packets: the chains that are not a built-in
/// chain at ACCEPT, and the rules in order. A missing table and an empty one are alike.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Table {
    /// Chain name to policy (`-` for a user chain).
    chains: BTreeMap<String, String>,
    /// The `-A ...` lines.
    rules: Vec<String>,
}

/// The parts of the host an engine touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footprint {
    /// Per firewall tool (`iptables-save`), its tables by name.
    firewall: BTreeMap<&'static str, BTreeMap<String, Table>>,
    /// The kernel switches' values.
    sysctls: BTreeMap<&'static str, String>,
    /// The network interfaces.
    links: BTreeSet<String>,
    /// Which of [`PATHS`] exist.
    paths: BTreeSet<&'static str>,
}

impl Footprint {
    /// Reads the host's current state.
    pub fn take() -> Result<Self> {
        let mut firewall = BTreeMap::new();
        for (save, _) in FIREWALLS {
            if let Some(tables) = read_firewall(save)? {
                firewall.insert(save, tables);
            }
        }
        let sysctls = SYSCTLS
            .iter()
            .filter_map(|path| {
                let value = std::fs::read_to_string(path).ok()?;
                Some((*path, value.trim().to_owned()))
            })
            .collect();
        let links = std::fs::read_dir("/sys/class/net")
            .context("cannot list the network interfaces in /sys/class/net")?
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        Ok(Self {
            firewall,
            sysctls,
            links,
            paths: PATHS
                .into_iter()
                .filter(|path| Path::new(path).exists())
                .collect(),
        })
    }

    /// Puts back what differs from `self` now: firewall tables restored whole, switches
    /// reset, interfaces an engine made deleted, files it made removed. Returns what it
    /// changed, one line each.
    pub fn restore(&self) -> Result<Vec<String>> {
        let now = Self::take()?;
        let mut done = Vec::new();
        for (save, restore) in FIREWALLS {
            let (Some(before), Some(after)) = (self.firewall.get(save), now.firewall.get(save))
            else {
                continue;
            };
            let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
            for name in names {
                let empty = Table::default();
                let old = before.get(name).unwrap_or(&empty);
                if after.get(name).unwrap_or(&empty) != old {
                    restore_table(restore, name, old)?;
                    done.push(format!("{restore}: table {name} put back"));
                }
            }
        }
        for (path, value) in &self.sysctls {
            if now.sysctls.get(path) != Some(value) {
                std::fs::write(path, format!("{value}\n"))
                    .with_context(|| format!("cannot write {value} to {path}"))?;
                done.push(format!("{path} set back to {value}"));
            }
        }
        for link in now.links.difference(&self.links) {
            // Only what an engine makes: its bridges and the container ends of veth pairs.
            if link == "docker0" || link.starts_with("br-") || link.starts_with("veth") {
                let mut ip = Command::new("ip");
                ip.args(["link", "delete", link]);
                shell::output(ip, QUICK)?;
                done.push(format!("interface {link} deleted"));
            }
        }
        for path in now.paths.difference(&self.paths) {
            let removed = if Path::new(path).is_dir() {
                std::fs::remove_dir_all(path)
            } else {
                std::fs::remove_file(path)
            };
            removed.with_context(|| format!("cannot remove {path}"))?;
            done.push(format!("{path} removed"));
        }
        Ok(done)
    }

    /// What differs between `self` and the host now, one line each (empty: nothing).
    pub fn differences(&self) -> Result<Vec<String>> {
        let now = Self::take()?;
        let mut found = Vec::new();
        for (save, before) in &self.firewall {
            let empty = BTreeMap::new();
            let after = now.firewall.get(save).unwrap_or(&empty);
            let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
            for name in names {
                if before.get(name).cloned().unwrap_or_default()
                    != after.get(name).cloned().unwrap_or_default()
                {
                    found.push(format!("{save}: table {name} differs"));
                }
            }
        }
        for (path, value) in &self.sysctls {
            if now.sysctls.get(path) != Some(value) {
                found.push(format!("{path} is not {value}"));
            }
        }
        for link in now.links.difference(&self.links) {
            found.push(format!("new network interface {link}"));
        }
        for path in now.paths.symmetric_difference(&self.paths) {
            found.push(format!("{path} was created or removed"));
        }
        Ok(found)
    }
}

/// A firewall's tables as its `-save` program prints them; `None` when it is not
/// installed.
fn read_firewall(save: &str) -> Result<Option<BTreeMap<String, Table>>> {
    let mut command = Command::new(save);
    command.stdin(Stdio::null());
    let out = match shell::capture(command, QUICK) {
        Ok(out) => out,
        Err(error) if is_missing(&error) => return Ok(None),
        Err(error) => return Err(error),
    };
    if !out.status.success() {
        bail!("`{save}` failed ({}): {}", out.status, out.stderr.trim());
    }
    Ok(Some(parse_save(&out.stdout)))
}

/// Whether an error is a program that is not there.
fn is_missing(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::NotFound)
}

/// Reads `iptables-save` output: `*table`, `:CHAIN POLICY [counters]`, `-A ...`, `COMMIT`.
fn parse_save(text: &str) -> BTreeMap<String, Table> {
    let mut tables = BTreeMap::new();
    let mut current: Option<(String, Table)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('*') {
            current = Some((name.to_owned(), Table::default()));
        } else if line == "COMMIT" {
            if let Some((name, table)) = current.take()
                && table != Table::default()
            {
                tables.insert(name, table);
            }
        } else if let (Some(chain), Some((_, table))) = (line.strip_prefix(':'), current.as_mut()) {
            let mut words = chain.split_whitespace();
            if let (Some(name), Some(policy)) = (words.next(), words.next())
                && !(policy == "ACCEPT" && is_builtin(name))
            {
                table.chains.insert(name.to_owned(), policy.to_owned());
            }
        } else if let (true, Some((_, table))) = (line.starts_with("-A "), current.as_mut()) {
            table.rules.push(line.to_owned());
        }
    }
    tables
}

/// Whether a chain is one every table of that kind has (its policy can only be set).
fn is_builtin(chain: &str) -> bool {
    ["INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING"].contains(&chain)
}

/// Replaces one table with `table` (flushing it and deleting its other chains).
fn restore_table(restore: &str, name: &str, table: &Table) -> Result<()> {
    let mut text = format!("*{name}\n");
    for chain in builtin_chains(name) {
        if !table.chains.contains_key(*chain) {
            text += &format!(":{chain} ACCEPT [0:0]\n");
        }
    }
    for (chain, policy) in &table.chains {
        text += &format!(":{chain} {policy} [0:0]\n");
    }
    for rule in &table.rules {
        text += rule;
        text += "\n";
    }
    text += "COMMIT\n";
    let mut child = Command::new(restore)
        .args(["--table", name])
        .stdin(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {restore}"))?;
    child
        .stdin
        .take()
        .context("no stdin")?
        .write_all(text.as_bytes())
        .with_context(|| format!("cannot write to {restore}"))?;
    let status = child.wait()?;
    if !status.success() {
        bail!("`{restore} --table {name}` failed ({status}) on:\n{text}");
    }
    Ok(())
}

/// The built-in chains of a table.
fn builtin_chains(table: &str) -> &'static [&'static str] {
    match table {
        "filter" | "security" => &["INPUT", "FORWARD", "OUTPUT"],
        "nat" => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
        "mangle" => &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
        "raw" => &["PREROUTING", "OUTPUT"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER: &str = "\
# Generated by iptables-save v1.8.9 (nf_tables) on Wed Dec  2 03:36:21 2026
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -o docker0 -j DOCKER
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
COMMIT
";

    #[test]
    fn a_table_keeps_its_rules_user_chains_and_changed_policies() {
        let tables = parse_save(DOCKER);
        let filter = &tables["filter"];
        assert_eq!(
            filter.chains,
            BTreeMap::from([
                ("DOCKER".to_owned(), "-".to_owned()),
                ("FORWARD".to_owned(), "DROP".to_owned()),
            ])
        );
        assert_eq!(
            filter.rules,
            [
                "-A FORWARD -j DOCKER-USER",
                "-A FORWARD -o docker0 -j DOCKER"
            ]
        );
        // Built-in chains at ACCEPT and nothing else: as if the table were not there.
        assert!(!tables.contains_key("nat"));
    }

    #[test]
    fn an_empty_ruleset_has_no_tables() {
        assert!(parse_save("").is_empty());
    }
}
