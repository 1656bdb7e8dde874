//! Exercise 7.4: how the kubelet probes.

use super::{Check, ContainerProbes, EventKind, ProbeError, ProbeEvent, ProbeKind, ProbeSpec};

/// Results of one probe in a row: the last one, and how many there were.
#[derive(Debug, Default)]
struct Run {
    last: Option<bool>,
    count: u32,
}

impl Run {
    /// Records a result; the length of the run it is part of.
    fn record(&mut self, success: bool) -> u32 {
        if self.last == Some(success) {
            self.count += 1;
        } else {
            (self.last, self.count) = (Some(success), 1);
        }
        self.count
    }
}

/// One container: when it started and what the kubelet knows of it.
#[derive(Debug, Default)]
struct Container {
    number: u32,
    start: u64,
    started: bool,
    ready: bool,
    startup: Run,
    liveness: Run,
    readiness: Run,
}

/// Exercise 7.4: what the kubelet does to a container, second by second.
pub fn probe_events(
    probes: &ContainerProbes,
    answers: &dyn Fn(Check) -> bool,
    seconds: u64,
) -> Result<Vec<ProbeEvent>, ProbeError> {
    validate(probes)?;
    let mut events = Vec::new();
    let mut c = Container::default();
    for at in 0..seconds {
        let age = at - c.start;
        let due = |spec: &ProbeSpec| {
            age >= spec.initial_delay_seconds
                && (age - spec.initial_delay_seconds).is_multiple_of(spec.period_seconds)
        };
        let check = |probe| {
            answers(Check {
                probe,
                container: c.number,
                age,
            })
        };
        let mut restart_by = None;

        match probes.startup {
            _ if c.started => {}
            None => c.started = true,
            Some(spec) if due(&spec) => {
                let success = check(ProbeKind::Startup);
                let run = c.startup.record(success);
                c.started = success;
                if !success && run >= spec.failure_threshold {
                    restart_by = Some(ProbeKind::Startup);
                }
            }
            Some(_) => {}
        }
        if c.started && probes.readiness.is_none() && !c.ready {
            c.ready = true;
            events.push(ProbeEvent::new(at, EventKind::Ready));
        }
        if let Some(spec) = probes.liveness
            && c.started
            && due(&spec)
        {
            let success = check(ProbeKind::Liveness);
            let run = c.liveness.record(success);
            if !success && run >= spec.failure_threshold {
                restart_by = Some(ProbeKind::Liveness);
            }
        }
        if let Some(spec) = probes.readiness
            && c.started
            && restart_by.is_none()
            && due(&spec)
        {
            let success = check(ProbeKind::Readiness);
            let run = c.readiness.record(success);
            let threshold = match success {
                true => spec.success_threshold,
                false => spec.failure_threshold,
            };
            if success != c.ready && run >= threshold {
                c.ready = success;
                let kind = if success {
                    EventKind::Ready
                } else {
                    EventKind::NotReady
                };
                events.push(ProbeEvent::new(at, kind));
            }
        }

        if let Some(by) = restart_by {
            if c.ready {
                events.push(ProbeEvent::new(at, EventKind::NotReady));
            }
            events.push(ProbeEvent::new(at, EventKind::Restarted { by }));
            c = Container {
                number: c.number + 1,
                start: at + 1,
                ..Container::default()
            };
        }
    }
    Ok(events)
}

/// The first probe Kubernetes would refuse.
fn validate(probes: &ContainerProbes) -> Result<(), ProbeError> {
    let all = [
        (ProbeKind::Startup, probes.startup),
        (ProbeKind::Liveness, probes.liveness),
        (ProbeKind::Readiness, probes.readiness),
    ];
    for (probe, spec) in all {
        let Some(spec) = spec else { continue };
        let reason = if spec.period_seconds == 0 {
            "periodSeconds must be at least 1"
        } else if spec.failure_threshold == 0 {
            "failureThreshold must be at least 1"
        } else if spec.success_threshold == 0 {
            "successThreshold must be at least 1"
        } else if spec.success_threshold != 1 && probe != ProbeKind::Readiness {
            "successThreshold must be 1 for a startup or liveness probe"
        } else {
            continue;
        };
        return Err(ProbeError {
            probe,
            reason: reason.to_owned(),
        });
    }
    Ok(())
}
