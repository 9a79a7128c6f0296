//! Findings of the hardening review, over real sockets on 127.0.0.1:
//! silent peers that would pin every connection slot, writes to a peer
//! that does not read, idle connections that must not wake, and the
//! client's error messages.

// Each test binary uses only some of the shared helpers.
#[allow(dead_code)]
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use ws_std::{connect_with_config, Config, Error};

/// A plain TCP server that accepts one connection, hands it to `body`,
/// and returns what `body` returns.
fn tcp_server<T: Send + 'static>(
    body: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> (SocketAddr, thread::JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        body(stream)
    });
    (addr, handle)
}

// ---------------------------------------------------------------------
// Finding 9 (b): the client's error messages.
// ---------------------------------------------------------------------

#[test]
fn client_handshake_timeout_says_it_timed_out_and_after_how_long() {
    // The server reads the request and never answers.
    let (addr, server) = tcp_server(|mut stream| {
        read_head(&mut stream);
        // Hold the connection until the client gives up (bounded).
        let mut sink = [0u8; 64];
        let _ = stream.read(&mut sink);
    });
    let config = Config {
        handshake_timeout: Some(Duration::from_millis(300)),
        ..config()
    };
    let started = Instant::now();
    let err = connect_with_config(&format!("ws://{addr}/"), &config)
        .expect_err("the server never answers");
    let waited = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("handshake timed out after 300 ms"),
        "{message}"
    );
    assert!(!message.contains("os error"), "{message}");
    assert!(waited < Duration::from_secs(2), "gave up after {waited:?}");
    join_within(server, JOIN_TIMEOUT);
}

#[test]
fn client_side_handshake_failure_names_no_http_status() {
    // A 101 with the accept value of another key.
    let (addr, server) = tcp_server(|mut stream| {
        read_head(&mut stream);
        stream
            .write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                  Connection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
            )
            .unwrap();
        read_until_closed(&mut stream);
    });
    let err = connect_with_config(&format!("ws://{addr}/"), &config())
        .expect_err("the accept value is wrong");
    assert!(matches!(err, Error::Handshake(_)), "{err:?}");
    let message = err.to_string();
    assert!(!message.contains("HTTP"), "{message}");
    join_within(server, JOIN_TIMEOUT);
}

#[test]
fn server_refusal_names_its_http_status() {
    let (addr, server) = tcp_server(|mut stream| {
        read_head(&mut stream);
        stream
            .write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        read_until_closed(&mut stream);
    });
    let err =
        connect_with_config(&format!("ws://{addr}/"), &config()).expect_err("the server refuses");
    assert!(matches!(err, Error::HttpStatus(503)), "{err:?}");
    assert!(err.to_string().contains("HTTP 503"), "{err}");
    join_within(server, JOIN_TIMEOUT);
}
