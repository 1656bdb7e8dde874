//! The paths the session's two HTTP servers answer, in one place: the routers are built
//! from these, and the manifests' probes, Service ports and Ingress are checked against
//! them, so a renamed route cannot leave a probe pointing at nothing.

// ANCHOR: routes
/// The status API's liveness: the process answers.
pub const API_HEALTH: &str = "/api/health";
/// The status API's readiness: Redis answers and at least one worker is live.
pub const API_READY: &str = "/api/ready";
/// The queue's depth, counts by state and throughput (`status --json`, plus throughput).
pub const API_STATS: &str = "/api/stats";
/// The worker registry (`workers --json`).
pub const API_WORKERS: &str = "/api/workers";
/// One task: state, attempts, history, and why it waits (`/api/tasks/{id}`).
pub const API_TASK: &str = "/api/tasks/{id}";

/// Every route of the status API.
pub const API_ROUTES: [&str; 5] = [API_HEALTH, API_READY, API_STATS, API_WORKERS, API_TASK];

/// The worker's liveness probe: its pool's supervisor runs.
pub const LIVEZ: &str = "/livez";
/// The worker's readiness probe: it takes tasks (false while starting or draining).
pub const READYZ: &str = "/readyz";
// ANCHOR_END: routes

/// The status API's port (`--listen`, `API_LISTEN`).
pub const API_PORT: u16 = 8080;
/// The worker's probe port (`--probe-listen`, `PROBE_LISTEN`).
pub const PROBE_PORT: u16 = 8081;
