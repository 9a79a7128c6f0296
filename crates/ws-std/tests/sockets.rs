//! The blocking transport over real sockets on 127.0.0.1: echo, large and
//! fragmented messages, ping/pong, the close handshake both ways, peers
//! that vanish or break the protocol, handshake refusals, `ws_upgrade` with
//! bytes already read, limits, `stop`, timeouts, subprotocols and URLs;
//! pings and closes answered at once while in `recv` (and not while only
//! sending), and `run_echo`'s idle ping.

mod common;

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use ws_std::{
    accept, connect, connect_with_config, ws_upgrade, CloseCode, Error, Frame, Message,
    MessageKind, OpCode, OwnedFrame, Role, State, Stream, WsServer,
};

#[test]
fn echo_server_returns_text_and_binary_messages() {
    let server = EchoServer::start(WsServer::bind("127.0.0.1:0").unwrap());
    let mut ws = client(&server.url);

    ws.send_text("hello, world").unwrap();
    assert_eq!(ws.recv().unwrap(), Message::Text("hello, world".into()));
    let bytes = [0u8, 1, 2, 0xfe, 0xff];
    ws.send_binary(&bytes).unwrap();
    assert_eq!(ws.recv().unwrap(), Message::Binary(bytes.to_vec()));
    ws.send(&Message::Text(String::new())).unwrap();
    assert_eq!(ws.recv().unwrap(), Message::Text(String::new()));

    ws.close().unwrap();
    assert_eq!(ws.state(), State::Closed);
    server.stop_and_join().unwrap();
}

#[test]
fn sixteen_mib_binary_message_is_echoed_intact() {
    // Compressing and inflating 16 MiB in a debug build on a loaded
    // machine can take longer than the test config's 3 s read timeout,
    // which run_echo applies between whole messages.
    let config = config().read_timeout(Some(Duration::from_secs(60)));
    let server =
        EchoServer::start(WsServer::bind_with_config("127.0.0.1:0", config.clone()).unwrap());
    // The client waits as long for the echo, which the server compresses
    // whole before it writes a byte.
    let mut ws = connect_with_config(&server.url, &config).expect("connect");
    let payload = pattern(16 << 20);

    ws.send_binary(&payload).unwrap();
    match ws.recv().unwrap() {
        Message::Binary(echoed) => {
            assert_eq!(echoed.len(), payload.len());
            // Not assert_eq!: a failure would print 32 MiB.
            assert!(echoed == payload, "the echoed bytes differ");
        }
        Message::Text(_) => panic!("binary sent, text echoed"),
    }

    ws.close().unwrap();
    server.stop_and_join().unwrap();
}

#[test]
fn fragmented_message_is_echoed_whole() {
    let server = EchoServer::with_test_config();
    let mut ws = client(&server.url);

    ws.send_fragmented(MessageKind::Text, &[b"Hel", b"lo, ", b"", b"world"])
        .unwrap();
    assert_eq!(ws.recv().unwrap(), Message::Text("Hello, world".into()));
    ws.send_fragmented(MessageKind::Binary, &[&[1, 2], &[3]])
        .unwrap();
    assert_eq!(ws.recv().unwrap(), Message::Binary(vec![1, 2, 3]));

    ws.close().unwrap();
    server.stop_and_join().unwrap();
}

#[test]
fn fragments_arrive_as_text_and_continuation_frames() {
    let server = with_connection(config(), |mut ws| {
        let frames: Vec<_> = (0..3).map(|_| ws.recv_frame().unwrap()).collect();
        ws.send_text("got them").unwrap();
        frames
    });
    let mut ws = client(&server.url());

    // A UTF-8 character split across two fragments is fine.
    let snowman = "\u{2603}".as_bytes();
    ws.send_fragmented(
        MessageKind::Text,
        &[b"one ", &[b'x', snowman[0]], &snowman[1..]],
    )
    .unwrap();
    assert_eq!(ws.recv().unwrap(), Message::Text("got them".into()));

    let frames = server.join();
    let seen: Vec<_> = frames
        .iter()
        .map(|frame| (frame.opcode, frame.fin, frame.payload.as_slice()))
        .collect();
    assert_eq!(
        seen,
        [
            (OpCode::Text, false, &b"one "[..]),
            (OpCode::Continuation, false, &[b'x', snowman[0]][..]),
            (OpCode::Continuation, true, &snowman[1..]),
        ]
    );
    assert!(frames.iter().all(|frame| frame.masked));
    assert!(frames[0].as_frame().is_text());
}

#[test]
fn client_ping_is_answered_with_a_pong_with_the_same_payload() {
    let server = EchoServer::with_test_config();
    let mut ws = client(&server.url);

    ws.send_ping(b"are you there?").unwrap();
    let pong = ws.recv_frame().unwrap();
    assert_eq!(pong.opcode, OpCode::Pong);
    assert!(pong.fin);
    assert!(!pong.masked);
    assert_eq!(pong.payload, b"are you there?");

    // An empty ping too, and the connection still echoes afterwards.
    ws.send_ping(b"").unwrap();
    let pong = ws.recv_frame().unwrap();
    assert_eq!((pong.opcode, pong.payload.len()), (OpCode::Pong, 0));
    ws.send_text("after").unwrap();
    assert_eq!(ws.recv().unwrap(), Message::Text("after".into()));

    ws.close().unwrap();
    server.stop_and_join().unwrap();
}

#[test]
fn server_ping_is_answered_automatically_by_a_receiving_client() {
    let server = with_connection(config(), |mut ws| {
        ws.send_ping(b"heartbeat 1").unwrap();
        let pong = ws.recv_frame().unwrap();
        ws.send_text("done").unwrap();
        pong
    });
    let mut ws = client(&server.url());

    // The pong goes out while the client waits for a message.
    assert_eq!(ws.recv().unwrap(), Message::Text("done".into()));

    let pong = server.join();
    assert_eq!(pong.opcode, OpCode::Pong);
    assert!(pong.fin);
    assert_eq!(pong.payload, b"heartbeat 1");
}

#[test]
fn close_from_the_client_reaches_the_server_with_code_and_reason() {
    let server = with_connection(config(), |mut ws| {
        let result = ws.recv();
        (result, ws.state())
    });
    let mut ws = client(&server.url());

    ws.close_with(CloseCode(4000), "bye").unwrap();
    assert_eq!(ws.state(), State::Closed);
    assert!(!ws.is_open());

    let (result, server_state) = server.join();
    match result {
        Err(Error::Closed { code, reason }) => {
            assert_eq!(code, CloseCode(4000));
            assert_eq!(reason, "bye");
        }
        other => panic!("expected the client's close, got {other:?}"),
    }
    assert_eq!(server_state, State::Closed);
}

#[test]
fn close_from_the_server_reaches_the_client_with_code_and_reason() {
    let server = with_connection(config(), |mut ws| {
        let result = ws.close_with(CloseCode(4001), "server done");
        (result, ws.state())
    });
    let mut ws = client(&server.url());

    match ws.recv() {
        Err(Error::Closed { code, reason }) => {
            assert_eq!(code, CloseCode(4001));
            assert_eq!(reason, "server done");
        }
        other => panic!("expected the server's close, got {other:?}"),
    }
    assert_eq!(ws.state(), State::Closed);

    let (result, server_state) = server.join();
    result.expect("close() is Ok when the peer answers");
    assert_eq!(server_state, State::Closed);
}

#[test]
fn a_closed_connection_refuses_to_send_and_reports_closed_on_recv() {
    let server = EchoServer::with_test_config();
    let mut ws = client(&server.url);
    ws.close().unwrap();

    assert!(ws.send_text("too late").is_err());
    assert!(matches!(ws.recv(), Err(Error::Closed { .. })));
    // Closing again is harmless.
    ws.close().unwrap();
    server.stop_and_join().unwrap();
}

#[test]
fn peer_vanishing_mid_frame_is_an_unexpected_eof_not_a_hang() {
    let server = with_connection(config(), |mut ws| {
        ws.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let result = ws.recv();
        (result, ws.state())
    });
    let mut raw = raw_upgrade(server.addr);

    // A masked binary frame announcing 1000 bytes, of which 10 arrive.
    let mut partial = vec![0x82, 0x80 | 126, 0x03, 0xe8, 1, 2, 3, 4];
    partial.extend_from_slice(&[0x55; 10]);
    raw.write_all(&partial).unwrap();
    drop(raw);

    let (result, state) = server.join();
    match result {
        Err(Error::Io(err)) => assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "{err}"),
        other => panic!("expected an unexpected end of stream, got {other:?}"),
    }
    assert_eq!(state, State::Closed);
}

/// Send `request` to a server whose `accept` runs in a thread: the
/// response (read until the server closes) and what `accept` returned.
fn refused(request: &[u8]) -> (String, Error) {
    let server = with_server(config(), |server| server.accept().err());
    let mut raw = raw_connect(server.addr);
    raw.write_all(request).unwrap();
    let response = read_until_closed(&mut raw);
    let error = server.join().expect("the handshake was refused");
    (String::from_utf8_lossy(&response).into_owned(), error)
}

#[test]
fn unsupported_version_is_refused_with_426_naming_version_13() {
    let addr = "127.0.0.1:9".parse().unwrap();
    let (response, error) = refused(upgrade_request(addr, "12", "").as_bytes());
    assert!(response.starts_with("HTTP/1.1 426 "), "{response}");
    assert!(
        response.contains("\r\nSec-WebSocket-Version: 13\r\n"),
        "{response}"
    );
    match error {
        Error::Handshake(err) => assert_eq!(err.status_code(), 426),
        other => panic!("expected a handshake error, got {other:?}"),
    }
}

#[test]
fn missing_key_is_refused_with_400() {
    let request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
                   Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let (response, error) = refused(request.as_bytes());
    assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
    match error {
        Error::Handshake(err) => assert_eq!(err.status_code(), 400),
        other => panic!("expected a handshake error, got {other:?}"),
    }
}

#[test]
fn oversized_header_block_is_refused_with_431_and_the_socket_closed() {
    let addr = "127.0.0.1:9".parse().unwrap();
    let short = upgrade_request(addr, "13", "X-Long: \r\n");
    let filler = "a".repeat(10_000 - short.len());
    let request = upgrade_request(addr, "13", &format!("X-Long: {filler}\r\n"));
    assert_eq!(request.len(), 10_000);

    // `refused` only returns once the server has closed the connection.
    let (response, error) = refused(request.as_bytes());
    assert!(response.starts_with("HTTP/1.1 431 "), "{response}");
    match error {
        Error::Handshake(err) => assert_eq!(err.status_code(), 431),
        other => panic!("expected a handshake error, got {other:?}"),
    }
}

#[test]
fn silent_client_fails_the_handshake_after_the_handshake_timeout() {
    let config = config().handshake_timeout(Some(Duration::from_millis(200)));
    let server = with_server(config, |server| server.accept().err());
    let mut raw = raw_connect(server.addr);
    raw.write_all(b"GET / HTTP/1.1\r\n").unwrap();

    match server.join() {
        Some(err @ Error::Io(_)) => assert!(err.is_timeout(), "{err}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[test]
fn ws_upgrade_keeps_a_frame_read_together_with_the_request() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (written_tx, written_rx) = mpsc::channel();

    // An HTTP server that reads the request head itself, then upgrades.
    let http_server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        // Read only once the client's single write is complete, so that
        // the first read holds the request and the frame behind it.
        written_rx.recv_timeout(IO_TIMEOUT).unwrap();
        let mut read = Vec::new();
        let mut chunk = [0u8; 4096];
        for _ in 0..64 {
            if read.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
            let n = stream.read(&mut chunk).unwrap();
            assert_ne!(n, 0, "the client left during the request");
            read.extend_from_slice(&chunk[..n]);
        }
        let head_end = read.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let early_bytes = read.len() - head_end;
        let mut ws = ws_upgrade(stream, &read).unwrap();
        ws.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let message = ws.recv();
        (early_bytes, message)
    });

    let mut raw = raw_connect(addr);
    let mut bytes = upgrade_request(addr, "13", "").into_bytes();
    let frame = masked(&Frame::text("early"));
    bytes.extend_from_slice(&frame);
    raw.write_all(&bytes).unwrap();
    written_tx.send(()).unwrap();
    let head = read_head(&mut raw);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");

    let (early_bytes, message) = join_within(http_server, JOIN_TIMEOUT);
    assert_eq!(early_bytes, frame.len(), "the frame came with the request");
    assert_eq!(message.unwrap(), Message::Text("early".into()));
}

#[test]
fn ws_upgrade_accepts_the_rfc_masked_hello_frame() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let http_server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        // Nothing read yet: the whole request comes from the stream.
        let mut ws = ws_upgrade(stream, &[]).unwrap();
        ws.recv()
    });

    let mut raw = raw_connect(addr);
    raw.write_all(upgrade_request(addr, "13", "").as_bytes())
        .unwrap();
    let head = read_head(&mut raw);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    // RFC 6455 section 5.7: a single-frame masked text message "Hello".
    raw.write_all(&[
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ])
    .unwrap();

    let message = join_within(http_server, JOIN_TIMEOUT);
    assert_eq!(message.unwrap(), Message::Text("Hello".into()));
}

#[test]
fn message_over_the_size_limit_fails_with_1009_on_both_sides() {
    let limited = config().max_message_size(1024);
    let server = with_connection(limited, |mut ws| {
        let result = ws.recv();
        (result, ws.state())
    });
    let mut ws = client(&server.url());

    ws.send_binary(&pattern(2000)).unwrap();
    match ws.recv() {
        Err(Error::Closed { code, .. }) => assert_eq!(code, CloseCode::TOO_LARGE),
        other => panic!("expected close 1009, got {other:?}"),
    }

    let (result, state) = server.join();
    match result {
        Err(err @ Error::Protocol(_)) => assert_eq!(err.close_code(), Some(CloseCode(1009))),
        other => panic!("expected a protocol error, got {other:?}"),
    }
    assert_eq!(state, State::Closed);
}

#[test]
fn fragmented_message_over_the_size_limit_fails_with_1009() {
    let limited = config().max_message_size(1024);
    let server = with_connection(limited, |mut ws| ws.recv());
    let mut ws = client(&server.url());

    // Each frame is under the limit, the message is not.
    let part = pattern(600);
    ws.send_fragmented(MessageKind::Binary, &[&part, &part])
        .unwrap();
    match ws.recv() {
        Err(Error::Closed { code, .. }) => assert_eq!(code, CloseCode::TOO_LARGE),
        other => panic!("expected close 1009, got {other:?}"),
    }
    let result = server.join();
    assert_eq!(
        result.err().and_then(|err| err.close_code()),
        Some(CloseCode::TOO_LARGE)
    );
}

#[test]
fn stop_ends_run_echo_and_sends_1001_to_idle_clients() {
    let server = EchoServer::with_test_config();
    let mut ws = client(&server.url);
    // One round trip: the connection is being served.
    ws.send_text("ready?").unwrap();
    assert_eq!(ws.recv().unwrap(), Message::Text("ready?".into()));

    server.stop_handle().stop();
    assert!(server.stop_handle().is_stopped());
    // run_echo documents returning within about a second of stop.
    let deadline = Instant::now() + Duration::from_secs(3);
    while !server.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert!(server.is_finished(), "run_echo still running after stop");
    server.stop_and_join().unwrap();

    match ws.recv() {
        Err(Error::Closed { code, .. }) => assert_eq!(code, CloseCode::GOING_AWAY),
        other => panic!("expected close 1001, got {other:?}"),
    }
}

#[test]
fn run_echo_refuses_connections_beyond_max_connections_with_503() {
    let mut one = config();
    one.max_connections = 1;
    let server = EchoServer::start(WsServer::bind_with_config("127.0.0.1:0", one).unwrap());
    let mut first = client(&server.url);
    first.send_text("in").unwrap();
    assert_eq!(first.recv().unwrap(), Message::Text("in".into()));

    match connect_with_config(&server.url, &config()) {
        Err(Error::HttpStatus(status)) => assert_eq!(status, 503),
        other => panic!("expected HTTP 503, got {other:?}"),
    }

    first.close().unwrap();
    server.stop_and_join().unwrap();
}

#[test]
fn read_timeout_on_a_silent_peer_loses_nothing() {
    let (timed_out_tx, timed_out_rx) = mpsc::channel();
    let server = with_connection(config(), move |mut ws| {
        ws.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let first = ws.recv();
        let first_timed_out = matches!(&first, Err(err) if err.is_timeout());
        timed_out_tx.send(()).unwrap();
        ws.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        (first_timed_out, first.err(), ws.recv())
    });
    let mut ws = client(&server.url());

    timed_out_rx.recv_timeout(IO_TIMEOUT).unwrap();
    ws.send_text("after the timeout").unwrap();

    let (first_timed_out, first_error, second) = server.join();
    assert!(first_timed_out, "expected a timeout, got {first_error:?}");
    assert_eq!(second.unwrap(), Message::Text("after the timeout".into()));
}

#[test]
fn read_timeout_in_the_middle_of_a_frame_keeps_the_part_received() {
    let (timed_out_tx, timed_out_rx) = mpsc::channel();
    let server = with_connection(config(), move |mut ws| {
        ws.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let first = ws.recv();
        let first_timed_out = matches!(&first, Err(err) if err.is_timeout());
        timed_out_tx.send(()).unwrap();
        ws.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        (first_timed_out, first.err(), ws.recv())
    });
    let mut raw = raw_upgrade(server.addr);

    let frame = masked(&Frame::text("split in the middle"));
    // Half the header and some payload now, the rest after the timeout.
    raw.write_all(&frame[..9]).unwrap();
    timed_out_rx.recv_timeout(IO_TIMEOUT).unwrap();
    raw.write_all(&frame[9..]).unwrap();

    let (first_timed_out, first_error, second) = server.join();
    assert!(first_timed_out, "expected a timeout, got {first_error:?}");
    assert_eq!(second.unwrap(), Message::Text("split in the middle".into()));
}

#[test]
fn invalid_utf8_text_from_the_client_is_closed_with_1007() {
    let server = with_connection(config(), |mut ws| ws.recv());
    let mut ws = client(&server.url());

    // The client side does not check outgoing text: the server must.
    ws.send_frame(&Frame::new(OpCode::Text, &[0xff])).unwrap();
    match ws.recv() {
        Err(Error::Closed { code, .. }) => assert_eq!(code, CloseCode::INVALID_DATA),
        other => panic!("expected close 1007, got {other:?}"),
    }

    match server.join() {
        Err(err @ Error::Protocol(_)) => assert_eq!(err.close_code(), Some(CloseCode(1007))),
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

#[test]
fn unmasked_frame_from_a_client_is_closed_with_1002() {
    let server = with_connection(config(), |mut ws| ws.recv());
    let mut raw = raw_upgrade(server.addr);

    raw.write_all(&[0x81, 0x05, b'H', b'e', b'l', b'l', b'o'])
        .unwrap();
    let (first_byte, payload) = read_server_frame(&mut raw);
    assert_eq!(first_byte, 0x88, "a final close frame");
    assert!(payload.len() >= 2, "the close frame carries a code");
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1002);

    match server.join() {
        Err(err @ Error::Protocol(_)) => {
            assert_eq!(err.close_code(), Some(CloseCode::PROTOCOL_ERROR));
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

#[test]
fn subprotocol_is_negotiated_on_both_sides() {
    let server_config = config().subprotocols(["chat", "superchat"]);
    let server = with_connection(server_config, |ws| ws.subprotocol().map(str::to_owned));
    let client_config = config().subprotocols(["superchat"]);

    let ws = connect_with_config(&server.url(), &client_config).unwrap();
    assert_eq!(ws.subprotocol(), Some("superchat"));
    assert_eq!(server.join().as_deref(), Some("superchat"));
}

#[test]
fn no_common_subprotocol_leaves_none_on_both_sides() {
    let server_config = config().subprotocols(["chat"]);
    let server = with_connection(server_config, |ws| ws.subprotocol().map(str::to_owned));
    let client_config = config().subprotocols(["superchat"]);

    let ws = connect_with_config(&server.url(), &client_config).unwrap();
    assert_eq!(ws.subprotocol(), None);
    assert_eq!(server.join(), None);
}

#[test]
fn connect_to_an_unused_port_is_an_io_error() {
    // A port that was free a moment ago: bind, note it, release it.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    match connect(&format!("ws://127.0.0.1:{port}/")) {
        Err(Error::Io(err)) => assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}"),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn unsupported_or_malformed_urls_are_url_errors() {
    for url in [
        // (wss:// is a URL since TLS came: tests/tls.rs.)
        "wsx://127.0.0.1:1/",
        "http://127.0.0.1:1/",
        "127.0.0.1:1",
        "ws://",
        "ws://127.0.0.1:port/",
        "ws://127.0.0.1:70000/",
        "ws://user@127.0.0.1:1/",
        "ws://127.0.0.1:1/a path",
    ] {
        match connect(url) {
            Err(Error::Url(_)) => {}
            other => panic!("{url}: expected a URL error, got {other:?}"),
        }
    }
}

#[test]
fn server_and_client_connections_report_their_roles() {
    let server = with_connection(config(), |ws| ws.role());
    let ws = client(&server.url());
    assert_eq!(ws.role(), Role::Client);
    assert!(ws.is_open());
    assert_eq!(server.join(), Role::Server);
}

#[test]
fn large_text_with_multibyte_characters_is_echoed_intact() {
    let server = EchoServer::with_test_config();
    let mut ws = client(&server.url);
    // 1, 2, 3 and 4 byte characters: read boundaries fall inside them.
    let text = "a\u{e9}\u{2603}\u{1d11e}".repeat(100_000);

    ws.send_text(&text).unwrap();
    match ws.recv().unwrap() {
        Message::Text(echoed) => assert!(echoed == text, "the echoed text differs"),
        Message::Binary(_) => panic!("text sent, binary echoed"),
    }

    ws.close().unwrap();
    server.stop_and_join().unwrap();
}

#[test]
fn multibyte_text_streams_through_the_smallest_read_buffers() {
    let mut small = config();
    small.read_buffer_size = 0; // raised to the smallest size allowed
    let server =
        EchoServer::start(WsServer::bind_with_config("127.0.0.1:0", small.clone()).unwrap());
    let mut ws = connect_with_config(&server.url, &small).unwrap();
    let text = "a\u{e9}\u{2603}\u{1d11e}".repeat(10_000);

    for _ in 0..2 {
        ws.send_text(&text).unwrap();
        assert_eq!(ws.recv().unwrap(), Message::Text(text.clone()));
    }

    ws.close().unwrap();
    server.stop_and_join().unwrap();
}

#[test]
fn run_echo_serves_several_clients_at_once() {
    let server = EchoServer::with_test_config();
    let clients: Vec<_> = (0..4)
        .map(|id| {
            let url = server.url.clone();
            thread::spawn(move || {
                let mut ws = client(&url);
                for round in 0..25 {
                    let text = format!("client {id} round {round}");
                    ws.send_text(&text).unwrap();
                    assert_eq!(ws.recv().unwrap(), Message::Text(text));
                }
                ws.close().unwrap();
            })
        })
        .collect();
    for client in clients {
        join_within(client, JOIN_TIMEOUT);
    }
    server.stop_and_join().unwrap();
}

#[test]
fn recv_frame_gathers_a_frame_larger_than_the_read_buffer() {
    let mut small = config();
    small.read_buffer_size = 0; // the smallest buffer the transport allows
    let server = with_connection(small, |mut ws| ws.recv_frame());
    let mut ws = client(&server.url());

    let payload = pattern(100_000);
    ws.send_binary(&payload).unwrap();

    let frame = server.join().unwrap();
    assert_eq!((frame.opcode, frame.fin), (OpCode::Binary, true));
    assert!(frame.payload == payload, "the frame payload differs");
    // The client stayed connected until the server had read everything.
    drop(ws);
}

#[test]
fn recv_frame_returns_the_peer_close_then_reports_closed() {
    let server = with_connection(config(), |mut ws| {
        let close = ws.recv_frame();
        let after = ws.recv_frame();
        (close, after)
    });
    let mut ws = client(&server.url());

    ws.close_with(CloseCode(4002), "frames").unwrap();

    let (close, after) = server.join();
    let close = close.unwrap();
    assert_eq!(close.opcode, OpCode::Close);
    assert_eq!(close.as_frame().close_code(), CloseCode(4002));
    assert_eq!(close.as_frame().close_reason(), "frames");
    assert!(matches!(
        after,
        Err(Error::Closed {
            code: CloseCode(4002),
            ..
        })
    ));
}

#[test]
fn close_without_an_answer_gives_up_after_the_close_timeout() {
    let server = with_connection(config(), |mut ws| {
        let result = ws.close_with(CloseCode::NORMAL, "");
        (result, ws.state())
    });
    let mut raw = raw_upgrade(server.addr);

    let (first_byte, payload) = read_server_frame(&mut raw);
    assert_eq!(first_byte, 0x88);
    assert_eq!(payload, 1000u16.to_be_bytes());
    // No answer: the server stops waiting and closes the socket.
    assert!(read_until_closed(&mut raw).is_empty());

    let (result, state) = server.join();
    match result {
        Err(err) => assert!(err.is_timeout(), "{err}"),
        Ok(()) => panic!("close() is Ok only when the peer answers"),
    }
    assert_eq!(state, State::Closed);
}

#[test]
fn dropping_a_connection_closes_the_socket() {
    let server = with_connection(config(), |mut ws| ws.recv());
    let ws = client(&server.url());
    drop(ws);

    match server.join() {
        Err(Error::Io(err)) => assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "{err}"),
        other => panic!("expected an unexpected end of stream, got {other:?}"),
    }
}

#[test]
fn oversized_ping_is_refused_and_the_connection_stays_usable() {
    let server = EchoServer::with_test_config();
    let mut ws = client(&server.url);

    assert!(matches!(ws.send_ping(&[0; 126]), Err(Error::Send(_))));
    assert!(ws.is_open());
    ws.send_ping(&[0; 125]).unwrap();
    let pong = ws.recv_frame().unwrap();
    assert_eq!((pong.opcode, pong.payload.len()), (OpCode::Pong, 125));

    ws.close().unwrap();
    server.stop_and_join().unwrap();
}

#[test]
fn frame_over_the_frame_size_limit_fails_with_1009() {
    let limited = config().max_frame_size(100);
    let server = with_connection(limited, |mut ws| ws.recv());
    let mut ws = client(&server.url());

    ws.send_binary(&pattern(200)).unwrap();
    match ws.recv() {
        Err(Error::Closed { code, .. }) => assert_eq!(code, CloseCode::TOO_LARGE),
        other => panic!("expected close 1009, got {other:?}"),
    }
    let result = server.join();
    assert_eq!(
        result.err().and_then(|err| err.close_code()),
        Some(CloseCode::TOO_LARGE)
    );
}

#[test]
fn run_echo_closes_connections_idle_longer_than_read_timeout() {
    let mut idle = config();
    idle.read_timeout = Some(Duration::from_millis(300));
    let server = EchoServer::start(WsServer::bind_with_config("127.0.0.1:0", idle).unwrap());
    let mut ws = client(&server.url);

    match ws.recv() {
        Err(Error::Closed { code, .. }) => assert_eq!(code, CloseCode::GOING_AWAY),
        other => panic!("expected close 1001, got {other:?}"),
    }
    server.stop_and_join().unwrap();
}

#[test]
fn incoming_yields_connections_until_stop() {
    let server = WsServer::bind_with_config("127.0.0.1:0", config()).unwrap();
    let url = format!("ws://{}/", server.local_addr().unwrap());
    let stop = server.stop_handle();
    let serving = thread::spawn(move || {
        let mut served = 0;
        for ws in server.incoming() {
            let mut ws = ws.unwrap();
            let message = ws.recv().unwrap();
            ws.send(&message).unwrap();
            served += 1;
        }
        served
    });

    for i in 0..2 {
        let mut ws = client(&url);
        ws.send_text(&i.to_string()).unwrap();
        assert_eq!(ws.recv().unwrap(), Message::Text(i.to_string()));
    }
    stop.stop();
    assert_eq!(join_within(serving, JOIN_TIMEOUT), 2);
}

/// A plain TCP server that reads one request head, answers `response`,
/// and waits for the client to go.
fn fake_server(response: &'static str) -> (SocketAddr, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        read_head(&mut stream);
        stream.write_all(response.as_bytes()).unwrap();
        read_until_closed(&mut stream);
    });
    (addr, handle)
}

#[test]
fn non_101_answer_is_an_http_status_error() {
    let (addr, server) =
        fake_server("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    match connect_with_config(&format!("ws://{addr}/"), &config()) {
        Err(Error::HttpStatus(status)) => assert_eq!(status, 404),
        other => panic!("expected HTTP 404, got {other:?}"),
    }
    join_within(server, JOIN_TIMEOUT);
}

#[test]
fn wrong_accept_key_fails_the_client_handshake() {
    let (addr, server) = fake_server(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
    );
    match connect_with_config(&format!("ws://{addr}/"), &config()) {
        Err(Error::Handshake(_)) => {}
        other => panic!("expected a handshake error, got {other:?}"),
    }
    join_within(server, JOIN_TIMEOUT);
}

/// A stream that holds everything written until `uncork`, so that the
/// handshake response and the first frame leave in one write.
struct Corked {
    inner: TcpStream,
    held: Vec<u8>,
}

impl Corked {
    fn uncork(&mut self) -> io::Result<()> {
        self.inner.write_all(&std::mem::take(&mut self.held))
    }
}

impl Read for Corked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Write for Corked {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.held.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream for Corked {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(timeout)
    }

    fn shutdown(&mut self) -> io::Result<()> {
        self.inner.shutdown(Shutdown::Both)
    }
}

#[test]
fn client_keeps_a_frame_that_arrives_with_the_handshake_response() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let corked = Corked {
            inner: stream,
            held: Vec::new(),
        };
        let mut ws = accept(corked, &config()).unwrap();
        ws.send_text("right behind the 101").unwrap();
        ws.get_mut().uncork().unwrap();
    });

    let mut ws = client(&format!("ws://{addr}/"));
    assert_eq!(
        ws.recv().unwrap(),
        Message::Text("right behind the 101".into())
    );
    join_within(server, JOIN_TIMEOUT);
}

#[test]
fn ping_between_fragments_is_answered_and_the_message_arrives_whole() {
    let server = with_connection(config(), |mut ws| {
        // Frames written by hand after the library's handshake.
        let fragments_and_ping: &[u8] = &[
            0x01, 3, b'H', b'e', b'l', // text, not final
            0x89, 1, b'p', // ping
            0x80, 2, b'l', b'o', // continuation, final
        ];
        ws.get_mut().write_all(fragments_and_ping).unwrap();
        ws.recv_frame()
    });
    let mut ws = client(&server.url());

    assert_eq!(ws.recv().unwrap(), Message::Text("Hello".into()));
    let pong = server.join().unwrap();
    assert_eq!(
        (pong.opcode, pong.payload.as_slice()),
        (OpCode::Pong, &b"p"[..])
    );
}

#[test]
fn masked_frame_from_the_server_is_closed_with_1002() {
    let server = with_connection(config(), |mut ws| {
        ws.get_mut()
            .write_all(&masked(&Frame::text("masked")))
            .unwrap();
        ws.recv()
    });
    let mut ws = client(&server.url());

    match ws.recv() {
        Err(err @ Error::Protocol(_)) => {
            assert_eq!(err.close_code(), Some(CloseCode::PROTOCOL_ERROR));
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
    match server.join() {
        Err(Error::Closed { code, .. }) => assert_eq!(code, CloseCode::PROTOCOL_ERROR),
        other => panic!("expected close 1002, got {other:?}"),
    }
}

#[test]
fn from_parts_applies_the_configured_read_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut short = config();
        short.read_timeout = Some(Duration::from_millis(200));
        let mut ws = ws_std::WebSocket::from_parts(stream, Role::Server, short, &[], None);
        ws.recv()
    });
    // Silent, and connected until the end: if the timeout is not applied,
    // the server blocks until this socket is dropped when the test fails.
    let _silent = raw_connect(addr);

    match join_within(server, Duration::from_secs(2)) {
        Err(err) => assert!(err.is_timeout(), "{err}"),
        Ok(message) => panic!("nothing was sent, got {message:?}"),
    }
}

#[test]
fn fed_frames_leave_in_one_flush_and_keep_their_order() {
    let server = EchoServer::with_test_config();
    let mut ws = client(&server.url);
    for i in 0..100 {
        ws.feed(&Frame::text(&format!("message {i}"))).unwrap();
    }
    // A message sent normally goes after the batch.
    ws.send_text("last").unwrap();
    for i in 0..100 {
        assert_eq!(ws.recv().unwrap(), Message::Text(format!("message {i}")));
    }
    assert_eq!(ws.recv().unwrap(), Message::Text("last".into()));
    ws.close().unwrap();
    server.stop_and_join().unwrap();
}

// ---------------------------------------------------------------------
// Pings and close replies leave at once while a program sits in `recv`;
// a program that only sends answers nothing (see `WebSocket`'s "Pings and
// pongs"). The peer sends nothing more after its ping or close, so the
// reply cannot ride on some later traffic.
// ---------------------------------------------------------------------

/// How soon a reply must arrive on 127.0.0.1.
const PROMPT: Duration = Duration::from_millis(100);

/// How long a test waits so that the other side is surely blocked in
/// `recv` before it sends.
const SETTLE: Duration = Duration::from_millis(200);

/// Read one server frame and how long it took to come.
fn timed_server_frame(stream: &mut TcpStream) -> ((u8, Vec<u8>), Duration) {
    let start = Instant::now();
    let frame = read_server_frame(stream);
    (frame, start.elapsed())
}

/// Send a ping as a client does.
fn send_masked_ping(stream: &mut TcpStream, payload: &[u8]) {
    stream
        .write_all(&masked(&Frame::new(OpCode::Ping, payload)))
        .unwrap();
}

/// Send a close as a client does: the server, in `recv`, sees it.
fn close_and_expect_closed(stream: &mut TcpStream, server: ServerThread<ws_std::Result<Message>>) {
    let close = Frame::close(CloseCode::NORMAL).unwrap();
    stream.write_all(&masked(&close)).unwrap();
    assert!(matches!(server.join(), Err(Error::Closed { .. })));
}

#[test]
fn server_in_recv_answers_a_ping_within_100_ms_while_the_client_sends_nothing_more() {
    let server = with_connection(config(), |mut ws| ws.recv());
    let mut stream = raw_upgrade(server.addr);
    thread::sleep(SETTLE);

    send_masked_ping(&mut stream, b"quiet");
    let ((first, payload), waited) = timed_server_frame(&mut stream);
    assert_eq!((first, payload.as_slice()), (0x8A, &b"quiet"[..]));
    assert!(waited < PROMPT, "the pong took {waited:?}");

    close_and_expect_closed(&mut stream, server);
}

#[test]
fn server_in_recv_replies_to_a_close_within_100_ms() {
    let server = with_connection(config(), |mut ws| ws.recv());
    let mut stream = raw_upgrade(server.addr);
    thread::sleep(SETTLE);

    let close = Frame::close_with_reason(CloseCode(4000), "bye").unwrap();
    stream.write_all(&masked(&close)).unwrap();
    let ((first, payload), waited) = timed_server_frame(&mut stream);
    assert_eq!(first, 0x88);
    assert_eq!(&payload[..2], &4000u16.to_be_bytes());
    assert!(waited < PROMPT, "the close reply took {waited:?}");
    match server.join() {
        Err(Error::Closed { code, .. }) => assert_eq!(code, CloseCode(4000)),
        other => panic!("expected the client's close, got {other:?}"),
    }
}

#[test]
fn burst_of_pings_while_in_recv_gets_one_pong_each_in_order() {
    let server = with_connection(config(), |mut ws| ws.recv());
    let mut stream = raw_upgrade(server.addr);
    thread::sleep(SETTLE);

    // Three pings in one write: one read brings them all in.
    let burst: Vec<u8> = [&b"1"[..], b"2", b"3"]
        .iter()
        .flat_map(|payload| masked(&Frame::new(OpCode::Ping, payload)))
        .collect();
    stream.write_all(&burst).unwrap();
    let start = Instant::now();
    for expected in [&b"1"[..], b"2", b"3"] {
        let (first, payload) = read_server_frame(&mut stream);
        assert_eq!((first, payload.as_slice()), (0x8A, expected));
    }
    assert!(
        start.elapsed() < PROMPT,
        "the pongs took {:?}",
        start.elapsed()
    );

    close_and_expect_closed(&mut stream, server);
}

/// A ws-std server that sends `frame` once the client sits in `recv`,
/// then reads what comes back: (that frame, how long it took).
fn server_sending_then_timing_the_answer(
    frame: Frame<'static>,
) -> ServerThread<(OwnedFrame, Duration)> {
    with_connection(config(), move |mut ws| {
        thread::sleep(SETTLE);
        ws.send_frame(&frame).unwrap();
        let start = Instant::now();
        let answer = ws.recv_frame().unwrap();
        let waited = start.elapsed();
        if frame.is_ping() {
            // Let the client's recv return.
            ws.send_text("done").unwrap();
        }
        (answer, waited)
    })
}

#[test]
fn client_in_recv_answers_a_ping_within_100_ms_while_the_server_sends_nothing_more() {
    let server = server_sending_then_timing_the_answer(Frame::new(OpCode::Ping, b"quiet"));
    let mut ws = client(&server.url());

    assert_eq!(ws.recv().unwrap(), Message::Text("done".into()));
    let (pong, waited) = server.join();
    assert_eq!(
        (pong.opcode, pong.payload.as_slice()),
        (OpCode::Pong, &b"quiet"[..])
    );
    assert!(waited < PROMPT, "the pong took {waited:?}");
}

#[test]
fn client_in_recv_replies_to_a_close_within_100_ms() {
    let close = Frame::close_with_reason(CloseCode(4001), "bye").unwrap();
    let server = server_sending_then_timing_the_answer(close);
    let mut ws = client(&server.url());

    assert!(matches!(ws.recv(), Err(Error::Closed { .. })));
    let (reply, waited) = server.join();
    assert_eq!(reply.opcode, OpCode::Close);
    assert_eq!(reply.as_frame().close_code(), CloseCode(4001));
    assert!(waited < PROMPT, "the close reply took {waited:?}");
}

#[test]
fn ping_is_not_answered_while_the_program_only_sends_but_by_its_next_recv() {
    // The server only sends for a while, then calls recv.
    let server = with_connection(config(), |mut ws| {
        for _ in 0..6 {
            ws.send_text("tick").unwrap();
            thread::sleep(Duration::from_millis(50));
        }
        ws.recv()
    });
    let mut stream = raw_upgrade(server.addr);

    send_masked_ping(&mut stream, b"anyone?");
    // Six sends after the ping arrived, and no pong among them...
    for _ in 0..6 {
        let (first, payload) = read_server_frame(&mut stream);
        assert_eq!((first, payload.as_slice()), (0x81, &b"tick"[..]));
    }
    // ...then recv reads the ping and answers it.
    let (first, payload) = read_server_frame(&mut stream);
    assert_eq!((first, payload.as_slice()), (0x8A, &b"anyone?"[..]));

    close_and_expect_closed(&mut stream, server);
}

#[test]
fn recv_that_times_out_still_answers_the_ping_that_arrived_meanwhile() {
    // A program busy elsewhere, then polling with a short read timeout.
    let server = with_connection(config(), |mut ws| {
        thread::sleep(SETTLE);
        ws.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let polled = ws.recv();
        ws.send_text("after the poll").unwrap();
        polled
    });
    let mut stream = raw_upgrade(server.addr);

    send_masked_ping(&mut stream, b"busy?");
    let (first, payload) = read_server_frame(&mut stream);
    assert_eq!((first, payload.as_slice()), (0x8A, &b"busy?"[..]));
    let (first, payload) = read_server_frame(&mut stream);
    assert_eq!((first, payload.as_slice()), (0x81, &b"after the poll"[..]));
    match server.join() {
        Err(err) => assert!(err.is_timeout(), "{err:?}"),
        Ok(message) => panic!("nothing was sent, got {message:?}"),
    }
}

// ---------------------------------------------------------------------
// run_echo's idle ping (Config::idle_ping, Config::pong_timeout).
// ---------------------------------------------------------------------

/// An echo server that pings after 300 ms of silence and allows 300 ms
/// for the pong; `read_timeout` off, so only the idle ping can end a
/// quiet connection.
fn keepalive_server() -> EchoServer {
    let config = config()
        .idle_ping(Some(Duration::from_millis(300)))
        .pong_timeout(Some(Duration::from_millis(300)))
        .read_timeout(None);
    EchoServer::start(WsServer::bind_with_config("127.0.0.1:0", config).unwrap())
}

#[test]
fn run_echo_pings_a_silent_client_and_keeps_it_while_it_answers() {
    let server = keepalive_server();
    let mut ws = client(&server.url);

    // The client sends nothing for 2 s; recv_frame answers each ping and
    // hands it out. A ping about every 300 ms (300 ms of silence after the
    // last pong).
    let quiet = Instant::now();
    let mut pings = 0;
    while quiet.elapsed() < Duration::from_secs(2) {
        let frame = ws.recv_frame().expect("a ping from the idle timer");
        assert_eq!(frame.opcode, OpCode::Ping);
        pings += 1;
    }
    assert!(pings >= 3, "{pings} pings in 2 s of silence");

    ws.send_text("still here").unwrap();
    assert_eq!(ws.recv().unwrap(), Message::Text("still here".into()));
    ws.close().unwrap();
    server.stop_and_join().unwrap();
}

#[test]
fn run_echo_closes_with_1001_a_client_that_does_not_answer_its_idle_ping() {
    let server = keepalive_server();
    // A raw client reads but never answers.
    let mut stream = raw_upgrade(server.addr);
    let start = Instant::now();

    let (first, _) = read_server_frame(&mut stream);
    let pinged = start.elapsed();
    assert_eq!(first, 0x89, "expected the idle ping");
    let (first, payload) = read_server_frame(&mut stream);
    let closed = start.elapsed();
    assert_eq!(first, 0x88, "expected a close after the unanswered ping");
    assert_eq!(&payload[..2], &1001u16.to_be_bytes());
    assert!(read_until_closed(&mut stream).is_empty());
    let gone = start.elapsed();

    // Idle 300 ms, pong timeout 300 ms, close timeout
    // 500 ms (the test config): the socket is gone well within 2 s.
    assert!(
        pinged >= Duration::from_millis(300) && closed >= pinged + Duration::from_millis(300),
        "ping after {pinged:?}, close after {closed:?}"
    );
    assert!(
        gone < Duration::from_secs(2),
        "socket closed after {gone:?}"
    );
    server.stop_and_join().unwrap();
}
