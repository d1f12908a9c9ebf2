//! The memory monitor: this process's RSS and VMS and its share of RAM, read with sysinfo
//! (`/proc` on Linux). Logged in one recognisable format at start-up, after `getMe`, after the
//! server listens, at shutdown and by the hourly cleanup, which also returns freed heap to the OS.

use std::fmt;

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use crate::units::human_size;

/// One reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryReport {
    pub rss: u64,
    pub vms: u64,
    pub total_ram: u64,
}

impl MemoryReport {
    /// RSS as a percentage of the machine's RAM.
    pub fn ram_percent(&self) -> f64 {
        if self.total_ram == 0 { 0.0 } else { self.rss as f64 * 100.0 / self.total_ram as f64 }
    }
}

impl fmt::Display for MemoryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rss {}, vms {}, {:.1}% of ram", human_size(self.rss), human_size(self.vms), self.ram_percent())
    }
}

/// Reads this process's memory. Holds one sysinfo `System` that tracks only our pid.
pub struct Monitor {
    sys: System,
    pid: Pid,
}

impl Monitor {
    /// `None` where sysinfo cannot read processes (then memory figures are simply absent).
    pub fn new() -> Option<Monitor> {
        let mut sys = System::new().ok()?;
        sys.refresh_memory();
        let pid = sysinfo::get_current_pid().ok()?;
        Some(Monitor { sys, pid })
    }

    pub fn sample(&mut self) -> Option<MemoryReport> {
        let kind = ProcessRefreshKind::nothing().with_memory().without_tasks();
        self.sys.refresh_processes_specifics(ProcessesToUpdate::Some(&[self.pid]), true, kind);
        let p = self.sys.process(self.pid)?;
        Some(MemoryReport { rss: p.memory(), vms: p.virtual_memory(), total_ram: self.sys.total_memory() })
    }

    /// Logs `memory (<when>): rss …, vms …, …% of ram` at info.
    pub fn log(&mut self, when: &str) {
        match self.sample() {
            Some(r) => {
                log::info!("memory ({when}): {r}");
                crate::event::emit(crate::event::Event::MemoryReport { when });
            }
            None => log::warn!("memory ({when}): cannot read this process's memory"),
        }
    }
}

/// Free space for us on the file system holding `dir` (sysinfo's disk list: the mount point
/// that is the longest prefix of the canonical path); `None` where it cannot tell.
pub fn free_disk(dir: &std::path::Path) -> Option<u64> {
    let dir = std::fs::canonicalize(dir).ok()?;
    let disks =
        sysinfo::Disks::new_with_refreshed_list_specifics(sysinfo::DiskRefreshKind::nothing().with_storage()).ok()?;
    disks
        .iter()
        .filter(|d| dir.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
        .map(|d| d.available_space())
}

/// Returns freed heap pages to the OS where the allocator keeps them (glibc); true if it did.
pub fn trim_heap() -> bool {
    super::trim::malloc_trim()
}

/// Sets the allocator up for a long-running single-threaded server (glibc; nothing elsewhere).
pub fn tune_allocator() {
    super::trim::tune_allocator();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_reads_in_one_line() {
        let r = MemoryReport { rss: 3 * 1024 * 1024, vms: 12 * 1024 * 1024, total_ram: 1024 * 1024 * 1024 };
        assert_eq!(r.to_string(), "rss 3.00 MiB, vms 12.0 MiB, 0.3% of ram");
        assert_eq!(MemoryReport { rss: 1, vms: 1, total_ram: 0 }.ram_percent(), 0.0);
    }

    #[test]
    fn this_process_can_be_read() {
        let mut m = Monitor::new().expect("sysinfo reads /proc");
        let r = m.sample().unwrap();
        assert!(r.rss > 0 && r.vms >= r.rss && r.total_ram > r.rss, "{r:?}");
    }
}
