//! Hardening: a client connection the handler asked for always ends with
//! word of how it ended (a bare-LF 101 opens it; a timeout, a refused connect, a
//! bad answer, a reset or a shutdown reach `on_error` exactly once).

mod common;

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener};
use std::thread;
use std::time::{Duration, Instant};

use common::{lock, read_frame, read_http_head, Log, Recorder, SharedLog, IO_TIMEOUT};
use ws_mio::{CloseCode, Config, EventLoop};

/// Turn `event_loop` (10 ms at most per turn) until `done` holds or
/// `limit` passes; returns whether it held.
fn drive<H: ws_mio::Handler>(
    event_loop: &mut EventLoop<H>,
    limit: Duration,
    mut done: impl FnMut(&mut EventLoop<H>) -> bool,
) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done(event_loop) {
            return true;
        }
        event_loop
            .turn(Some(Duration::from_millis(10)))
            .expect("a turn of the loop");
    }
    done(event_loop)
}

/// A client loop whose handler records what it hears.
fn client_loop(config: Config) -> (EventLoop<Recorder>, SharedLog) {
    let log = SharedLog::default();
    let recorder = Recorder {
        log: std::sync::Arc::clone(&log),
    };
    (EventLoop::new(config, recorder).expect("client loop"), log)
}

/// A listener on 127.0.0.1 that never accepts: the kernel completes the
/// TCP handshake, and the upgrade request is never answered.
fn silent_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Everything the handler heard about the connections it asked for, as
/// one line for assertion messages.
fn heard(log: &Log) -> String {
    format!(
        "opens {:?}, closes {:?}, errors {:?}",
        log.opens.iter().map(|o| o.id).collect::<Vec<_>>(),
        log.closes,
        log.errors
    )
}

// ----- Finding 8 (a): a 101 with bare-LF line ends ------------------------

#[test]
fn client_opens_on_a_bare_lf_101_and_a_message_and_close_round_trip() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || -> io::Result<_> {
        let (mut stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        let request = read_http_head(&mut stream)?;
        let key = request
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("sec-websocket-key")
                    .then(|| value.trim().to_owned())
            })
            .ok_or_else(|| io::Error::other(format!("no key in {request:?}")))?;
        let accept = ws_proto::handshake::accept_key(key.as_bytes());
        let accept = std::str::from_utf8(&accept).map_err(io::Error::other)?;
        // Every line ends in LF alone, the blank line too; a text frame
        // "hello" follows in the same write.
        let mut answer = format!(
            "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n\
             Connection: Upgrade\nSec-WebSocket-Accept: {accept}\n\n"
        )
        .into_bytes();
        answer.extend_from_slice(&[0x81, 5]);
        answer.extend_from_slice(b"hello");
        stream.write_all(&answer)?;
        // The client's handler echoes it, masked.
        let echoed = read_frame(&mut stream)?;
        // Close with 1000; the client answers with its close.
        stream.write_all(&[0x88, 2, 0x03, 0xe8])?;
        let close = read_frame(&mut stream)?;
        Ok((echoed, close))
    });

    let (mut event_loop, log) = client_loop(common::config());
    let id = event_loop
        .connect(&format!("ws://{addr}/"))
        .expect("connect");
    let closed = drive(&mut event_loop, Duration::from_secs(3), |event_loop| {
        server.is_finished() && event_loop.connection_count() == 0
    });
    let (echoed, close) = common::join_within(server, Duration::from_secs(3))
        .expect("the hand-made server's exchange");
    let log = lock(&log);
    assert!(closed, "the connection did not close: {}", heard(&log));
    assert_eq!(log.opens.len(), 1, "on_open: {}", heard(&log));
    assert_eq!(log.opens[0].id, id);
    assert_eq!(log.messages, 1, "the server's hello: {}", heard(&log));
    assert!(log.errors.is_empty(), "{}", heard(&log));
    assert_eq!(log.closes, vec![(id, CloseCode::NORMAL, String::new())]);
    assert_eq!((echoed.opcode, echoed.masked), (0x1, true));
    assert_eq!(echoed.payload, b"hello");
    assert_eq!((close.opcode, close.close_code()), (0x8, 1000));
}

// ----- Finding 8 (b): every failed client connection is reported once ----

#[test]
fn a_client_handshake_that_times_out_is_reported_once_through_on_error() {
    let (_listener, addr) = silent_listener();
    let config = Config {
        handshake_timeout: Duration::from_millis(200),
        ..common::config()
    };
    let (mut event_loop, log) = client_loop(config);
    let started = Instant::now();
    let id = event_loop
        .connect(&format!("ws://{addr}/"))
        .expect("connect");
    let reported = drive(&mut event_loop, Duration::from_secs(2), |_| {
        !lock(&log).errors.is_empty()
    });
    let after = started.elapsed();
    // Some more turns: nothing else may follow.
    drive(&mut event_loop, Duration::from_millis(300), |_| false);
    let log = lock(&log);
    assert!(reported, "not reported within 2 s: {}", heard(&log));
    assert!(after >= Duration::from_millis(190), "too early: {after:?}");
    assert_eq!(log.errors.len(), 1, "{}", heard(&log));
    assert_eq!(log.errors[0].0, id);
    assert!(
        log.errors[0].1.contains("timed out") && log.errors[0].1.contains("handshake"),
        "{}",
        heard(&log)
    );
    assert!(
        log.opens.is_empty() && log.closes.is_empty(),
        "{}",
        heard(&log)
    );
    assert_eq!(event_loop.connection_count(), 0);
    println!("handshake timeout of 200 ms reported after {after:?}");
}

#[test]
fn a_refused_connect_is_reported_once_through_on_error() {
    // A port that was just free: nothing listens there.
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().unwrap()
    };
    let (mut event_loop, log) = client_loop(common::config());
    let id = event_loop
        .connect(&format!("ws://{addr}/"))
        .expect("a non-blocking connect is under way");
    let reported = drive(&mut event_loop, Duration::from_secs(2), |_| {
        !lock(&log).errors.is_empty()
    });
    drive(&mut event_loop, Duration::from_millis(300), |_| false);
    let log = lock(&log);
    assert!(reported, "not reported within 2 s: {}", heard(&log));
    assert_eq!(log.errors.len(), 1, "{}", heard(&log));
    assert_eq!(log.errors[0].0, id);
    assert!(log.errors[0].1.starts_with("I/O error"), "{}", heard(&log));
    assert!(
        log.opens.is_empty() && log.closes.is_empty(),
        "{}",
        heard(&log)
    );
    assert_eq!(event_loop.connection_count(), 0);
}

/// How a hand-made server treats the client's upgrade request.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// HTTP 404.
    NotFound,
    /// A 101 with a wrong accept value.
    WrongAccept,
    /// Closes the connection without a word.
    Hangs,
    /// Resets the connection (SO_LINGER 0).
    Resets,
}

#[test]
fn a_bad_answer_an_end_of_stream_or_a_reset_during_the_handshake_is_reported_once() {
    for answer in [
        Answer::NotFound,
        Answer::WrongAccept,
        Answer::Hangs,
        Answer::Resets,
    ] {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || -> io::Result<()> {
            let (mut stream, _) = listener.accept()?;
            stream.set_read_timeout(Some(IO_TIMEOUT))?;
            read_http_head(&mut stream)?;
            match answer {
                Answer::NotFound => stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
                )?,
                Answer::WrongAccept => stream.write_all(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                      Connection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
                )?,
                Answer::Hangs => stream.shutdown(Shutdown::Both)?,
                Answer::Resets => {
                    socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
                }
            }
            // Let the client see it before the socket goes.
            thread::sleep(Duration::from_millis(50));
            Ok(())
        });
        let (mut event_loop, log) = client_loop(common::config());
        let id = event_loop
            .connect(&format!("ws://{addr}/"))
            .expect("connect");
        let reported = drive(&mut event_loop, Duration::from_secs(2), |event_loop| {
            event_loop.connection_count() == 0
        });
        common::join_within(server, Duration::from_secs(3)).expect("hand-made server");
        drive(&mut event_loop, Duration::from_millis(200), |_| false);
        let log = lock(&log);
        assert!(reported, "{answer:?}: still connected: {}", heard(&log));
        assert_eq!(log.errors.len(), 1, "{answer:?}: {}", heard(&log));
        assert_eq!(log.errors[0].0, id);
        assert!(
            log.opens.is_empty() && log.closes.is_empty(),
            "{answer:?}: {}",
            heard(&log)
        );
        println!("{answer:?}: {}", log.errors[0].1);
    }
}

#[test]
fn a_shutdown_during_a_client_handshake_is_reported_once_through_on_error() {
    let (_listener, addr) = silent_listener();
    let (mut event_loop, log) = client_loop(common::config());
    let id = event_loop
        .connect(&format!("ws://{addr}/"))
        .expect("connect");
    // The request goes out; the server never answers.
    drive(&mut event_loop, Duration::from_millis(50), |_| false);
    event_loop.shutdown_handle().shutdown();
    let finished = drive(&mut event_loop, Duration::from_secs(2), |event_loop| {
        event_loop.is_finished()
    });
    let log = lock(&log);
    assert!(finished, "the loop did not finish: {}", heard(&log));
    assert_eq!(log.errors.len(), 1, "{}", heard(&log));
    assert_eq!(log.errors[0].0, id);
    assert!(log.errors[0].1.contains("shut down"), "{}", heard(&log));
    assert!(
        log.opens.is_empty() && log.closes.is_empty(),
        "{}",
        heard(&log)
    );
}
