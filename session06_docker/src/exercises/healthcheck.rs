//! Exercise 6.2: how Docker judges health.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use super::{HealthState, HealthcheckOptions, Probe};

// ANCHOR: healthcheck
/// Exercise 6.2: the health status Docker gives a container after each of its probes.
///
/// A `HEALTHCHECK` runs a command in the container every `--interval`; each run is a
/// [`Probe`]. A probe passes when its command exits 0 within `--timeout`: one that runs for
/// `timeout` or longer is killed and fails, whatever its exit code. A `timeout` of 0 means
/// [`DEFAULT_PROBE_TIMEOUT`](super::DEFAULT_PROBE_TIMEOUT), and `retries` of 0 means
/// [`DEFAULT_RETRIES`](super::DEFAULT_RETRIES), as in Docker.
///
/// A container starts [`Starting`](super::ContainerHealth::Starting) with a failing streak
/// of 0, and after each probe, in the order given:
///
/// - a probe that passes makes it `Healthy` and resets the streak to 0;
/// - a probe that fails adds 1 to the streak, and once the streak reaches `retries`, the
///   container is `Unhealthy` (until a probe passes);
/// - except that a failure does not count (the state stays as it is) while the container
///   is still `Starting` and the probe started before `start_period` was over
///   (`probe.started < start_period`): a slow start is not a failure. Once a probe has
///   passed, every failure counts, start period or not.
///
/// Returns the state after each probe, one per probe (none for no probes).
pub fn health_states(options: HealthcheckOptions, probes: &[Probe]) -> Vec<HealthState> {
    todo!("exercise 6.2: health_states")
}
// ANCHOR_END: healthcheck
