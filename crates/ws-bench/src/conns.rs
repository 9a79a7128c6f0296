//! `ws-conns`: how much resident memory the server spends per open
//! WebSocket connection.

use std::time::{Duration, Instant};

use ws_proto::MessageKind;

use crate::args::ConnsArgs;
use crate::load::EXIT_FAILURE;
use crate::net::{SourcePlan, Target};
use crate::pool::{Pool, PoolConfig, PoolStats};
use crate::{procfs, sys};

/// Time the server gets to settle before its memory is read again.
const SETTLE: Duration = Duration::from_secs(2);
/// Time allowed for the close handshakes.
const CLOSE_TIME: Duration = Duration::from_secs(5);
/// File descriptors kept for things other than connections.
const SPARE_FDS: u64 = 32;

/// The measurement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnsReport {
    /// Connections asked for.
    pub requested: usize,
    /// Connections open when memory was read the second time.
    pub open: usize,
    /// The server's VmRSS before connecting, bytes.
    pub rss_before: u64,
    /// The server's VmRSS with the connections open, bytes.
    pub rss_after: u64,
    /// Time to open them.
    pub connect_time: Duration,
}

impl ConnsReport {
    /// Growth of the server's RSS per open connection, bytes (may be
    /// negative if the server released memory meanwhile).
    pub fn bytes_per_connection(&self) -> Option<f64> {
        (self.open > 0).then(|| (self.rss_after as f64 - self.rss_before as f64) / self.open as f64)
    }

    /// The human-readable report.
    pub fn to_text(&self) -> String {
        let per = self
            .bytes_per_connection()
            .map_or("-".into(), |b| format!("{b:.0} B ({:.1} KiB)", b / 1024.0));
        format!(
            "connections open   {} of {} (opened in {:.2} s)\n\
             server RSS before  {} B ({:.1} MiB)\n\
             server RSS after   {} B ({:.1} MiB)\n\
             per connection     {per}\n",
            self.open,
            self.requested,
            self.connect_time.as_secs_f64(),
            self.rss_before,
            mib(self.rss_before),
            self.rss_after,
            mib(self.rss_after),
        )
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Hints for failed connects.
fn failure_hints(stats: &PoolStats, server_pid: u32) -> Vec<String> {
    let mut hints = Vec::new();
    if stats.out_of_files > 0 {
        hints.push(
            "this process ran out of file descriptors (EMFILE/ENFILE): raise the hard \
             limit (ulimit -Hn, or /etc/security/limits.conf) or open fewer connections"
                .to_owned(),
        );
    }
    if stats.setup_failures > stats.out_of_files || stats.errors > stats.setup_failures {
        hints.push(format!(
            "if the server hit its own open-file limit (EMFILE on accept), raise it, e.g. \
             `prlimit --pid {server_pid} --nofile=HARD:HARD` or `ulimit -n` before starting it"
        ));
    }
    hints
}

/// Run the probe, printing as it goes; returns the exit status.
pub fn run(args: &ConnsArgs) -> Result<i32, String> {
    let pid = args.server_pid;
    let target = Target::from_url(&args.url)?;
    let limit = sys::raise_nofile_limit().map_err(|e| format!("open-file limit: {e}"))?;
    println!(
        "ws-conns: own open-file limit {} (was {}, hard {})",
        limit.after, limit.before, limit.hard
    );
    if args.connections as u64 + SPARE_FDS > limit.after {
        return Err(format!(
            "{} connections need more file descriptors than this process may open ({}); \
             raise the hard limit first",
            args.connections, limit.after
        ));
    }
    match procfs::nofile_limit(pid) {
        Ok((soft, _)) if (args.connections as u64).saturating_add(SPARE_FDS) > soft => println!(
            "ws-conns: warning: the server's open-file limit is {soft}; raise it \
             (prlimit --pid {pid} --nofile=N:N) or its accepts will fail with EMFILE"
        ),
        Ok(_) => {}
        Err(err) => println!("ws-conns: cannot read the server's limits: {err}"),
    }
    let ports = procfs::local_port_range()
        .map(|(low, high)| usize::from(high - low) + 1)
        .unwrap_or(28_232);
    let sources = SourcePlan::new(args.connections, target.addr, ports)?;
    if sources.sources() > 0 {
        println!(
            "ws-conns: spreading connections over {} source addresses 127.0.0.1..",
            sources.sources()
        );
    }
    let rss_before = procfs::vmrss(pid).map_err(|e| format!("server pid {pid}: {e}"))?;

    let mut pool = Pool::new(PoolConfig {
        target,
        payload: Vec::new(),
        kind: MessageKind::Binary,
        in_flight: 0,
        sources,
        raw: false,
    })
    .map_err(|e| format!("poll: {e}"))?;
    let io = |e: std::io::Error| format!("event loop: {e}");
    let connect_time = pool
        .connect(args.connections, args.concurrency, args.connect_timeout)
        .map_err(io)?;
    pool.run_until(Instant::now() + SETTLE).map_err(io)?;
    let rss_after = procfs::vmrss(pid).map_err(|e| format!("server pid {pid}: {e}"))?;
    let report = ConnsReport {
        requested: args.connections,
        open: pool.open_now(),
        rss_before,
        rss_after,
        connect_time,
    };
    print!("{}", report.to_text());
    let stats = pool.stats().clone();
    if stats.errors > 0 {
        println!(
            "failures           {} ({} before the handshake completed, {} timed out, {} not attempted)",
            stats.errors, stats.setup_failures, stats.timed_out, stats.not_attempted
        );
        for hint in failure_hints(&stats, pid) {
            println!("hint: {hint}");
        }
    }

    if !args.hold.is_zero() {
        println!("holding for {:.1} s", args.hold.as_secs_f64());
        pool.run_until(Instant::now() + args.hold).map_err(io)?;
        let lost = report.open.saturating_sub(pool.open_now());
        if lost > 0 {
            println!("{lost} connections were lost while holding");
        }
    }
    let open = pool.open_now();
    pool.close_all(CLOSE_TIME).map_err(io)?;
    let stats = pool.stats();
    println!(
        "closed             {} with a close handshake, {} without an answer or failed",
        stats.closed_cleanly, stats.close_problems
    );
    let clean = report.open == args.connections && open == report.open && stats.errors == 0;
    Ok(if clean { 0 } else { EXIT_FAILURE })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_connection_growth() {
        let report = ConnsReport {
            requested: 200,
            open: 200,
            rss_before: 1 << 20,
            rss_after: (1 << 20) + 200 * 10_000,
            connect_time: Duration::from_millis(50),
        };
        assert_eq!(report.bytes_per_connection(), Some(10_000.0));
        let text = report.to_text();
        assert!(
            text.contains("per connection     10000 B (9.8 KiB)"),
            "{text}"
        );
        let none = ConnsReport { open: 0, ..report };
        assert_eq!(none.bytes_per_connection(), None);
    }

    #[test]
    fn hints_name_the_culprit() {
        let ours = PoolStats {
            errors: 3,
            setup_failures: 3,
            out_of_files: 3,
            ..PoolStats::default()
        };
        let hints = failure_hints(&ours, 7);
        assert_eq!(hints.len(), 1);
        assert!(hints[0].contains("this process"));
        let theirs = PoolStats {
            errors: 3,
            setup_failures: 3,
            timed_out: 3,
            ..PoolStats::default()
        };
        let hints = failure_hints(&theirs, 7);
        assert_eq!(hints.len(), 1);
        assert!(hints[0].contains("--pid 7"));
    }
}
