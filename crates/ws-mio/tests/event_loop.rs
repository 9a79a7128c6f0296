//! The event loop end to end over real sockets: many clients on one loop,
//! backpressure against a peer that does not read, peers that vanish,
//! the idle timer, shutdown, broadcast and handshake refusal.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{
    client_config, client_frame, config, join_within, lock, raw_upgrade, read_frame,
    read_http_head, sees_end_of_stream, tcp, upgrade_request, wait_until, ws_client, Recorder,
    Running, IO_TIMEOUT,
};
use ws_mio::{
    CloseCode, ConnectionId, Context, Echo, Error, EventLoop, Handler, Message, MessageRef,
    Opening, Refusal, SendError,
};
use ws_proto::OpCode;

// ---------------------------------------------------------------------
// 1. Many clients on one loop.
// ---------------------------------------------------------------------

const CLIENTS: usize = 1_000;
const MESSAGES_PER_CLIENT: usize = 5;

/// Message `k` of client `index`: text and binary in turn, the content
/// and the binary length derived from both.
fn nth_message(index: usize, k: usize) -> Message {
    if k.is_multiple_of(2) {
        Message::Text(format!("client {index} says {k}"))
    } else {
        let len = 8 + index % 64;
        Message::Binary((0..len).map(|j| (index * 7 + k * 13 + j) as u8).collect())
    }
}

/// Client side: sends its messages on open, checks every echo (content
/// and order), closes after the last one.
#[derive(Default)]
struct Verifier {
    /// The client number of each connection, from `connect`.
    index_of: HashMap<ConnectionId, usize>,
    verified: usize,
    closed: usize,
    problems: Vec<String>,
}

/// Per connection: which client it is and the next echo expected.
struct Progress {
    index: usize,
    next: usize,
}

impl Handler for Verifier {
    type Data = Progress;

    fn on_open(
        &mut self,
        ctx: &mut Context<'_, Progress>,
        id: ConnectionId,
        _: &Opening<'_>,
    ) -> Result<Progress, Refusal> {
        let Some(&index) = self.index_of.get(&id) else {
            self.problems
                .push(format!("{id}: opened but never connected"));
            return Err(Refusal::new(500));
        };
        for k in 0..MESSAGES_PER_CLIENT {
            if let Err(err) = ctx.send(id, nth_message(index, k).as_ref()) {
                self.problems
                    .push(format!("client {index}: send {k} refused: {err}"));
            }
        }
        Ok(Progress { index, next: 0 })
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<'_, Progress>,
        id: ConnectionId,
        message: MessageRef<'_>,
    ) {
        let Some(progress) = ctx.data(id) else {
            self.problems.push(format!("{id}: message without data"));
            return;
        };
        let (index, k) = (progress.index, progress.next);
        progress.next += 1;
        if k >= MESSAGES_PER_CLIENT || message != nth_message(index, k).as_ref() {
            self.problems
                .push(format!("client {index}: echo {k} wrong: {message:?}"));
            let _ = ctx.close(id, CloseCode::POLICY, "wrong echo");
            return;
        }
        if k + 1 == MESSAGES_PER_CLIENT {
            self.verified += 1;
            if let Err(err) = ctx.close(id, CloseCode::NORMAL, "done") {
                self.problems
                    .push(format!("client {index}: close refused: {err}"));
            }
        }
    }

    fn on_close(
        &mut self,
        _: &mut Context<'_, Progress>,
        id: ConnectionId,
        code: CloseCode,
        _: &str,
    ) {
        self.closed += 1;
        if code != CloseCode::NORMAL {
            self.problems.push(format!("{id}: closed with {code}"));
        }
    }

    fn on_error(&mut self, _: &mut Context<'_, Progress>, id: ConnectionId, error: &Error) {
        self.problems.push(format!("{id}: {error}"));
    }
}

#[test]
fn a_thousand_concurrent_clients_each_get_their_own_echoes_in_order() {
    // A generous handshake timeout: the test is about numbers, not timers.
    let server = Running::start(
        config().handshake_timeout(Some(Duration::from_secs(5))),
        || Echo,
    );
    let url = server.url("/");
    let started = Instant::now();

    let mut clients = EventLoop::new(config(), Verifier::default()).expect("client loop");
    for index in 0..CLIENTS {
        let id = clients.connect(&url).expect("connect");
        clients.handler().index_of.insert(id, index);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut turns = 0u64;
    while Instant::now() < deadline {
        clients.turn(Some(Duration::from_millis(10))).expect("turn");
        turns += 1;
        let handler = clients.handler();
        if !handler.problems.is_empty() {
            break;
        }
        if handler.verified == CLIENTS
            && handler.closed == CLIENTS
            && clients.connection_count() == 0
        {
            break;
        }
    }
    let elapsed = started.elapsed();
    let left = clients.connection_count();
    let handler = clients.handler();
    eprintln!(
        "{CLIENTS} clients x {MESSAGES_PER_CLIENT} echoes: {elapsed:?}, {turns} turns, \
         {} verified, {} closed, {left} left",
        handler.verified, handler.closed
    );
    assert!(
        handler.problems.is_empty(),
        "{} problems, first: {:?}",
        handler.problems.len(),
        &handler.problems[..handler.problems.len().min(5)]
    );
    assert_eq!(handler.verified, CLIENTS, "clients verified");
    assert_eq!(handler.closed, CLIENTS, "clients closed");
    assert_eq!(left, 0, "client connections still held");
    server.stop_ok();
}

// ---------------------------------------------------------------------
// 2. Backpressure: a peer that never reads.
// ---------------------------------------------------------------------

const FLOOD_MESSAGE: usize = 64 * 1024;
const MAX_OUTGOING: usize = 256 * 1024;
/// The largest header of a server frame.
const MAX_HEADER: usize = 14;

#[derive(Debug, Default)]
struct FloodLog {
    sends: usize,
    queue_full: usize,
    max_queued: usize,
    other_send_errors: Vec<String>,
    closes: Vec<(ConnectionId, CloseCode)>,
    errors: Vec<(ConnectionId, String)>,
}

/// On "flood", sends 64 KiB messages until the queue is full; echoes
/// anything else.
struct Flooder {
    payload: Vec<u8>,
    log: Arc<Mutex<FloodLog>>,
}

impl Handler for Flooder {
    type Data = ();

    fn on_open(
        &mut self,
        _: &mut Context<'_, ()>,
        _: ConnectionId,
        _: &Opening<'_>,
    ) -> Result<(), Refusal> {
        Ok(())
    }

    fn on_message(&mut self, ctx: &mut Context<'_, ()>, id: ConnectionId, message: MessageRef<'_>) {
        if message != MessageRef::Text("flood") {
            let _ = ctx.send(id, message);
            return;
        }
        let mut log = self.log.lock().unwrap();
        // Bounded: the queue holds at most a few of these.
        for _ in 0..64 {
            match ctx.send_binary(id, &self.payload) {
                Ok(()) => {
                    log.sends += 1;
                    let queued = ctx.queued(id).unwrap_or(0);
                    log.max_queued = log.max_queued.max(queued);
                }
                Err(SendError::QueueFull) => {
                    log.queue_full += 1;
                    break;
                }
                Err(err) => {
                    log.other_send_errors.push(err.to_string());
                    break;
                }
            }
        }
    }

    fn on_close(&mut self, _: &mut Context<'_, ()>, id: ConnectionId, code: CloseCode, _: &str) {
        self.log.lock().unwrap().closes.push((id, code));
    }

    fn on_error(&mut self, _: &mut Context<'_, ()>, id: ConnectionId, error: &Error) {
        self.log
            .lock()
            .unwrap()
            .errors
            .push((id, error.to_string()));
    }
}

#[test]
fn a_peer_that_never_reads_is_bounded_by_max_outgoing_and_dropped_after_stall_timeout() {
    let log = Arc::new(Mutex::new(FloodLog::default()));
    let shared = Arc::clone(&log);
    let server = Running::start(
        config()
            .max_outgoing(MAX_OUTGOING)
            .stall_timeout(Duration::from_millis(500)),
        move || Flooder {
            payload: vec![0xA5; FLOOD_MESSAGE],
            log: Arc::clone(&shared),
        },
    );

    // The raw client asks for a flood every 20 ms and never reads.
    let mut stream = raw_upgrade(server.addr, "/");
    let flood = client_frame(OpCode::Text, true, b"flood");
    let started = Instant::now();
    let deadline = started + Duration::from_secs(6);
    let mut requests = 0;
    let mut writing = true;
    while Instant::now() < deadline {
        if !log.lock().unwrap().closes.is_empty() {
            break;
        }
        if writing {
            if stream.write_all(&flood).is_ok() {
                requests += 1;
            } else {
                // The server dropped us: nothing more to say.
                writing = false;
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    let dropped_after = started.elapsed();

    {
        let log = log.lock().unwrap();
        eprintln!(
            "flood: {requests} requests, {} sends of 64 KiB, {} refusals, max queued {}, \
             dropped after {dropped_after:?}; errors {:?}, closes {:?}",
            log.sends, log.queue_full, log.max_queued, log.errors, log.closes
        );
        assert!(
            log.other_send_errors.is_empty(),
            "{:?}",
            log.other_send_errors
        );
        assert!(log.queue_full > 0, "the queue never filled");
        assert!(
            log.max_queued <= MAX_OUTGOING + FLOOD_MESSAGE + MAX_HEADER,
            "queue grew to {} bytes, bound {MAX_OUTGOING} plus one message",
            log.max_queued
        );
        assert_eq!(log.closes.len(), 1, "the non-reading peer was not dropped");
        let (dropped, code) = log.closes[0];
        assert_eq!(code, CloseCode::ABNORMAL);
        assert!(
            log.errors
                .iter()
                .any(|(id, error)| *id == dropped && error.contains("does not read")),
            "no stall timeout reported: {:?}",
            log.errors
        );
    }
    drop(stream);

    // The loop is still serving.
    let mut client = ws_client(&server.url("/"));
    client.send_text("still serving?").unwrap();
    assert_eq!(
        client.recv().unwrap(),
        Message::Text("still serving?".into())
    );
    client.close().unwrap();
    server.stop_ok();
}

// ---------------------------------------------------------------------
// 3. Peers vanishing mid-frame and mid-handshake.
// ---------------------------------------------------------------------

#[test]
fn clients_vanishing_mid_frame_and_mid_handshake_do_not_disturb_a_well_behaved_client() {
    const VANISHING: usize = 50;
    let (recorder, log) = Recorder::factory();
    let server = Running::start(config(), recorder);
    let addr = server.addr;

    let mut client = ws_client(&server.url("/steady"));
    let vanishers = thread::spawn(move || {
        let frame = client_frame(OpCode::Binary, true, &[7u8; 100]);
        let request = upgrade_request(addr, "/vanish", "");
        for _ in 0..VANISHING {
            // Upgraded, then half a frame (header, key, 40 of 100 bytes).
            let mut stream = raw_upgrade(addr, "/vanish");
            stream.write_all(&frame[..2 + 4 + 40]).unwrap();
            drop(stream);
            // Half a request.
            let mut stream = tcp(addr);
            stream
                .write_all(&request.as_bytes()[..request.len() / 2])
                .unwrap();
            drop(stream);
        }
    });

    let deadline = Instant::now() + Duration::from_secs(8);
    let mut exchanged = 0usize;
    while (!vanishers.is_finished() || exchanged < 50) && Instant::now() < deadline {
        let text = format!("steady {exchanged}");
        client.send_text(&text).unwrap();
        assert_eq!(client.recv().unwrap(), Message::Text(text));
        exchanged += 1;
    }
    join_within(vanishers, Duration::from_secs(1));
    assert!(exchanged >= 50, "only {exchanged} exchanges");

    let all_reported = wait_until(Duration::from_secs(3), || {
        lock(&log).closes_with(CloseCode::ABNORMAL) >= VANISHING
    });
    // One more exchange: the loop is fine and holds only this client open.
    client.send_text("last").unwrap();
    assert_eq!(client.recv().unwrap(), Message::Text("last".into()));
    {
        let log = lock(&log);
        eprintln!(
            "{exchanged} exchanges while {VANISHING}+{VANISHING} clients vanished; \
             {} opens, {} closes, {} errors",
            log.opens.len(),
            log.closes.len(),
            log.errors.len()
        );
        assert!(all_reported, "closes: {:?}", log.closes);
        assert_eq!(
            log.opens.len(),
            VANISHING + 1,
            "mid-handshake peers opened?"
        );
        assert_eq!(log.closes.len(), VANISHING);
        let steady = log.opens.iter().find(|o| o.path == "/steady").unwrap().id;
        assert!(log.closes.iter().all(|(id, _, _)| *id != steady));
        assert!(
            log.errors.is_empty(),
            "a vanished peer is an on_close(1006), not an error: {:?}",
            log.errors
        );
        assert_eq!(log.open_at_last_message, 1);
    }
    client.close().unwrap();
    server.stop_ok();
}

// ---------------------------------------------------------------------
// 4. Idle timeout.
// ---------------------------------------------------------------------

#[test]
fn idle_timeout_pings_a_silent_peer_then_closes_it_with_1001_but_spares_a_ponging_one() {
    const IDLE: Duration = Duration::from_millis(200);
    const PONG: Duration = Duration::from_millis(200);
    let (recorder, log) = Recorder::factory();
    let server = Running::start(
        config().idle_ping(Some(IDLE)).pong_timeout(Some(PONG)),
        recorder,
    );

    // A ws-std client that keeps receiving (and so answers pings) for
    // several idle periods.
    let url = server.url("/answering");
    let answering = thread::spawn(move || -> Result<(), String> {
        let mut client = ws_client(&url);
        client
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let until = Instant::now() + 3 * (IDLE + PONG);
        while Instant::now() < until {
            match client.recv() {
                Err(err) if err.is_timeout() => {}
                other => return Err(format!("recv while idle: {other:?}")),
            }
        }
        client.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        client.send_text("still open").map_err(|e| e.to_string())?;
        match client.recv() {
            Ok(Message::Text(text)) if text == "still open" => {}
            other => return Err(format!("echo after idling: {other:?}")),
        }
        client.close().map_err(|e| e.to_string())
    });

    // A raw client that reads but never answers.
    let mut silent = raw_upgrade(server.addr, "/silent");
    let opened = Instant::now();
    let ping = read_frame(&mut silent).expect("a ping after the idle timeout");
    let pinged = opened.elapsed();
    assert_eq!(ping.opcode, 0x9, "expected a ping, got {ping:?}");
    assert!(!ping.masked);
    let close = read_frame(&mut silent).expect("a close after the pong timeout");
    let closed = opened.elapsed();
    assert_eq!(close.opcode, 0x8, "expected a close, got {close:?}");
    assert_eq!(close.close_code(), 1001);
    eprintln!("silent peer: ping after {pinged:?}, close after {closed:?}");
    assert!(pinged >= IDLE - Duration::from_millis(50), "ping too early");
    assert!(
        closed - pinged >= PONG / 2,
        "close too early after the ping"
    );
    // Not answering the close either: the socket goes after the close timeout.
    assert!(sees_end_of_stream(&mut silent, Duration::from_secs(2)));

    join_within(answering, Duration::from_secs(5)).expect("the answering client");
    timed_out_only(&log, "/silent", "idle ping", "/answering");
    server.stop_ok();
}

/// The connection opened on `late` heard a timeout error that mentions
/// `what`, and the one opened on `spared` heard no error at all.
fn timed_out_only(log: &common::SharedLog, late: &str, what: &str, spared: &str) {
    let log = lock(log);
    let id_of = |path: &str| log.opens.iter().find(|o| o.path == path).unwrap().id;
    let (late_id, spared_id) = (id_of(late), id_of(spared));
    assert!(
        log.errors
            .iter()
            .any(|(id, e)| *id == late_id && e.contains(what)),
        "{:?}",
        log.errors
    );
    assert!(
        log.errors.iter().all(|(id, _)| *id != spared_id),
        "{:?}",
        log.errors
    );
}

#[test]
fn message_timeout_closes_a_peer_that_only_pings_with_1001_but_spares_a_talking_one() {
    const LIMIT: Duration = Duration::from_millis(300);
    let (recorder, log) = Recorder::factory();
    let server = Running::start(config().message_timeout(Some(LIMIT)), recorder);

    // Sends a message every 100 ms, and reads each echo, for four limits.
    let mut talking = raw_upgrade(server.addr, "/talking");
    // Pings every 50 ms but sends no message: pings do not count.
    let mut pinging = raw_upgrade(server.addr, "/pinging");
    let opened = Instant::now();
    let mut closed = None;
    while opened.elapsed() < 4 * LIMIT {
        talking
            .write_all(&client_frame(OpCode::Text, true, b"hello"))
            .unwrap();
        let echo = read_frame(&mut talking).expect("the echo");
        assert_eq!((echo.opcode, echo.payload.as_slice()), (0x1, &b"hello"[..]));
        for _ in 0..2 {
            if closed.is_some() {
                break;
            }
            pinging
                .write_all(&client_frame(OpCode::Ping, true, b"p"))
                .unwrap();
            let frame = read_frame(&mut pinging).expect("a pong or the close");
            match frame.opcode {
                0xA => {}
                0x8 => closed = Some((opened.elapsed(), frame.close_code())),
                other => panic!("unexpected opcode {other:#x}"),
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
    let (after, code) = closed.expect("the pinging peer was closed");
    assert_eq!(code, 1001);
    assert!(after >= LIMIT - Duration::from_millis(50), "closed early");
    timed_out_only(&log, "/pinging", "message timeout", "/talking");
    drop(pinging);
    talking
        .write_all(&client_frame(OpCode::Close, true, &1000u16.to_be_bytes()))
        .unwrap();
    server.stop_ok();
}

// ---------------------------------------------------------------------
// 5. Shutdown.
// ---------------------------------------------------------------------

#[test]
fn shutdown_sends_1001_to_every_peer_and_run_returns_ok() {
    let (recorder, log) = Recorder::factory();
    let server = Running::start(config(), recorder);
    let mut clients: Vec<_> = (0..5).map(|_| ws_client(&server.url("/"))).collect();
    for (i, client) in clients.iter_mut().enumerate() {
        let text = format!("hello {i}");
        client.send_text(&text).unwrap();
        assert_eq!(client.recv().unwrap(), Message::Text(text));
    }

    server.shutdown_handle().shutdown();
    for client in &mut clients {
        match client.recv() {
            Err(ws_std::Error::Closed { code, .. }) => assert_eq!(code, CloseCode(1001)),
            other => panic!("expected a 1001 close, got {other:?}"),
        }
    }
    assert!(
        wait_until(Duration::from_secs(2), || server.is_finished()),
        "the loop did not return"
    );
    server.stop_ok();
    let log = lock(&log);
    assert_eq!(log.closes.len(), 5, "{:?}", log.closes);
}

// ---------------------------------------------------------------------
// 6. Broadcast.
// ---------------------------------------------------------------------

/// Clients introduce themselves with "hello N"; "shout", "shout-except"
/// and "shout-to A B .." broadcast to all, all but the sender, or the
/// clients named.
struct Room {
    accepted: Arc<Mutex<Vec<(String, usize)>>>,
}

impl Handler for Room {
    type Data = Option<usize>;

    fn on_open(
        &mut self,
        _: &mut Context<'_, Option<usize>>,
        _: ConnectionId,
        _: &Opening<'_>,
    ) -> Result<Option<usize>, Refusal> {
        Ok(None)
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<'_, Option<usize>>,
        id: ConnectionId,
        message: MessageRef<'_>,
    ) {
        let MessageRef::Text(text) = message else {
            return;
        };
        let who = ctx.data(id).copied().flatten();
        let mut words = text.split(' ');
        let (kind, accepted) = match words.next() {
            Some("hello") => {
                let n = words.next().and_then(|n| n.parse().ok());
                if let Some(data) = ctx.data(id) {
                    *data = n;
                }
                let _ = ctx.send_text(id, &format!("welcome {}", n.unwrap_or(usize::MAX)));
                return;
            }
            Some("shout") => {
                let text = format!("everyone, from {who:?}");
                ("all", ctx.broadcast(MessageRef::Text(&text)))
            }
            Some("shout-except") => {
                let text = format!("everyone else, from {who:?}");
                ("except", ctx.broadcast_except(id, MessageRef::Text(&text)))
            }
            Some("shout-to") => {
                let wanted: Vec<usize> = words.filter_map(|n| n.parse().ok()).collect();
                let all: Vec<ConnectionId> = ctx.connections().collect();
                let ids: Vec<ConnectionId> = all
                    .into_iter()
                    .filter(|&c| {
                        ctx.data(c)
                            .copied()
                            .flatten()
                            .is_some_and(|n| wanted.contains(&n))
                    })
                    .collect();
                let text = format!("some of you, from {who:?}");
                ("to", ctx.broadcast_to(&ids, MessageRef::Text(&text)))
            }
            _ => return,
        };
        self.accepted.lock().unwrap().push((kind.into(), accepted));
    }
}

/// Every client in `receivers` gets `expected` once, and no client gets
/// anything else within 200 ms.
fn expect_exactly_once(
    clients: &mut [ws_std::WebSocket<ws_std::MaybeTlsStream>],
    receivers: &[usize],
    expected: &str,
) {
    for &i in receivers {
        assert_eq!(
            clients[i].recv().unwrap(),
            Message::Text(expected.into()),
            "client {i}"
        );
    }
    thread::sleep(Duration::from_millis(200));
    for (i, client) in clients.iter_mut().enumerate() {
        client
            .set_read_timeout(Some(Duration::from_millis(10)))
            .unwrap();
        match client.recv() {
            Err(err) if err.is_timeout() => {}
            other => panic!("client {i} got more after {expected:?}: {other:?}"),
        }
        client.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    }
}

#[test]
fn broadcast_reaches_every_client_exactly_once_and_except_and_to_reach_only_theirs() {
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let shared = Arc::clone(&accepted);
    let server = Running::start(config(), move || Room {
        accepted: Arc::clone(&shared),
    });
    let mut clients: Vec<_> = (0..10).map(|_| ws_client(&server.url("/room"))).collect();
    for (i, client) in clients.iter_mut().enumerate() {
        client.send_text(&format!("hello {i}")).unwrap();
        assert_eq!(
            client.recv().unwrap(),
            Message::Text(format!("welcome {i}"))
        );
    }
    let everyone: Vec<usize> = (0..10).collect();

    clients[0].send_text("shout").unwrap();
    expect_exactly_once(&mut clients, &everyone, "everyone, from Some(0)");

    clients[3].send_text("shout-except").unwrap();
    let others: Vec<usize> = everyone.iter().copied().filter(|&i| i != 3).collect();
    expect_exactly_once(&mut clients, &others, "everyone else, from Some(3)");

    clients[5].send_text("shout-to 1 4 7").unwrap();
    expect_exactly_once(&mut clients, &[1, 4, 7], "some of you, from Some(5)");

    assert_eq!(
        *accepted.lock().unwrap(),
        [
            ("all".to_owned(), 10),
            ("except".to_owned(), 9),
            ("to".to_owned(), 3)
        ]
    );
    for client in &mut clients {
        client.close().unwrap();
    }
    server.stop_ok();
}

// ---------------------------------------------------------------------
// 8. Refusal by the handler.
// ---------------------------------------------------------------------

#[derive(Debug, Default)]
struct GateLog {
    requests: Vec<(String, Option<Vec<u8>>)>,
    closes: usize,
}

/// Refuses every upgrade with 403, a header and a body, after noting its
/// path and key header.
struct Gate {
    log: Arc<Mutex<GateLog>>,
}

impl Handler for Gate {
    type Data = ();

    fn on_open(
        &mut self,
        _: &mut Context<'_, ()>,
        _: ConnectionId,
        opening: &Opening<'_>,
    ) -> Result<(), Refusal> {
        self.log.lock().unwrap().requests.push((
            opening.path().to_owned(),
            opening.header("x-room-key").map(<[u8]>::to_vec),
        ));
        Err(Refusal::forbidden()
            .header("X-Reason", "closed room")
            .body(GATE_BODY))
    }

    fn on_message(&mut self, _: &mut Context<'_, ()>, _: ConnectionId, _: MessageRef<'_>) {}

    fn on_close(&mut self, _: &mut Context<'_, ()>, _: ConnectionId, _: CloseCode, _: &str) {
        self.log.lock().unwrap().closes += 1;
    }
}

/// The body of [`Gate`]'s refusal.
const GATE_BODY: &str = "this room is closed\n";

#[test]
fn a_handler_refusal_answers_with_its_http_status_headers_and_body_and_sees_path_and_headers() {
    let log = Arc::new(Mutex::new(GateLog::default()));
    let shared = Arc::clone(&log);
    let server = Running::start(config(), move || Gate {
        log: Arc::clone(&shared),
    });

    let mut stream = tcp(server.addr);
    stream
        .write_all(
            upgrade_request(server.addr, "/room?x=1", "X-Room-Key: open-sesame\r\n").as_bytes(),
        )
        .unwrap();
    let head = read_http_head(&mut stream).unwrap();
    assert!(head.starts_with("HTTP/1.1 403"), "{head:?}");
    assert!(head.contains("\r\nX-Reason: closed room\r\n"), "{head:?}");
    let length = format!("\r\nContent-Length: {}\r\n", GATE_BODY.len());
    assert!(head.contains(&length), "{head:?}");
    let mut body = vec![0u8; GATE_BODY.len()];
    stream.read_exact(&mut body).unwrap();
    assert_eq!(body, GATE_BODY.as_bytes());
    assert!(
        sees_end_of_stream(&mut stream, Duration::from_secs(2)),
        "the refused connection stays open"
    );

    // A ws-std client sees the status too.
    match ws_std::connect_with_config(&server.url("/other"), &client_config()) {
        Err(ws_std::Error::HttpStatus(403)) => {}
        other => panic!("expected HTTP 403, got {other:?}"),
    }

    {
        let log = log.lock().unwrap();
        assert_eq!(
            log.requests,
            [
                ("/room?x=1".to_owned(), Some(b"open-sesame".to_vec())),
                ("/other".to_owned(), None),
            ]
        );
        assert_eq!(log.closes, 0, "on_close for a connection never opened");
    }
    server.stop_ok();
}

// ---------------------------------------------------------------------
// The close handshake the server starts.
// ---------------------------------------------------------------------

#[test]
fn after_a_close_handshake_it_started_the_server_closes_the_connection_at_once() {
    let (recorder, log) = Recorder::factory();
    let server = Running::start(
        config().close_timeout(Some(Duration::from_secs(2))),
        recorder,
    );
    let mut stream = raw_upgrade(server.addr, "/");
    stream
        .write_all(&client_frame(OpCode::Text, true, b"close 4000 bye"))
        .unwrap();
    let close = read_frame(&mut stream).unwrap();
    assert_eq!((close.opcode, close.close_code()), (0x8, 4000));
    // Our answer completes the handshake: the server closes the TCP
    // connection first (RFC 6455 section 7.1.1), without waiting for us.
    stream
        .write_all(&client_frame(OpCode::Close, true, &close.payload[..2]))
        .unwrap();
    let closed = sees_end_of_stream(&mut stream, Duration::from_secs(1));
    drop(stream);
    assert!(wait_until(Duration::from_secs(3), || !lock(&log)
        .closes
        .is_empty()));
    {
        let log = lock(&log);
        assert_eq!(log.closes[0].1, CloseCode(4000));
        assert!(
            closed,
            "the server kept the connection open after the close handshake"
        );
        assert!(log.errors.is_empty(), "{:?}", log.errors);
    }
    server.stop_ok();
}

// ---------------------------------------------------------------------
// Server itself.
// ---------------------------------------------------------------------

#[test]
fn server_run_serves_and_stops_in_a_debug_build() {
    let server = Running::with_server(config(), || Echo);
    let mut client = ws_client(&server.url("/"));
    client.send_text("through Server").unwrap();
    assert_eq!(
        client.recv().unwrap(),
        Message::Text("through Server".into())
    );
    client.close().unwrap();
    server.stop_ok();
}
