//! This process's CPU and memory, read from `sysinfo` at each scrape, under the names every
//! Prometheus client library uses (`process_cpu_seconds_total`,
//! `process_resident_memory_bytes`, ...), so dashboards made for any process work here.
//!
//! A collector rather than stored metrics: nothing to update in between, the numbers are
//! read when Prometheus asks.

use std::sync::Mutex;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// One reading of this process.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessReading {
    /// CPU time used since it started, in seconds.
    pub cpu_seconds: f64,
    /// CPU use since the last reading, in percent of one core.
    pub cpu_percent: f64,
    /// Resident memory, in bytes.
    pub memory_bytes: u64,
    /// Virtual memory, in bytes.
    pub virtual_memory_bytes: u64,
    /// When it started, in seconds since the Unix epoch.
    pub start_time_seconds: u64,
}

/// Reads this process through `sysinfo`; a [`Collector`] that writes the readings.
#[derive(Debug)]
pub struct ProcessCollector {
    pid: Option<Pid>,
    system: Mutex<Option<System>>,
}

impl Default for ProcessCollector {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcessCollector {
    /// Starts reading this process (on a platform `sysinfo` cannot read, every reading is
    /// zero and no series is written).
    pub fn new() -> Self {
        let collector = Self {
            pid: sysinfo::get_current_pid().ok(),
            system: Mutex::new(System::new().ok()),
        };
        // A first refresh: CPU use is measured from one reading to the next.
        collector.read();
        collector
    }

    /// Registers the process metrics in `registry`, read at each scrape.
    pub fn register(self, registry: &mut Registry) {
        registry.register_collector(Box::new(self));
    }

    /// This process now, or `None` when `sysinfo` cannot read it.
    pub fn read(&self) -> Option<ProcessReading> {
        let pid = self.pid?;
        let mut system = self.system.lock().unwrap_or_else(|p| p.into_inner());
        let system = system.as_mut()?;
        system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            false,
            ProcessRefreshKind::nothing().with_cpu().with_memory(),
        );
        let process = system.process(pid)?;
        Some(ProcessReading {
            // Milliseconds from sysinfo; an f64 holds them exactly for 285 000 years.
            cpu_seconds: process.accumulated_cpu_time() as f64 / 1000.0,
            cpu_percent: f64::from(process.cpu_usage()),
            memory_bytes: process.memory(),
            virtual_memory_bytes: process.virtual_memory(),
            start_time_seconds: process.start_time(),
        })
    }
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let Some(now) = self.read() else {
            return Ok(());
        };
        let cpu = ConstCounter::new(now.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu",
            "CPU time used by this process",
            Some(&Unit::Seconds),
            cpu.metric_type(),
        )?)?;
        let gauges: [(&str, &str, Unit, f64); 3] = [
            (
                "process_resident_memory",
                "Resident memory of this process",
                Unit::Bytes,
                now.memory_bytes as f64,
            ),
            (
                "process_virtual_memory",
                "Virtual memory of this process",
                Unit::Bytes,
                now.virtual_memory_bytes as f64,
            ),
            (
                "process_start_time",
                "When this process started, since the Unix epoch",
                Unit::Seconds,
                now.start_time_seconds as f64,
            ),
        ];
        for (name, help, unit, value) in gauges {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(
                name,
                help,
                Some(&unit),
                gauge.metric_type(),
            )?)?;
        }
        // No CPU percentage: its window would depend on who scrapes how often. PromQL's
        // `rate(process_cpu_seconds_total[1m])` gives it over a window the reader picks.
        Ok(())
    }
}
