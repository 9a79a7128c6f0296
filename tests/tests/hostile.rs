//! Hostile peers against the echo servers (`ws_std::WsServer::run_echo`,
//! `ws_mio::Server` with `Echo`, and a ws-tokio `recv`/`send` loop), each
//! scenario written once over [`TestServer`] and run for each: oversized and trickled handshakes, a
//! burst of abandoned handshakes, absurd frame lengths, unmasked frames,
//! invalid UTF-8 across fragments, a ping flood, a peer that never reads,
//! and resets mid-frame and mid-close. Every scenario ends with a fresh,
//! well-behaved client getting its echo and the server thread returning
//! without a panic. Two more tests put the clients (ws-std and ws-mio)
//! against a hand-made server that sends a masked frame.
//!
//! The servers run in this process, so `/proc/self/status` tells what an
//! attack cost them; the tests take a lock so that they run one at a time
//! and the figures belong to one test (run with `--nocapture` to see them).

mod common;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::*;
use ws_mio::{ConnectionId, Context, EventLoop, Handler, MessageRef, Opening, Refusal};
use ws_proto::{CloseCode, OpCode, ProtocolError};

/// Growth of the process's memory that an attack may cause; far below
/// what each attack would cost a server that buffered it.
const MEMORY_BOUND: u64 = 64 * MIB;

/// Growth of the sampled virtual size allowed while a huge frame is
/// announced: room for new threads' stacks and malloc arenas (64 MiB of
/// address space each), not for a buffer of the announced size reserved
/// and left untouched.
const VIRTUAL_BOUND: u64 = 512 * MIB;

/// The same for the peer that never reads, whose echoes a server holds
/// up to its queue bound (ws-mio) or the socket buffers (ws-std).
const SLOW_READER_MEMORY_BOUND: u64 = 128 * MIB;

// ---------------------------------------------------------------------
// 1. A header block over the cap.
// ---------------------------------------------------------------------

fn oversized_header_block_is_refused_with_431<S: TestServer>() {
    let _serial = serial();
    let server = S::start();
    let addr = server.addr();
    let watch = MemWatch::start(format!("{}: 20 KB header block", S::NAME));

    // Ten 2 KB headers: few enough lines that the size cap is what trips.
    let padding: String = (0..10)
        .map(|i| format!("X-Padding-{i}: {}\r\n", "a".repeat(2_000)))
        .collect();
    let request = upgrade_request(addr, &padding);
    assert!(request.len() > 20_000);
    let mut stream = tcp(addr);
    for chunk in request.as_bytes().chunks(1024) {
        // The server may close once it has seen enough.
        if stream.write_all(chunk).is_err() {
            break;
        }
    }
    let head = read_http_head(&mut stream);
    assert!(
        head.starts_with("HTTP/1.1 431"),
        "{}: expected 431, got {head:?}",
        S::NAME
    );
    assert!(
        sees_end_of_stream(&mut stream, Duration::from_secs(2)),
        "{}: the connection stays open after the 431",
        S::NAME
    );
    drop(stream);

    let report = watch.finish();
    assert!(report.growth() < MEMORY_BOUND, "{}: {report:?}", S::NAME);
    finish(server);
}

// ---------------------------------------------------------------------
// 2. Slowloris.
// ---------------------------------------------------------------------

fn slowloris_is_cut_off_by_the_handshake_timeout<S: TestServer>() {
    let _serial = serial();
    let server = S::start();
    let addr = server.addr();
    let request = upgrade_request(addr, "");
    let mut stream = tcp(addr);
    // The read after each byte doubles as the 100 ms pause.
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();

    let started = Instant::now();
    let mut sent = 0;
    let mut closed_after = None;
    let mut sink = [0u8; 512];
    for &byte in request.as_bytes() {
        if started.elapsed() > Duration::from_secs(5) {
            break;
        }
        if stream.write_all(&[byte]).is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        sent += 1;
        match stream.read(&mut sink) {
            Ok(0) => {
                closed_after = Some(started.elapsed());
                break;
            }
            Ok(_) => {} // A refusal on its way; the end of stream follows.
            Err(err) if is_timeout(&err) || err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                closed_after = Some(started.elapsed());
                break;
            }
        }
    }
    eprintln!(
        "[slowloris] {}: {sent} of {} bytes sent, closed after {closed_after:?}",
        S::NAME,
        request.len()
    );
    let closed_after =
        closed_after.unwrap_or_else(|| panic!("{}: the trickling peer was never cut off", S::NAME));
    assert!(sent < request.len(), "{}: the request completed", S::NAME);
    assert!(
        closed_after >= Duration::from_millis(800),
        "{}: closed after {closed_after:?}, before the 1 s handshake timeout",
        S::NAME
    );
    assert!(
        closed_after < Duration::from_millis(2_500),
        "{}: closed only after {closed_after:?} (handshake timeout 1 s)",
        S::NAME
    );
    drop(stream);
    finish(server);
}

// ---------------------------------------------------------------------
// 3. A burst of abandoned handshakes.
// ---------------------------------------------------------------------

fn burst_of_abandoned_handshakes_is_survived<S: TestServer>() {
    const TOTAL: usize = 5_000;
    const AT_ONCE: usize = 200;
    /// A 2 ms pause after this many connects. ws-std listens with the
    /// standard library's backlog of 128 (`TcpListener::bind`,
    /// crates/ws-std/src/server.rs:88) and accepts more slowly than a
    /// client connects (a thread per connection), so an unpaced burst of
    /// 200 overflows the accept queue; every dropped SYN costs its client
    /// a 1 s retransmission and the unpaced test about 20 s (ws-mio,
    /// backlog 1024: 0.3 s). The pause keeps the test short; the burst
    /// is the same.
    const PACE_EVERY: usize = 25;
    let _serial = serial();
    let server = S::start();
    let addr = server.addr();
    let request = upgrade_request(addr, "");
    let half = &request.as_bytes()[..request.len() / 2];

    let started = Instant::now();
    let deadline = started + Duration::from_secs(20);
    let (mut opened, mut refused) = (0usize, 0usize);
    for _ in 0..TOTAL / AT_ONCE {
        if Instant::now() > deadline {
            break;
        }
        let mut open = Vec::with_capacity(AT_ONCE);
        for i in 0..AT_ONCE {
            if i % PACE_EVERY == PACE_EVERY - 1 {
                // See PACE_EVERY.
                thread::sleep(Duration::from_millis(2));
            }
            match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
                Ok(mut stream) => {
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                    let _ = stream.write_all(half);
                    open.push(stream);
                    opened += 1;
                }
                Err(_) => refused += 1,
            }
        }
        drop(open);
    }
    eprintln!(
        "[burst] {}: {opened} connections opened and dropped mid-handshake, \
         {refused} failed to connect, in {:?}",
        S::NAME,
        started.elapsed()
    );
    assert_eq!(
        opened + refused,
        TOTAL,
        "{}: the burst did not finish in time",
        S::NAME
    );
    assert!(
        opened >= TOTAL / 2,
        "{}: only {opened} of {TOTAL} connects succeeded",
        S::NAME
    );
    finish(server);
}

// ---------------------------------------------------------------------
// 4. Absurd announced lengths.
// ---------------------------------------------------------------------

/// Announce a binary frame of `len` bytes (masked, payload never sent
/// beyond `payload`) and return the server's close code; checks that the
/// server then closes the connection.
fn close_code_for_announced_length<S: TestServer>(server: &S, len: u64, payload: &[u8]) -> u16 {
    let mut stream = raw_upgrade(server.addr());
    let mut bytes = header(OpCode::Binary, true, len, Some(MASK));
    bytes.extend_from_slice(payload);
    stream.write_all(&bytes).expect("write the frame header");
    let close = read_close(&mut stream);
    assert!(!close.masked, "{}: a masked server frame", S::NAME);
    assert!(
        sees_end_of_stream(&mut stream, Duration::from_secs(2)),
        "{}: the connection stays open after the close for length {len}",
        S::NAME
    );
    close.close_code()
}

fn announced_length_2_pow_63_minus_1_is_refused_with_1009<S: TestServer>() {
    let _serial = serial();
    let server = S::start();
    let watch = MemWatch::start(format!("{}: frame announcing 2^63-1 bytes", S::NAME));
    let code = close_code_for_announced_length(&server, i64::MAX as u64, &[]);
    assert_eq!(
        code,
        1009,
        "{}: 2^63-1 bytes exceeds max_frame_size",
        S::NAME
    );
    let report = watch.finish();
    assert!(report.growth() < MEMORY_BOUND, "{}: {report:?}", S::NAME);
    assert!(
        report.virtual_growth() < VIRTUAL_BOUND,
        "{}: {report:?}",
        S::NAME
    );
    finish(server);
}

fn announced_length_with_the_top_bit_set_is_refused_with_1002<S: TestServer>() {
    let _serial = serial();
    let server = S::start();
    let code = close_code_for_announced_length(&server, 1 << 63, &[]);
    assert_eq!(code, 1002, "{}: a 64-bit length with the top bit", S::NAME);
    let code = close_code_for_announced_length(&server, u64::MAX, &[]);
    assert_eq!(code, 1002, "{}: a length of 2^64-1", S::NAME);
    finish(server);
}

fn announced_length_of_1_gib_is_refused_with_1009_without_allocating_it<S: TestServer>() {
    let _serial = serial();
    let server = S::start();
    let watch = MemWatch::start(format!("{}: frame announcing 1 GiB", S::NAME));
    // The header and the first 64 KiB of the payload in one write.
    let code = close_code_for_announced_length(&server, 1 << 30, &pattern(64 * 1024));
    assert_eq!(code, 1009, "{}: 1 GiB over the 16 MiB frame limit", S::NAME);
    let report = watch.finish();
    assert!(
        report.growth() < MEMORY_BOUND,
        "{}: announcing 1 GiB grew memory: {report:?}",
        S::NAME
    );
    assert!(
        report.virtual_growth() < VIRTUAL_BOUND,
        "{}: announcing 1 GiB reserved address space: {report:?}",
        S::NAME
    );
    finish(server);
}

// ---------------------------------------------------------------------
// 5. Masking the wrong way.
// ---------------------------------------------------------------------

fn unmasked_client_frame_is_refused_with_1002<S: TestServer>() {
    let _serial = serial();
    let server = S::start();
    let mut stream = raw_upgrade(server.addr());
    stream
        .write_all(&frame(OpCode::Text, true, b"hello", None))
        .unwrap();
    let close = read_close(&mut stream);
    assert_eq!(close.close_code(), 1002, "{}: {close:?}", S::NAME);
    assert!(
        sees_end_of_stream(&mut stream, Duration::from_secs(2)),
        "{}: the connection stays open after 1002",
        S::NAME
    );
    finish(server);
}

/// A hand-made server for one client: completes the handshake, sends
/// `frames`, and returns the first close frame the client sends (or what
/// went wrong).
fn fake_server(frames: Vec<u8>) -> (String, JoinHandle<io::Result<RawFrame>>) {
    one_client_server("", move |stream, _head| {
        stream.write_all(&frames)?;
        for _ in 0..16 {
            let frame = read_frame(stream)?;
            if frame.opcode == 0x8 {
                return Ok(frame);
            }
        }
        Err(io::Error::other("no close frame from the client"))
    })
}

/// A masked text frame, as no server may send.
fn masked_server_frame() -> Vec<u8> {
    frame(OpCode::Text, true, b"masked by a server", Some(MASK))
}

#[test]
fn ws_std_client_fails_a_masked_server_frame_with_1002() {
    let _serial = serial();
    let (url, server) = fake_server(masked_server_frame());
    let mut ws = ws_std::connect_with_config(&url, &client_config()).expect("client handshake");
    let err = ws.recv().expect_err("a masked server frame is refused");
    assert!(
        matches!(err, ws_std::Error::Protocol(ProtocolError::MaskedFrame)),
        "{err:?}"
    );
    assert_eq!(err.close_code(), Some(CloseCode::PROTOCOL_ERROR));
    drop(ws);
    let close = join_within(server, JOIN_TIMEOUT, "fake server").expect("the client's close");
    assert!(close.masked, "client frames are masked: {close:?}");
    assert_eq!(close.close_code(), 1002, "{close:?}");
}

/// What a ws-mio client connection went through.
#[derive(Debug, Default)]
struct ClientLog {
    opened: usize,
    messages: usize,
    protocol_errors: Vec<ProtocolError>,
    other_errors: Vec<String>,
    closes: Vec<(CloseCode, String)>,
}

impl Handler for ClientLog {
    type Data = ();

    fn on_open(
        &mut self,
        _: &mut Context<'_, ()>,
        _: ConnectionId,
        _: &Opening<'_>,
    ) -> Result<(), Refusal> {
        self.opened += 1;
        Ok(())
    }

    fn on_message(&mut self, _: &mut Context<'_, ()>, _: ConnectionId, _: MessageRef<'_>) {
        self.messages += 1;
    }

    fn on_close(&mut self, _: &mut Context<'_, ()>, _: ConnectionId, code: CloseCode, why: &str) {
        self.closes.push((code, why.to_owned()));
    }

    fn on_error(&mut self, _: &mut Context<'_, ()>, _: ConnectionId, error: &ws_mio::Error) {
        match error {
            ws_mio::Error::Protocol(err) => self.protocol_errors.push(*err),
            other => self.other_errors.push(other.to_string()),
        }
    }
}

#[test]
fn ws_mio_client_fails_a_masked_server_frame_with_1002() {
    let _serial = serial();
    let (url, server) = fake_server(masked_server_frame());
    let mut client = EventLoop::new(mio_config(), ClientLog::default()).expect("client loop");
    client.connect(&url).expect("connect");
    let deadline = Instant::now() + IO_TIMEOUT;
    for _ in 0..1_000 {
        if Instant::now() > deadline || !client.handler().closes.is_empty() {
            break;
        }
        client.turn(Some(Duration::from_millis(10))).expect("turn");
    }
    // A few more turns so that the close frame goes out.
    for _ in 0..10 {
        client.turn(Some(Duration::from_millis(10))).expect("turn");
    }
    let close = join_within(server, JOIN_TIMEOUT, "fake server").expect("the client's close");
    let log = client.handler();
    assert_eq!(log.opened, 1, "{log:?}");
    assert_eq!(log.messages, 0, "{log:?}");
    assert_eq!(log.protocol_errors, [ProtocolError::MaskedFrame], "{log:?}");
    assert_eq!(log.closes.len(), 1, "{log:?}");
    assert_eq!(log.closes[0].0, CloseCode::PROTOCOL_ERROR, "{log:?}");
    assert!(close.masked, "client frames are masked: {close:?}");
    assert_eq!(close.close_code(), 1002, "{close:?}");
}

// ---------------------------------------------------------------------
// 6. Invalid UTF-8 split across fragments.
// ---------------------------------------------------------------------

fn invalid_utf8_across_fragments_is_refused_with_1007_at_once<S: TestServer>() {
    let _serial = serial();
    let server = S::start();
    let mut stream = raw_upgrade(server.addr());
    // 0xF4 opens a four-byte sequence whose second byte must be
    // 0x80..=0x8F: 0x90 is wrong, and known wrong as soon as it arrives.
    stream
        .write_all(&client_frame(OpCode::Text, false, b"valid text \xF4"))
        .unwrap();
    thread::sleep(Duration::from_millis(50));
    stream
        .write_all(&client_frame(OpCode::Continuation, false, b"\x90abc"))
        .unwrap();
    // The message is never finished: the close must come anyway.
    let close = read_close(&mut stream);
    assert_eq!(close.close_code(), 1007, "{}: {close:?}", S::NAME);
    assert!(
        sees_end_of_stream(&mut stream, Duration::from_secs(2)),
        "{}: the connection stays open after 1007",
        S::NAME
    );
    finish(server);
}

// ---------------------------------------------------------------------
// 7. Ping flood.
// ---------------------------------------------------------------------

/// 100,000 masked pings with `payload_len`-byte payloads, written as fast
/// as the socket takes them (each write may wait 1 s) while the pongs are
/// not read; another client echoes during and after the flood. Returns
/// whether the flood was throttled (a write timed out or failed) or the
/// connection closed.
fn ping_flood<S: TestServer>(server: &S, payload_len: usize) -> bool {
    const PINGS: usize = 100_000;
    const PER_WRITE: usize = 1_000;
    let flood = raw_upgrade(server.addr());
    let mut writer_end = flood.try_clone().unwrap();
    writer_end
        .set_write_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let batch = client_frame(OpCode::Ping, true, &pattern(payload_len)).repeat(PER_WRITE);
    let watch = MemWatch::start(format!(
        "{}: 100,000 pings of {payload_len} bytes, pongs unread",
        S::NAME
    ));

    let writer = thread::spawn(move || {
        let started = Instant::now();
        let mut sent = 0;
        for _ in 0..PINGS / PER_WRITE {
            if started.elapsed() > Duration::from_secs(8) {
                return (
                    sent,
                    "stopped at the deadline".to_owned(),
                    started.elapsed(),
                );
            }
            if let Err(err) = writer_end.write_all(&batch) {
                return (sent, format!("write failed: {err}"), started.elapsed());
            }
            sent += PER_WRITE;
        }
        (sent, "all written".to_owned(), started.elapsed())
    });
    thread::sleep(Duration::from_millis(20));
    echo_once(server, "during the ping flood");
    let (sent, outcome, took) = join_within(writer, Duration::from_secs(15), "flood writer");
    echo_once(server, "after the ping flood");
    let report = watch.finish();

    // What the flooded connection looks like now: pongs waiting, or
    // closed. Read them (each read may return a few pongs only) until all
    // that were owed arrived, the stream ends, 200 ms pass without any,
    // or 3 s in all.
    let mut flood = flood;
    let pong_len = 2 + payload_len;
    let owed = sent * pong_len;
    let mut pong_bytes = 0usize;
    let mut closed = false;
    flood
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut sink = vec![0u8; 64 * 1024];
    let deadline = Instant::now() + Duration::from_secs(3);
    for _ in 0..PINGS * 2 {
        if pong_bytes >= owed || Instant::now() > deadline {
            break;
        }
        match flood.read(&mut sink) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(n) => pong_bytes += n,
            Err(err) if is_timeout(&err) => break,
            Err(_) => {
                closed = true;
                break;
            }
        }
    }
    eprintln!(
        "[ping flood] {}: {sent} of {PINGS} pings of {payload_len} bytes written in {took:?} \
         ({outcome}); then {} pongs read, connection closed: {closed}",
        S::NAME,
        pong_bytes / pong_len,
    );
    assert!(
        report.growth() < MEMORY_BOUND,
        "{}: a ping flood grew memory: {report:?}",
        S::NAME
    );
    sent < PINGS || closed
}

fn ping_flood_of_small_pings_leaves_memory_bounded<S: TestServer>() {
    let _serial = serial();
    let server = S::start();
    // 1.4 MB of pings, 1 MB of pongs: the socket buffers may take it all,
    // so being throttled is not required here.
    ping_flood(&server, 8);
    finish(server);
}

fn ping_flood_of_125_byte_pings_is_throttled_with_memory_bounded<S: TestServer>() {
    let _serial = serial();
    let server = S::start();
    // 13 MB of pings whose 12.7 MB of pongs nobody reads: more than the
    // socket buffers hold, so the server must stop reading or drop us.
    let throttled = ping_flood(&server, 125);
    assert!(
        throttled,
        "{}: every ping was taken and the connection is open",
        S::NAME
    );
    finish(server);
}

// ---------------------------------------------------------------------
// 8. A peer that sends and never reads.
// ---------------------------------------------------------------------

fn peer_that_does_not_read_leaves_memory_bounded<S: TestServer>() {
    const MESSAGES: usize = 2_000;
    const SIZE: usize = 64 * 1024;
    let _serial = serial();
    let server = S::start();
    let mut stream = raw_upgrade(server.addr());
    stream
        .set_write_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let message = client_frame(OpCode::Binary, true, &pattern(SIZE));
    let watch = MemWatch::start(format!(
        "{}: 2,000 x 64 KiB echo requests, replies unread",
        S::NAME
    ));

    let started = Instant::now();
    let mut sent = 0;
    let mut outcome = "all written".to_owned();
    for _ in 0..MESSAGES {
        if started.elapsed() > Duration::from_secs(10) {
            outcome = "stopped at the deadline".to_owned();
            break;
        }
        if let Err(err) = stream.write_all(&message) {
            outcome = format!("write failed: {err}");
            break;
        }
        sent += 1;
    }
    let took = started.elapsed();
    // Another client, while the first one's echoes are stuck.
    echo_once(&server, "beside a peer that does not read");
    let report = watch.finish();
    eprintln!(
        "[slow reader] {}: {sent} of {MESSAGES} messages written in {took:?} ({outcome})",
        S::NAME
    );
    assert!(
        report.growth() < SLOW_READER_MEMORY_BOUND,
        "{}: a peer that does not read grew memory: {report:?}",
        S::NAME
    );
    drop(stream);
    finish(server);
}

// ---------------------------------------------------------------------
// 9. Resets mid-frame and mid-close.
// ---------------------------------------------------------------------

fn resets_mid_frame_and_mid_close_are_survived<S: TestServer>() {
    const ROUNDS: usize = 20;
    let _serial = serial();
    let server = S::start();
    let addr = server.addr();
    let whole = client_frame(OpCode::Binary, true, &pattern(1_000));
    let close = client_frame(OpCode::Close, true, &1000u16.to_be_bytes());
    let big = client_frame(OpCode::Binary, true, &pattern(1 << 20));
    for _ in 0..ROUNDS {
        // (a) Half a frame, then a reset.
        let mut stream = raw_upgrade(addr);
        stream.write_all(&whole[..whole.len() / 2]).unwrap();
        reset(stream);

        // (b) A close frame, and a reset before the reply is read.
        let mut stream = raw_upgrade(addr);
        stream.write_all(&close).unwrap();
        reset(stream);

        // (c) A 1 MiB message, and a reset while its echo is being written.
        let mut stream = raw_upgrade(addr);
        let _ = stream.write_all(&big);
        let mut first = [0u8; 1];
        let _ = stream.read(&mut first);
        reset(stream);
    }
    finish(server);
}

// ---------------------------------------------------------------------
// Both servers.
// ---------------------------------------------------------------------

/// A module of `#[test]`s running each named scenario against `$server`;
/// attributes before a name (such as `#[ignore = "..."]`) go to its test.
macro_rules! against {
    ($module:ident, $server:ty, [$($(#[$attr:meta])* $scenario:ident),* $(,)?]) => {
        mod $module {
            $(
                #[test]
                $(#[$attr])*
                fn $scenario() {
                    super::$scenario::<$server>();
                }
            )*
        }
    };
}

/// [`against!`] with every scenario.
macro_rules! against_every_scenario {
    ($module:ident, $server:ty) => {
        against!(
            $module,
            $server,
            [
                oversized_header_block_is_refused_with_431,
                slowloris_is_cut_off_by_the_handshake_timeout,
                burst_of_abandoned_handshakes_is_survived,
                announced_length_2_pow_63_minus_1_is_refused_with_1009,
                announced_length_with_the_top_bit_set_is_refused_with_1002,
                announced_length_of_1_gib_is_refused_with_1009_without_allocating_it,
                unmasked_client_frame_is_refused_with_1002,
                invalid_utf8_across_fragments_is_refused_with_1007_at_once,
                ping_flood_of_small_pings_leaves_memory_bounded,
                ping_flood_of_125_byte_pings_is_throttled_with_memory_bounded,
                peer_that_does_not_read_leaves_memory_bounded,
                resets_mid_frame_and_mid_close_are_survived,
            ]
        );
    };
}

against_every_scenario!(std_server, super::StdServer);

against_every_scenario!(tokio_server, super::TokioServer);

against_every_scenario!(mio_server, super::MioServer);
