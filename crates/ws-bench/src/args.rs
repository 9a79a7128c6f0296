//! Command-line parsing for `ws-load` and `ws-conns`, by hand: `--name
//! value`, `--name=value` and boolean `--name` flags.

use std::time::Duration;

/// The outcome of parsing a command line.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed<T> {
    /// Run with these arguments.
    Run(T),
    /// `--help` or `-h` was given: print the help text and exit 0.
    Help,
}

/// Help text of `ws-load`.
pub const LOAD_HELP: &str = "\
ws-load: WebSocket echo load generator (loopback only)

USAGE:
    ws-load --url ws://127.0.0.1:9001 [OPTIONS]

Opens N connections to an echo server; each keeps K messages of S bytes in
flight: a message is sent again as soon as its echo has come back. Every
echo's opcode and length are checked, and every 64th echo of a connection is
compared byte for byte with what was sent.

OPTIONS:
    --url URL             ws:// URL of the echo server; must resolve to a
                          loopback address (required)
    --connections N       connections (default 1)
    --size S              payload bytes per message; k/KiB and m/MiB
                          suffixes are powers of 1024 (default 20)
    --in-flight K         messages in flight per connection (default 1)
    --duration D          measured time, seconds, or with an ms/s suffix
                          (default 5)
    --warmup W            unmeasured time before it (default 1)
    --text                send ASCII text messages instead of binary
    --raw                 raw TCP: no opening handshake; send the same
                          masked frame bytes and count a message each time
                          that many bytes have come back (for a plain TCP
                          echo server such as raw-tcp-echo: the physical
                          limit of the machine for this load)
    --server-pid PID      also report the server's CPU time (utime+stime
                          from /proc/PID/stat) during the measured window
    --connect-timeout T   time allowed for all connections and handshakes
                          (default 10)
    --json                print one JSON line instead of the text report
    -h, --help            print this help

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
    3 other failures (connections refused, closed or timed out; none open).
";

/// Help text of `ws-conns`.
pub const CONNS_HELP: &str = "\
ws-conns: how much server memory a WebSocket connection costs (loopback only)

USAGE:
    ws-conns --url ws://127.0.0.1:9002 --connections N --server-pid PID [OPTIONS]

Reads the server's VmRSS, opens N WebSocket connections (each completes the
opening handshake), waits 2 s, reads VmRSS again and prints the growth per
connection. Then holds the connections for --hold seconds and closes them
(close frames, then the sockets).

Past what one source address can reach with the ephemeral port range,
connections are spread over 127.0.0.1, 127.0.0.2, ... (loopback targets on
IPv4 only). The tool raises its own open-file limit to the hard limit; the
server needs a limit above N too.

OPTIONS:
    --url URL             ws:// URL of the server; must resolve to a loopback
                          address (required)
    --connections N       connections to open (required)
    --server-pid PID      the server's process id (required)
    --hold H              seconds to keep the connections open after the
                          measurement (default 0)
    --concurrency C       connects and handshakes under way at once
                          (default 256)
    --connect-timeout T   time allowed for all connections (default 60)
    -h, --help            print this help

EXIT STATUS:
    0 all connections opened, 2 bad arguments, 3 some failed or the
    server's memory could not be read.
";

/// Arguments of `ws-load`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadArgs {
    /// The echo server's `ws://` URL.
    pub url: String,
    /// Number of connections.
    pub connections: usize,
    /// Payload bytes per message.
    pub size: usize,
    /// Messages in flight per connection.
    pub in_flight: usize,
    /// Measured time.
    pub duration: Duration,
    /// Unmeasured time before the measurement.
    pub warmup: Duration,
    /// Send text messages (ASCII) instead of binary.
    pub text: bool,
    /// Raw TCP mode: no handshake, echoes counted in frame-length bytes.
    pub raw: bool,
    /// The server's process id, for its CPU time.
    pub server_pid: Option<u32>,
    /// Print one JSON line.
    pub json: bool,
    /// Time allowed to open all connections.
    pub connect_timeout: Duration,
}

/// Arguments of `ws-conns`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnsArgs {
    /// The server's `ws://` URL.
    pub url: String,
    /// Number of connections to open.
    pub connections: usize,
    /// The server's process id, for its memory.
    pub server_pid: u32,
    /// Time to keep the connections open after measuring.
    pub hold: Duration,
    /// Connects and handshakes under way at once.
    pub concurrency: usize,
    /// Time allowed to open all connections.
    pub connect_timeout: Duration,
}

/// Largest payload `ws-load` sends: the default frame limit of `ws-proto`.
pub const MAX_SIZE: usize = 16 << 20;
/// Most messages in flight per connection.
pub const MAX_IN_FLIGHT: usize = 4096;
/// Most connections `ws-load` opens.
pub const MAX_LOAD_CONNECTIONS: usize = 60_000;
/// Most connections `ws-conns` opens.
pub const MAX_PROBE_CONNECTIONS: usize = 1_000_000;
/// Longest time any of the durations may be.
pub const MAX_SECONDS: f64 = 24.0 * 3600.0;

impl LoadArgs {
    /// Parse the arguments that follow the program name.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Parsed<LoadArgs>, String> {
        const SPEC: &[(&str, bool)] = &[
            ("url", true),
            ("connections", true),
            ("size", true),
            ("in-flight", true),
            ("duration", true),
            ("warmup", true),
            ("text", false),
            ("raw", false),
            ("server-pid", true),
            ("json", false),
            ("connect-timeout", true),
        ];
        let Some(flags) = Flags::parse(args, SPEC)? else {
            return Ok(Parsed::Help);
        };
        let size = match flags.value("size") {
            Some(text) => parse_size(text).map_err(|e| format!("--size: {e}"))?,
            None => 20,
        };
        if size > MAX_SIZE {
            return Err(format!("--size: at most {MAX_SIZE} bytes"));
        }
        Ok(Parsed::Run(LoadArgs {
            url: flags.required("url")?.to_owned(),
            connections: flags.number("connections", 1, 1, MAX_LOAD_CONNECTIONS)?,
            size,
            in_flight: flags.number("in-flight", 1, 1, MAX_IN_FLIGHT)?,
            duration: flags.duration("duration", 5.0, false)?,
            warmup: flags.duration("warmup", 1.0, true)?,
            text: flags.present("text"),
            raw: flags.present("raw"),
            server_pid: flags.optional_pid("server-pid")?,
            json: flags.present("json"),
            connect_timeout: flags.duration("connect-timeout", 10.0, false)?,
        }))
    }
}

impl ConnsArgs {
    /// Parse the arguments that follow the program name.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Parsed<ConnsArgs>, String> {
        const SPEC: &[(&str, bool)] = &[
            ("url", true),
            ("connections", true),
            ("server-pid", true),
            ("hold", true),
            ("concurrency", true),
            ("connect-timeout", true),
        ];
        let Some(flags) = Flags::parse(args, SPEC)? else {
            return Ok(Parsed::Help);
        };
        flags.required("connections")?;
        Ok(Parsed::Run(ConnsArgs {
            url: flags.required("url")?.to_owned(),
            connections: flags.number("connections", 0, 1, MAX_PROBE_CONNECTIONS)?,
            server_pid: flags
                .optional_pid("server-pid")?
                .ok_or("--server-pid is required")?,
            hold: flags.duration("hold", 0.0, true)?,
            concurrency: flags.number("concurrency", 256, 1, 10_000)?,
            connect_timeout: flags.duration("connect-timeout", 60.0, false)?,
        }))
    }
}

/// The flags found on a command line, by name.
struct Flags {
    found: Vec<(&'static str, Option<String>)>,
}

impl Flags {
    /// `Ok(None)` when help was asked for.
    fn parse<I: IntoIterator<Item = String>>(
        args: I,
        spec: &[(&'static str, bool)],
    ) -> Result<Option<Flags>, String> {
        let mut found: Vec<(&'static str, Option<String>)> = Vec::new();
        let mut args = args.into_iter();
        // Each pass consumes at least one argument.
        while let Some(arg) = args.next() {
            if arg == "-h" || arg == "--help" {
                return Ok(None);
            }
            let Some(body) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument {arg:?} (see --help)"));
            };
            let (name, inline) = match body.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (body, None),
            };
            let Some(&(name, takes_value)) = spec.iter().find(|(known, _)| *known == name) else {
                return Err(format!("unknown option --{name} (see --help)"));
            };
            if found.iter().any(|(seen, _)| *seen == name) {
                return Err(format!("--{name} given twice"));
            }
            let value = match (takes_value, inline) {
                (true, Some(value)) => Some(value),
                (true, None) => Some(
                    args.next()
                        .ok_or_else(|| format!("--{name} needs a value"))?,
                ),
                (false, Some(_)) => return Err(format!("--{name} takes no value")),
                (false, None) => None,
            };
            found.push((name, value));
        }
        Ok(Some(Flags { found }))
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.found
            .iter()
            .find(|(seen, _)| *seen == name)
            .and_then(|(_, value)| value.as_deref())
    }

    fn present(&self, name: &str) -> bool {
        self.found.iter().any(|(seen, _)| *seen == name)
    }

    fn required(&self, name: &str) -> Result<&str, String> {
        self.value(name)
            .ok_or_else(|| format!("--{name} is required"))
    }

    fn number(&self, name: &str, default: usize, min: usize, max: usize) -> Result<usize, String> {
        let Some(text) = self.value(name) else {
            return Ok(default);
        };
        let n: usize = text
            .parse()
            .map_err(|_| format!("--{name}: {text:?} is not a whole number"))?;
        if n < min || n > max {
            return Err(format!("--{name}: {n} is not between {min} and {max}"));
        }
        Ok(n)
    }

    fn duration(&self, name: &str, default_s: f64, zero_ok: bool) -> Result<Duration, String> {
        let duration = match self.value(name) {
            Some(text) => parse_duration(text).map_err(|e| format!("--{name}: {e}"))?,
            None => Duration::from_secs_f64(default_s),
        };
        if duration.is_zero() && !zero_ok {
            return Err(format!("--{name} must be more than zero"));
        }
        Ok(duration)
    }

    fn optional_pid(&self, name: &str) -> Result<Option<u32>, String> {
        match self.value(name) {
            None => Ok(None),
            Some(text) => match text.parse::<u32>() {
                Ok(pid) if pid > 0 => Ok(Some(pid)),
                _ => Err(format!("--{name}: {text:?} is not a process id")),
            },
        }
    }
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

    fn load(args: &[&str]) -> Result<Parsed<LoadArgs>, String> {
        LoadArgs::parse(args.iter().map(|s| s.to_string()))
    }

    fn conns(args: &[&str]) -> Result<Parsed<ConnsArgs>, String> {
        ConnsArgs::parse(args.iter().map(|s| s.to_string()))
    }

    fn run<T>(parsed: Result<Parsed<T>, String>) -> T {
        match parsed {
            Ok(Parsed::Run(args)) => args,
            Ok(Parsed::Help) => panic!("help"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn load_defaults() {
        let args = run(load(&["--url", "ws://127.0.0.1:9001"]));
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
        let args = run(load(&[
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
        ]));
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
        assert_eq!(load(&["--connections", "3", "--help"]), Ok(Parsed::Help));
        assert_eq!(conns(&["-h"]), Ok(Parsed::Help));
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
        assert!(run(load(&["--url", "ws://h", "--warmup", "0"]))
            .warmup
            .is_zero());
    }

    #[test]
    fn conns_parsing() {
        let args = run(conns(&[
            "--url",
            "ws://127.0.0.1:9002",
            "--connections",
            "200",
            "--server-pid",
            "77",
            "--hold",
            "1.5",
        ]));
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
