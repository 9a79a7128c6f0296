//! Interop with a foreign implementation: Python's `websockets` package,
//! which negotiates permessage-deflate by default, in both directions.
//!
//! Needs `python3 -m pip install websockets==15.0.1`, so the tests are
//! ignored by a plain `cargo test`; CI's `interop` stage installs it and
//! runs them with `-- --ignored`. Run that way without the package, they
//! fail and say what to install.

use std::time::Duration;

use ws_std::Message;
use ws_test_support::{PkiFiles, TestPki};
use ws_tests::peer::{python, require_python, run_within, Peer};
use ws_tests::servers::EchoServer;

/// The Python echo server (`python_peer.py server`), killed on drop.
struct PythonServer {
    _peer: Peer,
    url: String,
}

impl PythonServer {
    fn start() -> PythonServer {
        PythonServer::with_args(&["server"])
    }

    /// The Python echo server over TLS with `files`' certificate.
    fn start_tls(files: &PkiFiles) -> PythonServer {
        let (cert, key) = (files.cert(), files.key());
        PythonServer::with_args(&["server", "--tls", path(&cert), path(&key)])
    }

    fn with_args(args: &[&str]) -> PythonServer {
        let mut peer = Peer::spawn(
            "the Python echo server",
            &mut python("python_peer.py", args),
        );
        let line = peer.line_within(Duration::from_secs(20));
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the peer: {line:?}"))
            .to_owned();
        PythonServer { _peer: peer, url }
    }
}

/// Run the Python client against `url` (bounded in time); its JSON report.
fn python_client(url: &str) -> String {
    python_client_with(&["client", url])
}

fn python_client_with(args: &[&str]) -> String {
    run_within(
        "the Python client",
        &mut python("python_peer.py", args),
        Duration::from_secs(60),
    )
}

fn path(path: &std::path::Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
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
#[ignore = "needs python3 with websockets 15 (pip install websockets==15.0.1); CI runs it"]
fn ws_std_client_and_python_server_agree_with_compression() {
    require_python();
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
#[ignore = "needs python3 with websockets 15 (pip install websockets==15.0.1); CI runs it"]
fn python_client_and_ws_std_server_agree_with_compression() {
    require_python();
    let server = EchoServer::ws_std(ws_std::Config::default());
    assert_python_client_report(&python_client(&server.url));
    server.stop();
}

#[test]
#[ignore = "needs python3 with websockets 15 (pip install websockets==15.0.1); CI runs it"]
fn python_client_and_ws_mio_server_agree_with_compression() {
    require_python();
    let server = EchoServer::ws_mio(ws_mio::Config::default());
    assert_python_client_report(&python_client(&server.url));
    server.stop();
}

#[test]
#[ignore = "needs python3 with websockets 15 (pip install websockets==15.0.1); CI runs it"]
fn ws_std_client_and_python_wss_server_agree_with_compression() {
    require_python();
    let pki = TestPki::new(&["127.0.0.1"]);
    let files = pki.write();
    let server = PythonServer::start_tls(&files);
    assert!(server.url.starts_with("wss://"), "{}", server.url);
    let tls = ws_std::tls::client_config_trusting(pki.ca_pem.as_bytes()).unwrap();
    let config = ws_std::Config::default().tls(tls);
    let mut ws = ws_std::connect_with_config(&server.url, &config).expect("connect over TLS");
    assert!(ws.get_ref().is_tls());
    assert!(
        ws.compression().is_some(),
        "permessage-deflate was not negotiated"
    );
    for message in interop_messages() {
        ws.send(&message).unwrap();
        assert!(ws.recv().unwrap() == message, "echo differs");
    }
    ws.close().unwrap();
}

#[test]
#[ignore = "needs python3 with websockets 15 (pip install websockets==15.0.1); CI runs it"]
fn python_client_and_ws_std_wss_server_agree_with_compression() {
    require_python();
    let pki = TestPki::new(&["localhost"]);
    let files = pki.write();
    let tls = ws_std::tls::server_config(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes()).unwrap();
    python_wss_client_against(
        EchoServer::ws_std_tls(ws_std::Config::default(), tls),
        &files,
    );
}

/// The Python client over `wss://`, trusting the test CA in `files`,
/// against `server`: its report must be clean.
fn python_wss_client_against(server: EchoServer, files: &PkiFiles) {
    let ca = files.ca();
    assert_python_client_report(&python_client_with(&[
        "client",
        &server.url,
        "--ca",
        path(&ca),
    ]));
    server.stop();
}

#[test]
#[ignore = "needs python3 with websockets 15 (pip install websockets==15.0.1); CI runs it"]
fn python_client_and_ws_tokio_server_agree_with_compression() {
    require_python();
    let server = EchoServer::ws_tokio(ws_tokio::Config::default());
    assert_python_client_report(&python_client(&server.url));
    server.stop();
}

#[test]
#[ignore = "needs python3 with websockets 15 (pip install websockets==15.0.1); CI runs it"]
fn ws_tokio_client_and_python_server_agree_with_compression() {
    require_python();
    let server = PythonServer::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let talk = async {
            let mut ws = ws_tokio::connect(&server.url)
                .await
                .expect("connect to the Python server");
            assert!(
                ws.compression().is_some(),
                "permessage-deflate was not negotiated"
            );
            for message in interop_messages() {
                ws.send(message.clone()).await.unwrap();
                let echo = ws.recv().await.expect("an echo").unwrap();
                assert!(echo == message, "echo differs");
            }
            ws.close(ws_tokio::CloseCode::NORMAL, "").await.unwrap();
        };
        tokio::time::timeout(Duration::from_secs(60), talk)
            .await
            .expect("the exchange took over 60 s");
    });
}

#[test]
#[ignore = "needs python3 with websockets 15 (pip install websockets==15.0.1); CI runs it"]
fn python_client_and_ws_mio_wss_server_agree_with_compression() {
    require_python();
    let pki = TestPki::new(&["localhost"]);
    let files = pki.write();
    let tls = ws_mio::tls::server_config(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes()).unwrap();
    python_wss_client_against(
        EchoServer::ws_mio_tls(ws_mio::Config::default(), tls),
        &files,
    );
}
