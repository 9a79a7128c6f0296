//! Command lines of `ws-load` and `ws-conns` (`clap` derive), and the value
//! parsers for sizes (`k`/`KiB`, `m`/`MiB`) and durations (`ms`/`s`) that
//! they share.

use std::time::Duration;

use clap::Parser;

/// Largest payload `ws-load` sends: the default frame limit of `ws-proto`.
pub const MAX_SIZE: usize = 16 << 20;
/// Most messages in flight per connection.
pub const MAX_IN_FLIGHT: usize = 4096;
/// Most connections `ws-load` opens.
pub const MAX_LOAD_CONNECTIONS: usize = 60_000;
/// Most connections `ws-conns` opens.
pub const MAX_PROBE_CONNECTIONS: usize = 1_000_000;
/// Most connects and handshakes `ws-conns` keeps under way at once.
pub const MAX_CONCURRENCY: usize = 10_000;
/// Longest time any of the durations may be.
pub const MAX_SECONDS: f64 = 24.0 * 3600.0;

/// What `ws-load --help` says after the options.
const LOAD_AFTER_HELP: &str = "\
NOTES:
    Each connection pre-builds ONE masked frame at start-up, with a masking
    key from the OS entropy source, and re-sends the same bytes: a fixed key
    per connection, which is fine for a benchmark but not what RFC 6455
    asks of a real client (a fresh key per frame).
    Latency is measured from the moment a message is queued for sending to
    the moment its whole echo has been read; with K in flight a connection
    keeps a FIFO of send times. MB = 10^6 bytes of payload echoed.

EXIT STATUS:
    0 clean run, 1 an echo did not match what was sent, 2 bad arguments,
    3 other failures (connections refused, closed or timed out; none open).";

/// What `ws-conns --help` says after the options.
const CONNS_AFTER_HELP: &str = "\
EXIT STATUS:
    0 all connections opened, 2 bad arguments, 3 some failed or the
    server's memory could not be read.";

/// ws-load: WebSocket echo load generator (loopback only)
///
/// Opens N connections to an echo server; each keeps K messages of S bytes
/// in flight: a message is sent again as soon as its echo has come back.
/// Every echo's opcode and length are checked, and every 64th echo of a
/// connection is compared byte for byte with what was sent.
#[derive(Debug, Clone, PartialEq, Parser)]
#[command(name = "ws-load", after_help = LOAD_AFTER_HELP)]
pub struct LoadArgs {
    /// ws:// URL of the echo server; must resolve to a loopback address
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// Connections
    #[arg(long, value_name = "N", default_value = "1",
          value_parser = bounded::<1, MAX_LOAD_CONNECTIONS>)]
    pub connections: usize,
    /// Payload bytes per message; k/KiB and m/MiB suffixes are powers of 1024
    #[arg(long, value_name = "S", default_value = "20", value_parser = load_size)]
    pub size: usize,
    /// Messages in flight per connection
    #[arg(long, value_name = "K", default_value = "1",
          value_parser = bounded::<1, MAX_IN_FLIGHT>)]
    pub in_flight: usize,
    /// Measured time, seconds, or with an ms/s suffix
    #[arg(long, value_name = "D", default_value = "5", value_parser = positive_duration)]
    pub duration: Duration,
    /// Unmeasured time before it
    #[arg(long, value_name = "W", default_value = "1", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Send ASCII text messages instead of binary
    #[arg(long)]
    pub text: bool,
    /// Raw TCP: no opening handshake; send the same masked frame bytes and
    /// count a message each time that many bytes have come back (for a
    /// plain TCP echo server such as raw-tcp-echo: the physical limit of
    /// the machine for this load)
    #[arg(long)]
    pub raw: bool,
    /// Also report the server's CPU time (utime+stime from /proc/PID/stat)
    /// during the measured window
    #[arg(long, value_name = "PID", value_parser = pid)]
    pub server_pid: Option<u32>,
    /// Print one JSON line instead of the text report
    #[arg(long)]
    pub json: bool,
    /// Time allowed for all connections and handshakes
    #[arg(long, value_name = "T", default_value = "10", value_parser = positive_duration)]
    pub connect_timeout: Duration,
}

/// ws-conns: how much server memory a WebSocket connection costs (loopback only)
///
/// Reads the server's VmRSS, opens N WebSocket connections (each completes
/// the opening handshake), waits 2 s, reads VmRSS again and prints the
/// growth per connection. Then holds the connections for --hold seconds and
/// closes them (close frames, then the sockets).
///
/// Past what one source address can reach with the ephemeral port range,
/// connections are spread over 127.0.0.1, 127.0.0.2, ... (loopback targets
/// on IPv4 only). The tool raises its own open-file limit to the hard
/// limit; the server needs a limit above N too.
#[derive(Debug, Clone, PartialEq, Parser)]
#[command(name = "ws-conns", after_help = CONNS_AFTER_HELP)]
pub struct ConnsArgs {
    /// ws:// URL of the server; must resolve to a loopback address
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// Connections to open
    #[arg(long, value_name = "N", value_parser = bounded::<1, MAX_PROBE_CONNECTIONS>)]
    pub connections: usize,
    /// The server's process id
    #[arg(long, value_name = "PID", value_parser = pid)]
    pub server_pid: u32,
    /// Seconds to keep the connections open after the measurement
    #[arg(long, value_name = "H", default_value = "0", value_parser = parse_duration)]
    pub hold: Duration,
    /// Connects and handshakes under way at once
    #[arg(long, value_name = "C", default_value = "256",
          value_parser = bounded::<1, MAX_CONCURRENCY>)]
    pub concurrency: usize,
    /// Time allowed for all connections
    #[arg(long, value_name = "T", default_value = "60", value_parser = positive_duration)]
    pub connect_timeout: Duration,
}

/// A whole number from `MIN` to `MAX`.
fn bounded<const MIN: usize, const MAX: usize>(text: &str) -> Result<usize, String> {
    let n: usize = text
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number"))?;
    if !(MIN..=MAX).contains(&n) {
        return Err(format!("{n} is not between {MIN} and {MAX}"));
    }
    Ok(n)
}

/// A process id (a whole number above 0).
fn pid(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(pid) if pid > 0 => Ok(pid),
        _ => Err(format!("{text:?} is not a process id")),
    }
}

/// A payload size for `ws-load`: [`parse_size`], at most [`MAX_SIZE`].
fn load_size(text: &str) -> Result<usize, String> {
    let size = parse_size(text)?;
    if size > MAX_SIZE {
        return Err(format!("at most {MAX_SIZE} bytes"));
    }
    Ok(size)
}

/// A duration above zero: [`parse_duration`], not zero.
fn positive_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration.is_zero() {
        return Err("must be more than zero".to_owned());
    }
    Ok(duration)
}

/// Parse a byte count: digits with an optional `k`/`KiB` (1024) or
/// `m`/`MiB` (1024²) suffix, case-insensitive.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let lower = text.trim().to_ascii_lowercase();
    let (digits, unit) = match lower.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => lower.split_at(at),
        None => (lower.as_str(), ""),
    };
    let multiplier: usize = match unit.trim() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1 << 10,
        "m" | "mib" | "mb" => 1 << 20,
        other => return Err(format!("unknown unit {other:?} in {text:?}")),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size"))?;
    n.checked_mul(multiplier)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// Parse a duration: decimal seconds, with an optional `s` or `ms` suffix.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration"))?;
    let seconds = value * scale;
    if !seconds.is_finite() || !(0.0..=MAX_SECONDS).contains(&seconds) {
        return Err(format!("{text:?} is not between 0 and {MAX_SECONDS} s"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn load(args: &[&str]) -> Result<LoadArgs, clap::Error> {
        LoadArgs::try_parse_from(std::iter::once("ws-load").chain(args.iter().copied()))
    }

    fn conns(args: &[&str]) -> Result<ConnsArgs, clap::Error> {
        ConnsArgs::try_parse_from(std::iter::once("ws-conns").chain(args.iter().copied()))
    }

    #[test]
    fn definitions_are_consistent() {
        use clap::CommandFactory;
        LoadArgs::command().debug_assert();
        ConnsArgs::command().debug_assert();
    }

    #[test]
    fn load_defaults() {
        let args = load(&["--url", "ws://127.0.0.1:9001"]).unwrap();
        assert_eq!(
            args,
            LoadArgs {
                url: "ws://127.0.0.1:9001".into(),
                connections: 1,
                size: 20,
                in_flight: 1,
                duration: Duration::from_secs(5),
                warmup: Duration::from_secs(1),
                text: false,
                raw: false,
                server_pid: None,
                json: false,
                connect_timeout: Duration::from_secs(10),
            }
        );
    }

    #[test]
    fn load_all_options_both_spellings() {
        let args = load(&[
            "--url=ws://localhost:1/x",
            "--connections",
            "100",
            "--size=16KiB",
            "--in-flight",
            "16",
            "--duration",
            "2.5",
            "--warmup=500ms",
            "--text",
            "--raw",
            "--server-pid",
            "4242",
            "--json",
            "--connect-timeout=3s",
        ])
        .unwrap();
        assert_eq!(args.url, "ws://localhost:1/x");
        assert_eq!(args.connections, 100);
        assert_eq!(args.size, 16 * 1024);
        assert_eq!(args.in_flight, 16);
        assert_eq!(args.duration, Duration::from_millis(2500));
        assert_eq!(args.warmup, Duration::from_millis(500));
        assert!(args.text && args.raw && args.json);
        assert_eq!(args.server_pid, Some(4242));
        assert_eq!(args.connect_timeout, Duration::from_secs(3));
    }

    #[test]
    fn help_wins() {
        let kind = load(&["--connections", "3", "--help"]).unwrap_err().kind();
        assert_eq!(kind, ErrorKind::DisplayHelp);
        assert_eq!(conns(&["-h"]).unwrap_err().kind(), ErrorKind::DisplayHelp);
        let text = LoadArgs::try_parse_from(["ws-load", "--help"])
            .unwrap_err()
            .to_string();
        assert!(text.contains("--in-flight") && text.contains("EXIT STATUS"));
    }

    #[test]
    fn load_errors() {
        for bad in [
            &["--connections", "3"][..],                 // no url
            &["--url", "ws://h", "--connections", "0"],  // too few
            &["--url", "ws://h", "--connections", "x"],  // not a number
            &["--url", "ws://h", "--in-flight", "0"],    // too few
            &["--url", "ws://h", "--size", "17MiB"],     // too large
            &["--url", "ws://h", "--size", "3 parsecs"], // bad unit
            &["--url", "ws://h", "--duration", "0"],     // zero
            &["--url", "ws://h", "--duration", "-1"],    // negative
            &["--url", "ws://h", "--server-pid", "0"],   // not a pid
            &["--url", "ws://h", "--text=yes"],          // flag with value
            &["--url", "ws://h", "--url", "ws://h"],     // twice
            &["--url", "ws://h", "--bogus"],             // unknown
            &["--url", "ws://h", "stray"],               // positional
            &["--url"],                                  // missing value
        ] {
            assert!(load(bad).is_err(), "{bad:?} should be refused");
        }
        // A zero warmup is fine.
        assert!(load(&["--url", "ws://h", "--warmup", "0"])
            .unwrap()
            .warmup
            .is_zero());
    }

    #[test]
    fn conns_parsing() {
        let args = conns(&[
            "--url",
            "ws://127.0.0.1:9002",
            "--connections",
            "200",
            "--server-pid",
            "77",
            "--hold",
            "1.5",
        ])
        .unwrap();
        assert_eq!(args.connections, 200);
        assert_eq!(args.server_pid, 77);
        assert_eq!(args.hold, Duration::from_millis(1500));
        assert_eq!(args.concurrency, 256);
        assert_eq!(args.connect_timeout, Duration::from_secs(60));
        assert!(conns(&["--url", "ws://h", "--server-pid", "1"]).is_err());
        assert!(conns(&["--url", "ws://h", "--connections", "5"]).is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("20"), Ok(20));
        assert_eq!(parse_size("1k"), Ok(1024));
        assert_eq!(parse_size("1KiB"), Ok(1024));
        assert_eq!(parse_size("16kib"), Ok(16384));
        assert_eq!(parse_size("2M"), Ok(2 << 20));
        assert_eq!(parse_size("0"), Ok(0));
        assert!(parse_size("").is_err());
        assert!(parse_size("k").is_err());
        assert!(parse_size("1.5k").is_err());
        assert!(parse_size("99999999999999999999").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("0.25s"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("750ms"), Ok(Duration::from_millis(750)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("NaN").is_err());
        assert!(parse_duration("1e9").is_err());
    }
}
