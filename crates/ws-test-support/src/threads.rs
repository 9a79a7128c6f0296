//! Threads of a test: joined with a deadline, polled conditions, one test
//! at a time, and (on Linux) what `/proc` says about this process's
//! threads.

use std::sync::{Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Wait for `handle` at most `limit`, polling; panic if it is still
/// running, re-raise its panic if it panicked.
pub fn join_within<T>(handle: JoinHandle<T>, limit: Duration) -> T {
    join_named(handle, limit, "a test thread")
}

/// [`join_within`] with a name for the thread in the panic message.
pub fn join_named<T>(handle: JoinHandle<T>, limit: Duration, what: &str) -> T {
    let deadline = Instant::now() + limit;
    while !handle.is_finished() {
        assert!(
            Instant::now() < deadline,
            "{what}: thread still running after {limit:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
    match handle.join() {
        Ok(value) => value,
        Err(panic) => {
            eprintln!("{what}: the thread panicked");
            std::panic::resume_unwind(panic)
        }
    }
}

/// Poll `condition` every few milliseconds until it holds or `limit`
/// passes; returns whether it held.
pub fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

static SERIAL: Mutex<()> = Mutex::new(());

/// Hold this for the whole test to run the tests of one test binary one
/// at a time: memory figures and global counters are per process, and a
/// flood or a burst of connections disturbs a test running beside it. A
/// test that panicked while holding it does not block the others.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Linux: the ids of this process's threads whose name is `name` (as
/// `thread::Builder::name` sets it, cut to 15 bytes).
#[cfg(target_os = "linux")]
pub fn threads_named(name: &str) -> Vec<u32> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let Ok(entry) = entry else { continue };
        let Some(id) = entry.file_name().to_str().and_then(|id| id.parse().ok()) else {
            continue;
        };
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim_end() == name {
            ids.push(id);
        }
    }
    ids
}

/// Linux: how many times thread `id` of this process was switched out,
/// woken or preempted (`None` once it has ended).
#[cfg(target_os = "linux")]
pub fn context_switches(id: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/self/task/{id}/status")).ok()?;
    let count = |key: &str| -> Option<u64> {
        let line = status.lines().find(|line| line.starts_with(key))?;
        line[key.len()..].trim().parse().ok()
    };
    Some(count("voluntary_ctxt_switches:")? + count("nonvoluntary_ctxt_switches:")?)
}
