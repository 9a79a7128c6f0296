//! The application's view of the upgrade request, over real sockets on
//! 127.0.0.1: accepting with a chosen subprotocol and extra headers,
//! refusing with a status, headers and a body, refusing to write what the
//! application got wrong, what a connection keeps of its handshake, and
//! pings and pongs through `recv_event`.
//!
//! The helpers are local to this file. Every read has a timeout, every
//! loop a bound in count, and every thread is joined with a deadline.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ws_std::{
    accept_with, connect_with_config, upgrade_with, Accept, Config, Error, Incoming, Message,
    Refusal, RequestView, WebSocket, WsServer,
};
use ws_std::{CloseCode, HandshakeError};

/// The longest a single blocking read may wait.
const IO_TIMEOUT: Duration = Duration::from_secs(3);
/// The longest a test waits for one of its threads.
const JOIN_TIMEOUT: Duration = Duration::from_secs(5);
/// The most a raw client reads of one answer.
const MAX_ANSWER: usize = 64 * 1024;
/// The key of RFC 6455 section 1.3.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// What the application's callback returns.
type Decision = Result<Accept, Refusal>;

/// Short timeouts wherever something is waited for.
fn config() -> Config {
    Config::default()
        .close_timeout(Some(Duration::from_millis(500)))
        .handshake_timeout(Some(Duration::from_secs(2)))
        .read_timeout(Some(IO_TIMEOUT))
}

/// Wait for `handle` at most `limit`; panic if it still runs, re-raise its
/// panic if it panicked.
fn join_within<T>(handle: JoinHandle<T>, limit: Duration) -> T {
    let deadline = Instant::now() + limit;
    while !handle.is_finished() {
        assert!(
            Instant::now() < deadline,
            "thread still running after {limit:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
    match handle.join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// A server that accepts one connection with `decide`, in a thread that
/// returns what `WsServer::accept_with` returned.
fn serve_one<F>(
    decide: F,
) -> (
    SocketAddr,
    JoinHandle<ws_std::Result<WebSocket<ws_std::MaybeTlsStream>>>,
)
where
    F: FnOnce(&RequestView<'_>) -> Decision + Send + 'static,
{
    let server = WsServer::bind_with_config("127.0.0.1:0", config()).expect("bind");
    let addr = server.local_addr().expect("local_addr");
    let handle = thread::spawn(move || server.accept_with(decide));
    (addr, handle)
}

/// A valid upgrade request for `path`, with `extra` header lines (each
/// ending in CRLF).
fn request(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n\
         Sec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// Connect to `addr` and send `request`.
fn send_raw(addr: SocketAddr, request: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.write_all(request.as_bytes()).expect("send request");
    stream
}

/// Everything the server sends until it closes the connection, within
/// [`IO_TIMEOUT`] and [`MAX_ANSWER`] bytes.
fn read_to_eof(stream: &mut TcpStream) -> String {
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while Instant::now() < deadline && answer.len() < MAX_ANSWER {
        match stream.read(&mut chunk) {
            Ok(0) => return String::from_utf8(answer).expect("answer is UTF-8"),
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(err) => panic!(
                "no end of stream after {:?}: {err}",
                String::from_utf8_lossy(&answer)
            ),
        }
    }
    panic!("no end of stream within {IO_TIMEOUT:?} and {MAX_ANSWER} bytes");
}

/// The head of the server's answer, up to the blank line (read a byte at
/// a time so that nothing after it is taken).
fn read_head(stream: &mut TcpStream) -> String {
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert!(Instant::now() < deadline, "no whole head in time");
        assert!(head.len() < MAX_ANSWER, "head too long");
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            other => panic!("head cut short ({other:?}): {:?}", head),
        }
    }
    String::from_utf8(head).expect("head is UTF-8")
}

/// The bare 500 a server sends when the application's answer cannot be
/// written.
const BARE_500: &str =
    "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

fn status_of<S: ws_std::Stream>(result: ws_std::Result<WebSocket<S>>) -> u16 {
    match result {
        Err(Error::Refused { status }) => status,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn accepts_with_the_chosen_subprotocol_and_an_extra_header_seen_by_a_raw_client() {
    let (addr, server) = serve_one(|request| {
        let offered: Vec<&str> = request.subprotocols().collect();
        assert_eq!(offered, ["chat.v1", "chat.v2"]);
        Ok(Accept::new()
            .subprotocol("chat.v2")
            .header("X-Session", "42"))
    });
    let mut client = send_raw(
        addr,
        &request("/chat", "Sec-WebSocket-Protocol: chat.v1, chat.v2\r\n"),
    );
    let head = read_head(&mut client);
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    assert!(
        head.contains("\r\nSec-WebSocket-Protocol: chat.v2\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nX-Session: 42\r\n"), "{head}");
    assert!(
        head.contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{head}"
    );
    let ws = join_within(server, JOIN_TIMEOUT).expect("accepted");
    assert_eq!(ws.subprotocol(), Some("chat.v2"));
}

#[test]
fn the_ws_std_client_sees_the_chosen_subprotocol_and_the_extra_header() {
    // The server's configuration would pick chat.v1; the callback wins.
    let server =
        WsServer::bind_with_config("127.0.0.1:0", config().subprotocols(["chat.v1"])).unwrap();
    let url = format!("ws://{}/chat", server.local_addr().unwrap());
    let serving = thread::spawn(move || -> ws_std::Result<Option<String>> {
        let mut ws = server.accept_with(|_| {
            Ok(Accept::new()
                .subprotocol("chat.v2")
                .header("X-Session", "42"))
        })?;
        let chosen = ws.subprotocol().map(str::to_owned);
        let message = ws.recv()?;
        ws.send(&message)?;
        let _ = ws.close();
        Ok(chosen)
    });
    let client_config = config().subprotocols(["chat.v1", "chat.v2"]);
    let mut ws = connect_with_config(&url, &client_config).expect("connect");
    assert_eq!(ws.subprotocol(), Some("chat.v2"));
    let opened = ws.opened_with().expect("a client keeps the response");
    assert_eq!(opened.header_str("x-session"), Some("42"));
    assert_eq!(
        opened.header("SEC-WEBSOCKET-PROTOCOL"),
        Some(&b"chat.v2"[..])
    );
    assert_eq!(opened.path(), "/chat");
    assert_eq!(opened.origin(), None);
    assert_eq!(
        opened.peer_addr(),
        Some(ws.get_ref().get_ref().peer_addr().unwrap())
    );
    ws.send_text("hi").unwrap();
    assert_eq!(ws.recv().unwrap(), Message::Text("hi".into()));
    let _ = ws.close();
    let chosen = join_within(serving, JOIN_TIMEOUT).expect("server");
    assert_eq!(chosen.as_deref(), Some("chat.v2"));
}

#[test]
fn refuses_with_401_www_authenticate_and_a_body_then_closes() {
    let (addr, server) = serve_one(|request| {
        request
            .header_str("Authorization")
            .filter(|value| *value == "Bearer letmein")
            .ok_or_else(|| {
                Refusal::unauthorized("Bearer realm=\"chat\"").body("token required\n")
            })?;
        Ok(Accept::new())
    });
    let mut client = send_raw(addr, &request("/chat", ""));
    assert_eq!(
        read_to_eof(&mut client),
        "HTTP/1.1 401 Unauthorized\r\n\
         Connection: close\r\n\
         Content-Length: 15\r\n\
         WWW-Authenticate: Bearer realm=\"chat\"\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         token required\n"
    );
    let result = join_within(server, JOIN_TIMEOUT);
    assert_eq!(status_of(result), 401);
}

#[test]
fn the_right_token_is_accepted() {
    let (addr, server) = serve_one(|request| match request.header_str("authorization") {
        Some("Bearer letmein") => Ok(Accept::new()),
        _ => Err(Refusal::unauthorized("Bearer")),
    });
    let mut client = send_raw(addr, &request("/chat", "Authorization: Bearer letmein\r\n"));
    let head = read_head(&mut client);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    join_within(server, JOIN_TIMEOUT).expect("accepted");
}

#[test]
fn refuses_a_foreign_origin_with_403() {
    let (addr, server) = serve_one(|request| match request.origin() {
        Some("https://example.com") => Ok(Accept::new()),
        _ => Err(Refusal::forbidden().body("origin not allowed\n")),
    });
    let mut client = send_raw(addr, &request("/chat", "Origin: https://evil.example\r\n"));
    assert_eq!(
        read_to_eof(&mut client),
        "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 19\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\norigin not allowed\n"
    );
    assert_eq!(status_of(join_within(server, JOIN_TIMEOUT)), 403);
}

#[test]
fn refuses_an_unknown_path_with_404_which_the_ws_std_client_reports() {
    let (addr, server) = serve_one(|request| match request.path() {
        "/chat" => Ok(Accept::new()),
        _ => Err(Refusal::not_found().header("X-Reason", "no such socket")),
    });
    let result = connect_with_config(&format!("ws://{addr}/nowhere?x=1"), &config());
    assert!(matches!(result, Err(Error::HttpStatus(404))), "{result:?}");
    assert_eq!(status_of(join_within(server, JOIN_TIMEOUT)), 404);
}

#[test]
fn an_answer_the_application_got_wrong_is_never_written() {
    use HandshakeError as E;
    let cases: Vec<(&str, Decision, E)> = vec![
        (
            "CRLF in an accept header value",
            Ok(Accept::new().header("X-Session", "1\r\nSet-Cookie: admin=1")),
            E::InvalidHeaderValue,
        ),
        (
            "LF in an accept header name",
            Ok(Accept::new().header("X-Session\n", "1")),
            E::InvalidHeaderName,
        ),
        (
            "an accept header the handshake writes itself",
            Ok(Accept::new().header("Sec-WebSocket-Accept", "forged")),
            E::InvalidHeaderName,
        ),
        (
            "a subprotocol the client did not offer",
            Ok(Accept::new().subprotocol("admin")),
            E::ProtocolNotOffered,
        ),
        (
            "a refusal that is not an error status",
            Err(Refusal::new(200).body("fine")),
            E::InvalidStatus,
        ),
        (
            "a refusal that reframes the response",
            Err(Refusal::new(403).header("Content-Length", "0")),
            E::InvalidHeaderName,
        ),
        (
            "CR in a refusal header value",
            Err(Refusal::unauthorized("Basic\rX-Evil: 1")),
            E::InvalidHeaderValue,
        ),
    ];
    for (what, decision, expected) in cases {
        let (addr, server) = serve_one(move |_| decision);
        let mut client = send_raw(addr, &request("/chat", ""));
        assert_eq!(read_to_eof(&mut client), BARE_500, "{what}");
        match join_within(server, JOIN_TIMEOUT) {
            Err(Error::Handshake(err)) => assert_eq!(err, expected, "{what}"),
            other => panic!("{what}: expected a handshake error, got {other:?}"),
        }
    }
}

#[test]
fn the_callback_sees_the_request_and_the_websocket_keeps_it() {
    let (addr, server) = serve_one(|request| {
        assert_eq!(request.path(), "/chat?room=1&user=ann");
        assert_eq!(request.query(), Some("room=1&user=ann"));
        assert_eq!(request.host(), "example.com");
        assert_eq!(request.origin(), Some("https://example.com"));
        assert_eq!(request.header_str("x-trace"), Some("abc"));
        assert_eq!(request.header("X-TRACE"), Some(&b"abc"[..]));
        let names: Vec<&str> = request.headers().map(|(name, _)| name).collect();
        assert_eq!(
            names,
            [
                "Host",
                "Upgrade",
                "Connection",
                "Sec-WebSocket-Key",
                "Sec-WebSocket-Version",
                "Origin",
                "X-Trace",
                "x-trace"
            ]
        );
        assert_eq!(request.subprotocols().count(), 0);
        assert!(request
            .peer_addr()
            .is_some_and(|peer| peer.ip().is_loopback()));
        Ok(Accept::new())
    });
    let mut client = send_raw(
        addr,
        &request(
            "/chat?room=1&user=ann",
            "Origin: https://example.com\r\nX-Trace: abc\r\nx-trace: def\r\n",
        ),
    );
    let head = read_head(&mut client);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    let ws = join_within(server, JOIN_TIMEOUT).expect("accepted");
    let opened = ws.opened_with().expect("a server keeps the request");
    assert_eq!(opened.path(), "/chat?room=1&user=ann");
    assert_eq!(opened.query(), Some("room=1&user=ann"));
    assert_eq!(opened.host(), "example.com");
    assert_eq!(opened.origin(), Some("https://example.com"));
    assert_eq!(opened.header_str("X-TRACE"), Some("abc"));
    let traces: Vec<&[u8]> = opened
        .headers()
        .filter(|(name, _)| name.eq_ignore_ascii_case("x-trace"))
        .map(|(_, value)| value)
        .collect();
    assert_eq!(traces, [&b"abc"[..], &b"def"[..]]);
    assert_eq!(opened.headers().count(), 8);
    assert_eq!(opened.peer_addr(), Some(client.local_addr().unwrap()));
    assert_eq!(WebSocket::from_server(client).opened_with(), None);
}

#[test]
fn a_client_gets_its_pong_and_the_servers_ping_through_recv_event() {
    let server = WsServer::bind_with_config("127.0.0.1:0", config()).unwrap();
    let url = format!("ws://{}/", server.local_addr().unwrap());
    let serving = thread::spawn(move || -> ws_std::Result<Vec<Incoming>> {
        let mut ws = server.accept_with(|_| Ok(Accept::new()))?;
        let mut seen = Vec::new();
        // The client's ping: answered before it is handed out.
        seen.push(ws.recv_event()?);
        ws.send_text("hello")?;
        ws.send_ping(b"server here")?;
        for _ in 0..4 {
            match ws.recv_event() {
                Ok(event) => seen.push(event),
                Err(Error::Closed { .. }) => return Ok(seen),
                Err(err) => return Err(err),
            }
        }
        Ok(seen)
    });
    let mut ws = connect_with_config(&url, &config()).expect("connect");
    ws.send_ping(b"are you there").unwrap();
    assert_eq!(
        ws.recv_event().unwrap(),
        Incoming::Pong(b"are you there".to_vec())
    );
    assert_eq!(
        ws.recv_event().unwrap(),
        Incoming::Message(Message::Text("hello".into()))
    );
    assert_eq!(
        ws.recv_event().unwrap(),
        Incoming::Ping(b"server here".to_vec())
    );
    ws.close().expect("close");
    let seen = join_within(serving, JOIN_TIMEOUT).expect("server");
    assert_eq!(
        seen,
        [
            Incoming::Ping(b"are you there".to_vec()),
            // The client answered the server's ping on its own.
            Incoming::Pong(b"server here".to_vec()),
        ]
    );
}

#[test]
fn recv_still_skips_pings_and_pongs() {
    let server = WsServer::bind_with_config("127.0.0.1:0", config()).unwrap();
    let url = format!("ws://{}/", server.local_addr().unwrap());
    let serving = thread::spawn(move || -> ws_std::Result<Message> {
        let mut ws = server.accept()?;
        ws.send_pong(b"unasked")?;
        ws.send_ping(b"ping")?;
        ws.send_text("after")?;
        let echoed = ws.recv()?;
        let _ = ws.close();
        Ok(echoed)
    });
    let mut ws = connect_with_config(&url, &config()).expect("connect");
    assert_eq!(ws.recv().unwrap(), Message::Text("after".into()));
    ws.send_text("done").unwrap();
    let echoed = join_within(serving, JOIN_TIMEOUT).expect("server");
    assert_eq!(echoed, Message::Text("done".into()));
    assert!(matches!(
        ws.recv(),
        Err(Error::Closed { code, .. }) if code == CloseCode::NORMAL
    ));
}

#[test]
fn incoming_with_refuses_and_accepts_each_connection() {
    let server = WsServer::bind_with_config("127.0.0.1:0", config()).unwrap();
    let addr = server.local_addr().unwrap();
    let serving = thread::spawn(move || {
        let mut asked = 0;
        let decide = |request: &RequestView<'_>| {
            asked += 1;
            match request.path() {
                "/echo" => Ok(Accept::new()),
                _ => Err(Refusal::not_found()),
            }
        };
        let outcomes: Vec<Result<String, u16>> = server
            .incoming_with(decide)
            .take(2)
            .map(|ws| match ws {
                Ok(ws) => Ok(ws.opened_with().unwrap().path().to_owned()),
                Err(err) => Err(status_of::<TcpStream>(Err(err))),
            })
            .collect();
        (outcomes, asked)
    });
    let refused = connect_with_config(&format!("ws://{addr}/other"), &config());
    assert!(
        matches!(refused, Err(Error::HttpStatus(404))),
        "{refused:?}"
    );
    let accepted = connect_with_config(&format!("ws://{addr}/echo"), &config());
    assert!(accepted.is_ok(), "{accepted:?}");
    let (outcomes, asked) = join_within(serving, JOIN_TIMEOUT);
    assert_eq!(outcomes, [Err(404), Ok("/echo".to_owned())]);
    assert_eq!(asked, 2);
}

#[test]
fn upgrade_with_decides_on_a_request_an_http_server_already_read() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = thread::spawn(move || -> ws_std::Result<Message> {
        let (mut stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        // What an HTTP server reads before it routes: at least the head.
        let mut head = Vec::new();
        let mut chunk = [0u8; 256];
        for _ in 0..64 {
            if head.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
            let n = stream.read(&mut chunk)?;
            assert!(n > 0, "client left");
            head.extend_from_slice(&chunk[..n]);
        }
        let mut ws = upgrade_with(stream, &head, &config(), |request| match request.query() {
            Some("token=letmein") => Ok(Accept::new().header("X-Upgraded-By", "test")),
            _ => Err(Refusal::unauthorized("Bearer")),
        })?;
        let message = ws.recv()?;
        let _ = ws.close();
        Ok(message)
    });
    let mut ws =
        connect_with_config(&format!("ws://{addr}/ws?token=letmein"), &config()).expect("connect");
    let opened = ws.opened_with().unwrap();
    assert_eq!(opened.header_str("X-Upgraded-By"), Some("test"));
    ws.send_text("through the HTTP server").unwrap();
    let received = join_within(serving, JOIN_TIMEOUT).expect("server");
    assert_eq!(received, Message::Text("through the HTTP server".into()));
}

#[test]
fn accept_with_works_on_any_stream() {
    // The free function on a stream accepted by hand.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = thread::spawn(move || {
        let (stream, peer) = listener.accept().expect("accept");
        let result = accept_with(stream, &config(), |request| {
            assert_eq!(request.peer_addr(), Some(peer));
            Err(Refusal::new(429).header("Retry-After", "1"))
        });
        status_of(result)
    });
    let mut client = send_raw(addr, &request("/", ""));
    assert_eq!(
        read_to_eof(&mut client),
        "HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\
         Retry-After: 1\r\n\r\n"
    );
    assert_eq!(join_within(serving, JOIN_TIMEOUT), 429);
}
