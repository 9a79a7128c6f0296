//! Upgrade requests that a proxy and the server could read two ways,
//! against both echo servers (`ws_std::WsServer::run_echo` and
//! `ws_mio::Server` with `Echo`), each scenario written once over
//! [`TestServer`] and run for both: a request that declares a body (which
//! the server would otherwise read as frames), repeated singleton headers,
//! and an asterisk target all get a 400 and nothing else. One more test puts
//! the ws-std client against a hand-made server that repeats
//! `Sec-WebSocket-Accept`.
//!
//! Every scenario ends with a fresh, well-behaved client getting its echo
//! and the server thread returning without a panic.

// Shared with hostile.rs; this file uses only the servers and raw clients.
#[allow(dead_code)]
mod common;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use ws_proto::HandshakeError;

/// The masked text frame "SMUGGLED" (mask 01 02 03 04), 14 bytes.
const SMUGGLED_FRAME: [u8; 14] = [
    0x81, 0x88, 0x01, 0x02, 0x03, 0x04, 0x52, 0x4f, 0x56, 0x43, 0x46, 0x4e, 0x46, 0x40,
];

/// How long a test waits for the server to close after its refusal.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Everything the peer sends until it closes the stream, within `limit`
/// and at most 64 KiB; the flag says whether the end of the stream (or a
/// reset) was seen.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let deadline = Instant::now() + limit;
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    while received.len() < 64 * 1024 {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return (received, false);
        };
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match stream.read(&mut chunk) {
            Ok(0) => return (received, true),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(err) if is_timeout(&err) => return (received, false),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return (received, true),
        }
    }
    (received, false)
}

/// Sends `request` in one write and checks that the server answers 400,
/// sends nothing after the refusal's body (no 101, no echoed frame), and
/// closes the connection.
fn assert_refused_with_400<S: TestServer>(server: &S, request: &[u8], what: &str) {
    let mut stream = tcp(server.addr());
    stream.write_all(request).expect("write the request");
    let (received, closed) = read_until_closed(&mut stream, CLOSE_WAIT);
    let text = String::from_utf8_lossy(&received);
    assert!(
        text.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{} ({what}): expected 400, got {text:?}",
        S::NAME
    );
    assert!(
        !text.contains("101") && !text.contains("SMUGGLED"),
        "{} ({what}): more than a refusal: {text:?}",
        S::NAME
    );
    let (head, body) = text.split_once("\r\n\r\n").expect("a whole response");
    let length = format!("Content-Length: {}", body.len());
    assert!(
        head.lines().any(|line| line == length),
        "{} ({what}): bytes after the refusal's body: {text:?}",
        S::NAME
    );
    assert!(
        closed,
        "{} ({what}): the connection stays open after the 400",
        S::NAME
    );
}

// ---------------------------------------------------------------------
// Finding 6: a body on the upgrade request.
// ---------------------------------------------------------------------

fn content_length_body_is_refused_with_400_and_not_echoed<S: TestServer>() {
    let _serial = serial();
    let server = S::start();
    let mut request = upgrade_request(server.addr(), "Content-Length: 14\r\n").into_bytes();
    request.extend_from_slice(&SMUGGLED_FRAME);
    assert_refused_with_400(&server, &request, "Content-Length: 14 and a frame");
    finish(server);
}

fn chunked_body_is_refused_with_400<S: TestServer>() {
    let _serial = serial();
    let server = S::start();
    let mut request = upgrade_request(server.addr(), "Transfer-Encoding: chunked\r\n").into_bytes();
    request.extend_from_slice(b"e\r\n");
    request.extend_from_slice(&SMUGGLED_FRAME);
    request.extend_from_slice(b"\r\n0\r\n\r\n");
    assert_refused_with_400(&server, &request, "Transfer-Encoding: chunked");
    finish(server);
}

// ---------------------------------------------------------------------
// Finding 7: repeated singleton headers and an asterisk target.
// ---------------------------------------------------------------------

fn duplicate_host_is_refused_with_400<S: TestServer>() {
    let _serial = serial();
    let server = S::start();
    let request = upgrade_request(server.addr(), "Host: evil.example\r\n");
    assert_refused_with_400(&server, request.as_bytes(), "a second Host");
    finish(server);
}

fn duplicate_version_is_refused_with_400<S: TestServer>() {
    let _serial = serial();
    let server = S::start();
    let request = upgrade_request(server.addr(), "Sec-WebSocket-Version: 8\r\n");
    assert_refused_with_400(&server, request.as_bytes(), "a second version");
    finish(server);
}

fn asterisk_target_is_refused_with_400<S: TestServer>() {
    let _serial = serial();
    let server = S::start();
    let request = upgrade_request(server.addr(), "").replacen("GET / ", "GET * ", 1);
    assert!(request.starts_with("GET * HTTP/1.1\r\n"));
    assert_refused_with_400(&server, request.as_bytes(), "GET *");
    finish(server);
}

/// Not a finding: an absolute-form target is still upgraded.
fn absolute_form_target_is_upgraded<S: TestServer>() {
    let _serial = serial();
    let server = S::start();
    let addr = server.addr();
    let request = upgrade_request(addr, "").replacen("GET / ", &format!("GET ws://{addr}/ "), 1);
    let mut stream = tcp(addr);
    stream.write_all(request.as_bytes()).expect("write");
    let head = read_http_head(&mut stream);
    assert!(
        head.starts_with("HTTP/1.1 101"),
        "{}: absolute-form target not upgraded: {head:?}",
        S::NAME
    );
    drop(stream);
    finish(server);
}

// ---------------------------------------------------------------------
// The client: a 101 that repeats Sec-WebSocket-Accept.
// ---------------------------------------------------------------------

/// A hand-made server for one client: answers its upgrade request with a
/// 101 carrying the right `Sec-WebSocket-Accept` and then a wrong one,
/// waits (bounded) for the client to hang up, and returns the request head.
fn server_with_two_accept_headers() -> (String, JoinHandle<io::Result<String>>) {
    let wrong = "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n";
    one_client_server(wrong, |stream, head| {
        // The client hangs up; what it sends on the way does not matter.
        let _ = read_until_closed(stream, IO_TIMEOUT);
        Ok(head)
    })
}

#[test]
fn ws_std_client_refuses_two_accept_headers() {
    let _serial = serial();
    let (url, server) = server_with_two_accept_headers();
    let err = match ws_std::connect_with_config(&url, &client_config()) {
        Ok(_) => panic!("the client accepted a 101 with two Sec-WebSocket-Accept headers"),
        Err(err) => err,
    };
    assert!(
        matches!(
            err,
            ws_std::Error::Handshake(HandshakeError::DuplicateHeader("Sec-WebSocket-Accept"))
        ),
        "{err:?}"
    );
    let head = join_within(server, JOIN_TIMEOUT, "fake server").expect("the client's request");
    assert!(head.starts_with("GET / HTTP/1.1\r\n"), "{head:?}");
}

// ---------------------------------------------------------------------
// Both servers.
// ---------------------------------------------------------------------

/// A module of `#[test]`s running each named scenario against `$server`.
macro_rules! against {
    ($module:ident, $server:ty, [$($scenario:ident),* $(,)?]) => {
        mod $module {
            $(
                #[test]
                fn $scenario() {
                    super::$scenario::<$server>();
                }
            )*
        }
    };
}

against!(
    std_server,
    super::StdServer,
    [
        content_length_body_is_refused_with_400_and_not_echoed,
        chunked_body_is_refused_with_400,
        duplicate_host_is_refused_with_400,
        duplicate_version_is_refused_with_400,
        asterisk_target_is_refused_with_400,
        absolute_form_target_is_upgraded,
    ]
);

against!(
    mio_server,
    super::MioServer,
    [
        content_length_body_is_refused_with_400_and_not_echoed,
        chunked_body_is_refused_with_400,
        duplicate_host_is_refused_with_400,
        duplicate_version_is_refused_with_400,
        asterisk_target_is_refused_with_400,
        absolute_form_target_is_upgraded,
    ]
);
