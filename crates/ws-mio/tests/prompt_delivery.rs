//! Every byte queued for a peer leaves in the loop turn that queued it,
//! whatever queued it: the protocol core's automatic replies, a send from
//! any callback (to the same connection, to another one, a broadcast), a
//! timer, a shutdown. Each test has the peer send nothing more after the
//! bytes that trigger the send, and requires them within [`PROMPT`] on a
//! real socket.
//!
//! The server's timeouts are long, so its timer tick is a second: a byte
//! that waited for the next tick (or for the peer's next bytes) misses
//! [`PROMPT`] by far.

mod common;

use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use ws_mio::{
    CloseCode, Config, ConnectionId, Context, Error, Handler, MessageRef, Opening, Refusal,
};
use ws_proto::OpCode;

/// How soon queued bytes must reach the peer.
const PROMPT: Duration = Duration::from_millis(100);

const TEXT: u8 = 0x1;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// Long timeouts (timer tick of one second) and no idle pings.
fn slow_timers() -> Config {
    Config::default().idle_ping(None)
}

/// Connection ids by name (the request path without its `/` and query),
/// shared by every loop's handler.
type Names = Arc<Mutex<HashMap<String, ConnectionId>>>;

/// A handler that sends from every callback:
/// - `on_open`: `welcome` when the path has `?welcome`;
/// - `on_message`: `to NAME TEXT` sends TEXT to NAME, `close NAME`
///   closes NAME's connection with 1000, `all TEXT` broadcasts it to the
///   others, `shutdown` shuts the server down, anything else is echoed;
/// - `on_ping` / `on_pong`: `saw ping` / `saw pong` to the sender when
///   the path has `?tell-pings` (otherwise nothing, so that only the
///   automatic pong is queued);
/// - `on_close` / `on_error`: `NAME left` / `NAME failed` to the others.
struct Scripted {
    names: Names,
}

impl Scripted {
    /// A factory for every loop's handler, and the names they share.
    fn factory() -> (impl Fn() -> Scripted + Send + Sync + 'static, Names) {
        let names = Names::default();
        let shared = Arc::clone(&names);
        let factory = move || Scripted {
            names: Arc::clone(&shared),
        };
        (factory, names)
    }

    fn id(&self, name: &str) -> Option<ConnectionId> {
        lock_names(&self.names).get(name).copied()
    }
}

fn lock_names(names: &Names) -> std::sync::MutexGuard<'_, HashMap<String, ConnectionId>> {
    names
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What the handler keeps per connection.
struct Peer {
    name: String,
    tell_pings: bool,
}

impl Handler for Scripted {
    type Data = Peer;

    fn on_open(
        &mut self,
        ctx: &mut Context<'_, Peer>,
        id: ConnectionId,
        opening: &Opening<'_>,
    ) -> Result<Peer, Refusal> {
        let (path, query) = opening
            .path()
            .split_once('?')
            .unwrap_or((opening.path(), ""));
        let name = path.trim_start_matches('/').to_owned();
        lock_names(&self.names).insert(name.clone(), id);
        if query == "welcome" {
            ctx.send_text(id, "welcome").expect("send from on_open");
        }
        Ok(Peer {
            name,
            tell_pings: query == "tell-pings",
        })
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<'_, Peer>,
        id: ConnectionId,
        message: MessageRef<'_>,
    ) {
        let MessageRef::Text(text) = message else {
            let _ = ctx.send(id, message);
            return;
        };
        if let Some(rest) = text.strip_prefix("to ") {
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            let to = self.id(name).expect("a known name");
            ctx.send_text(to, text).expect("send to another connection");
        } else if let Some(name) = text.strip_prefix("close ") {
            let to = self.id(name).expect("a known name");
            ctx.close(to, CloseCode::NORMAL, "asked")
                .expect("close another connection");
        } else if let Some(text) = text.strip_prefix("all ") {
            ctx.broadcast_except(id, MessageRef::Text(text));
        } else if text == "shutdown" {
            ctx.shutdown();
        } else {
            ctx.send(id, message).expect("echo");
        }
    }

    fn on_ping(&mut self, ctx: &mut Context<'_, Peer>, id: ConnectionId, _: &[u8]) {
        if ctx.data(id).is_some_and(|peer| peer.tell_pings) {
            ctx.send_text(id, "saw ping").expect("send from on_ping");
        }
    }

    fn on_pong(&mut self, ctx: &mut Context<'_, Peer>, id: ConnectionId, _: &[u8]) {
        if ctx.data(id).is_some_and(|peer| peer.tell_pings) {
            ctx.send_text(id, "saw pong").expect("send from on_pong");
        }
    }

    fn on_close(&mut self, ctx: &mut Context<'_, Peer>, id: ConnectionId, _: CloseCode, _: &str) {
        let said = format!("{} left", name_of(ctx, id));
        ctx.broadcast_except(id, MessageRef::Text(&said));
    }

    fn on_error(&mut self, ctx: &mut Context<'_, Peer>, id: ConnectionId, _: &Error) {
        let said = format!("{} failed", name_of(ctx, id));
        ctx.broadcast_except(id, MessageRef::Text(&said));
    }
}

fn name_of(ctx: &mut Context<'_, Peer>, id: ConnectionId) -> String {
    ctx.data(id)
        .map(|peer| peer.name.clone())
        .unwrap_or_default()
}

/// The next frame, which must arrive within [`PROMPT`].
fn frame_within_prompt(stream: &mut TcpStream, what: &str) -> RawFrame {
    stream.set_read_timeout(Some(PROMPT)).unwrap();
    let asked = Instant::now();
    let frame = read_frame(stream)
        .unwrap_or_else(|err| panic!("{what}: nothing within {PROMPT:?} ({err})"));
    let took = asked.elapsed();
    assert!(took <= PROMPT, "{what}: took {took:?}");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    frame
}

/// The next frame must be this text, within [`PROMPT`].
fn expect_text(stream: &mut TcpStream, text: &str) {
    let frame = frame_within_prompt(stream, text);
    assert_eq!(frame.opcode, TEXT, "expected {text:?}, got {frame:?}");
    assert_eq!(String::from_utf8_lossy(&frame.payload), text);
}

/// Nothing more arrives for a while (so each test sees exactly what it
/// expects and no more).
fn expect_quiet(stream: &mut TcpStream) {
    stream.set_read_timeout(Some(PROMPT)).unwrap();
    if let Ok(frame) = read_frame(stream) {
        panic!("unexpected frame {frame:?}");
    }
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
}

fn send(stream: &mut TcpStream, opcode: OpCode, payload: &[u8]) {
    use std::io::Write;
    stream
        .write_all(&client_frame(opcode, true, payload))
        .expect("write a frame");
}

/// Close the clients, then stop the server (which otherwise waits its
/// close timeout for them to answer its 1001).
fn finish<const N: usize>(server: Running, clients: [TcpStream; N]) {
    drop(clients);
    server.stop_ok();
}

fn start() -> Running {
    Running::start(slow_timers(), Scripted::factory().0)
}

/// A server of `loops` loops, and two clients served by different loops
/// (the `first` and the `other`). The clients it tried on the way are
/// kept open (their closes would be broadcast), in the `Vec`.
fn two_clients_on_two_loops(loops: usize) -> (Running, TcpStream, TcpStream, Vec<TcpStream>) {
    let (factory, names) = Scripted::factory();
    let server = Running::with_threads(slow_timers(), loops, factory);
    let first = raw_upgrade(server.addr, "/c0");
    let mut tried = Vec::new();
    let home = |name: &str| lock_names(&names)[name].loop_index();
    // The kernel spreads connections over the loops by their addresses:
    // a few tries find one on another loop.
    for n in 1..64 {
        let name = format!("c{n}");
        let other = raw_upgrade(server.addr, &format!("/{name}"));
        if home(&name) != home("c0") {
            rename(&names, &name, "other");
            rename(&names, "c0", "first");
            return (server, first, other, tried);
        }
        tried.push(other);
    }
    panic!("64 connections, all on the loop of the first");
}

fn rename(names: &Names, from: &str, to: &str) {
    let mut names = lock_names(names);
    let id = names.remove(from).expect("a known name");
    names.insert(to.to_owned(), id);
}

#[test]
fn a_ping_on_a_quiet_connection_is_answered_at_once() {
    let server = start();
    let mut client = raw_upgrade(server.addr, "/alice");
    send(&mut client, OpCode::Ping, b"are you there");
    let pong = frame_within_prompt(&mut client, "the pong");
    assert_eq!(pong.opcode, PONG);
    assert_eq!(pong.payload, b"are you there");
    expect_quiet(&mut client);
    finish(server, [client]);
}

#[test]
fn a_ping_after_a_message_is_answered_without_waiting_for_more() {
    // The first report: a text frame, then a ping, then silence.
    let server = start();
    let mut client = raw_upgrade(server.addr, "/alice");
    send(&mut client, OpCode::Text, b"hello");
    expect_text(&mut client, "hello");
    send(&mut client, OpCode::Ping, b"1");
    let pong = frame_within_prompt(&mut client, "the pong");
    assert_eq!((pong.opcode, pong.payload.as_slice()), (PONG, &b"1"[..]));
    finish(server, [client]);
}

#[test]
fn every_ping_of_a_burst_gets_its_pong_at_once() {
    let server = start();
    let mut client = raw_upgrade(server.addr, "/alice");
    let mut burst = Vec::new();
    for i in 0..3u8 {
        burst.extend(client_frame(OpCode::Ping, true, &[i]));
    }
    use std::io::Write;
    client.write_all(&burst).unwrap();
    for i in 0..3u8 {
        let pong = frame_within_prompt(&mut client, "a pong of the burst");
        assert_eq!((pong.opcode, pong.payload.as_slice()), (PONG, &[i][..]));
    }
    finish(server, [client]);
}

#[test]
fn the_reply_to_a_close_leaves_at_once() {
    let server = start();
    let mut client = raw_upgrade(server.addr, "/alice");
    send(&mut client, OpCode::Close, &1000u16.to_be_bytes());
    let reply = frame_within_prompt(&mut client, "the close reply");
    assert_eq!((reply.opcode, reply.close_code()), (CLOSE, 1000));
    assert!(sees_end_of_stream(&mut client, PROMPT));
    finish(server, [client]);
}

#[test]
fn a_send_from_on_open_leaves_right_after_the_101() {
    let server = start();
    let mut client = raw_upgrade(server.addr, "/alice?welcome");
    expect_text(&mut client, "welcome");
    finish(server, [client]);
}

#[test]
fn a_send_from_on_message_leaves_at_once() {
    let server = start();
    let mut client = raw_upgrade(server.addr, "/alice");
    send(&mut client, OpCode::Text, b"echo me");
    expect_text(&mut client, "echo me");
    finish(server, [client]);
}

#[test]
fn a_send_from_on_ping_leaves_at_once_after_the_pong() {
    let server = start();
    let mut client = raw_upgrade(server.addr, "/alice?tell-pings");
    send(&mut client, OpCode::Ping, b"p");
    let pong = frame_within_prompt(&mut client, "the pong");
    assert_eq!((pong.opcode, pong.payload.as_slice()), (PONG, &b"p"[..]));
    expect_text(&mut client, "saw ping");
    finish(server, [client]);
}

#[test]
fn a_send_from_on_pong_leaves_at_once() {
    let server = start();
    let mut client = raw_upgrade(server.addr, "/alice?tell-pings");
    send(&mut client, OpCode::Pong, b"heartbeat");
    expect_text(&mut client, "saw pong");
    finish(server, [client]);
}

#[test]
fn a_send_to_another_connection_from_a_callback_leaves_at_once() {
    let server = start();
    let mut alice = raw_upgrade(server.addr, "/alice");
    let mut bob = raw_upgrade(server.addr, "/bob");
    send(&mut alice, OpCode::Text, b"to bob hi bob");
    expect_text(&mut bob, "hi bob");
    expect_quiet(&mut alice);
    finish(server, [alice, bob]);
}

#[test]
fn a_broadcast_from_a_callback_reaches_every_other_connection_at_once() {
    let server = start();
    let mut alice = raw_upgrade(server.addr, "/alice");
    let mut others: Vec<TcpStream> = ["/bob", "/carol", "/dave"]
        .iter()
        .map(|path| raw_upgrade(server.addr, path))
        .collect();
    send(&mut alice, OpCode::Text, b"all hello everyone");
    for other in &mut others {
        expect_text(other, "hello everyone");
    }
    expect_quiet(&mut alice);
    drop(others);
    finish(server, [alice]);
}

#[test]
fn a_send_from_on_close_to_another_connection_leaves_at_once() {
    let server = start();
    let mut alice = raw_upgrade(server.addr, "/alice");
    let mut bob = raw_upgrade(server.addr, "/bob");
    send(&mut alice, OpCode::Close, &1000u16.to_be_bytes());
    expect_text(&mut bob, "alice left");
    finish(server, [alice, bob]);
}

#[test]
fn a_send_from_on_error_leaves_at_once_with_the_failed_connections_close() {
    let server = start();
    let mut alice = raw_upgrade(server.addr, "/alice");
    let mut bob = raw_upgrade(server.addr, "/bob");
    // An unmasked client frame: a protocol error (1002).
    use std::io::Write;
    alice.write_all(&[0x81, 0x02, b'h', b'i']).unwrap();
    let close = frame_within_prompt(&mut alice, "the 1002 close");
    assert_eq!((close.opcode, close.close_code()), (CLOSE, 1002));
    expect_text(&mut bob, "alice failed");
    // on_close follows on_error for a failed connection.
    expect_text(&mut bob, "alice left");
    finish(server, [alice, bob]);
}

#[test]
fn a_close_started_by_a_handler_leaves_at_once() {
    struct Closer;
    impl Handler for Closer {
        type Data = ();
        fn on_open(
            &mut self,
            _: &mut Context<'_, ()>,
            _: ConnectionId,
            _: &Opening<'_>,
        ) -> Result<(), Refusal> {
            Ok(())
        }
        fn on_message(&mut self, ctx: &mut Context<'_, ()>, id: ConnectionId, _: MessageRef<'_>) {
            ctx.close(id, CloseCode::POLICY, "bye").expect("close");
        }
    }
    let server = Running::start(slow_timers(), || Closer);
    let mut client = raw_upgrade(server.addr, "/");
    send(&mut client, OpCode::Text, b"close me");
    let close = frame_within_prompt(&mut client, "the handler's close");
    assert_eq!((close.opcode, close.close_code()), (CLOSE, 1008));
    finish(server, [client]);
}

#[test]
fn the_idle_ping_and_the_pong_timeout_close_leave_when_their_timers_fire() {
    const IDLE: Duration = Duration::from_millis(400);
    const PONG_WAIT: Duration = Duration::from_millis(400);
    let config = slow_timers()
        .idle_ping(Some(IDLE))
        .pong_timeout(Some(PONG_WAIT));
    // The timers are checked every quarter of the shortest timeout.
    let tick = IDLE / 4;
    let server = Running::start(config, Scripted::factory().0);
    let mut client = raw_upgrade(server.addr, "/alice");
    let opened = Instant::now();
    client.set_read_timeout(Some(IDLE + tick + PROMPT)).unwrap();
    let ping = read_frame(&mut client).expect("the idle ping");
    assert_eq!(ping.opcode, PING);
    let pinged = opened.elapsed();
    assert!(pinged <= IDLE + tick + PROMPT, "ping after {pinged:?}");
    client
        .set_read_timeout(Some(PONG_WAIT + tick + PROMPT))
        .unwrap();
    let close = read_frame(&mut client).expect("the close after no pong");
    assert_eq!((close.opcode, close.close_code()), (CLOSE, 1001));
    let closed = opened.elapsed() - pinged;
    assert!(
        closed <= PONG_WAIT + tick + PROMPT,
        "close after {closed:?}"
    );
    finish(server, [client]);
}

#[test]
fn a_shutdown_from_a_handle_sends_1001_to_every_peer_at_once() {
    let server = start();
    let mut clients: Vec<TcpStream> = ["/alice", "/bob"]
        .iter()
        .map(|path| raw_upgrade(server.addr, path))
        .collect();
    server.shutdown_handle().shutdown();
    for client in &mut clients {
        let close = frame_within_prompt(client, "the 1001 close");
        assert_eq!((close.opcode, close.close_code()), (CLOSE, 1001));
        send(client, OpCode::Close, &1001u16.to_be_bytes());
    }
    server.stop_ok();
}

#[test]
fn a_shutdown_from_a_handler_sends_1001_to_every_peer_at_once() {
    let server = start();
    let mut alice = raw_upgrade(server.addr, "/alice");
    let mut bob = raw_upgrade(server.addr, "/bob");
    send(&mut alice, OpCode::Text, b"shutdown");
    for client in [&mut alice, &mut bob] {
        let close = frame_within_prompt(client, "the 1001 close");
        assert_eq!((close.opcode, close.close_code()), (CLOSE, 1001));
        send(client, OpCode::Close, &1001u16.to_be_bytes());
    }
    server.stop_ok();
}

#[test]
fn a_send_to_a_connection_of_another_loop_leaves_at_once() {
    let (server, mut first, mut other, tried) = two_clients_on_two_loops(4);
    send(&mut first, OpCode::Text, b"to other across loops");
    expect_text(&mut other, "across loops");
    send(&mut other, OpCode::Text, b"to first and back");
    expect_text(&mut first, "and back");
    expect_quiet(&mut first);
    expect_quiet(&mut other);
    drop(tried);
    finish(server, [first, other]);
}

#[test]
fn a_broadcast_reaches_the_connections_of_another_loop_at_once() {
    let (server, mut first, mut other, tried) = two_clients_on_two_loops(2);
    send(&mut first, OpCode::Text, b"all hello other loop");
    expect_text(&mut other, "hello other loop");
    expect_quiet(&mut first);
    drop(tried);
    finish(server, [first, other]);
}

#[test]
fn a_close_of_a_connection_of_another_loop_leaves_at_once() {
    let (server, mut first, mut other, tried) = two_clients_on_two_loops(2);
    send(&mut first, OpCode::Text, b"close other");
    let close = frame_within_prompt(&mut other, "the close from the other loop");
    assert_eq!((close.opcode, close.close_code()), (CLOSE, 1000));
    drop(tried);
    finish(server, [first, other]);
}

#[test]
fn a_shutdown_from_a_handler_stops_every_loop_of_the_server() {
    let (server, mut first, mut other, tried) = two_clients_on_two_loops(2);
    send(&mut first, OpCode::Text, b"shutdown");
    // Both closes are read before either is answered: the answer ends a
    // connection, whose `on_close` tells the others ("c0 left"), and
    // that broadcast, made after the shutdown began, may reach the other
    // loop before it has seen the shutdown.
    for client in [&mut first, &mut other] {
        let close = frame_within_prompt(client, "the 1001 close");
        assert_eq!((close.opcode, close.close_code()), (CLOSE, 1001));
    }
    for client in [&mut first, &mut other] {
        send(client, OpCode::Close, &1001u16.to_be_bytes());
    }
    drop(tried);
    assert!(
        wait_until(JOIN_TIMEOUT, || server.is_finished()),
        "the server's run returned"
    );
    server.stop_ok();
}
