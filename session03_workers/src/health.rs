//! Health: is the process alive, and should it be given work?
//!
//! The two questions of every orchestrator (Docker's health check, Kubernetes' probes) get
//! two answers. **Liveness**: the pool's supervisor runs; when it does not, only a restart
//! helps. **Readiness**: the pool takes tasks, every worker slot is running and the queue
//! answers; when not, the process is alive but should get no traffic, and `reasons` says
//! why. Session 06's health-check subcommand and session 10's `/health` serve this struct.

use serde::{Deserialize, Serialize};

/// A health report.
// ANCHOR: health
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// The process works, or could again without a restart.
    pub live: bool,
    /// It takes work now.
    pub ready: bool,
    /// Why it is not live or not ready; empty when it is both.
    pub reasons: Vec<String>,
}
// ANCHOR_END: health

impl Health {
    /// Live and ready when `reasons` is empty; `live` says whether the reasons still leave
    /// it alive.
    pub fn from_reasons(live: bool, reasons: Vec<String>) -> Self {
        Self {
            live,
            ready: live && reasons.is_empty(),
            reasons,
        }
    }
}
