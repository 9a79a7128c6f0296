//! `wss://` in the loop, on 127.0.0.1 with certificates made here
//! (`ws_test_support::TestPki`): a ws-std client echoes 1 B to 16 MiB
//! with compression on a ws-mio TLS server, a ws-mio client talks to a
//! ws-std TLS server, one loop serves `ws://` and `wss://` side by side,
//! what is not TLS (or stalls in it) is closed within the handshake
//! timeout while another client keeps being served, and a shutdown says
//! 1001 over TLS.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use common::{
    config, join_within, reads_all_then_going_away, sees_end_of_stream, shutdown_config,
    turn_until, Filler, Hello, IO_TIMEOUT, JOIN_TIMEOUT, MESSAGE,
};
use ws_mio::tls::rustls;
use ws_mio::{CloseCode, Config, Echo, EventLoop, Server, ShutdownHandle};
use ws_std::{Message, MessageKind};
use ws_test_support::{pattern, TestPki};

/// The handshake timeout of the servers here (`common::config`'s).
const HANDSHAKE: Duration = Duration::from_secs(1);

fn pki() -> TestPki {
    TestPki::new(&["localhost", "127.0.0.1"])
}

fn server_tls(pki: &TestPki) -> Arc<rustls::ServerConfig> {
    ws_mio::tls::server_config(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes())
        .expect("server config")
}

fn client_tls(pki: &TestPki) -> Arc<rustls::ClientConfig> {
    ws_mio::tls::client_config_trusting(pki.ca_pem.as_bytes()).expect("client config")
}

/// A ws-std client trusting the test CA, with bounded reads.
fn std_client(pki: &TestPki, url: &str) -> ws_std::WebSocket<ws_std::MaybeTlsStream> {
    let config = common::client_config().tls(client_tls(pki));
    ws_std::connect_with_config(url, &config).expect("wss client connects")
}

/// A ws-mio echo `Server` with TLS (one loop) in a thread.
struct TlsServer {
    addr: SocketAddr,
    shutdown: ShutdownHandle,
    thread: Option<thread::JoinHandle<std::io::Result<()>>>,
}

impl TlsServer {
    fn start(pki: &TestPki, config: Config) -> TlsServer {
        let server = Server::bind("127.0.0.1:0")
            .unwrap()
            .threads(1)
            .config(config)
            .tls(server_tls(pki));
        let addr = server.local_addr();
        let shutdown = server.shutdown_handle();
        let thread = thread::spawn(move || server.run(|| Echo));
        TlsServer {
            addr,
            shutdown,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("wss://localhost:{}{path}", self.addr.port())
    }

    fn stop(mut self) {
        self.shutdown.shutdown();
        let thread = self.thread.take().unwrap();
        join_within(thread, JOIN_TIMEOUT).expect("server loop returns Ok");
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.shutdown.shutdown();
    }
}

fn echo_binary(ws: &mut ws_std::WebSocket<ws_std::MaybeTlsStream>, payload: &[u8]) {
    ws.send_binary(payload).unwrap();
    match ws.recv().unwrap() {
        Message::Binary(echo) => assert!(echo == payload, "{} B echo differs", payload.len()),
        other => panic!(
            "{} B: expected binary, got {:?}",
            payload.len(),
            other.kind()
        ),
    }
}

#[test]
fn a_ws_std_wss_client_echoes_one_byte_to_sixteen_mebibytes_with_compression() {
    let pki = pki();
    let server = TlsServer::start(&pki, config().max_message_size(32 << 20));
    let mut ws = std_client(&pki, &server.url("/echo"));
    let tls = ws.get_ref().tls().expect("a TLS stream");
    assert_eq!(tls.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert!(ws.compression().is_some(), "permessage-deflate negotiated");
    for len in [1, 125, 126, 65_535, 65_536, 1 << 20, 16 << 20] {
        echo_binary(&mut ws, &pattern(len));
    }
    ws.send_fragmented(MessageKind::Text, &[b"frag", b"men", b"ted"])
        .unwrap();
    assert_eq!(ws.recv().unwrap(), Message::Text("fragmented".into()));
    ws.close().unwrap();
    server.stop();
}

#[test]
fn one_loop_serves_ws_and_wss_listeners_side_by_side() {
    let pki = pki();
    let tls = server_tls(&pki);
    let (ready, started) = mpsc::channel();
    let serving = thread::spawn(move || {
        let mut event_loop = EventLoop::new(config(), Echo)?;
        let plain = event_loop.listen("127.0.0.1:0".parse().unwrap())?;
        let secure = event_loop.listen_tls("127.0.0.1:0".parse().unwrap(), tls)?;
        let _ = ready.send((plain, secure, event_loop.shutdown_handle()));
        event_loop.run()
    });
    let (plain, secure, shutdown) = started.recv_timeout(JOIN_TIMEOUT).expect("loop starts");
    let mut ws = common::ws_client(&format!("ws://{plain}/"));
    let mut wss = std_client(&pki, &format!("wss://localhost:{}/", secure.port()));
    assert!(ws.get_ref().tls().is_none());
    assert!(wss.get_ref().tls().is_some());
    for round in 0..20 {
        let message = format!("round {round}");
        ws.send_text(&message).unwrap();
        wss.send_text(&message).unwrap();
        assert_eq!(ws.recv().unwrap(), Message::Text(message.clone()));
        assert_eq!(wss.recv().unwrap(), Message::Text(message));
    }
    // Plain bytes to the TLS listener are not a WebSocket handshake.
    let mut wrong = TcpStream::connect(secure).unwrap();
    let request = ws_test_support::upgrade_request(secure, "/", "13", "");
    wrong.write_all(request.as_bytes()).unwrap();
    let mut head = [0u8; 5];
    wrong.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let read = wrong.read(&mut head).unwrap_or(0);
    assert!(
        !head[..read].starts_with(b"HTTP/"),
        "a TLS listener answered plain HTTP with HTTP"
    );
    ws.close().unwrap();
    wss.close().unwrap();
    shutdown.shutdown();
    join_within(serving, JOIN_TIMEOUT).expect("loop returns Ok");
}

/// A client that is served while hostile ones are dealt with: an echo
/// every few milliseconds, for `time`.
fn keeps_being_served(pki: &TestPki, url: &str, time: Duration) -> usize {
    let mut ws = std_client(pki, url);
    let start = Instant::now();
    let mut echoes = 0;
    while start.elapsed() < time && echoes < 10_000 {
        echo_binary(&mut ws, &pattern(100));
        echoes += 1;
        thread::sleep(Duration::from_millis(5));
    }
    ws.close().unwrap();
    echoes
}

#[test]
fn what_is_not_tls_or_stalls_in_it_is_closed_within_the_handshake_timeout() {
    let pki = pki();
    let server = TlsServer::start(&pki, config());
    let addr = server.addr;
    let url = server.url("/");
    let served = {
        let pki = pki.clone();
        thread::spawn(move || keeps_being_served(&pki, &url, HANDSHAKE * 2))
    };

    // Garbage instead of a ClientHello.
    let mut garbage = TcpStream::connect(addr).unwrap();
    garbage.write_all(&[0xde; 64]).unwrap();
    // A plain HTTP request to the TLS port.
    let mut http = TcpStream::connect(addr).unwrap();
    let request = ws_test_support::upgrade_request(addr, "/", "13", "");
    http.write_all(request.as_bytes()).unwrap();
    // A handshake that stalls: the start of a ClientHello record, then
    // nothing.
    let mut stalled = TcpStream::connect(addr).unwrap();
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .unwrap();
    // A client that completes TLS and then says nothing.
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = rustls::ClientConnection::new(client_tls(&pki), name).unwrap();
    let mut silent = rustls::StreamOwned::new(tls, TcpStream::connect(addr).unwrap());
    silent.sock.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    while silent.conn.is_handshaking() {
        silent
            .conn
            .complete_io(&mut silent.sock)
            .expect("TLS handshake");
    }

    let started = Instant::now();
    for (what, stream) in [
        ("garbage", &mut garbage),
        ("plain HTTP", &mut http),
        ("stalled handshake", &mut stalled),
    ] {
        assert!(
            sees_end_of_stream(stream, HANDSHAKE + IO_TIMEOUT),
            "{what}: not closed"
        );
    }
    // The silent one: the server's close_notify, then the end.
    let mut sink = [0u8; 64];
    let ended = loop {
        match silent.read(&mut sink) {
            Ok(0) => break true,
            Ok(_) => {}
            Err(err) => break err.kind() != std::io::ErrorKind::WouldBlock,
        }
        if started.elapsed() > HANDSHAKE + IO_TIMEOUT {
            break false;
        }
    };
    assert!(ended, "a client silent after TLS was not closed");
    assert!(
        started.elapsed() < HANDSHAKE + IO_TIMEOUT,
        "closed only after {:?}",
        started.elapsed()
    );
    let echoes = join_within(served, JOIN_TIMEOUT + HANDSHAKE * 2);
    assert!(echoes >= 10, "the good client got only {echoes} echoes");
    server.stop();
}

/// A TLS client by hand (rustls over a blocking socket), for what a
/// WebSocket client library hides: the TLS close.
fn raw_tls(
    pki: &TestPki,
    addr: SocketAddr,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = rustls::ClientConnection::new(client_tls(pki), name).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    rustls::StreamOwned::new(tls, tcp)
}

#[test]
fn shutdown_sends_1001_then_close_notify() {
    let pki = pki();
    let server = TlsServer::start(&pki, config());
    let mut tls = raw_tls(&pki, server.addr);
    let request = ws_test_support::upgrade_request(server.addr, "/", "13", "");
    tls.write_all(request.as_bytes()).unwrap();
    let head = ws_test_support::read_http_head(&mut tls).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    server.shutdown.shutdown();
    let close = common::read_frame(&mut tls).unwrap();
    assert_eq!(close.opcode, 0x8);
    assert_eq!(&close.payload[..2], &1001u16.to_be_bytes());
    let reply = ws_test_support::client_frame(ws_proto::OpCode::Close, true, &close.payload[..2]);
    tls.write_all(&reply).unwrap();
    // The server's TLS close: a clean end (`Ok(0)`), not a truncation
    // (`UnexpectedEof`).
    let mut rest = [0u8; 16];
    assert_eq!(tls.read(&mut rest).unwrap(), 0, "close_notify expected");
    server.stop();
}

#[test]
fn shutdown_says_1001_over_tls() {
    let pki = pki();
    let server = TlsServer::start(&pki, config());
    let mut ws = std_client(&pki, &server.url("/"));
    echo_binary(&mut ws, b"before");
    server.shutdown.shutdown();
    match ws.recv() {
        Err(ws_std::Error::Closed { code, .. }) => assert_eq!(code, CloseCode::GOING_AWAY),
        other => panic!("expected the 1001, got {other:?}"),
    }
    server.stop();
}

/// Run a ws-mio client loop that connects to `url` (at `addr`) with
/// `config` and says hello: the echo, or the first error its handler
/// heard.
fn mio_client(config: Config, addr: SocketAddr, url: &str) -> Result<String, String> {
    let mut event_loop = EventLoop::new(config, Hello::default()).unwrap();
    event_loop
        .connect_to(addr, url)
        .map_err(|err| err.to_string())?;
    turn_until(&mut event_loop, IO_TIMEOUT * 2, |event_loop| {
        let hello = event_loop.handler();
        hello.echo.is_some() || !hello.errors.is_empty()
    });
    let hello = event_loop.handler();
    match (hello.echo.take(), hello.errors.first()) {
        (Some(echo), None) => Ok(echo),
        (_, Some(error)) => Err(error.clone()),
        (None, None) => panic!("the client heard nothing"),
    }
}

/// A ws-std TLS echo server for one connection.
fn std_tls_server(pki: &TestPki) -> (SocketAddr, thread::JoinHandle<()>) {
    let server = ws_std::WsServer::bind_with_config("127.0.0.1:0", common::client_config())
        .unwrap()
        .with_tls(server_tls(pki));
    let addr = server.local_addr().unwrap();
    let serving = thread::spawn(move || {
        let Ok(mut ws) = server.accept() else {
            return;
        };
        while let Ok(message) = ws.recv() {
            if ws.send(&message).is_err() {
                return;
            }
        }
    });
    (addr, serving)
}

#[test]
fn a_ws_mio_wss_client_talks_to_a_ws_std_wss_server() {
    let pki = pki();
    let (addr, serving) = std_tls_server(&pki);
    let config = config().tls(client_tls(&pki));
    let url = format!("wss://localhost:{}/", addr.port());
    assert_eq!(mio_client(config, addr, &url), Ok("hello".into()));
    join_within(serving, JOIN_TIMEOUT);
}

/// What a ws-mio client trusting `trusted`'s CA heard connecting as
/// `localhost` to a ws-std server with `served`'s certificate.
fn mio_client_refusal(served: &TestPki, trusted: &TestPki) -> String {
    let (addr, serving) = std_tls_server(served);
    let config = config().tls(client_tls(trusted));
    let url = format!("wss://localhost:{}/", addr.port());
    let error = mio_client(config, addr, &url).expect_err("refused");
    join_within(serving, JOIN_TIMEOUT);
    assert!(
        error.starts_with("TLS: invalid peer certificate"),
        "{error}"
    );
    error.to_lowercase()
}

#[test]
fn a_ws_mio_wss_client_refuses_an_untrusted_a_misnamed_and_an_expired_certificate_saying_which() {
    let pki = pki();
    let untrusted = mio_client_refusal(&pki, &TestPki::new(&["localhost"]));
    assert!(untrusted.contains("unknownissuer"), "{untrusted}");
    let misnamed = TestPki::new(&["example.com"]);
    let error = mio_client_refusal(&misnamed, &misnamed);
    assert!(
        error.contains("notvalidforname") || error.contains("not valid for name"),
        "{error}"
    );
    let expired = TestPki::expired(&["localhost"]);
    let error = mio_client_refusal(&expired, &expired);
    assert!(error.contains("expired"), "{error}");
}

#[test]
fn a_wss_url_is_dialled_with_tls_never_in_plain_text() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let mut first = [0u8; 3];
        tcp.read_exact(&mut first).unwrap();
        first
    });
    let pki = pki();
    let url = format!("wss://localhost:{}/", addr.port());
    // The peer hangs up after the first bytes: the connect fails.
    assert!(mio_client(config().tls(client_tls(&pki)), addr, &url).is_err());
    // A TLS handshake record (22), TLS 1.x: not `GET`.
    let first = join_within(peer, JOIN_TIMEOUT);
    assert_eq!(&first[..2], &[0x16, 0x03], "{first:?}");
}

#[test]
fn a_slow_tls_reader_gets_a_full_queue_in_order_then_the_1001() {
    let pki = pki();
    let queued = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&queued);
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .threads(1)
        .config(shutdown_config())
        .tls(server_tls(&pki));
    let addr = server.local_addr();
    let serving = thread::spawn(move || {
        server.run(move || Filler {
            queued: Arc::clone(&counter),
            shutdown_here: true,
        })
    });
    // A small receive buffer: the server's writes (and rustls's records)
    // wait on the socket.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect_timeout(&addr.into(), IO_TIMEOUT).unwrap();
    let tcp: TcpStream = socket.into();
    tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(client_tls(&pki), name).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let request = ws_test_support::upgrade_request(addr, "/", "13", "");
    tls.write_all(request.as_bytes()).unwrap();
    let head = ws_test_support::read_http_head(&mut tls).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let go = ws_test_support::client_frame(ws_proto::OpCode::Binary, true, b"go");
    tls.write_all(&go).unwrap();
    reads_all_then_going_away(&mut tls, &queued);
    // The queue, rustls's records included, stayed under its bound plus
    // one message.
    let max = shutdown_config().max_outgoing;
    assert!(queued.load(Ordering::SeqCst) * MESSAGE <= max + MESSAGE);
    drop(tls);
    join_within(serving, JOIN_TIMEOUT).expect("server loop returns Ok");
}

/// A TLS client that has upgraded to WebSocket by hand.
fn raw_wss(
    pki: &TestPki,
    addr: SocketAddr,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let mut tls = raw_tls(pki, addr);
    let request = ws_test_support::upgrade_request(addr, "/", "13", "");
    tls.write_all(request.as_bytes()).unwrap();
    let head = ws_test_support::read_http_head(&mut tls).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    tls
}

#[test]
fn a_flood_of_one_byte_tls_records_is_one_message_and_a_reset_mid_record_ends_only_its_connection()
{
    let pki = pki();
    let server = TlsServer::start(&pki, config().compression(None));
    // 4,000 records of one byte each: one 3,992-byte text message.
    let mut flood = raw_wss(&pki, server.addr);
    let text = "x".repeat(3992);
    let frame = ws_test_support::client_frame(ws_proto::OpCode::Text, true, text.as_bytes());
    for byte in &frame {
        // Each write is a record of its own.
        flood.write_all(std::slice::from_ref(byte)).unwrap();
    }
    let echo = common::read_frame(&mut flood).expect("the echo");
    assert_eq!(echo.opcode, 0x1);
    assert!(echo.payload == text.as_bytes(), "the echo differs");

    // Half a record, then a reset.
    let mut reset = raw_wss(&pki, server.addr);
    let mut record = Vec::new();
    reset.conn.writer().write_all(&frame).unwrap();
    reset.conn.write_tls(&mut record).unwrap();
    reset.sock.write_all(&record[..record.len() / 2]).unwrap();
    socket2::SockRef::from(&reset.sock)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(reset);

    // The loop goes on serving.
    let mut ws = std_client(&pki, &server.url("/"));
    echo_binary(&mut ws, b"still here");
    flood
        .write_all(&ws_test_support::client_frame(
            ws_proto::OpCode::Text,
            true,
            b"again",
        ))
        .unwrap();
    assert_eq!(common::read_frame(&mut flood).unwrap().payload, b"again");
    ws.close().unwrap();
    server.stop();
}

#[test]
fn a_server_of_two_loops_serves_ws_and_wss_side_by_side() {
    let pki = pki();
    let mut server = Server::bind("127.0.0.1:0")
        .unwrap()
        .threads(2)
        .config(config());
    let secure = server.listen_tls("127.0.0.1:0", server_tls(&pki)).unwrap();
    let plain = server.local_addr();
    let shutdown = server.shutdown_handle();
    let serving = thread::spawn(move || server.run(|| Echo));
    // Several of each, so that both loops take some.
    let mut clients: Vec<_> = (0..4)
        .flat_map(|_| {
            [
                common::ws_client(&format!("ws://{plain}/")),
                std_client(&pki, &format!("wss://localhost:{}/", secure.port())),
            ]
        })
        .collect();
    for (i, ws) in clients.iter_mut().enumerate() {
        assert_eq!(ws.get_ref().tls().is_some(), i % 2 == 1);
        echo_binary(ws, format!("client {i}").as_bytes());
    }
    for mut ws in clients {
        ws.close().unwrap();
    }
    shutdown.shutdown();
    join_within(serving, JOIN_TIMEOUT).expect("server returns Ok");
}
