//! Whole sessions over a stream that misbehaves as a socket may: a ws-std
//! client and a ws-std server, each in its own thread, connected by an
//! in-memory duplex pipe whose two ends are wrapped in
//! `ws_test_support::FaultyStream`. Reads and writes come back short (1 to
//! n bytes) and fail now and then with `Interrupted`, and reads with
//! `WouldBlock`. The session is the opening handshake (permessage-deflate
//! negotiated or not), a list of generated messages (text and binary, 0 to
//! 64 KiB, some sent in fragments, some batched with `feed`, some after a
//! ping) that the server echoes, and the close handshake; the messages
//! must come out whole and in order on both sides, as they do over a
//! perfect stream (the same session is run over one too), and the close
//! must be clean.
//!
//! Compression cannot be switched on for an upgraded stream from outside
//! ws-std (`WebSocket::from_parts` takes no extension), so the sessions run
//! the real handshake over the pipe instead, which negotiates it.
//!
//! `WouldBlock` is injected into reads only, and only after the handshake,
//! because that is ws-std's contract for a blocking stream, where
//! `WouldBlock` means a timeout:
//! - a read that fails with it makes `recv` return an error for which
//!   `Error::is_timeout` is true, and "loses nothing": calling `recv` again
//!   goes on where it stopped. The sessions retry such errors and check
//!   that nothing was lost.
//! - a write that fails with it (or `TimedOut`) may have left part of a
//!   frame on the wire, so ws-std reports it and closes the connection for
//!   sending (`write_all` in `websocket.rs`): a session cannot go on after
//!   it by design. [`a_write_that_would_block_is_reported`] checks that it
//!   is reported, as a timeout, and that nothing is sent after it.
//! - during the handshake it is the handshake timeout (`read_more` in
//!   `handshake.rs`).
//!
//! `Interrupted` is retried by ws-std everywhere, and short reads and
//! writes are taken as they come.

use std::io::{self, Read, Write};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use proptest::prelude::*;
use ws_std::{
    accept, client_handshake, CloseCode, CompressionConfig, Config, Error, Frame, Message,
    MessageKind, Stream, WebSocket,
};
use ws_test_support::{
    duplex, is_injected, join_within, pattern_seeded, FaultPlan, FaultyStream, Injected, PipeEnd,
};

/// How often one side may retry `recv` after an injected `WouldBlock`
/// before the session counts as stuck.
const MAX_RETRIES: usize = 1_000_000;

/// The longest one session may take (the pipe's reads time out well
/// before, so a stuck session fails rather than hangs).
const SESSION_LIMIT: Duration = Duration::from_secs(30);

/// One end of the pipe behind the fault injector, as a ws-std stream.
struct Faulty(FaultyStream<PipeEnd>);

impl Read for Faulty {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Faulty {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Stream for Faulty {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.0.get_mut().set_read_timeout(timeout);
        Ok(())
    }

    fn shutdown(&mut self) -> io::Result<()> {
        self.0.get_mut().shutdown();
        Ok(())
    }
}

/// How a session is set up.
#[derive(Debug, Clone, Copy)]
struct Setup {
    /// permessage-deflate offered and accepted.
    compress: bool,
    /// The smallest receive buffer ws-std allows instead of the default,
    /// so that frames straddle many refills.
    small_buffer: bool,
}

/// No compression, the default receive buffer.
const QUIET: Setup = Setup {
    compress: false,
    small_buffer: false,
};

/// Timeouts long enough for a debug build feeding 64 KiB a byte at a time,
/// short enough that a stuck session fails within [`SESSION_LIMIT`].
fn config(setup: Setup) -> Config {
    let Setup {
        compress,
        small_buffer,
    } = setup;
    Config::default()
        .handshake_timeout(Some(Duration::from_secs(5)))
        .read_timeout(Some(Duration::from_secs(5)))
        .write_timeout(Some(Duration::from_secs(5)))
        .close_timeout(Some(Duration::from_secs(2)))
        .compression(compress.then(CompressionConfig::default))
        .read_buffer_size(if small_buffer { 0 } else { 64 * 1024 })
}

/// A message to send, and how.
#[derive(Debug, Clone)]
struct Spec {
    text: bool,
    len: usize,
    seed: u32,
    /// Where to cut the message into fragments (taken modulo its length
    /// plus one and sorted); none: one frame.
    cuts: Vec<usize>,
    /// The client pings before it sends the message (the server's pong
    /// comes back among the echoes, and `recv` skips it).
    ping: bool,
    /// An unfragmented message goes into the send batch (`feed`), written
    /// with the next send or flush, uncompressed.
    batched: bool,
}

impl Spec {
    /// The message: text mixes one- to four-byte characters (so fragments
    /// cut through some of them), binary is either a repeated byte or
    /// noise, so that deflate meets both kinds.
    fn message(&self) -> Message {
        if self.text {
            const CHARS: [char; 6] = ['a', ' ', '\n', 'é', '€', '𝄞'];
            let mut state = self.seed.max(1);
            let mut text = String::with_capacity(self.len);
            loop {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let c = CHARS[state as usize % CHARS.len()];
                if text.len() + c.len_utf8() > self.len {
                    break;
                }
                text.push(c);
            }
            while text.len() < self.len {
                text.push('a');
            }
            Message::Text(text)
        } else if self.seed.is_multiple_of(3) {
            Message::Binary(vec![self.seed as u8; self.len])
        } else {
            Message::Binary(pattern_seeded(self.seed, self.len))
        }
    }

    /// The message's bytes cut at [`cuts`](Self::cuts).
    fn fragments<'a>(&self, bytes: &'a [u8]) -> Vec<&'a [u8]> {
        let mut cuts: Vec<usize> = self.cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let mut parts = Vec::with_capacity(cuts.len() + 1);
        let mut start = 0;
        for cut in cuts {
            parts.push(&bytes[start..cut]);
            start = cut;
        }
        parts.push(&bytes[start..]);
        parts
    }
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        any::<bool>(),
        prop_oneof![0usize..=300, 0usize..=64 * 1024],
        any::<u32>(),
        prop_oneof![
            2 => Just(Vec::new()),
            1 => prop::collection::vec(any::<usize>(), 1..4),
        ],
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(text, len, seed, cuts, ping, batched)| Spec {
            text,
            len,
            seed,
            cuts,
            ping,
            batched,
        })
}

fn plan() -> impl Strategy<Value = FaultPlan> {
    let chunk = || prop_oneof![Just(1usize), 1usize..=16, 1usize..=4096];
    // Never 1: a stream that fails every call makes no progress at all.
    let one_in = || prop_oneof![Just(0u32), 2u32..=16];
    (any::<u64>(), chunk(), chunk(), one_in(), one_in()).prop_map(
        |(seed, max_read, max_write, interrupted_one_in, would_block_one_in)| FaultPlan {
            seed,
            max_read,
            max_write,
            interrupted_one_in,
            would_block_one_in,
        },
    )
}

/// What one side of a session saw.
#[derive(Debug)]
struct Seen {
    messages: Vec<Message>,
    close: CloseCode,
    injected: Injected,
}

/// `recv`, retrying the timeouts the injector makes up (bounded); or, when
/// `in_place`, `recv_ref` (the message lent from the connection's buffers),
/// copied here to be compared.
fn recv(
    ws: &mut WebSocket<Faulty>,
    retries: &mut usize,
    in_place: bool,
) -> ws_std::Result<Message> {
    loop {
        let received = match in_place {
            true => ws.recv_ref().map(|message| message.to_owned()),
            false => ws.recv(),
        };
        match received {
            Err(Error::Io(err)) if is_injected(&err) && *retries < MAX_RETRIES => {
                assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err}");
                *retries += 1;
            }
            other => return other,
        }
    }
}

/// The server: echo every message until the client closes.
fn serve(stream: Faulty, setup: Setup) -> Result<Seen, String> {
    let mut ws =
        accept(stream, &config(setup)).map_err(|err| format!("server handshake: {err}"))?;
    if ws.compression().is_some() != setup.compress {
        return Err(format!("server: compression {:?}", ws.compression()));
    }
    ws.get_mut().0.set_would_block(true, false);
    let mut messages = Vec::new();
    let mut retries = 0;
    loop {
        match recv(&mut ws, &mut retries, false) {
            Ok(message) => {
                ws.send(&message)
                    .map_err(|err| format!("server: echo {}: {err}", messages.len()))?;
                messages.push(message);
            }
            Err(Error::Closed { code, .. }) => {
                return Ok(Seen {
                    messages,
                    close: code,
                    injected: ws.get_ref().0.injected(),
                })
            }
            Err(err) => return Err(format!("server: after {} messages: {err}", messages.len())),
        }
    }
}

/// The client: send every message, read every echo, close.
fn talk(stream: Faulty, setup: Setup, specs: &[Spec]) -> Result<Seen, String> {
    let mut ws = client_handshake(stream, "pipe.test", "/", &config(setup))
        .map_err(|err| format!("client handshake: {err}"))?;
    if ws.compression().is_some() != setup.compress {
        return Err(format!("client: compression {:?}", ws.compression()));
    }
    ws.get_mut().0.set_would_block(true, false);
    for (i, spec) in specs.iter().enumerate() {
        let message = spec.message();
        if spec.ping {
            ws.send_ping(b"ping")
                .map_err(|err| format!("client: ping {i}: {err}"))?;
        }
        let (kind, bytes) = match &message {
            Message::Text(text) => (MessageKind::Text, text.as_bytes()),
            Message::Binary(bytes) => (MessageKind::Binary, bytes.as_slice()),
        };
        let sent = if !spec.cuts.is_empty() {
            ws.send_fragmented(kind, &spec.fragments(bytes))
        } else if spec.batched {
            ws.feed(&Frame::new(kind.opcode(), bytes)).map(|()| 0)
        } else {
            ws.send(&message)
        };
        sent.map_err(|err| format!("client: send {i}: {err}"))?;
    }
    ws.flush().map_err(|err| format!("client: flush: {err}"))?;
    let mut messages = Vec::new();
    let mut retries = 0;
    while messages.len() < specs.len() {
        // Every other echo is received in place: both paths, whatever
        // the fragments, the compression and the stream's faults.
        let in_place = messages.len() % 2 == 1;
        let message = recv(&mut ws, &mut retries, in_place)
            .map_err(|err| format!("client: echo {}: {err}", messages.len()))?;
        messages.push(message);
    }
    ws.send_close(CloseCode::NORMAL, "done")
        .map_err(|err| format!("client: close: {err}"))?;
    match recv(&mut ws, &mut retries, true) {
        Err(Error::Closed { code, .. }) => Ok(Seen {
            messages,
            close: code,
            injected: ws.get_ref().0.injected(),
        }),
        Ok(message) => Err(format!("client: {message:?} after the echoes")),
        Err(err) => Err(format!("client: waiting for the close reply: {err}")),
    }
}

/// Where `got` first differs from `sent`, briefly (whole messages of
/// 64 KiB make unreadable failures).
fn difference(got: &[Message], sent: &[Message]) -> Option<String> {
    let describe = |m: &Message| format!("{:?} of {} bytes", m.kind(), m.as_bytes().len());
    for (i, (got, sent)) in got.iter().zip(sent).enumerate() {
        if got != sent {
            return Some(format!(
                "message {i}: got {}, sent {}",
                describe(got),
                describe(sent)
            ));
        }
    }
    (got.len() != sent.len()).then(|| format!("{} messages, {} sent", got.len(), sent.len()))
}

/// One whole session; returns what the client and the server saw.
fn session(
    client_plan: FaultPlan,
    server_plan: FaultPlan,
    setup: Setup,
    specs: &[Spec],
) -> Result<(Seen, Seen), String> {
    let (client_end, server_end) = duplex();
    let server_stream = Faulty(FaultyStream::new(server_end, server_plan));
    let server: JoinHandle<Result<Seen, String>> =
        thread::spawn(move || serve(server_stream, setup));
    let client = talk(
        Faulty(FaultyStream::new(client_end, client_plan)),
        setup,
        specs,
    );
    let server = join_within(server, SESSION_LIMIT);
    Ok((client?, server?))
}

/// Run a session and check it: every message out whole and in order on
/// both sides, and a clean close.
fn check(
    client_plan: FaultPlan,
    server_plan: FaultPlan,
    setup: Setup,
    specs: &[Spec],
) -> Result<(Injected, Injected), TestCaseError> {
    let sent: Vec<Message> = specs.iter().map(Spec::message).collect();
    let (client, server) = session(client_plan, server_plan, setup, specs)
        .map_err(|err| TestCaseError::fail(format!("{setup:?}: {err}")))?;
    if let Some(diff) = difference(&server.messages, &sent) {
        return Err(TestCaseError::fail(format!("server, {setup:?}: {diff}")));
    }
    if let Some(diff) = difference(&client.messages, &sent) {
        return Err(TestCaseError::fail(format!(
            "client echoes, {setup:?}: {diff}"
        )));
    }
    prop_assert_eq!(server.close, CloseCode::NORMAL);
    prop_assert_eq!(client.close, CloseCode::NORMAL);
    Ok((client.injected, server.injected))
}

proptest! {
    // Each case is four sessions (faulty and perfect, compression off and
    // on) of up to six messages of up to 64 KiB: about 10 s in all in a
    // debug build.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn a_session_over_a_faulty_stream_delivers_what_a_perfect_one_does(
        client_plan in plan(),
        server_plan in plan(),
        specs in prop::collection::vec(spec(), 0..6),
        small_buffer in any::<bool>(),
    ) {
        for compress in [false, true] {
            let setup = Setup { compress, small_buffer };
            check(FaultPlan::none(), FaultPlan::none(), setup, &specs)?;
            check(client_plan, server_plan, setup, &specs)?;
        }
    }
}

/// The fault injector does inject: a plan with every fault on, over a
/// session with enough traffic, meets each kind on both sides.
#[test]
fn the_injector_injects_every_kind_of_fault() {
    let plan = FaultPlan {
        seed: 7,
        max_read: 64,
        max_write: 64,
        interrupted_one_in: 5,
        would_block_one_in: 5,
    };
    let specs: Vec<Spec> = (0..4)
        .map(|i| Spec {
            text: i % 2 == 0,
            len: 4000 * (i + 1),
            seed: i as u32 + 1,
            cuts: if i == 3 { vec![100, 2000] } else { Vec::new() },
            ping: i == 1,
            batched: i == 2,
        })
        .collect();
    for compress in [false, true] {
        let setup = Setup {
            compress,
            small_buffer: true,
        };
        let (client, server) = check(plan, plan, setup, &specs).expect("the session");
        for (side, injected) in [("client", client), ("server", server)] {
            assert!(injected.short_reads > 0, "{side}: {injected:?}");
            assert!(injected.short_writes > 0, "{side}: {injected:?}");
            assert!(injected.interrupted > 0, "{side}: {injected:?}");
            assert!(injected.would_block > 0, "{side}: {injected:?}");
        }
    }
}

/// A write that fails with `WouldBlock` is a timeout on a blocking stream:
/// ws-std reports it as one, and sends nothing more on that connection
/// (part of a frame may be on the wire). The server sees the messages sent
/// before it whole, then the end of the stream, never a corrupt message.
#[test]
fn a_write_that_would_block_is_reported() {
    let plan = FaultPlan {
        seed: 11,
        max_read: 0,
        max_write: 100,
        interrupted_one_in: 0,
        would_block_one_in: 20,
    };
    let (client_end, server_end) = duplex();
    let server = thread::spawn(move || {
        let mut ws = accept(
            Faulty(FaultyStream::new(server_end, FaultPlan::none())),
            &config(QUIET),
        )
        .expect("server handshake");
        let mut messages = Vec::new();
        loop {
            match ws.recv() {
                Ok(message) => messages.push(message),
                Err(err) => return (messages, err.to_string()),
            }
        }
    });
    let mut ws = client_handshake(
        Faulty(FaultyStream::new(client_end, plan)),
        "pipe.test",
        "/",
        &config(QUIET),
    )
    .expect("client handshake");
    ws.get_mut().0.set_would_block(false, true);
    let message = Message::Binary(pattern_seeded(3, 1000));
    let mut sent = 0;
    let err = loop {
        assert!(sent < 1000, "no write would block");
        match ws.send(&message) {
            Ok(_) => sent += 1,
            Err(err) => break err,
        }
    };
    assert!(err.is_timeout(), "{err}");
    let again = ws
        .send(&message)
        .expect_err("nothing is sent after a failed write");
    assert!(!again.is_timeout(), "{again}");
    drop(ws);
    let (messages, end) = join_within(server, SESSION_LIMIT);
    assert_eq!(messages.len(), sent, "the server ended with: {end}");
    assert!(messages.iter().all(|m| *m == message));
}
