//! Shortcut for exercise 7.4: the liveness probe runs from the container's first second,
//! startup probe or not. A program that needs 20 s to start, with a startup probe that
//! allows it 60, is killed by its liveness probe after 3 failures and never starts: the
//! very crash loop a startup probe exists to prevent.
//! `ex07_4_a_slow_starter_is_not_killed_while_it_starts` catches it.

use super::{Check, ContainerProbes, EventKind, ProbeError, ProbeEvent, ProbeKind, ProbeSpec};

/// Exercise 7.4: what the kubelet does to a container, second by second.
pub fn probe_events(
    probes: &ContainerProbes,
    answers: &dyn Fn(Check) -> bool,
    seconds: u64,
) -> Result<Vec<ProbeEvent>, ProbeError> {
    for (probe, spec) in [
        (ProbeKind::Startup, probes.startup),
        (ProbeKind::Liveness, probes.liveness),
        (ProbeKind::Readiness, probes.readiness),
    ] {
        if let Some(spec) = spec
            && (spec.period_seconds == 0
                || spec.failure_threshold == 0
                || spec.success_threshold == 0
                || (spec.success_threshold != 1 && probe != ProbeKind::Readiness))
        {
            let reason = "a period, thresholds of at least 1, one success for startup and liveness";
            return Err(ProbeError {
                probe,
                reason: reason.to_owned(),
            });
        }
    }
    let mut events = Vec::new();
    let (mut container, mut start, mut started, mut ready) = (0, 0, false, false);
    // Each probe's results in a row: (the last, how many).
    let mut runs = [(false, 0_u32); 3];
    for at in 0..seconds {
        let age = at - start;
        let due = |spec: &ProbeSpec| {
            age >= spec.initial_delay_seconds
                && (age - spec.initial_delay_seconds).is_multiple_of(spec.period_seconds)
        };
        let mut run = |index: usize, probe| {
            let success = answers(Check {
                probe,
                container,
                age,
            });
            let (last, count) = &mut runs[index];
            *count = if *last == success { *count + 1 } else { 1 };
            *last = success;
            (success, *count)
        };
        let mut restart_by = None;
        match probes.startup {
            None => started = true,
            Some(spec) if !started && due(&spec) => {
                let (success, count) = run(0, ProbeKind::Startup);
                started = success;
                if !success && count >= spec.failure_threshold {
                    restart_by = Some(ProbeKind::Startup);
                }
            }
            Some(_) => {}
        }
        if started && probes.readiness.is_none() && !ready {
            ready = true;
            events.push(ProbeEvent::new(at, EventKind::Ready));
        }
        // The liveness probe runs whether the container has started or not.
        if let Some(spec) = probes.liveness
            && due(&spec)
        {
            let (success, count) = run(1, ProbeKind::Liveness);
            if !success && count >= spec.failure_threshold {
                restart_by = Some(ProbeKind::Liveness);
            }
        }
        if let Some(spec) = probes.readiness
            && started
            && restart_by.is_none()
            && due(&spec)
        {
            let (success, count) = run(2, ProbeKind::Readiness);
            let threshold = match success {
                true => spec.success_threshold,
                false => spec.failure_threshold,
            };
            if success != ready && count >= threshold {
                ready = success;
                let kind = match success {
                    true => EventKind::Ready,
                    false => EventKind::NotReady,
                };
                events.push(ProbeEvent::new(at, kind));
            }
        }
        if let Some(by) = restart_by {
            if ready {
                events.push(ProbeEvent::new(at, EventKind::NotReady));
            }
            events.push(ProbeEvent::new(at, EventKind::Restarted { by }));
            (container, start, started, ready) = (container + 1, at + 1, false, false);
            runs = [(false, 0); 3];
        }
    }
    Ok(events)
}
