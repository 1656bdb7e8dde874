//! Many hosts on one machine: redis-server and two workers, each in a network namespace of
//! its own, joined by veth links. Cutting one worker's link mid-task leaves its tasks to
//! the other host, and nothing is lost.
//!
//! Needs Linux, root, `ip netns` and `redis-server`, so it is ignored by default;
//! `cargo xtask test` runs it where it can, as
//! `cargo test -p session05_distributed --test multihost -- --ignored`. Run where it cannot
//! work, it fails and names what is missing. The addresses live only inside the
//! namespaces this test makes, and it removes them.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::session04::{eventually, task, tiny_png};
use session03_workers::{Backpressure, BlobKey, BlobStore, Queue, TaskState};
use session04_redis::cli::QueueArgs;
use session04_redis::server::{Children, free_port};
use session05_distributed::registry::{Registry, RegistryConfig, WorkerState};

/// Runs `ip` with `args`; the error says what failed.
fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `ip`: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// What this machine lacks to run the test, if anything.
fn missing() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return Some(format!(
            "Linux network namespaces (this is {})",
            std::env::consts::OS
        ));
    }
    // The effective uid is the second number on the `Uid:` line.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1));
    if uid != Some("0") {
        return Some(format!(
            "root (the effective uid is {})",
            uid.unwrap_or("unknown")
        ));
    }
    if let Err(why) = ip(&["netns", "list"]) {
        return Some(format!("a working `ip netns` (iproute2): {why}"));
    }
    let redis = Command::new("redis-server")
        .arg("--version")
        .stdin(Stdio::null())
        .output();
    if !redis.is_ok_and(|out| out.status.success()) {
        return Some("`redis-server` on the PATH".to_owned());
    }
    None
}

/// Network namespaces, and links of this namespace, deleted when this is dropped. The
/// links go explicitly: a namespace lingers while its closed connections time out, and
/// its veth peers with it.
#[derive(Default)]
struct Namespaces {
    names: Vec<String>,
    links: Vec<String>,
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for link in &self.links {
            let _ = ip(&["link", "del", link]);
        }
        for name in &self.names {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// The hosts: namespaces linked to the Redis host's namespace by veth pairs, a /24 each.
struct Lab {
    namespaces: Namespaces,
    redis_ns: String,
}

impl Lab {
    /// The Redis host, and the test's own link to it (`10.231.0.2` here, `.1` there).
    fn start(tag: &str) -> Result<Self, String> {
        let redis_ns = format!("s5r{tag}");
        ip(&["netns", "add", &redis_ns])?;
        let mut lab = Self {
            namespaces: Namespaces {
                names: vec![redis_ns.clone()],
                links: Vec::new(),
            },
            redis_ns,
        };
        ip(&["-n", &lab.redis_ns, "link", "set", "lo", "up"])?;
        let (here, there) = (format!("s5t{tag}"), format!("s5u{tag}"));
        ip(&["link", "add", &here, "type", "veth", "peer", "name", &there])?;
        lab.namespaces.links.push(here.clone());
        ip(&["link", "set", &there, "netns", &lab.redis_ns])?;
        ip(&["addr", "add", "10.231.0.2/24", "dev", &here])?;
        ip(&["link", "set", &here, "up"])?;
        ip(&[
            "-n",
            &lab.redis_ns,
            "addr",
            "add",
            "10.231.0.1/24",
            "dev",
            &there,
        ])?;
        ip(&["-n", &lab.redis_ns, "link", "set", &there, "up"])?;
        Ok(lab)
    }

    /// A worker host `n`: `10.231.n.2`, reaching Redis at `10.231.n.1`. Returns the name
    /// of its link on the Redis side, to cut.
    fn host(&mut self, tag: &str, n: u8) -> Result<(String, String), String> {
        let ns = format!("s5w{n}{tag}");
        ip(&["netns", "add", &ns])?;
        self.namespaces.names.push(ns.clone());
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        let (inside, redis_side) = (format!("s5a{n}{tag}"), format!("s5b{n}{tag}"));
        ip(&[
            "-n",
            &ns,
            "link",
            "add",
            &inside,
            "type",
            "veth",
            "peer",
            "name",
            &redis_side,
        ])?;
        ip(&[
            "-n",
            &ns,
            "link",
            "set",
            &redis_side,
            "netns",
            &self.redis_ns,
        ])?;
        let (worker_addr, redis_addr) = (format!("10.231.{n}.2/24"), format!("10.231.{n}.1/24"));
        ip(&["-n", &ns, "addr", "add", &worker_addr, "dev", &inside])?;
        ip(&["-n", &ns, "link", "set", &inside, "up"])?;
        ip(&[
            "-n",
            &self.redis_ns,
            "addr",
            "add",
            &redis_addr,
            "dev",
            &redis_side,
        ])?;
        ip(&["-n", &self.redis_ns, "link", "set", &redis_side, "up"])?;
        Ok((ns, redis_side))
    }
}

fn spawn_in(ns: &str, program: &str, args: &[&str]) -> Child {
    Command::new("ip")
        .args(["netns", "exec", ns, program])
        .args(args)
        .env_remove("REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and `ip netns`: `cargo xtask test` runs it where it can"]
async fn cutting_a_hosts_link_mid_task_moves_its_tasks_to_another_host() {
    if let Some(what) = missing() {
        panic!("this test cannot run here: it needs {what}");
    }
    let tag = (std::process::id() % 100_000).to_string();
    let mut lab = Lab::start(&tag).unwrap_or_else(|why| panic!("cannot make the hosts: {why}"));
    let (first, first_link) = lab.host(&tag, 1).unwrap();
    let (second, _) = lab.host(&tag, 2).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let port = free_port().unwrap().to_string();
    let mut children = Children::default();
    children.0.push(spawn_in(
        &lab.redis_ns,
        "redis-server",
        &[
            "--port",
            &port,
            "--bind",
            "0.0.0.0",
            "--protected-mode",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            dir.path().to_str().unwrap(),
        ],
    ));
    let mut flags = QueueArgs::for_url(&format!("redis://10.231.0.1:{port}"));
    flags.namespace = "hosts".to_owned();
    flags.lease = 2.0;
    let opened = tokio::time::timeout(Duration::from_secs(20), flags.open())
        .await
        .expect("redis-server in its namespace answers");
    let (queue, blobs) = opened.unwrap();

    let program = env!("CARGO_BIN_EXE_session05_distributed");
    let worker = |n: u8, extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = [
            "worker",
            "--redis-url",
            &format!("redis://10.231.{n}.1:{port}"),
            "--namespace",
            "hosts",
            "--lease",
            "2",
            "--heartbeat",
            "0.3",
            "--heartbeat-ttl",
            "1.5",
            "--redis-timeout",
            "2",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };
    // The first host is slow on purpose: it is cut off while it holds both tasks.
    let slow = worker(1, &["--concurrency", "2", "--delay", "30"]);
    let slow: Vec<&str> = slow.iter().map(String::as_str).collect();
    children.0.push(spawn_in(&first, program, &slow));
    // `ip netns exec` execs the program: the child's pid is the worker's.
    let first_pid = children.0.last().unwrap().id();

    let input = BlobKey::new("in/tiny.png").unwrap();
    blobs.put(&input, tiny_png().into()).await.unwrap();
    let mut ids = Vec::new();
    for pipeline in ["blur", "edges"] {
        let mut task = task(pipeline, &input);
        task.output = BlobKey::new(format!("results/{pipeline}.png")).unwrap();
        ids.push(queue.enqueue(task, Backpressure::Reject).await.unwrap());
    }
    let registry = Registry::new(
        queue.connection(),
        queue.keys(),
        RegistryConfig {
            interval: Duration::from_millis(300),
            ttl: Duration::from_millis(1500),
            ..RegistryConfig::default()
        },
    );
    eventually(
        Duration::from_secs(30),
        "the first host to hold both tasks",
        || async {
            let workers = registry.list().await.unwrap();
            workers
                .iter()
                .any(|w| w.info.pid == first_pid && w.beat.current.len() == 2)
                .then_some(())
        },
    )
    .await;

    // Cut the first host off, mid-task; then bring up the second host.
    ip(&["-n", &lab.redis_ns, "link", "set", &first_link, "down"]).unwrap();
    let fast = worker(2, &["--concurrency", "2"]);
    let fast: Vec<&str> = fast.iter().map(String::as_str).collect();
    children.0.push(spawn_in(&second, program, &fast));
    let second_pid = children.0.last().unwrap().id();

    for id in &ids {
        let what = format!("{id} to succeed");
        let record = eventually(Duration::from_secs(60), &what, || async {
            let record = queue.status(*id).await.unwrap().unwrap();
            (record.state == TaskState::Succeeded).then_some(record)
        })
        .await;
        assert_eq!(record.attempts, 2, "{id} ran again on the second host");
    }
    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.succeeded, stats.expired_leases), (2, 2));
    for pipeline in ["blur", "edges"] {
        let key = BlobKey::new(format!("results/{pipeline}.png")).unwrap();
        assert!(!blobs.get(&key).await.unwrap().is_empty());
    }
    // The cut-off host turns gone once its last beat is older than the TTL (the tasks may
    // finish a moment before that); the other host stays live.
    eventually(
        Duration::from_secs(30),
        "the cut-off host to turn gone",
        || async {
            let workers = registry.list().await.unwrap();
            let state_of = |pid: u32| workers.iter().find(|w| w.info.pid == pid).map(|w| w.state);
            assert!(
                state_of(second_pid).is_some_and(WorkerState::is_live),
                "{workers:#?}"
            );
            (state_of(first_pid) == Some(WorkerState::Gone)).then_some(())
        },
    )
    .await;
    drop(children);
    drop(lab);
}
