//! `ws-load`: N connections × K messages of S bytes in flight against an
//! echo server; throughput, latency and the server's CPU time.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use ws_proto::mask::os_entropy;
use ws_proto::MessageKind;

use crate::args::LoadArgs;
use crate::net::{SourcePlan, Target};
use crate::pool::{Pool, PoolConfig, PoolStats};
use crate::{procfs, sys};

/// Connects and handshakes under way at once.
const CONNECT_CONCURRENCY: usize = 256;
/// Time allowed for the last echoes after the measurement.
const DRAIN_TIME: Duration = Duration::from_secs(2);
/// Time allowed for the close handshakes.
const CLOSE_TIME: Duration = Duration::from_secs(2);
/// File descriptors kept for things other than connections.
const SPARE_FDS: u64 = 32;

/// Exit status for a run whose echoes did not match.
pub const EXIT_MISMATCH: i32 = 1;
/// Exit status for bad arguments.
pub const EXIT_USAGE: i32 = 2;
/// Exit status for other failures.
pub const EXIT_FAILURE: i32 = 3;

/// The figures of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    /// The server's URL.
    pub url: String,
    /// Connections asked for.
    pub connections: usize,
    /// Connections whose handshake completed.
    pub established: usize,
    /// Payload bytes per message.
    pub size: usize,
    /// Messages in flight per connection.
    pub in_flight: usize,
    /// Text (true) or binary messages.
    pub text: bool,
    /// Raw TCP mode: no handshake, echoes counted in frame-length bytes.
    pub raw: bool,
    /// The warm-up asked for.
    pub warmup: Duration,
    /// The measured window as it really was.
    pub measured: Duration,
    /// Echoes received in the window.
    pub messages: u64,
    /// Payload bytes echoed in the window.
    pub payload_bytes: u64,
    /// Latency samples (echoes in the window).
    pub latency_samples: u64,
    /// Median latency, ns.
    pub p50_ns: Option<u64>,
    /// 99th percentile latency, ns.
    pub p99_ns: Option<u64>,
    /// Largest latency, ns.
    pub max_ns: Option<u64>,
    /// The server's pid, if given.
    pub server_pid: Option<u32>,
    /// The server's CPU time (user + system) in the window, seconds.
    pub server_cpu_s: Option<f64>,
    /// This process's CPU time in the window, seconds.
    pub client_cpu_s: Option<f64>,
    /// Errors and how connections ended, over the whole run.
    pub stats: PoolStats,
}

impl LoadReport {
    /// Echoes per second in the window.
    pub fn msgs_per_sec(&self) -> f64 {
        per_second(self.messages as f64, self.measured)
    }

    /// Payload MB (10^6 bytes) echoed per second.
    pub fn mb_per_sec(&self) -> f64 {
        per_second(self.payload_bytes as f64, self.measured) / 1e6
    }

    /// Echoes per second of server CPU time.
    pub fn msgs_per_server_cpu_sec(&self) -> Option<f64> {
        self.server_cpu_s
            .filter(|&cpu| cpu > 0.0)
            .map(|cpu| self.messages as f64 / cpu)
    }

    /// The exit status the run deserves: 0, [`EXIT_MISMATCH`] or
    /// [`EXIT_FAILURE`].
    pub fn exit_code(&self) -> i32 {
        if self.stats.mismatches > 0 {
            EXIT_MISMATCH
        } else if self.stats.errors > 0 || self.established < self.connections {
            EXIT_FAILURE
        } else {
            0
        }
    }

    /// One line of JSON with every figure.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        let mut field = |name: &str, value: String| {
            if out.len() > 1 {
                out.push(',');
            }
            let _ = write!(out, "{}:{value}", json_string(name));
        };
        field("url", json_string(&self.url));
        field("connections", self.connections.to_string());
        field("established", self.established.to_string());
        field("size", self.size.to_string());
        field("in_flight", self.in_flight.to_string());
        field("text", self.text.to_string());
        field("raw", self.raw.to_string());
        field("warmup_s", json_f64(Some(self.warmup.as_secs_f64()), 3));
        field("duration_s", json_f64(Some(self.measured.as_secs_f64()), 3));
        field("messages", self.messages.to_string());
        field("payload_bytes", self.payload_bytes.to_string());
        field("msgs_per_s", json_f64(Some(self.msgs_per_sec()), 1));
        field("mb_per_s", json_f64(Some(self.mb_per_sec()), 3));
        field("latency_samples", self.latency_samples.to_string());
        let us = |ns: Option<u64>| ns.map(|ns| ns as f64 / 1e3);
        field("p50_us", json_f64(us(self.p50_ns), 1));
        field("p99_us", json_f64(us(self.p99_ns), 1));
        field("max_us", json_f64(us(self.max_ns), 1));
        field("errors", self.stats.errors.to_string());
        field("mismatches", self.stats.mismatches.to_string());
        field("timed_out", self.stats.timed_out.to_string());
        field(
            "server_pid",
            self.server_pid.map_or("null".into(), |p| p.to_string()),
        );
        field("server_cpu_s", json_f64(self.server_cpu_s, 3));
        field(
            "msgs_per_server_cpu_s",
            json_f64(self.msgs_per_server_cpu_sec(), 1),
        );
        field("client_cpu_s", json_f64(self.client_cpu_s, 3));
        out.push('}');
        out
    }

    /// The human-readable report.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let kind = match (self.text, self.raw) {
            (false, false) => "binary",
            (true, false) => "text",
            (false, true) => "binary frames over raw TCP",
            (true, true) => "text frames over raw TCP",
        };
        let _ = writeln!(
            out,
            "ws-load {}: {} connections x {} B {kind}, {} in flight, {:.2} s measured after {:.2} s warmup",
            self.url,
            self.connections,
            self.size,
            self.in_flight,
            self.measured.as_secs_f64(),
            self.warmup.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "  connections  {} established of {}, {} errors ({} echo mismatches, {} timed out)",
            self.established,
            self.connections,
            self.stats.errors,
            self.stats.mismatches,
            self.stats.timed_out
        );
        let _ = writeln!(
            out,
            "  throughput   {:.0} msg/s, {:.3} MB/s of payload echoed ({} messages)",
            self.msgs_per_sec(),
            self.mb_per_sec(),
            self.messages
        );
        let _ = writeln!(
            out,
            "  latency      p50 {}, p99 {}, max {} ({} samples)",
            human_ns(self.p50_ns),
            human_ns(self.p99_ns),
            human_ns(self.max_ns),
            self.latency_samples
        );
        let window = self.measured.as_secs_f64();
        if let (Some(pid), Some(cpu)) = (self.server_pid, self.server_cpu_s) {
            let per_cpu = self
                .msgs_per_server_cpu_sec()
                .map_or("-".into(), |m| format!("{m:.0}"));
            let _ = writeln!(
                out,
                "  server cpu   {cpu:.2} s in {window:.2} s ({:.0} % of a core, pid {pid}); {per_cpu} msg per server CPU second",
                100.0 * cpu / window.max(1e-9)
            );
        }
        if let Some(cpu) = self.client_cpu_s {
            let _ = writeln!(
                out,
                "  client cpu   {cpu:.2} s ({:.0} % of a core)",
                100.0 * cpu / window.max(1e-9)
            );
        }
        out
    }
}

fn per_second(amount: f64, window: Duration) -> f64 {
    let secs = window.as_secs_f64();
    if secs > 0.0 {
        amount / secs
    } else {
        0.0
    }
}

/// A JSON string literal.
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON number with `decimals` decimals, or `null`.
fn json_f64(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "null".into(),
    }
}

/// A latency for people: µs below 10 ms, ms above.
pub fn human_ns(ns: Option<u64>) -> String {
    match ns {
        None => "-".into(),
        Some(ns) if ns < 10_000_000 => format!("{:.1} us", ns as f64 / 1e3),
        Some(ns) => format!("{:.2} ms", ns as f64 / 1e6),
    }
}

/// The payload every connection sends: random bytes, or random printable
/// ASCII for text.
pub fn make_payload(size: usize, text: bool) -> Vec<u8> {
    let mut payload = vec![0u8; size];
    os_entropy(&mut payload);
    if text {
        for byte in &mut payload {
            *byte = b' ' + *byte % 95;
        }
    }
    payload
}

/// Counters at one instant.
struct Snapshot {
    at: Instant,
    echoes: u64,
    bytes: u64,
    server_ticks: Option<u64>,
    own_ticks: Option<u64>,
}

impl Snapshot {
    fn take(pool: &Pool, server_pid: Option<u32>) -> Snapshot {
        let server_ticks = server_pid.and_then(|pid| match procfs::cpu_ticks(pid) {
            Ok(ticks) => Some(ticks),
            Err(err) => {
                eprintln!("ws-load: cannot read the server's CPU time: {err}");
                None
            }
        });
        Snapshot {
            at: Instant::now(),
            echoes: pool.echoes(),
            bytes: pool.echoed_bytes(),
            server_ticks,
            own_ticks: procfs::own_cpu_ticks().ok(),
        }
    }
}

fn tick_delta(a: Option<u64>, b: Option<u64>, hz: u64) -> Option<f64> {
    Some(b?.saturating_sub(a?) as f64 / hz as f64)
}

/// Run the benchmark. `Err` for failures that leave nothing to report.
pub fn run(args: &LoadArgs) -> Result<LoadReport, String> {
    let target = Target::from_url(&args.url)?;
    let limit = sys::raise_nofile_limit().map_err(|e| format!("open-file limit: {e}"))?;
    if args.connections as u64 + SPARE_FDS > limit.after {
        return Err(format!(
            "{} connections need more file descriptors than the limit of {} (hard limit {})",
            args.connections, limit.after, limit.hard
        ));
    }
    if let Some(pid) = args.server_pid {
        procfs::cpu_ticks(pid).map_err(|e| format!("server pid {pid}: {e}"))?;
    }
    let ports = procfs::local_port_range()
        .map(|(low, high)| usize::from(high - low) + 1)
        .unwrap_or(28_232);
    let sources = SourcePlan::new(args.connections, target.addr, ports)?;
    let kind = if args.text {
        MessageKind::Text
    } else {
        MessageKind::Binary
    };
    let mut pool = Pool::new(PoolConfig {
        target,
        payload: make_payload(args.size, args.text),
        kind,
        in_flight: args.in_flight,
        sources,
        raw: args.raw,
    })
    .map_err(|e| format!("poll: {e}"))?;
    let io = |e: std::io::Error| format!("event loop: {e}");

    let took = pool
        .connect(args.connections, CONNECT_CONCURRENCY, args.connect_timeout)
        .map_err(io)?;
    eprintln!(
        "ws-load: {} of {} connections open in {:.2} s",
        pool.established(),
        args.connections,
        took.as_secs_f64()
    );
    if pool.established() == 0 {
        return Err("no connection could be established".into());
    }

    pool.start_sending();
    pool.run_until(Instant::now() + args.warmup).map_err(io)?;
    let before = Snapshot::take(&pool, args.server_pid);
    pool.set_recording(true);
    pool.run_until(before.at + args.duration).map_err(io)?;
    pool.set_recording(false);
    let after = Snapshot::take(&pool, args.server_pid);

    pool.stop_sending();
    pool.run_while(Instant::now() + DRAIN_TIME, |p| p.outstanding() > 0)
        .map_err(io)?;
    pool.close_all(CLOSE_TIME).map_err(io)?;

    let hz = sys::clock_ticks_per_second();
    let hist = pool.histogram();
    Ok(LoadReport {
        url: args.url.clone(),
        connections: args.connections,
        established: pool.established(),
        size: args.size,
        in_flight: args.in_flight,
        text: args.text,
        raw: args.raw,
        warmup: args.warmup,
        measured: after.at.saturating_duration_since(before.at),
        messages: after.echoes - before.echoes,
        payload_bytes: after.bytes - before.bytes,
        latency_samples: hist.len(),
        p50_ns: (!hist.is_empty()).then(|| hist.value_at_quantile(0.50)),
        p99_ns: (!hist.is_empty()).then(|| hist.value_at_quantile(0.99)),
        max_ns: (!hist.is_empty()).then(|| hist.max()),
        server_pid: args.server_pid,
        server_cpu_s: tick_delta(before.server_ticks, after.server_ticks, hz),
        client_cpu_s: tick_delta(before.own_ticks, after.own_ticks, hz),
        stats: pool.stats().clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LoadReport {
        LoadReport {
            url: "ws://127.0.0.1:9001/\"q\"".into(),
            connections: 10,
            established: 10,
            size: 20,
            in_flight: 1,
            text: false,
            raw: false,
            warmup: Duration::from_secs(1),
            measured: Duration::from_secs(2),
            messages: 1000,
            payload_bytes: 20_000,
            latency_samples: 1000,
            p50_ns: Some(12_345),
            p99_ns: Some(99_000),
            max_ns: None,
            server_pid: Some(42),
            server_cpu_s: Some(0.5),
            client_cpu_s: None,
            stats: PoolStats::default(),
        }
    }

    #[test]
    fn rates() {
        let r = sample();
        assert_eq!(r.msgs_per_sec(), 500.0);
        assert_eq!(r.mb_per_sec(), 0.01);
        assert_eq!(r.msgs_per_server_cpu_sec(), Some(2000.0));
        assert_eq!(r.exit_code(), 0);
    }

    #[test]
    fn exit_codes() {
        let mut r = sample();
        r.established = 9;
        assert_eq!(r.exit_code(), EXIT_FAILURE);
        r.stats.mismatches = 1;
        assert_eq!(r.exit_code(), EXIT_MISMATCH);
    }

    #[test]
    fn json_line() {
        let json = sample().to_json();
        assert!(json.starts_with("{\"url\":\"ws://127.0.0.1:9001/\\\"q\\\"\","));
        assert!(json.contains("\"msgs_per_s\":500.0,"));
        assert!(json.contains("\"p50_us\":12.3,"));
        assert!(json.contains("\"max_us\":null,"));
        assert!(json.contains("\"server_pid\":42,"));
        assert!(json.contains("\"msgs_per_server_cpu_s\":2000.0,"));
        assert!(json.ends_with("\"client_cpu_s\":null}"));
        assert!(!json.contains('\n'));
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
    }

    #[test]
    fn payloads() {
        let text = make_payload(1000, true);
        assert_eq!(text.len(), 1000);
        assert!(text.iter().all(|b| (b' '..=b'~').contains(b)));
        assert_eq!(make_payload(0, false), Vec::<u8>::new());
    }

    #[test]
    fn human_latencies() {
        assert_eq!(human_ns(None), "-");
        assert_eq!(human_ns(Some(1_500)), "1.5 us");
        assert_eq!(human_ns(Some(25_000_000)), "25.00 ms");
    }
}
