//! Hardening: accepting resumes after the process ran out of descriptors,
//! and a client connection the handler asked for always ends with word of
//! how it ended (a bare-LF 101 opens it; a timeout, a refused connect, a
//! bad answer, a reset or a shutdown reach `on_error` exactly once).

mod common;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{lock, read_frame, read_http_head, Log, Recorder, SharedLog, IO_TIMEOUT};
use ws_mio::{CloseCode, Config, Echo, EventLoop};

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
        let accept = ws_test_support::accept_for_request(&request)?;
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

/// A hand-made server that answers the upgrade with a valid 101 (CRLF
/// lines, plus `padding` bytes of an extra header) one byte per write.
fn trickling_server(padding: usize) -> (thread::JoinHandle<io::Result<()>>, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || -> io::Result<()> {
        let (mut stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_nodelay(true)?;
        let request = read_http_head(&mut stream)?;
        let accept = ws_test_support::accept_for_request(&request)?;
        let answer = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nX-Padding: {}\r\nSec-WebSocket-Accept: {accept}\r\n\r\n",
            "p".repeat(padding)
        );
        for byte in answer.as_bytes() {
            if stream.write_all(&[*byte]).is_err() {
                // The client gave up on an oversized head: expected.
                return Ok(());
            }
        }
        // Hold the connection until the client is done with it.
        let _ = read_http_head(&mut stream);
        Ok(())
    });
    (server, addr)
}

#[test]
fn a_101_trickled_byte_by_byte_opens_and_an_oversized_one_is_refused_once() {
    // Fits: opens.
    let (server, addr) = trickling_server(100);
    let (mut event_loop, log) = client_loop(common::config());
    let id = event_loop
        .connect(&format!("ws://{addr}/"))
        .expect("connect");
    let opened = drive(&mut event_loop, Duration::from_secs(3), |_| {
        !lock(&log).opens.is_empty()
    });
    {
        let log = lock(&log);
        assert!(opened, "not opened: {}", heard(&log));
        assert_eq!(log.opens[0].id, id);
        assert!(log.errors.is_empty(), "{}", heard(&log));
    }
    drop(event_loop);
    common::join_within(server, Duration::from_secs(3)).expect("trickling server");

    // Over max_handshake_header without an end: one error, nothing else.
    let config = common::config().max_handshake_header(512);
    let (server, addr) = trickling_server(1024);
    let (mut event_loop, log) = client_loop(config);
    let id = event_loop
        .connect(&format!("ws://{addr}/"))
        .expect("connect");
    let gone = drive(&mut event_loop, Duration::from_secs(3), |event_loop| {
        event_loop.connection_count() == 0
    });
    drop(event_loop);
    common::join_within(server, Duration::from_secs(3)).expect("trickling server");
    let log = lock(&log);
    assert!(gone, "still connected: {}", heard(&log));
    assert_eq!(log.errors.len(), 1, "{}", heard(&log));
    assert_eq!(log.errors[0].0, id);
    assert!(log.errors[0].1.contains("too large"), "{}", heard(&log));
    assert!(
        log.opens.is_empty() && log.closes.is_empty(),
        "{}",
        heard(&log)
    );
}

// ----- Finding 8 (b): every failed client connection is reported once ----

#[test]
fn a_client_handshake_that_times_out_is_reported_once_through_on_error() {
    let (_listener, addr) = silent_listener();
    let config = common::config().handshake_timeout(Some(Duration::from_millis(200)));
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

// ----- Finding 5: accepting resumes after descriptor exhaustion ----------

/// The environment variable that makes a descriptor test serve as the
/// child ([`serve_if_child`]).
const CHILD_ENV: &str = "WS_MIO_HARDENING_CHILD";
/// The descriptor limit of the child server.
const CHILD_NOFILE: usize = 40;
/// The line the child prints its port on.
const PORT_LINE: &str = "ws-mio-child-port ";
/// If set, the child holds this many descriptors of its own (not
/// connections) for [`HOLD_FOR`] after it starts, then closes them.
const HOLD_ENV: &str = "WS_MIO_HARDENING_CHILD_HOLD";
const HOLD_FOR: Duration = Duration::from_millis(1500);

/// In the child process that a descriptor test starts (this test binary
/// again, running that same test under a low RLIMIT_NOFILE, with
/// [`CHILD_ENV`] set): serve as the echo server and exit, never returning
/// to the test. In the parent, do nothing.
fn serve_if_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    child_echo_server();
    std::process::exit(0);
}

/// The echo server of the child process.
fn child_echo_server() {
    let mut event_loop = EventLoop::new(common::config(), Echo).expect("event loop");
    let addr = event_loop
        .listen("127.0.0.1:0".parse().unwrap())
        .expect("listen");
    if let Some(count) = std::env::var(HOLD_ENV).ok().and_then(|n| n.parse().ok()) {
        let held: Vec<std::fs::File> = (0..count)
            .map(|_| std::fs::File::open("/dev/null").expect("a descriptor to hold"))
            .collect();
        thread::spawn(move || {
            thread::sleep(HOLD_FOR);
            drop(held);
        });
    }
    let shutdown = event_loop.shutdown_handle();
    // Bounded, even if the parent forgets the child.
    thread::spawn(move || {
        thread::sleep(Duration::from_secs(20));
        shutdown.shutdown();
    });
    println!("{PORT_LINE}{}", addr.port());
    io::stdout().flush().unwrap();
    event_loop.run().expect("the child's loop");
}

/// A child process, killed and reaped when dropped.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Run the test `test` of this binary again as a child process under
/// `ulimit -n CHILD_NOFILE`, where it serves as [`child_echo_server`]
/// (see [`serve_if_child`]), holding `hold` descriptors for [`HOLD_FOR`];
/// returns it and its address.
fn spawn_child_server(test: &str, hold: usize) -> (ChildGuard, SocketAddr) {
    let exe = std::env::current_exe().expect("the test binary");
    let script = format!("ulimit -n {CHILD_NOFILE} && exec \"$0\" \"$@\"");
    let child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .env(HOLD_ENV, hold.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the child server");
    let mut child = ChildGuard(child);
    let stdout = child.0.stdout.take().expect("the child's stdout");
    let mut lines = BufReader::new(stdout).lines();
    // The child prints its port at once, or exits (and its stdout ends).
    let port = loop {
        match lines.next() {
            Some(Ok(line)) => {
                // libtest may have started the line ("test ... ").
                if let Some((_, port)) = line.split_once(PORT_LINE) {
                    break port.trim().parse::<u16>().expect("a port number");
                }
            }
            other => panic!("the child server printed no port: {other:?}"),
        }
    };
    // Keep reading (and dropping) the child's output so it never blocks.
    thread::spawn(move || for _ in lines.by_ref() {});
    (child, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// A raw client that sent its upgrade request and reads the answer
/// without blocking.
struct Waiting {
    stream: TcpStream,
    head: Vec<u8>,
    upgraded: bool,
}

impl Waiting {
    fn connect(addr: SocketAddr) -> Waiting {
        let mut stream = common::tcp(addr);
        stream
            .write_all(common::upgrade_request(addr, "/", "").as_bytes())
            .expect("send the upgrade request");
        stream.set_nonblocking(true).unwrap();
        Waiting {
            stream,
            head: Vec::new(),
            upgraded: false,
        }
    }

    /// Read what arrived; true once the 101 is complete.
    fn poll(&mut self) -> bool {
        let mut buf = [0u8; 1024];
        while !self.upgraded {
            match self.stream.read(&mut buf) {
                Ok(0) => panic!(
                    "the server closed a waiting client: {:?}",
                    String::from_utf8_lossy(&self.head)
                ),
                Ok(read) => {
                    self.head.extend_from_slice(&buf[..read]);
                    if self.head.windows(4).any(|w| w == b"\r\n\r\n") {
                        assert!(self.head.starts_with(b"HTTP/1.1 101"), "{:?}", self.head);
                        self.upgraded = true;
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) => panic!("a waiting client's read failed: {err}"),
            }
        }
        self.upgraded
    }
}

/// Poll every client until the number upgraded has not changed for
/// `settle`, or `limit` passes; returns the number upgraded.
fn upgraded_after(clients: &mut [Waiting], settle: Duration, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    let mut count = 0;
    let mut changed = Instant::now();
    while Instant::now() < deadline && changed.elapsed() < settle {
        let now = clients
            .iter_mut()
            .map(Waiting::poll)
            .filter(|&up| up)
            .count();
        if now != count {
            count = now;
            changed = Instant::now();
        }
        thread::sleep(Duration::from_millis(5));
    }
    clients
        .iter_mut()
        .map(Waiting::poll)
        .filter(|&up| up)
        .count()
}

#[test]
fn accepting_resumes_when_descriptors_free_up_without_a_new_client() {
    serve_if_child();
    const CLIENTS: usize = 60;
    const CLOSED: usize = 20;
    let (_child, addr) = spawn_child_server(
        "accepting_resumes_when_descriptors_free_up_without_a_new_client",
        0,
    );
    let mut clients: Vec<Waiting> = (0..CLIENTS).map(|_| Waiting::connect(addr)).collect();
    let first = upgraded_after(
        &mut clients,
        Duration::from_millis(300),
        Duration::from_secs(3),
    );
    let waiting = CLIENTS - first;
    assert!(
        first >= CLOSED && waiting >= CLOSED,
        "with {CHILD_NOFILE} descriptors the server should upgrade some of \
         {CLIENTS} clients and run out before the rest: {first} upgraded"
    );
    // Close some upgraded clients: their descriptors free up in the
    // server. No new client arrives.
    let (mut upgraded, mut rest): (Vec<Waiting>, Vec<Waiting>) =
        clients.into_iter().partition(|c| c.upgraded);
    let _still_open = upgraded.split_off(CLOSED);
    let closed_at = Instant::now();
    drop(upgraded);
    let limit = Duration::from_secs(3);
    let mut served = 0;
    while closed_at.elapsed() < limit && served < CLOSED {
        served = rest.iter_mut().map(Waiting::poll).filter(|&up| up).count();
        thread::sleep(Duration::from_millis(5));
    }
    let took = closed_at.elapsed();
    println!(
        "ulimit -n {CHILD_NOFILE}: {first} of {CLIENTS} upgraded at first; \
         {CLOSED} closed; {served} of the {waiting} waiting upgraded within {took:?}"
    );
    assert!(
        served >= CLOSED,
        "only {served} of {waiting} waiting clients were accepted within \
         {limit:?} after {CLOSED} descriptors freed up"
    );
}

#[test]
fn accepting_resumes_when_descriptors_free_up_elsewhere_in_the_process() {
    serve_if_child();
    const CLIENTS: usize = 40;
    const HELD: usize = 20;
    let started = Instant::now();
    let (_child, addr) = spawn_child_server(
        "accepting_resumes_when_descriptors_free_up_elsewhere_in_the_process",
        HELD,
    );
    let mut clients: Vec<Waiting> = (0..CLIENTS).map(|_| Waiting::connect(addr)).collect();
    let first = upgraded_after(
        &mut clients,
        Duration::from_millis(300),
        Duration::from_secs(1),
    );
    let checked = started.elapsed();
    assert!(
        checked < HOLD_FOR,
        "too slow to check before the child let go: {checked:?}"
    );
    assert!(
        first > 0 && CLIENTS - first >= HELD,
        "with {CHILD_NOFILE} descriptors, {HELD} held, the server should \
         upgrade some of {CLIENTS} clients and run out: {first} upgraded"
    );
    // No connection closes and no client arrives: the child closes the
    // descriptors it held, and the loop's retry timer finds them.
    let limit = HOLD_FOR + Duration::from_secs(3);
    let mut served = 0;
    while started.elapsed() < limit && served < HELD {
        served = clients
            .iter_mut()
            .map(Waiting::poll)
            .filter(|&up| up)
            .count()
            - first;
        thread::sleep(Duration::from_millis(5));
    }
    let took = started.elapsed();
    println!(
        "ulimit -n {CHILD_NOFILE}, {HELD} held for {HOLD_FOR:?}: {first} of {CLIENTS} \
         upgraded at first; {served} more by {took:?} after the child started"
    );
    assert!(
        served >= HELD,
        "only {served} more clients were accepted within {limit:?} of the \
         child's start, {HELD} descriptors freed at {HOLD_FOR:?}"
    );
}
