//! Many peers that each start a large message and never finish it: the
//! memory a server holds for them is capped by its shared memory budget
//! (`memory_budget`), not by the number of connections times the message
//! size limit. Both echo servers, uncompressed (a frame announced large
//! and sent in part) and compressed (a small permessage-deflate chunk that
//! inflates to megabytes, FIN=0).
//!
//! The servers run in this process, so `/proc/self/status` tells what the
//! attack cost them (run with `--nocapture` to see the figures).

#[allow(dead_code)] // each test file uses part of the helpers
mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::*;
use ws_proto::deflate::{CompressionConfig, DeflateParams, PerMessageDeflate};
use ws_proto::{CloseCode, OpCode, Role};

/// The attackers of one test.
const ATTACKERS: usize = 200;

/// The budget the servers get in these tests.
const BUDGET: usize = 32 << 20;

/// Each connection may hold this much (`max_message_size`).
const MAX_MESSAGE: u64 = 4 << 20;

/// What each uncompressed attacker sends of its message: 200 of them would
/// make a server without a budget hold 400 MiB.
const PART: usize = 2 << 20;

/// What the server may hold besides the budget, per connection: its
/// receive buffer (64 KiB), the capacity an assembler keeps between
/// messages (64 KiB), a thread's stack pages (ws-std) and the socket's
/// bookkeeping, with room to spare. README.md's formula uses the same
/// terms.
const PER_CONNECTION: u64 = 256 * 1024;

fn limits() -> Limits {
    Limits {
        memory_budget: Some(BUDGET),
        max_message_size: Some(MAX_MESSAGE),
    }
}

/// The documented worst case for `connections` attackers, with room for
/// the allocator: memory freed by one thread's arena (ws-std) is not
/// reused by another's, so resident memory may pass what is live by up to
/// the budget again; plus 16 MiB for the test's own noise. A server
/// without the budget passes it several times over (400 MiB and 240 MiB).
fn bound(connections: usize) -> u64 {
    2 * BUDGET as u64 + connections as u64 * PER_CONNECTION + 16 * MIB
}

/// Write `bytes` unless the server has closed the connection (it may, as
/// soon as the budget is spent); true if everything was written.
fn send_until_refused(stream: &mut TcpStream, bytes: &[u8]) -> bool {
    for piece in bytes.chunks(256 * 1024) {
        if stream.write_all(piece).is_err() {
            return false;
        }
    }
    true
}

/// How the attack on each connection ended.
#[derive(Debug, Default)]
struct Outcome {
    /// Connections closed with 1009.
    too_large: usize,
    /// Connections still open at the end, holding their part.
    held: usize,
}

/// Read the close frame of every attacker the server refused; the others
/// are still waiting for the rest of their message.
fn outcome(attackers: Vec<TcpStream>) -> Outcome {
    let mut outcome = Outcome::default();
    for mut stream in attackers {
        stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        match read_frame(&mut stream) {
            Ok(frame) if frame.opcode == OpCode::Close as u8 => {
                assert_eq!(frame.close_code(), CloseCode::TOO_LARGE.0);
                outcome.too_large += 1;
            }
            Ok(other) => panic!("unexpected frame {other:?}"),
            Err(err) if is_timeout(&err) => outcome.held += 1,
            // Reset after the close frame was lost in the reset: count it
            // as refused.
            Err(_) => outcome.too_large += 1,
        }
    }
    outcome
}

/// After the attackers are gone, the budget is whole again: a fragmented
/// 3 MiB message (paid from the budget while it is assembled) echoes.
fn budget_is_given_back<S: TestServer>(server: &S) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let message = pattern(3 << 20);
    loop {
        let mut stream = raw_upgrade(server.addr());
        let (head, tail) = message.split_at(message.len() / 2);
        stream
            .write_all(&client_frame(OpCode::Binary, false, head))
            .unwrap();
        stream
            .write_all(&client_frame(OpCode::Continuation, true, tail))
            .unwrap();
        let frame = read_frame(&mut stream).expect("the echo or a close");
        if frame.opcode == OpCode::Binary as u8 {
            assert_eq!(frame.payload, message, "{}", S::NAME);
            return;
        }
        // The server may not yet have noticed every attacker's departure.
        assert!(
            Instant::now() < deadline,
            "{}: the budget was not given back (close {})",
            S::NAME,
            frame.close_code()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn unfinished_messages_stay_within_the_budget<S: TestServer>() {
    let _serial = serial();
    let server = S::start_with(limits());
    let addr = server.addr();
    let watch = MemWatch::start(format!(
        "{}: {ATTACKERS} unfinished {} MiB messages",
        S::NAME,
        PART >> 20
    ));
    let zeros = vec![0u8; PART];
    let mut attackers = Vec::with_capacity(ATTACKERS);
    for _ in 0..ATTACKERS {
        let mut stream = raw_upgrade(addr);
        // Zero mask key: the payload goes on the wire as it is.
        let mut bytes = header(OpCode::Binary, true, MAX_MESSAGE, Some([0; 4]));
        bytes.extend_from_slice(&zeros);
        send_until_refused(&mut stream, &bytes);
        attackers.push(stream);
    }
    judge(server, watch, attackers, PART);
}

/// The attack is over: memory stayed within the documented bound, the
/// budget held at most as many messages of `each` bytes as it has room
/// for and refused the others with 1009, it is whole again once the
/// attackers leave, and the server still echoes.
fn judge<S: TestServer>(server: S, watch: MemWatch, attackers: Vec<TcpStream>, each: usize) {
    // Let the server read what is in flight.
    std::thread::sleep(Duration::from_millis(300));
    let report = watch.finish();
    let connections = attackers.len();
    let outcome = outcome(attackers);
    eprintln!("[budget] {}: {outcome:?}", S::NAME);
    assert!(
        report.growth() <= bound(connections),
        "{}: memory grew by {:.1} MiB, over the documented {:.1} MiB",
        S::NAME,
        mib(report.growth()),
        mib(bound(connections))
    );
    assert!(outcome.held <= BUDGET / each, "{outcome:?}");
    assert!(
        outcome.too_large >= connections - BUDGET / each,
        "{outcome:?}"
    );
    budget_is_given_back(&server);
    finish(server);
}

/// The raw deflate of `len` zeros as a client's first, unfinished frame
/// (RSV1, FIN=0, zero mask key).
fn compressed_zeros(len: usize) -> Vec<u8> {
    let config = CompressionConfig::default().threshold(0);
    let mut deflate =
        PerMessageDeflate::new(Role::Client, DeflateParams::default(), config, usize::MAX);
    let mut payload = Vec::new();
    deflate
        .compress(&vec![0u8; len], &mut payload)
        .expect("compress");
    let mut frame = header(OpCode::Binary, false, payload.len() as u64, Some([0; 4]));
    frame[0] |= 0x40; // RSV1: compressed
    frame.extend_from_slice(&payload);
    frame
}

/// Upgrade offering permessage-deflate; panics unless it was accepted.
fn deflate_upgrade(addr: SocketAddr) -> TcpStream {
    let mut stream = tcp(addr);
    let request = upgrade_request(addr, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    let head = read_http_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 101"), "not upgraded: {head:?}");
    assert!(head.contains("permessage-deflate"), "no deflate: {head:?}");
    stream
}

fn compressed_unfinished_messages_stay_within_the_budget<S: TestServer>() {
    let _serial = serial();
    let server = S::start_with(limits());
    let addr = server.addr();
    // Just under the message limit: each connection alone is allowed it.
    let inflated = MAX_MESSAGE as usize - 1024;
    let frame = compressed_zeros(inflated);
    let connections = 60;
    let watch = MemWatch::start(format!(
        "{}: {connections} compressed frames inflating to {:.1} MiB each",
        S::NAME,
        mib(inflated as u64)
    ));
    let mut attackers = Vec::with_capacity(connections);
    for _ in 0..connections {
        let mut stream = deflate_upgrade(addr);
        send_until_refused(&mut stream, &frame);
        attackers.push(stream);
    }
    judge(server, watch, attackers, inflated);
}

#[test]
fn std_unfinished_messages_stay_within_the_budget() {
    unfinished_messages_stay_within_the_budget::<StdServer>();
}

#[test]
fn mio_unfinished_messages_stay_within_the_budget() {
    unfinished_messages_stay_within_the_budget::<MioServer>();
}

#[test]
fn std_compressed_unfinished_messages_stay_within_the_budget() {
    compressed_unfinished_messages_stay_within_the_budget::<StdServer>();
}

#[test]
fn mio_compressed_unfinished_messages_stay_within_the_budget() {
    compressed_unfinished_messages_stay_within_the_budget::<MioServer>();
}

#[test]
fn tokio_unfinished_messages_stay_within_the_budget() {
    unfinished_messages_stay_within_the_budget::<TokioServer>();
}

#[test]
fn tokio_compressed_unfinished_messages_stay_within_the_budget() {
    compressed_unfinished_messages_stay_within_the_budget::<TokioServer>();
}
