//! The two system calls the tools need that std does not offer: the
//! open-file limit and the clock tick rate. The only unsafe code of the
//! crate is here.

use std::io;

/// This process's open-file limit before and after [`raise_nofile_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NofileLimit {
    /// The soft limit found.
    pub before: u64,
    /// The soft limit now in force.
    pub after: u64,
    /// The hard limit.
    pub hard: u64,
}

/// Raise this process's soft RLIMIT_NOFILE to its hard limit (or to
/// `/proc/sys/fs/nr_open` when the hard limit is unlimited).
pub fn raise_nofile_limit() -> io::Result<NofileLimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the `rlimit` it is given, which is a
    // valid, exclusively borrowed local.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let before = limit.rlim_cur;
    let hard = limit.rlim_max;
    let mut target = hard;
    if hard == libc::RLIM_INFINITY {
        // The kernel refuses soft limits above fs.nr_open.
        target = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(1 << 20);
    }
    if target > before {
        limit.rlim_cur = target;
        // SAFETY: setrlimit only reads the `rlimit` it is given, a valid local.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(NofileLimit {
        before,
        after: target.max(before),
        hard,
    })
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, 100 on Linux); the unit
/// of the CPU times in `/proc/PID/stat`.
pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf takes a plain integer and touches no caller memory.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    // Linux has used 100 since forever; fall back to it if sysconf fails.
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_is_idempotent() {
        let first = raise_nofile_limit().unwrap();
        assert!(first.after >= first.before);
        let second = raise_nofile_limit().unwrap();
        assert_eq!(second.before, first.after);
        assert_eq!(second.after, first.after);
    }

    #[test]
    fn ticks_are_positive() {
        assert!(clock_ticks_per_second() > 0);
    }
}
