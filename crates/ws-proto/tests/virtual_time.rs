//! The core's timers on a virtual clock: a server and a client
//! [`Connection`], each with its [`Timers`], joined by in-memory links with
//! a fixed latency. The clock jumps to the next thing that can happen (a
//! delivery, the earliest `poll_timeout` of either side, the end of the
//! run), so minutes of a connection's life pass in microseconds, with no
//! sleep and no socket.

use std::collections::VecDeque;
use std::time::Duration;

use ws_proto::handshake::client::{ClientRequest, ResponseParser};
use ws_proto::handshake::server::{write_response, RequestParser};
use ws_proto::{
    CloseCode, Config, Connection, Deadline, Event, MaskSource, NoMask, State, TimerConfig,
    TimerEvent, Timers,
};

/// Time since the start of the run.
type Time = Duration;

fn ms(n: u64) -> Time {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Time {
    Duration::from_secs(n)
}

/// Masking keys from a counter: deterministic, which a test wants and a
/// real client must never be.
struct CountingMask(u32);

impl MaskSource for CountingMask {
    fn next_key(&mut self) -> [u8; 4] {
        self.0 = self.0.wrapping_add(0x9e37_79b9);
        self.0.to_be_bytes()
    }
}

/// What happened to an endpoint, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Note {
    Opened,
    Timer(TimerEvent),
    Message(Vec<u8>),
    Ping,
    Pong,
    Close(CloseCode, String),
    /// The close handshake is complete.
    Closed,
    /// The socket was dropped (a timer gave up).
    Dropped,
}

/// Where the opening handshake is for one endpoint.
enum Opening {
    Server(RequestParser),
    Client(ResponseParser<'static>),
    Done,
}

const REQUEST: ClientRequest<'static> = ClientRequest {
    host: "example.com",
    path: "/chat",
    key: *b"the sample nonce",
    origin: None,
    subprotocols: &[],
    extensions: None,
    extra_headers: &[],
};

struct Endpoint<M> {
    conn: Connection<M>,
    timers: Timers,
    opening: Opening,
    /// Bytes received and not yet consumed.
    inbox: Vec<u8>,
    /// Bytes arrived since the inbox was last looked at.
    unread: bool,
    /// Bytes to put on the link at the end of this step.
    outbox: Vec<u8>,
    /// The message being received.
    message: Vec<u8>,
    /// The host vanished: it reads, writes and times nothing any more.
    vanished: bool,
    /// The socket is gone (close handshake complete, or a timer gave up).
    finished: bool,
    notes: Vec<(Time, Note)>,
}

impl<M: MaskSource> Endpoint<M> {
    fn new(conn: Connection<M>, opening: Opening, config: TimerConfig) -> Self {
        Endpoint {
            conn,
            timers: Timers::new(config, Time::ZERO),
            opening,
            inbox: Vec::new(),
            unread: false,
            outbox: Vec::new(),
            message: Vec::new(),
            vanished: false,
            finished: false,
            notes: Vec::new(),
        }
    }

    fn active(&self) -> bool {
        !self.vanished && !self.finished
    }

    fn note(&mut self, now: Time, note: Note) {
        self.notes.push((now, note));
    }

    /// Take the bytes that landed.
    fn deliver(&mut self, link: &mut Link, now: Time) -> bool {
        let landed = link.deliver(now, &mut self.inbox);
        self.unread |= landed;
        landed
    }

    /// Handle what arrived; true when anything was done.
    fn receive(&mut self, now: Time) -> bool {
        if !self.active() || !std::mem::take(&mut self.unread) {
            return false;
        }
        self.timers.on_receive(now);
        if !self.open_with_received(now) {
            return true;
        }
        let mut start = 0;
        while self.active() && start < self.inbox.len() {
            let (consumed, event) = match self.conn.receive(&mut self.inbox[start..]) {
                Ok(step) => step,
                Err(err) => panic!("protocol error {err:?}"),
            };
            start += consumed;
            let note = match event {
                Some(Event::Data(chunk)) => {
                    self.message.extend_from_slice(chunk.payload);
                    if !chunk.message_end {
                        continue;
                    }
                    self.timers.on_message(now);
                    Note::Message(std::mem::take(&mut self.message))
                }
                Some(Event::Ping(_)) => Note::Ping,
                Some(Event::Pong(_)) => Note::Pong,
                Some(Event::Close(close)) => Note::Close(close.code, close.reason.into()),
                None if self.conn.wants_transmit() => {
                    self.transmit(now);
                    continue;
                }
                None => break,
            };
            self.note(now, note);
            self.transmit(now);
        }
        self.inbox.drain(..start.min(self.inbox.len()));
        true
    }

    /// Run the opening handshake on the inbox; true once it is done.
    fn open_with_received(&mut self, now: Time) -> bool {
        let consumed = match &mut self.opening {
            Opening::Done => return true,
            Opening::Server(parser) => match parser.parse(&self.inbox) {
                Ok(Some(request)) => {
                    let mut out = [0u8; 512];
                    let len = write_response(request.key(), None, None, &[], &mut out).unwrap();
                    self.outbox.extend_from_slice(&out[..len]);
                    request.consumed()
                }
                Ok(None) => return false,
                Err(err) => panic!("bad request {err:?}"),
            },
            Opening::Client(parser) => match parser.parse(&self.inbox) {
                Ok(Some(response)) => response.consumed(),
                Ok(None) => return false,
                Err(err) => panic!("bad response {err:?}"),
            },
        };
        self.inbox.drain(..consumed);
        self.opening = Opening::Done;
        self.timers.on_open(now);
        self.note(now, Note::Opened);
        true
    }

    /// Move what the connection queued to the outbox, and follow the
    /// close handshake.
    fn transmit(&mut self, now: Time) {
        let was_sent = self.conn.close_sent();
        let mut out = [0u8; 256];
        loop {
            let len = self.conn.poll_transmit(&mut out);
            if len == 0 {
                break;
            }
            self.outbox.extend_from_slice(&out[..len]);
        }
        if !was_sent && self.conn.close_sent() {
            self.timers.on_close_sent(now);
        }
        if self.conn.state() == State::Closed && !self.finished {
            self.timers.on_closed();
            self.finished = true;
            self.note(now, Note::Closed);
        }
    }

    /// Do what the timers say is due; true when anything was.
    fn handle_timers(&mut self, now: Time) -> bool {
        let mut fired = false;
        while self.active() {
            let Some(event) = self.timers.handle_timeout(now) else {
                break;
            };
            fired = true;
            self.note(now, Note::Timer(event));
            match event {
                TimerEvent::SendPing => {
                    self.transmit(now);
                    let mut out = [0u8; 16];
                    let len = self.conn.encode_ping(b"", &mut out).unwrap();
                    self.outbox.extend_from_slice(&out[..len]);
                }
                TimerEvent::PeerSilent | TimerEvent::MessageTimedOut => {
                    self.conn
                        .close(event.close_code().unwrap(), event.reason())
                        .unwrap();
                    self.transmit(now);
                }
                TimerEvent::HandshakeTimedOut | TimerEvent::CloseTimedOut => {
                    self.finished = true;
                    self.note(now, Note::Dropped);
                }
            }
        }
        fired
    }

    fn poll_timeout(&self) -> Option<Time> {
        self.timers.poll_timeout().filter(|_| self.active())
    }

    /// Send a text message now.
    fn send_text(&mut self, text: &str) {
        let mut out = vec![0u8; text.len() + 14];
        let len = self.conn.encode_text(text, &mut out).unwrap();
        self.outbox.extend_from_slice(&out[..len]);
    }

    /// Send a close now.
    fn close(&mut self, now: Time, code: CloseCode) {
        self.conn.close(code, "bye").unwrap();
        self.transmit(now);
    }

    fn timer_events(&self) -> Vec<(Time, TimerEvent)> {
        self.notes
            .iter()
            .filter_map(|(at, note)| match note {
                Note::Timer(event) => Some((*at, *event)),
                _ => None,
            })
            .collect()
    }

    fn times_of(&self, wanted: &Note) -> Vec<Time> {
        self.notes
            .iter()
            .filter(|(_, note)| note == wanted)
            .map(|(at, _)| *at)
            .collect()
    }
}

/// One direction of the wire: what is in flight, and when it lands.
#[derive(Default)]
struct Link {
    in_flight: VecDeque<(Time, Vec<u8>)>,
}

impl Link {
    fn send(&mut self, arrival: Time, bytes: &mut Vec<u8>) {
        if !bytes.is_empty() {
            self.in_flight.push_back((arrival, std::mem::take(bytes)));
        }
    }

    /// Everything that landed by `now`.
    fn deliver(&mut self, now: Time, inbox: &mut Vec<u8>) -> bool {
        let mut any = false;
        while self.in_flight.front().is_some_and(|(at, _)| *at <= now) {
            let (_, bytes) = self.in_flight.pop_front().unwrap();
            inbox.extend_from_slice(&bytes);
            any = true;
        }
        any
    }

    fn next_arrival(&self) -> Option<Time> {
        self.in_flight.front().map(|(at, _)| *at)
    }
}

/// A server and a client on a virtual clock.
struct Pair {
    now: Time,
    latency: Duration,
    server: Endpoint<NoMask>,
    client: Endpoint<CountingMask>,
    to_server: Link,
    to_client: Link,
}

impl Pair {
    /// A pair about to run the opening handshake: the client's request is
    /// on its way at time zero.
    fn new(server: TimerConfig, client: TimerConfig) -> Pair {
        let mut pair = Pair::connected_silently(server, client);
        let mut out = [0u8; 512];
        let len = REQUEST.write(&mut out).unwrap();
        pair.client.outbox.extend_from_slice(&out[..len]);
        pair.flush();
        pair
    }

    /// A pair whose client connected but sent nothing yet.
    fn connected_silently(server: TimerConfig, client: TimerConfig) -> Pair {
        let config = Config::new();
        Pair {
            now: Time::ZERO,
            latency: ms(50),
            server: Endpoint::new(
                Connection::server(config),
                Opening::Server(RequestParser::new()),
                server,
            ),
            client: Endpoint::new(
                Connection::client(config, CountingMask(1)),
                Opening::Client(ResponseParser::new(&REQUEST)),
                client,
            ),
            to_server: Link::default(),
            to_client: Link::default(),
        }
    }

    /// Put what both endpoints wrote on the wire.
    fn flush(&mut self) {
        let arrival = self.now + self.latency;
        if !self.server.vanished {
            self.to_client.send(arrival, &mut self.server.outbox);
        }
        if !self.client.vanished {
            self.to_server.send(arrival, &mut self.client.outbox);
        }
    }

    /// Everything that happens at `self.now`, until nothing more does.
    fn settle(&mut self) {
        for _ in 0..1000 {
            let mut busy = false;
            busy |= self.server.deliver(&mut self.to_server, self.now);
            busy |= self.client.deliver(&mut self.to_client, self.now);
            busy |= self.server.receive(self.now);
            busy |= self.client.receive(self.now);
            busy |= self.server.handle_timers(self.now);
            busy |= self.client.handle_timers(self.now);
            self.flush();
            if !busy {
                return;
            }
        }
        panic!("no rest at {:?}", self.now);
    }

    /// Run until `end`, the clock jumping from one event to the next.
    fn run_until(&mut self, end: Time) {
        assert!(end >= self.now, "time goes forward");
        loop {
            self.settle();
            let next = [
                self.server.poll_timeout(),
                self.client.poll_timeout(),
                self.to_server.next_arrival(),
                self.to_client.next_arrival(),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(next) if next <= end => {
                    assert!(next > self.now, "a deadline at {next:?} was left due");
                    self.now = next;
                }
                _ => break,
            }
        }
        self.now = end;
        self.settle();
    }

    /// Run the opening handshake (one round trip).
    fn open(server: TimerConfig, client: TimerConfig) -> Pair {
        let mut pair = Pair::new(server, client);
        pair.run_until(pair.latency * 2);
        assert_eq!(pair.server.times_of(&Note::Opened), [ms(50)]);
        assert_eq!(pair.client.times_of(&Note::Opened), [ms(100)]);
        pair
    }
}

/// A server with the default timers, a client (a browser, say) with none
/// but the close deadline.
fn server_pings() -> (TimerConfig, TimerConfig) {
    let client = TimerConfig::new().idle_ping(None);
    (TimerConfig::new(), client)
}

#[test]
fn an_idle_connection_is_pinged_after_the_interval_and_kept_alive_by_the_pong() {
    let (server, client) = server_pings();
    let mut pair = Pair::open(server, client);
    pair.run_until(secs(200));

    // The server opened at 50 ms; pings 60 s after the last byte heard, the
    // pong a round trip (100 ms) later.
    let pings: Vec<Time> = [60_050, 120_150, 180_250].into_iter().map(ms).collect();
    let pongs: Vec<Time> = pings.iter().map(|at| *at + ms(100)).collect();
    let sent: Vec<(Time, TimerEvent)> =
        pings.iter().map(|at| (*at, TimerEvent::SendPing)).collect();
    assert_eq!(pair.server.timer_events(), sent);
    assert_eq!(pair.server.times_of(&Note::Pong), pongs);
    assert_eq!(pair.client.times_of(&Note::Ping).len(), 3);
    assert!(pair.client.timer_events().is_empty());
    assert_eq!(pair.server.conn.state(), State::Open);
    assert_eq!(pair.client.conn.state(), State::Open);
    assert_eq!(
        pair.server.timers.poll_timeout(),
        Some(ms(180_350 + 60_000))
    );
}

#[test]
fn both_ends_pinging_keep_each_other_alive() {
    let mut pair = Pair::open(TimerConfig::new(), TimerConfig::new());
    pair.run_until(secs(600));
    assert!(pair.server.conn.is_open() && pair.client.conn.is_open());
    let gave_up = |events: Vec<(Time, TimerEvent)>| {
        events
            .iter()
            .any(|(_, event)| *event != TimerEvent::SendPing)
    };
    assert!(!gave_up(pair.server.timer_events()));
    assert!(!gave_up(pair.client.timer_events()));
    // Each ping is answered, and answers count as life: about one ping a
    // minute in all, not one per minute per side.
    let pings = pair.server.timer_events().len() + pair.client.timer_events().len();
    assert!((9..=11).contains(&pings), "{pings} pings in 10 minutes");
}

#[test]
fn a_peer_that_stops_answering_is_closed_with_1001_after_ping_and_pong_timeout() {
    let (server, client) = server_pings();
    let mut pair = Pair::open(server, client);
    pair.run_until(secs(1));
    pair.client.send_text("last words");
    pair.run_until(secs(2));
    // The message landed at 1.05 s; then the client's host vanishes.
    assert_eq!(
        pair.server.times_of(&Note::Message(b"last words".to_vec())),
        [ms(1050)]
    );
    pair.client.vanished = true;
    pair.run_until(secs(300));

    assert_eq!(
        pair.server.timer_events(),
        [
            (ms(61_050), TimerEvent::SendPing),
            (ms(71_050), TimerEvent::PeerSilent),
            (ms(76_050), TimerEvent::CloseTimedOut),
        ]
    );
    assert_eq!(pair.server.times_of(&Note::Dropped), [ms(76_050)]);
    assert!(pair.server.timers.is_done());

    // What the vanished client was sent: the ping, then a close with 1001.
    pair.client.vanished = false;
    pair.client.notes.clear();
    pair.client.unread = true;
    pair.client.receive(pair.now);
    let notes: Vec<Note> = pair.client.notes.iter().map(|(_, n)| n.clone()).collect();
    assert_eq!(
        notes[..2],
        [
            Note::Ping,
            Note::Close(CloseCode::GOING_AWAY, "pong timeout".into())
        ]
    );
}

#[test]
fn a_close_that_is_not_answered_times_out() {
    let (server, client) = server_pings();
    let mut pair = Pair::open(server, client);
    pair.run_until(secs(1));
    pair.server.vanished = true;
    pair.client.close(pair.now, CloseCode::NORMAL);
    pair.run_until(secs(100));
    assert_eq!(
        pair.client.timer_events(),
        [(secs(6), TimerEvent::CloseTimedOut)]
    );
    assert_eq!(pair.client.times_of(&Note::Dropped), [secs(6)]);
    assert_eq!(pair.client.conn.state(), State::Closing);
}

#[test]
fn an_answered_close_stops_every_timer() {
    let (server, client) = server_pings();
    let mut pair = Pair::open(server, client);
    pair.run_until(secs(1));
    pair.client.close(pair.now, CloseCode::NORMAL);
    pair.run_until(secs(1000));
    assert_eq!(pair.server.times_of(&Note::Closed), [ms(1050)]);
    assert_eq!(pair.client.times_of(&Note::Closed), [ms(1100)]);
    assert!(pair.server.timer_events().is_empty());
    assert!(pair.client.timer_events().is_empty());
    assert_eq!(pair.server.timers.poll_timeout(), None);
    assert_eq!(pair.client.timers.poll_timeout(), None);
}

#[test]
fn a_client_that_never_sends_its_request_is_dropped_at_the_handshake_deadline() {
    let (server, client) = server_pings();
    let mut pair = Pair::connected_silently(server, client);
    pair.run_until(secs(60));
    assert_eq!(
        pair.server.timer_events(),
        [(secs(10), TimerEvent::HandshakeTimedOut)]
    );
    assert_eq!(pair.server.times_of(&Note::Dropped), [secs(10)]);
}

#[test]
fn a_request_trickling_in_does_not_extend_the_handshake_deadline() {
    let (server, client) = server_pings();
    let mut pair = Pair::connected_silently(server, client);
    let mut request = [0u8; 512];
    let len = REQUEST.write(&mut request).unwrap();
    // One byte a second: the request would take minutes.
    for (second, byte) in request[..len].iter().enumerate().take(30) {
        pair.run_until(secs(second as u64));
        pair.client.outbox.push(*byte);
        pair.flush();
    }
    pair.run_until(secs(60));
    assert_eq!(
        pair.server.timer_events(),
        [(secs(10), TimerEvent::HandshakeTimedOut)]
    );
    assert!(pair.server.times_of(&Note::Opened).is_empty());
}

#[test]
fn a_completed_handshake_stops_the_handshake_deadline() {
    let (server, client) = server_pings();
    let mut pair = Pair::open(server, client);
    pair.run_until(secs(59));
    assert!(pair.server.timer_events().is_empty());
    assert!(pair.client.timer_events().is_empty());
}

#[test]
fn traffic_keeps_the_idle_ping_from_firing() {
    let (server, client) = server_pings();
    let mut pair = Pair::open(server, client);
    // A message every 45 s for ten minutes.
    for n in 1..=13 {
        pair.run_until(secs(45 * n));
        pair.client.send_text("tick");
    }
    pair.run_until(secs(45 * 13 + 59));
    assert!(pair.server.timer_events().is_empty());
    assert_eq!(
        pair.server
            .notes
            .iter()
            .filter(|(_, note)| matches!(note, Note::Message(_)))
            .count(),
        13
    );
    // Once the traffic stops, the ping comes 60 s after the last message
    // landed.
    pair.run_until(secs(45 * 13 + 61));
    assert_eq!(
        pair.server.timer_events(),
        [(secs(45 * 13 + 60) + ms(50), TimerEvent::SendPing)]
    );
}

#[test]
fn server_to_client_traffic_does_not_keep_the_server_from_pinging() {
    // Only what the server receives counts: its own sends are no sign
    // that the peer is there.
    let (server, client) = server_pings();
    let mut pair = Pair::open(server, client);
    for n in 1..=3 {
        pair.run_until(secs(20 * n));
        pair.server.send_text("news");
    }
    pair.run_until(secs(61));
    assert_eq!(
        pair.server.timer_events(),
        [(ms(60_050), TimerEvent::SendPing)]
    );
}

#[test]
fn a_message_limit_closes_a_connection_kept_alive_only_by_pongs() {
    let (server, client) = server_pings();
    let server = server.message(Some(secs(90)));
    let mut pair = Pair::open(server, client);
    pair.run_until(secs(200));
    assert_eq!(
        pair.server.timer_events(),
        [
            (ms(60_050), TimerEvent::SendPing),
            (ms(90_050), TimerEvent::MessageTimedOut),
        ]
    );
    assert_eq!(
        pair.client
            .notes
            .iter()
            .find(|(_, n)| matches!(n, Note::Close(..))),
        Some(&(
            ms(90_100),
            Note::Close(CloseCode::GOING_AWAY, "idle timeout".into())
        ))
    );
    // The client answered the close: both closed cleanly, in time.
    assert_eq!(pair.server.times_of(&Note::Closed), [ms(90_150)]);
    assert_eq!(pair.client.times_of(&Note::Closed), [ms(90_100)]);
}

/// A blocking reader on a virtual clock, as `ws-std` waits: before each
/// read the socket timeout is set to what the [`Deadline`] has left, and a
/// read ends when a byte arrives or that timeout passes. Returns when the
/// reads gave up and how many bytes they got.
fn blocking_reads(deadline: Deadline, byte_every: Time, start: Time) -> (Time, usize) {
    let mut now = start;
    let mut bytes = 0;
    while let Some(left) = deadline.remaining(now) {
        if byte_every < left {
            now += byte_every;
            bytes += 1;
        } else {
            now += left;
        }
    }
    (now, bytes)
}

#[test]
fn a_wait_bounded_by_a_deadline_ends_on_it_however_bytes_trickle() {
    // One byte just before each 500 ms read timeout would keep a plain
    // per-read timeout waiting for ever; the deadline's time left does not.
    let deadline = Deadline::new(secs(3), ms(2000));
    for every in [ms(1), ms(499), ms(1999), ms(2000), secs(60)] {
        let (ended, _) = blocking_reads(deadline, every, secs(3));
        assert_eq!(ended, secs(5), "one byte every {every:?}");
    }
    assert_eq!(blocking_reads(deadline, ms(499), secs(3)).1, 4);
}

#[test]
fn the_handshake_and_close_waits_are_the_timers_deadlines() {
    let config = TimerConfig::new()
        .handshake(Some(ms(300)))
        .close(Some(ms(200)));
    let timers = Timers::new(config, secs(1));
    let handshake = timers.deadline(secs(1)).unwrap();
    assert_eq!(blocking_reads(handshake, ms(100), secs(1)).0, ms(1300));
    assert_eq!(handshake.allowed(), ms(300));

    let mut timers = Timers::new_open(config, secs(2));
    timers.on_close_sent(secs(2));
    let close = timers.deadline(secs(2)).unwrap();
    assert_eq!(close.allowed(), ms(200));
    assert_eq!(blocking_reads(close, ms(10), secs(2)).0, ms(2200));
}
