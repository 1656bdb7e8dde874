//! Exercise 6.2: how Docker judges health.

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
        let starting = state.status == ContainerHealth::Starting;
        if probe.exit_code == 0 && probe.took < timeout {
            state.status = ContainerHealth::Healthy;
            state.failing_streak = 0;
        } else if !(starting && probe.started < options.start_period) {
            state.failing_streak += 1;
            if state.failing_streak >= retries {
                state.status = ContainerHealth::Unhealthy;
            }
        }
        states.push(state);
    }
    states
}
