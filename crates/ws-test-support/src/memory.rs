//! This process's memory, from `/proc/self/status` (Linux): the servers of
//! a test run in the test's process, so these figures tell what an attack
//! costs them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::threads::join_named;
use crate::MIB;

/// A `kB` field of `/proc/self/status`, in bytes.
pub fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    field_bytes(&status, field).unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// A `kB` field of a `/proc/PID/status` text, in bytes.
fn field_bytes(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib * 1024)
}

/// Resident set size and virtual size now.
pub fn rss_and_size() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let rss = field_bytes(&status, "VmRSS").expect("VmRSS");
    let size = field_bytes(&status, "VmSize").expect("VmSize");
    (rss, size)
}

/// Watches this process's memory during an attack: a thread samples
/// VmRSS and VmSize every few milliseconds, and VmHWM (the kernel's peak
/// RSS) is reset at the start when the kernel allows it. VmSize catches
/// a large allocation that is reserved but not (yet) touched, which RSS
/// does not show.
pub struct MemWatch {
    label: String,
    baseline: (u64, u64),
    hwm_reset: bool,
    /// Highest VmRSS and VmSize sampled.
    peak: Arc<(AtomicU64, AtomicU64)>,
    done: Arc<AtomicBool>,
    sampler: Option<JoinHandle<()>>,
}

/// What a [`MemWatch`] saw.
#[derive(Debug, Clone, Copy)]
pub struct MemReport {
    /// VmRSS when the watch started.
    pub baseline: u64,
    /// The highest VmRSS seen, or VmHWM if it was reset and is higher.
    pub peak: u64,
    /// VmHWM at the end (peak since the reset, or since the process
    /// started if the reset was refused).
    pub hwm: u64,
    /// Whether VmHWM was reset at the start.
    pub hwm_reset: bool,
    /// VmSize when the watch started.
    pub virtual_baseline: u64,
    /// The highest VmSize sampled.
    pub virtual_peak: u64,
}

impl MemReport {
    /// How far the resident peak rose above the baseline.
    pub fn growth(&self) -> u64 {
        self.peak.saturating_sub(self.baseline)
    }

    /// How far the sampled virtual size rose above its baseline (new
    /// threads add their stacks and malloc arenas to it).
    pub fn virtual_growth(&self) -> u64 {
        self.virtual_peak.saturating_sub(self.virtual_baseline)
    }
}

impl MemWatch {
    /// Start watching; `label` names the figures in the test output.
    pub fn start(label: impl Into<String>) -> MemWatch {
        // "5" resets VmHWM to the current RSS (Linux 4.0 and later).
        let hwm_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        let baseline = rss_and_size();
        let peak = Arc::new((AtomicU64::new(baseline.0), AtomicU64::new(baseline.1)));
        let done = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (peak, done) = (Arc::clone(&peak), Arc::clone(&done));
            thread::Builder::new()
                .name("mem-sampler".into())
                .spawn(move || {
                    // Bounded: at most 60 s of 2 ms samples.
                    for _ in 0..30_000 {
                        if done.load(Ordering::SeqCst) {
                            break;
                        }
                        let (rss, size) = rss_and_size();
                        peak.0.fetch_max(rss, Ordering::SeqCst);
                        peak.1.fetch_max(size, Ordering::SeqCst);
                        thread::sleep(Duration::from_millis(2));
                    }
                })
                .expect("spawn the sampler")
        };
        MemWatch {
            label: label.into(),
            baseline,
            hwm_reset,
            peak,
            done,
            sampler: Some(sampler),
        }
    }

    /// Stop watching, print the figures, and return them.
    pub fn finish(mut self) -> MemReport {
        self.done.store(true, Ordering::SeqCst);
        if let Some(sampler) = self.sampler.take() {
            join_named(sampler, Duration::from_secs(5), "memory sampler");
        }
        let hwm = status_bytes("VmHWM");
        let (rss, size) = rss_and_size();
        let sampled = self.peak.0.load(Ordering::SeqCst).max(rss);
        let peak = if self.hwm_reset {
            sampled.max(hwm)
        } else {
            sampled
        };
        let report = MemReport {
            baseline: self.baseline.0,
            peak,
            hwm,
            hwm_reset: self.hwm_reset,
            virtual_baseline: self.baseline.1,
            virtual_peak: self.peak.1.load(Ordering::SeqCst).max(size),
        };
        eprintln!(
            "[memory] {}: VmRSS baseline {:.1} MiB, peak {:.1} MiB, growth {:.1} MiB; \
             VmHWM {:.1} MiB ({}); VmSize growth {:.1} MiB",
            self.label,
            mib(report.baseline),
            mib(report.peak),
            mib(report.growth()),
            mib(report.hwm),
            if report.hwm_reset {
                "reset at start"
            } else {
                "since process start"
            },
            mib(report.virtual_growth()),
        );
        report
    }
}

impl Drop for MemWatch {
    /// A test that failed half-way still stops the sampler.
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
    }
}

/// Bytes as MiB, for messages.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}
