//! Keepalive with foreign clients, against both of our servers (the ws-std
//! `run_echo` server and the ws-mio `Echo` server):
//!
//! - Python's `websockets` pinging every second with a 1 s pong timeout,
//!   and Node's `ws` pinging every 500 ms and failing when a pong is not
//!   back before its next ping (400 ms), stay open through 5 s of otherwise silence and echo afterwards:
//!   our servers answer pings on a quiet connection at once.
//! - Our servers' idle ping (1 s idle, 1 s for the pong) keeps a silent
//!   Python client (keepalive off) open, and drops one that stops reading
//!   within idle + pong + close timeouts, with 1001.
//!
//! The clients are `tests/interop/keepalive_client.py` and
//! `tests/interop/node/keepalive_client.js`; they print a JSON report that
//! the tests read. They need `python3 -m pip install websockets==15.0.1`
//! and `npm ci` in `tests/interop/node`, so the tests are ignored by a
//! plain `cargo test`; CI's `interop` stage runs them with `-- --ignored`.

use std::time::Duration;

use ws_tests::peer::{node, python, require_node, require_python, run_within};
use ws_tests::servers::EchoServer;

/// How long the clients stay quiet.
const IDLE: Duration = Duration::from_secs(5);
/// The longest a client run may take (idle time, start-up, the echo).
const CLIENT_LIMIT: Duration = Duration::from_secs(40);

/// Our server-side idle ping in the tests that use it: a ping after 1 s
/// of silence, 1 s for the pong, 1 s for the close handshake.
const SERVER_IDLE: Duration = Duration::from_secs(1);
const SERVER_PONG: Duration = Duration::from_secs(1);
const SERVER_CLOSE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
enum Ours {
    WsStd,
    WsMio,
}

/// `ours` with its default timers, or with the short idle ping above.
fn start(ours: Ours, short_idle_ping: bool) -> EchoServer {
    match ours {
        Ours::WsStd => {
            let mut config = ws_std::Config::default();
            if short_idle_ping {
                config = config
                    .idle_ping(Some(SERVER_IDLE))
                    .pong_timeout(Some(SERVER_PONG))
                    .close_timeout(Some(SERVER_CLOSE));
            }
            EchoServer::ws_std(config)
        }
        Ours::WsMio => {
            let mut config = ws_mio::Config::default();
            if short_idle_ping {
                config = config
                    .idle_ping(Some(SERVER_IDLE))
                    .pong_timeout(Some(SERVER_PONG))
                    .close_timeout(Some(SERVER_CLOSE));
            }
            EchoServer::ws_mio(config)
        }
    }
}

/// The raw value of `"name"` in a flat JSON object (`true`, `4`, `null`,
/// `1.5`; not for strings).
fn field<'a>(report: &'a str, name: &str) -> &'a str {
    let key = format!("\"{name}\":");
    let start = report
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in the report {report}"))
        + key.len();
    let rest = &report[start..];
    rest[..rest.find([',', '}']).unwrap_or(rest.len())].trim()
}

fn number(report: &str, name: &str) -> f64 {
    let value = field(report, name);
    value
        .parse()
        .unwrap_or_else(|_| panic!("{name} is {value}, not a number, in {report}"))
}

/// The Python keepalive client in `mode` against `url`; its report.
fn python_client(mode: &str, url: &str, seconds: Duration) -> String {
    require_python();
    let seconds = seconds.as_secs_f64().to_string();
    let report = run_within(
        &format!("the Python keepalive client ({mode})"),
        &mut python("keepalive_client.py", &[mode, url, &seconds]),
        CLIENT_LIMIT,
    );
    eprintln!("{mode}: {report}");
    report
}

/// Python pings every second (1 s pong timeout) through 5 s of silence.
fn python_pinging_client_stays_open_and_echoes(ours: Ours) {
    let server = start(ours, false);
    let report = python_client("pinging", &server.url, IDLE);
    assert_eq!(
        field(&report, "open_after_idle"),
        "true",
        "{ours:?}: the client's keepalive gave up (close 1011 means a pong came late): {report}"
    );
    assert_eq!(field(&report, "echoed"), "true", "{ours:?}: {report}");
    assert!(
        number(&report, "latency") > 0.0,
        "{ours:?}: no pong: {report}"
    );
    server.stop();
}

#[test]
#[ignore = "needs python3 with websockets 15 (pip install websockets==15.0.1); CI runs it"]
fn python_client_pinging_every_second_stays_open_on_an_idle_ws_std_server() {
    python_pinging_client_stays_open_and_echoes(Ours::WsStd);
}

#[test]
#[ignore = "needs python3 with websockets 15 (pip install websockets==15.0.1); CI runs it"]
fn python_client_pinging_every_second_stays_open_on_an_idle_ws_mio_server() {
    python_pinging_client_stays_open_and_echoes(Ours::WsMio);
}

/// Node pings every 500 ms for 5 s, each pong due within 400 ms (before
/// the next ping, which would otherwise carry a held-back pong out).
fn node_pinging_client_gets_every_pong_and_echoes(ours: Ours) {
    require_node();
    let server = start(ours, false);
    let idle_ms = IDLE.as_millis().to_string();
    let report = run_within(
        "the Node keepalive client",
        &mut node("keepalive_client.js", &[&server.url, &idle_ms]),
        CLIENT_LIMIT,
    );
    assert_eq!(field(&report, "ok"), "true", "{ours:?}: {report}");
    assert_eq!(
        field(&report, "open_after_idle"),
        "true",
        "{ours:?}: {report}"
    );
    assert_eq!(field(&report, "echoed"), "true", "{ours:?}: {report}");
    // A ping every 500 ms for 5 s; the client checked each pong's delay.
    assert!(number(&report, "pongs") >= 8.0, "{ours:?}: {report}");
    server.stop();
}

#[test]
#[ignore = "needs Node.js with ws (npm ci --no-audit --no-fund in tests/interop/node); CI runs it"]
fn node_client_pinging_every_500_ms_gets_every_pong_from_an_idle_ws_std_server() {
    node_pinging_client_gets_every_pong_and_echoes(Ours::WsStd);
}

#[test]
#[ignore = "needs Node.js with ws (npm ci --no-audit --no-fund in tests/interop/node); CI runs it"]
fn node_client_pinging_every_500_ms_gets_every_pong_from_an_idle_ws_mio_server() {
    node_pinging_client_gets_every_pong_and_echoes(Ours::WsMio);
}

/// Our idle ping keeps a client that sends nothing (and only answers
/// pings) open for 5 s.
fn idle_ping_keeps_a_silent_client_open(ours: Ours) {
    let server = start(ours, true);
    let report = python_client("silent", &server.url, IDLE);
    assert!(
        number(&report, "server_pings") >= 3.0,
        "{ours:?}: expected a ping about every {SERVER_IDLE:?} of silence: {report}"
    );
    assert_eq!(
        field(&report, "open_after_idle"),
        "true",
        "{ours:?}: {report}"
    );
    assert_eq!(field(&report, "echoed"), "true", "{ours:?}: {report}");
    server.stop();
}

#[test]
#[ignore = "needs python3 with websockets 15 (pip install websockets==15.0.1); CI runs it"]
fn ws_std_idle_ping_keeps_a_silent_python_client_open() {
    idle_ping_keeps_a_silent_client_open(Ours::WsStd);
}

#[test]
#[ignore = "needs python3 with websockets 15 (pip install websockets==15.0.1); CI runs it"]
fn ws_mio_idle_ping_keeps_a_silent_python_client_open() {
    idle_ping_keeps_a_silent_client_open(Ours::WsMio);
}

/// Our idle ping drops a client that stops reading (so answers no ping)
/// within idle + pong + close timeouts, closing with 1001.
fn idle_ping_drops_a_client_that_stops_reading(ours: Ours) {
    let server = start(ours, true);
    let budget = SERVER_IDLE + SERVER_PONG + SERVER_CLOSE;
    // Slack for the servers' timer checks (100 ms, 250 ms) and a busy CI.
    let slack = Duration::from_secs(1);
    let watch = budget + 3 * slack;
    let report = python_client("unresponsive", &server.url, watch);

    let dropped_after = field(&report, "dropped_after");
    assert_ne!(
        dropped_after, "null",
        "{ours:?}: still connected after {watch:?} without answering pings: {report}"
    );
    let dropped_after = Duration::from_secs_f64(number(&report, "dropped_after"));
    assert!(
        dropped_after >= SERVER_IDLE + SERVER_PONG,
        "{ours:?}: dropped after {dropped_after:?}, before the pong was due: {report}"
    );
    assert!(
        dropped_after <= budget + slack,
        "{ours:?}: dropped after {dropped_after:?}, over idle + pong + close = {budget:?}: {report}"
    );
    assert_eq!(field(&report, "ended"), "true", "{ours:?}: {report}");
    assert!(number(&report, "server_pings") >= 1.0, "{ours:?}: {report}");
    let code = field(&report, "close_code");
    assert!(code == "1001" || code == "null", "{ours:?}: {report}");
    server.stop();
}

#[test]
#[ignore = "needs python3 with websockets 15 (pip install websockets==15.0.1); CI runs it"]
fn ws_std_idle_ping_drops_a_python_client_that_stops_reading() {
    idle_ping_drops_a_client_that_stops_reading(Ours::WsStd);
}

#[test]
#[ignore = "needs python3 with websockets 15 (pip install websockets==15.0.1); CI runs it"]
fn ws_mio_idle_ping_drops_a_python_client_that_stops_reading() {
    idle_ping_drops_a_client_that_stops_reading(Ours::WsMio);
}
