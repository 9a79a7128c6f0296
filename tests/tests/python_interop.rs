//! Interop with a foreign implementation: Python's `websockets` package,
//! which negotiates permessage-deflate by default, in both directions.
//!
//! Needs `python3 -m pip install websockets`. Without it the tests say so
//! and pass, unless `WS_REQUIRE_PYTHON_INTEROP` is set (CI sets it), in
//! which case they fail.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ws_std::{Message, WsServer};

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/python_peer.py");

/// Whether the Python peer can run here; panics if it cannot but must.
fn python_websockets_available() -> bool {
    let available = Command::new("python3")
        .args(["-c", "import websockets"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !available {
        assert!(
            std::env::var_os("WS_REQUIRE_PYTHON_INTEROP").is_none(),
            "python3 with the websockets package is required (pip install websockets)"
        );
        eprintln!("skipped: python3 -m pip install websockets to run the interop tests");
    }
    available
}

/// The Python echo server, killed on drop.
struct PythonServer {
    child: Child,
    url: String,
}

impl PythonServer {
    fn start() -> PythonServer {
        let mut child = Command::new("python3")
            .args([PEER, "server"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the Python peer");
        let stdout = child.stdout.take().expect("peer stdout");
        // The peer prints its address once it listens; a peer that dies
        // closes stdout and ends the read.
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the peer's address");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the peer: {line:?}"))
            .to_owned();
        PythonServer { child, url }
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run the Python client against `url` (bounded in time); its JSON report.
fn python_client(url: &str) -> String {
    let mut child = Command::new("python3")
        .args([PEER, "client", url])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the Python client");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait for the Python client") {
            let output = child.wait_with_output().expect("client output");
            let report = String::from_utf8_lossy(&output.stdout).into_owned();
            assert!(status.success(), "Python client failed: {report}");
            return report;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("Python client did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn interop_messages() -> Vec<Message> {
    let json: String = (0..300)
        .map(|i| format!("{{\"id\":{i},\"name\":\"item {i}\",\"tags\":[\"a\",\"b\"]}},"))
        .collect();
    vec![
        Message::Text("hello".into()),
        Message::Text(String::new()),
        Message::Text(json),
        Message::Text("ünïcödé ✓ ".repeat(2000)),
        Message::Binary((0..200_000u32).map(|i| (i * 7919 % 251) as u8).collect()),
        Message::Binary(vec![b'z'; 2_000_000]),
    ]
}

#[test]
fn ws_std_client_and_python_server_agree_with_compression() {
    if !python_websockets_available() {
        return;
    }
    let server = PythonServer::start();
    let mut ws = ws_std::connect(&server.url).expect("connect to the Python server");
    let params = ws.compression().copied();
    assert!(params.is_some(), "permessage-deflate was not negotiated");
    for message in interop_messages() {
        ws.send(&message).unwrap();
        assert!(ws.recv().unwrap() == message, "echo differs");
    }
    ws.close().unwrap();
}

fn assert_python_client_report(report: &str) {
    assert!(report.contains("\"ok\": true"), "{report}");
    assert!(
        report.contains("permessage-deflate"),
        "compression not negotiated: {report}"
    );
}

#[test]
fn python_client_and_ws_std_server_agree_with_compression() {
    if !python_websockets_available() {
        return;
    }
    let server = WsServer::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", server.local_addr().unwrap());
    let stop = server.stop_handle();
    let serving = std::thread::spawn(move || server.run_echo());
    assert_python_client_report(&python_client(&url));
    stop.stop();
    serving.join().unwrap().unwrap();
}

#[test]
fn python_client_and_ws_mio_server_agree_with_compression() {
    if !python_websockets_available() {
        return;
    }
    let server = ws_mio::Server::bind("127.0.0.1:0").unwrap().threads(1);
    let url = format!("ws://{}/", server.local_addr());
    let shutdown = server.shutdown_handle();
    let serving = std::thread::spawn(move || server.run(|| ws_mio::Echo));
    assert_python_client_report(&python_client(&url));
    shutdown.shutdown();
    serving.join().unwrap().unwrap();
}
