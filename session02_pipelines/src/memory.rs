//! The peak memory of a process, as the kernel counts it: the most resident memory the
//! process ever held (`VmHWM`, its "high-water mark", in `/proc/<pid>/status` on Linux).
//!
//! A batch reports its own peak, plus its worker processes' peaks: threads share one heap,
//! while each worker process has its own heap, decoded images, pipeline and thread pools.
//! (Pages of the program and its libraries are shared between processes, and counted in
//! each process's figure, so the sum somewhat overstates what processes cost.)

/// The peak resident memory of process `pid`, in bytes; `None` where the platform does not
/// tell (anything but Linux) or the process is gone.
pub fn peak_resident(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kilobytes: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kilobytes * 1024)
}

/// This process's peak resident memory, in bytes, where the platform tells.
pub fn own_peak_resident() -> Option<u64> {
    peak_resident(std::process::id())
}
