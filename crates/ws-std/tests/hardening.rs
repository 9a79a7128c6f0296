//! Findings of the hardening review, over real sockets on 127.0.0.1:
//! silent peers that would pin every connection slot, writes to a peer
//! that does not read, idle connections that must not wake, and the
//! client's error messages.

// This binary uses only some of the shared helpers.
#[allow(dead_code)]
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use ws_std::{connect_with_config, Error};

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
    let config = config().handshake_timeout(Some(Duration::from_millis(300)));
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

// ---------------------------------------------------------------------
// Finding 4: `write_timeout` bounds a whole write, not each write call.
// ---------------------------------------------------------------------

/// A stream that takes one byte per write call, 2 ms apart (a peer that
/// reads a little now and then), and records the write timeouts it is
/// given. It refuses calls past 2,000 so that a write without a deadline
/// fails instead of taking long.
#[derive(Default)]
struct Trickle {
    calls: usize,
    timeouts: Vec<Option<Duration>>,
}

impl Read for Trickle {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Ok(0)
    }
}

impl Write for Trickle {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.calls += 1;
        if self.calls > 2_000 {
            return Err(std::io::Error::other("write called 2,000 times"));
        }
        thread::sleep(Duration::from_millis(2));
        Ok(buf.len().min(1))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl ws_std::Stream for Trickle {
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
        self.timeouts.push(timeout);
        Ok(())
    }
}

#[test]
fn a_write_that_trickles_out_fails_when_its_write_timeout_has_passed() {
    let config = config()
        .write_timeout(Some(Duration::from_millis(200)))
        .compression(None);
    let mut ws =
        ws_std::WebSocket::from_parts(Trickle::default(), ws_std::Role::Server, config, &[], None);
    let started = Instant::now();
    let err = ws
        .send_binary(&[7; 10_000])
        .expect_err("10,000 bytes at one every 2 ms take 20 s");
    let took = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        err.to_string().contains("write timed out after 200 ms"),
        "{err}"
    );
    assert!(
        took >= Duration::from_millis(190) && took < Duration::from_secs(1),
        "gave up after {took:?}"
    );
    // The connection can no longer send: part of the frame is out.
    assert!(ws.send_text("more").is_err());
    // Before each call after the first, the stream's timeout was cut to
    // what was left, never more than the whole allowance.
    let timeouts = &ws.get_ref().timeouts;
    assert!(timeouts.len() > 10, "{} timeouts set", timeouts.len());
    let cut: Vec<Duration> = timeouts.iter().skip(1).map(|t| t.unwrap()).collect();
    assert!(cut.windows(2).all(|w| w[1] <= w[0]), "{cut:?}");
    assert!(cut.iter().all(|t| *t <= Duration::from_millis(200)));
}

/// An echo server with one slot, a 500 ms write timeout, and neither
/// idle ping nor read timeout: only the write deadline can end a
/// connection whose peer does not read.
fn one_slot_server_with_write_timeout() -> EchoServer {
    let config = config()
        .write_timeout(Some(Duration::from_millis(500)))
        .idle_ping(None)
        .read_timeout(None)
        .max_connections(1)
        .compression(None);
    EchoServer::start(ws_std::WsServer::bind_with_config("127.0.0.1:0", config).unwrap())
}

/// Try a new client every 50 ms until one gets its echo (the server's
/// only slot is free again): how long after `since` that was. Panics
/// after `limit`.
fn slot_free_after(url: &str, since: Instant, limit: Duration) -> Duration {
    let deadline = Instant::now() + limit;
    for _ in 0..1_000 {
        assert!(Instant::now() < deadline, "the slot is still taken");
        match connect_with_config(url, &config()) {
            Ok(mut ws) => {
                ws.send_text("free?").unwrap();
                assert_eq!(ws.recv().unwrap(), ws_std::Message::Text("free?".into()));
                let freed = since.elapsed();
                let _ = ws.close();
                return freed;
            }
            Err(Error::HttpStatus(503)) => thread::sleep(Duration::from_millis(50)),
            Err(err) => panic!("unexpected error while the slot is taken: {err}"),
        }
    }
    panic!("no free slot after 1,000 tries");
}

#[test]
fn server_drops_a_peer_that_floods_pings_and_never_reads_within_its_write_timeout() {
    let server = one_slot_server_with_write_timeout();
    let mut stream = raw_upgrade(server.addr);
    // 100 pings of 125 bytes a write; each gets a 127-byte pong that the
    // client never reads, until both directions' socket buffers are full.
    let pings: Vec<u8> = (0..100)
        .flat_map(|_| masked(&ws_std::Frame::new(ws_std::OpCode::Ping, &[b'p'; 125])))
        .collect();
    stream
        .set_write_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    // The buffers are full once 300 ms go by without a byte taken.
    let flood_limit = Instant::now() + Duration::from_secs(30);
    let mut stalled_since = None;
    let mut stalls = 0;
    let mut sent = 0usize;
    for _ in 0..100_000 {
        assert!(
            Instant::now() < flood_limit,
            "buffers not full after {sent} bytes"
        );
        let attempt = Instant::now();
        match stream.write(&pings) {
            Ok(n) => {
                sent += n;
                stalled_since = None;
                stalls = 0;
            }
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                stalled_since.get_or_insert(attempt);
                stalls += 1;
                if stalls == 3 {
                    break;
                }
            }
            // The server gave up and closed while we were still writing.
            Err(_) => {
                stalled_since.get_or_insert(attempt);
                break;
            }
        }
    }
    let full = stalled_since.expect("the socket buffers never filled");
    let freed = slot_free_after(&server.url, full, Duration::from_secs(10));
    println!("ping flood: {sent} bytes sent; slot free {freed:?} after the buffers filled");
    assert!(
        freed < Duration::from_secs(2),
        "the server's echo thread held on for {freed:?} after the buffers filled"
    );
    drop(stream);
    server.stop_and_join().unwrap();
}

#[test]
fn server_gives_up_an_echo_to_a_peer_that_reads_a_trickle() {
    let server = one_slot_server_with_write_timeout();
    let mut stream = raw_upgrade(server.addr);
    // A 12 MB message: more than the socket buffers of both ends hold, so
    // its echo can only go out as fast as the peer reads.
    let message = pattern(12 << 20);
    stream
        .write_all(&masked(&ws_std::Frame::binary(&message)))
        .unwrap();
    drop(message);
    let sent = Instant::now();
    // Read 16 KB every 20 ms (800 KB/s) from another thread: every write
    // call of the server makes some progress, so a timeout per call never
    // fires; the echo alone would take about 5 s.
    let done = Arc::new(AtomicBool::new(false));
    let reader = thread::spawn({
        let done = Arc::clone(&done);
        move || {
            let mut chunk = vec![0u8; 16 * 1024];
            for _ in 0..1_000 {
                if done.load(Ordering::SeqCst) {
                    break;
                }
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => thread::sleep(Duration::from_millis(20)),
                }
            }
        }
    });
    let freed = slot_free_after(&server.url, sent, Duration::from_secs(15));
    done.store(true, Ordering::SeqCst);
    println!("trickle reader: slot free {freed:?} after the message was sent");
    assert!(
        freed < Duration::from_secs(3),
        "the echo to a trickle reader went on for {freed:?}"
    );
    join_within(reader, JOIN_TIMEOUT);
    server.stop_and_join().unwrap();
}

// ---------------------------------------------------------------------
// Finding 3: silent peers must not pin every connection slot.
// ---------------------------------------------------------------------

#[test]
fn silent_peers_are_closed_with_1001_and_free_their_slots() {
    const SLOTS: usize = 16;
    let slots = config()
        .idle_ping(Some(Duration::from_millis(300)))
        .pong_timeout(Some(Duration::from_millis(300)))
        .read_timeout(None)
        .max_connections(SLOTS);
    let server =
        EchoServer::start(ws_std::WsServer::bind_with_config("127.0.0.1:0", slots).unwrap());
    // Sixteen peers complete the handshake, then neither read nor write.
    let started = Instant::now();
    let silent: Vec<TcpStream> = (0..SLOTS).map(|_| raw_upgrade(server.addr)).collect();

    // Every slot is taken: the next client is refused.
    match connect_with_config(&server.url, &config()) {
        Err(Error::HttpStatus(503)) => {}
        other => panic!("expected HTTP 503 with every slot taken, got {other:?}"),
    }

    // Idle 300 ms, then the ping, 300 ms for the pong, then 1001 and up
    // to the close timeout (500 ms) for a close that never comes.
    let freed = slot_free_after(&server.url, started, Duration::from_secs(5));
    println!("{SLOTS} silent peers: a slot was free {freed:?} after they connected");
    assert!(
        freed >= Duration::from_millis(600),
        "a slot was free after {freed:?}, before the idle ping and the pong timeout"
    );

    // Each silent peer was sent the ping, then a close with 1001, then the
    // end of the stream, all of it waiting in its socket.
    for mut stream in silent {
        let (first, _) = read_server_frame(&mut stream);
        assert_eq!(first, 0x89, "expected the idle ping");
        let (first, payload) = read_server_frame(&mut stream);
        assert_eq!(first, 0x88, "expected a close");
        assert_eq!(&payload[..2], &1001u16.to_be_bytes());
        assert!(read_until_closed(&mut stream).is_empty());
    }
    server.stop_and_join().unwrap();
}

// ---------------------------------------------------------------------
// Finding 9 (a): an idle echo connection sleeps until its next deadline,
// and `stop` still closes it at once with 1001.
// ---------------------------------------------------------------------

/// Echo connections with no deadline at all: neither idle ping nor read
/// timeout. Only data or `stop` can wake their threads.
fn sleepy_server() -> EchoServer {
    let config = config().idle_ping(None).read_timeout(None);
    EchoServer::start(ws_std::WsServer::bind_with_config("127.0.0.1:0", config).unwrap())
}

#[test]
fn stop_closes_connections_that_sleep_without_a_deadline_with_1001_at_once() {
    let server = sleepy_server();
    let mut clients: Vec<_> = (0..8)
        .map(|i| {
            let mut ws = client(&server.url);
            ws.send_text(&format!("hello {i}")).unwrap();
            assert_eq!(
                ws.recv().unwrap(),
                ws_std::Message::Text(format!("hello {i}"))
            );
            ws
        })
        .collect();
    // Surely asleep in `recv`.
    thread::sleep(Duration::from_millis(200));

    let stopped = Instant::now();
    server.stop_handle().stop();
    for ws in &mut clients {
        match ws.recv() {
            Err(Error::Closed { code, .. }) => assert_eq!(code, ws_std::CloseCode::GOING_AWAY),
            other => panic!("expected close 1001, got {other:?}"),
        }
    }
    let all_closed = stopped.elapsed();
    assert!(
        all_closed < Duration::from_secs(1),
        "the last 1001 came {all_closed:?} after stop"
    );
    server.stop_and_join().unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn idle_echo_connections_do_not_wake() {
    const CONNECTIONS: usize = 8;
    // Default idle ping (60 s), no read timeout: nothing is due for a
    // minute.
    let config = config().read_timeout(None);
    let before = threads_named("ws-echo");
    let server =
        EchoServer::start(ws_std::WsServer::bind_with_config("127.0.0.1:0", config).unwrap());
    let mut clients: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let mut ws = client(&server.url);
            ws.send_text("hi").unwrap();
            assert_eq!(ws.recv().unwrap(), ws_std::Message::Text("hi".into()));
            ws
        })
        .collect();
    thread::sleep(Duration::from_millis(100));
    // This server's echo threads (and perhaps some of other tests running
    // at the same time, which can only add threads that do not count).
    let ours: Vec<u32> = threads_named("ws-echo")
        .into_iter()
        .filter(|id| !before.contains(id))
        .collect();
    assert!(ours.len() >= CONNECTIONS, "{} echo threads", ours.len());
    let at_start: Vec<Option<u64>> = ours.iter().map(|&id| context_switches(id)).collect();
    thread::sleep(Duration::from_secs(1));
    let woken: Vec<u64> = ours
        .iter()
        .zip(&at_start)
        .filter_map(|(&id, start)| Some(context_switches(id)? - (*start)?))
        .collect();
    // Polling every 100 ms woke each thread about 10 times a second; a
    // thread asleep until its deadline is not switched at all. Allow one
    // stray switch.
    let quiet = woken.iter().filter(|&&n| n <= 1).count();
    println!("context switches of idle echo threads in 1 s: {woken:?}");
    assert!(
        quiet >= CONNECTIONS,
        "only {quiet} of {CONNECTIONS} idle echo threads slept through 1 s: {woken:?}"
    );
    for ws in &mut clients {
        ws.send_text("still there").unwrap();
        assert_eq!(
            ws.recv().unwrap(),
            ws_std::Message::Text("still there".into())
        );
        ws.close().unwrap();
    }
    server.stop_and_join().unwrap();
}

// ---------------------------------------------------------------------
// Deadlines hold however the bytes of a message trickle in.
// ---------------------------------------------------------------------

/// Send `bytes` one at a time, `every` apart, until the peer sends
/// something (or `limit` passes): returns what it sent first, read as a
/// server frame, and when it came after the first byte (`None` if nothing
/// came within `limit`).
fn trickle_until_answered(
    stream: &mut TcpStream,
    bytes: &[u8],
    every: Duration,
    limit: Duration,
) -> Option<(Duration, (u8, Vec<u8>))> {
    let started = Instant::now();
    let mut next = bytes.iter();
    while started.elapsed() < limit {
        if let Some(byte) = next.next() {
            // The server may have closed already: then only read.
            let _ = stream.write_all(&[*byte]);
        }
        stream.set_read_timeout(Some(every)).unwrap();
        let mut first = [0u8; 1];
        match stream.peek(&mut first) {
            Ok(n) if n > 0 => {
                stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
                return Some((started.elapsed(), read_server_frame(stream)));
            }
            Ok(_) => return None,
            Err(_) => {} // nothing yet
        }
    }
    None
}

#[test]
fn a_message_trickling_in_does_not_outlast_the_message_deadline() {
    // No message within 600 ms: close with 1001. Each read waits for that
    // deadline, and one byte comes every 250 ms, well within each read.
    let config = config()
        .idle_ping(None)
        .read_timeout(None)
        .message_timeout(Some(Duration::from_millis(600)));
    let server =
        EchoServer::start(ws_std::WsServer::bind_with_config("127.0.0.1:0", config).unwrap());
    let mut stream = raw_upgrade(server.addr);
    let frame = masked(&ws_std::Frame::text(&"x".repeat(40)));
    let answer = trickle_until_answered(
        &mut stream,
        &frame,
        Duration::from_millis(250),
        Duration::from_secs(3),
    );
    let Some((after, (first, payload))) = answer else {
        panic!("no close within 3 s of a message trickling in at one byte every 250 ms");
    };
    println!("trickling peer closed after {after:?}");
    assert_eq!(first, 0x88, "expected a close");
    assert_eq!(&payload[..2], &1001u16.to_be_bytes());
    assert!(
        after >= Duration::from_millis(500) && after < Duration::from_millis(1500),
        "closed {after:?} after the first byte, for a 600 ms deadline"
    );
    server.stop_and_join().unwrap();
}

/// Write `bytes` to `stream` one at a time, `every` apart, in a thread,
/// until a write fails or 3 s have passed.
fn trickle_in_thread(
    mut stream: TcpStream,
    bytes: Vec<u8>,
    every: Duration,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let started = Instant::now();
        for byte in bytes {
            if stream.write_all(&[byte]).is_err() || started.elapsed() > Duration::from_secs(3) {
                break;
            }
            thread::sleep(every);
        }
    })
}

/// `err` says that `what` timed out after its timeout of `millis` ms, and
/// it came `took` after the wait began: not before the timeout (50 ms of
/// slack for the clock), and well within a second after it.
fn assert_gave_up(err: &Error, took: Duration, what: &str, millis: u64) {
    assert!(err.is_timeout(), "{err}");
    let message = format!("{what} timed out after {millis} ms");
    assert!(err.to_string().contains(&message), "{err}");
    let timeout = Duration::from_millis(millis);
    assert!(
        took + Duration::from_millis(50) >= timeout && took < timeout + Duration::from_millis(700),
        "{what} gave up after {took:?}, for a {timeout:?} timeout"
    );
}

#[test]
fn a_ping_trickling_in_does_not_outlast_the_close_timeout() {
    // Close, then wait 500 ms (the test config's close timeout) for the
    // peer's close; the peer sends a ping instead, one byte every 150 ms,
    // which no single read waits for.
    let server = with_connection(config(), |mut ws| {
        let started = Instant::now();
        let result = ws.close_with(ws_std::CloseCode::NORMAL, "");
        (result, started.elapsed())
    });
    let mut raw = raw_upgrade(server.addr);
    let (first, _) = read_server_frame(&mut raw);
    assert_eq!(first, 0x88, "expected the close");
    let ping = masked(&ws_std::Frame::new(ws_std::OpCode::Ping, &[b'p'; 125]));
    let trickler = trickle_in_thread(raw, ping, Duration::from_millis(150));
    let (result, took) = server.join();
    let err = result.expect_err("no close came back");
    assert_gave_up(&err, took, "close", 500);
    join_within(trickler, JOIN_TIMEOUT);
}

#[test]
fn a_request_trickling_in_does_not_outlast_the_handshake_timeout() {
    let config = config().handshake_timeout(Some(Duration::from_millis(300)));
    let server = with_server(config, |server| {
        let started = Instant::now();
        let result = server.accept();
        (result.map(drop), started.elapsed())
    });
    let raw = TcpStream::connect(server.addr).unwrap();
    let request = upgrade_request(server.addr, "13", "");
    let trickler = trickle_in_thread(raw, request.into_bytes(), Duration::from_millis(100));
    let (result, took) = server.join();
    let err = result.expect_err("the request takes seconds");
    assert_gave_up(&err, took, "handshake", 300);
    join_within(trickler, JOIN_TIMEOUT);
}
