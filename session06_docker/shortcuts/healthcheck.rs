//! Shortcut for exercise 6.2: every failure counts, start period or not. A worker that needs
//! a while to connect to Redis is marked unhealthy before it could start (and a compose
//! service waiting on it with `condition: service_healthy` never starts).
//! `ex06_2_failures_in_the_start_period_do_not_count` catches it.

use super::{
    ContainerHealth, DEFAULT_PROBE_TIMEOUT, DEFAULT_RETRIES, HealthState, HealthcheckOptions, Probe,
};

/// Exercise 6.2: the health status Docker gives a container after each of its probes.
pub fn health_states(options: HealthcheckOptions, probes: &[Probe]) -> Vec<HealthState> {
    let timeout = match options.timeout {
        t if t.is_zero() => DEFAULT_PROBE_TIMEOUT,
        t => t,
    };
    let retries = match options.retries {
        0 => DEFAULT_RETRIES,
        n => n,
    };
    let mut state = HealthState {
        status: ContainerHealth::Starting,
        failing_streak: 0,
    };
    let mut states = Vec::with_capacity(probes.len());
    for probe in probes {
        if probe.exit_code == 0 && probe.took < timeout {
            state.status = ContainerHealth::Healthy;
            state.failing_streak = 0;
        } else {
            state.failing_streak += 1;
            if state.failing_streak >= retries {
                state.status = ContainerHealth::Unhealthy;
            }
        }
        states.push(state);
    }
    states
}
