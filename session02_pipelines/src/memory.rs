//! The peak memory of a batch: the processes this one started, and the ones they started,
//! sampled while the batch runs.
//!
//! Threads share one copy of the program and of the pipeline; each worker process has its
//! own. `compare` shows what that costs, beside the time.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System, get_current_pid};

/// How often the resident memory is sampled.
const EVERY: Duration = Duration::from_millis(20);

/// Watches the resident memory of this process's children and grandchildren until stopped.
#[derive(Debug)]
pub struct PeakMemory {
    stop: Sender<()>,
    sampler: JoinHandle<u64>,
}

impl PeakMemory {
    /// Starts sampling on a thread of its own.
    pub fn watch() -> Self {
        let (stop, stopped) = mpsc::channel();
        let sampler = std::thread::spawn(move || {
            let (Ok(me), Ok(mut system)) = (get_current_pid(), System::new()) else {
                return 0;
            };
            let mut peak = 0;
            // One last sample once asked to stop, so what the batch held at its end counts.
            let mut last = false;
            loop {
                system.refresh_processes_specifics(
                    ProcessesToUpdate::All,
                    true,
                    ProcessRefreshKind::nothing().with_memory(),
                );
                let processes = system.processes();
                let descends = |mut pid| {
                    // Children and grandchildren: a batch and its worker processes.
                    for _ in 0..2 {
                        match processes.get(&pid).and_then(|p| p.parent()) {
                            Some(parent) if parent == me => return true,
                            Some(parent) => pid = parent,
                            None => return false,
                        }
                    }
                    false
                };
                // Threads are listed too, each with its process's memory: counted once.
                let resident: u64 = processes
                    .values()
                    .filter(|p| p.thread_kind().is_none() && descends(p.pid()))
                    .map(|p| p.memory())
                    .sum();
                peak = peak.max(resident);
                if last {
                    return peak;
                }
                last = !matches!(stopped.recv_timeout(EVERY), Err(RecvTimeoutError::Timeout));
            }
        });
        Self { stop, sampler }
    }

    /// Stops sampling: the highest resident memory seen, in bytes (0 where the platform
    /// does not tell).
    pub fn stop(self) -> u64 {
        // A sampler that has already returned no longer listens: fine.
        let _ = self.stop.send(());
        self.sampler.join().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_process_memory_counts() {
        if !cfg!(unix) {
            eprintln!("no `cat` to start here: nothing to check");
            return;
        }
        let watch = PeakMemory::watch();
        // `cat` waits for its input to end: alive until we close its stdin.
        let mut child = std::process::Command::new("cat")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("cannot start cat");
        // The last sample is taken on stop, while the child still runs.
        let peak = watch.stop();
        drop(child.stdin.take());
        child.wait().expect("cat did not exit");
        assert!(peak > 0, "a running child showed no resident memory");
    }
}
