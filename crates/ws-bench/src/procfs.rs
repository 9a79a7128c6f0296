//! What `/proc` tells about a process: CPU time, resident memory, the
//! open-file limit; and the machine's ephemeral port range. Parsers take
//! the file's text so that they can be tested on samples.

use std::io;

/// User plus system CPU time of a process, in clock ticks, from the text
/// of `/proc/PID/stat` (fields 14 `utime` and 15 `stime`).
///
/// The command name (field 2) is in parentheses and may itself contain
/// spaces and parentheses, so fields are counted from the last `)`.
pub fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Field 3 (state) is the first after the name.
    let mut fields = after_name.split_whitespace().skip(14 - 3);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Resident set size in bytes, from the `VmRSS:` line of the text of
/// `/proc/PID/status` (given there in kB, that is KiB).
pub fn parse_status_vmrss(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let mut parts = line["VmRSS:".len()..].split_whitespace();
    let kib: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") => Some(kib * 1024),
        _ => None,
    }
}

/// Soft and hard "Max open files" from the text of `/proc/PID/limits`;
/// `unlimited` reads as `u64::MAX`.
pub fn parse_limits_nofile(limits: &str) -> Option<(u64, u64)> {
    let line = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?;
    let mut parts = line.split_whitespace();
    let mut limit = || -> Option<u64> {
        match parts.next()? {
            "unlimited" => Some(u64::MAX),
            n => n.parse().ok(),
        }
    };
    Some((limit()?, limit()?))
}

/// The two numbers of `/proc/sys/net/ipv4/ip_local_port_range`.
pub fn parse_port_range(text: &str) -> Option<(u16, u16)> {
    let mut parts = text.split_whitespace();
    let low: u16 = parts.next()?.parse().ok()?;
    let high: u16 = parts.next()?.parse().ok()?;
    (low <= high).then_some((low, high))
}

fn read(path: &str) -> io::Result<String> {
    std::fs::read_to_string(path)
}

fn unparsable(path: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("cannot parse {path}"))
}

/// A process's CPU time so far (utime + stime), in clock ticks.
pub fn cpu_ticks(pid: u32) -> io::Result<u64> {
    let path = format!("/proc/{pid}/stat");
    parse_stat_cpu_ticks(&read(&path)?).ok_or_else(|| unparsable(&path))
}

/// This process's CPU time so far, in clock ticks.
pub fn own_cpu_ticks() -> io::Result<u64> {
    parse_stat_cpu_ticks(&read("/proc/self/stat")?).ok_or_else(|| unparsable("/proc/self/stat"))
}

/// A process's resident set size, in bytes.
pub fn vmrss(pid: u32) -> io::Result<u64> {
    let path = format!("/proc/{pid}/status");
    parse_status_vmrss(&read(&path)?).ok_or_else(|| unparsable(&path))
}

/// A process's open-file limit (soft, hard).
pub fn nofile_limit(pid: u32) -> io::Result<(u64, u64)> {
    let path = format!("/proc/{pid}/limits");
    parse_limits_nofile(&read(&path)?).ok_or_else(|| unparsable(&path))
}

/// The ephemeral port range (low, high), inclusive.
pub fn local_port_range() -> io::Result<(u16, u16)> {
    let path = "/proc/sys/net/ipv4/ip_local_port_range";
    parse_port_range(&read(path)?).ok_or_else(|| unparsable(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "30875 (cat) R 30871 30871 27015 0 -1 4194304 101 0 0 0 \
        1234 567 0 0 20 0 1 0 108109 3133440 379 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0";

    #[test]
    fn stat_cpu_ticks() {
        assert_eq!(parse_stat_cpu_ticks(STAT), Some(1234 + 567));
    }

    #[test]
    fn stat_name_with_spaces_and_parens() {
        let stat = STAT.replace("(cat)", "(my (odd) server)");
        assert_eq!(parse_stat_cpu_ticks(&stat), Some(1801));
    }

    #[test]
    fn stat_truncated_or_garbage() {
        assert_eq!(parse_stat_cpu_ticks("1 (x) R 1 2 3"), None);
        assert_eq!(parse_stat_cpu_ticks("no parens"), None);
        assert_eq!(parse_stat_cpu_ticks(""), None);
    }

    #[test]
    fn status_vmrss() {
        let status = "Name:\techo_server\nUmask:\t0022\nState:\tS (sleeping)\n\
            VmPeak:\t  12345 kB\nVmRSS:\t    4321 kB\nRssAnon:\t    1000 kB\nThreads:\t3\n";
        assert_eq!(parse_status_vmrss(status), Some(4321 * 1024));
        assert_eq!(parse_status_vmrss("Name:\tx\n"), None);
        assert_eq!(parse_status_vmrss("VmRSS:\t12 MB\n"), None);
    }

    #[test]
    fn limits_nofile() {
        let limits =
            "Limit                     Soft Limit           Hard Limit           Units     \n\
            Max cpu time              unlimited            unlimited            seconds   \n\
            Max open files            1024                 524288               files     \n\
            Max locked memory         8388608              8388608              bytes     \n";
        assert_eq!(parse_limits_nofile(limits), Some((1024, 524_288)));
        let unlimited = limits.replace("1024   ", "unlimited");
        assert_eq!(parse_limits_nofile(&unlimited), Some((u64::MAX, 524_288)));
        assert_eq!(parse_limits_nofile("Max cpu time 1 2\n"), None);
    }

    #[test]
    fn port_range() {
        assert_eq!(parse_port_range("32768\t60999\n"), Some((32768, 60999)));
        assert_eq!(parse_port_range("2 1"), None);
        assert_eq!(parse_port_range("x"), None);
    }

    #[test]
    fn own_process_is_readable() {
        assert!(own_cpu_ticks().is_ok());
        assert!(vmrss(std::process::id()).unwrap() > 0);
        let (soft, hard) = nofile_limit(std::process::id()).unwrap();
        assert!(soft <= hard);
    }
}
