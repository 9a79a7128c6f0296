//! The connection: a [`Stream`] driven by the `ws-proto` state machine.

use std::io::{self, IoSlice};
use std::ops::Range;
use std::time::{Duration, Instant};

use ws_proto::constants::MAX_HEADER_LEN;
use ws_proto::deflate::{CompressionConfig, DeflateParams};
use ws_proto::mask::{os_mask, OsMask};
use ws_proto::message::{Message, MessageRef};
use ws_proto::session::{self, Messages, Received, RecvBuffer as Inbox};
use ws_proto::timer::{Deadline, Timers};
use ws_proto::{
    CloseCode, ClosePayload, Connection, Event, Frame, MessageKind, OpCode, ProtocolError, Role,
    State,
};

use crate::clock;
use crate::config::Config;
use crate::error::{timed_out, Error, Result};
use crate::request::OpenedWith;
use crate::stream::Stream;

/// A frame as received by [`WebSocket::recv_frame`], owning its payload
/// (the Vais `WsFrame` on the receiving side). [`as_frame`](Self::as_frame)
/// gives the Vais queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedFrame {
    /// The opcode (`Continuation` for every fragment but a message's first).
    pub opcode: OpCode,
    /// The FIN bit.
    pub fin: bool,
    /// Whether the frame was masked on the wire.
    pub masked: bool,
    /// The unmasked payload.
    pub payload: Vec<u8>,
}

impl OwnedFrame {
    /// Borrow as a [`Frame`], with `is_text`, `payload_text`, `close_code`
    /// and the other Vais queries.
    pub fn as_frame(&self) -> Frame<'_> {
        Frame::new(self.opcode, &self.payload)
            .with_fin(self.fin)
            .with_masked(self.masked)
    }
}

/// What [`WebSocket::recv_event`] hands back: a whole message, or a ping
/// or pong the peer sent.
///
/// `#[non_exhaustive]`: new kinds of event may be added, so a `match`
/// needs a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Incoming {
    /// A whole text or binary message, as [`WebSocket::recv`] returns it.
    Message(Message),
    /// A ping, with its payload (at most 125 bytes). Its pong has already
    /// been sent when this is returned.
    Ping(Vec<u8>),
    /// A pong, with its payload: the answer to a
    /// [`send_ping`](WebSocket::send_ping), or a heartbeat the peer sent
    /// unasked.
    Pong(Vec<u8>),
}

/// Reassembly state that lives beside the receive buffer.
struct Scratch {
    /// Assembly, and permessage-deflate when negotiated.
    messages: Messages,
    frame: Vec<u8>,
    frame_opcode: OpCode,
    /// The last message [`WebSocket::recv_ref`] gathered or inflated, lent
    /// out from here; its buffer takes the next such message.
    held: Message,
}

impl Scratch {
    /// Gather a chunk; the whole message once it is complete (inflated if
    /// it was compressed).
    fn message(
        &mut self,
        chunk: &ws_proto::DataChunk<'_>,
    ) -> std::result::Result<Option<Message>, ProtocolError> {
        Ok(self.messages.receive(chunk)?.map(Received::into_owned))
    }

    /// Gather a chunk without copying a message that arrived whole: where
    /// the whole message is, once it is complete. `inbox` is the address
    /// range of the receive buffer, of which an in-place message's payload
    /// is a part.
    fn locate(
        &mut self,
        chunk: &ws_proto::DataChunk<'_>,
        inbox: Range<usize>,
    ) -> std::result::Result<Option<Whole>, ProtocolError> {
        let held = &mut self.held;
        let recycled = || {
            let mut buffer = std::mem::replace(held, Message::Binary(Vec::new())).into_bytes();
            if buffer.capacity() > HELD_BUFFER_KEPT {
                // A big message's buffer is not kept for ever after it.
                return Vec::new();
            }
            buffer.clear();
            buffer
        };
        Ok(match self.messages.receive_with(chunk, recycled)? {
            None => None,
            Some(Received::Borrowed(message)) => match within(message.as_bytes(), inbox) {
                // A sub-slice of the buffer: its offset, found without
                // holding the borrow, which cannot leave the receive loop.
                Some(range) => Some(Whole::InInbox {
                    kind: message.kind(),
                    range,
                }),
                // Borrowed from somewhere else (not what the core does
                // today, but not something to index the inbox with).
                None => {
                    self.held = message.to_owned();
                    Some(Whole::Held)
                }
            },
            // Owned (gathered or inflated), or any kind added later.
            Some(received) => {
                self.held = received.into_owned();
                Some(Whole::Held)
            }
        })
    }
}

/// Where `part` lies in the buffer whose addresses are `buffer`, if it
/// lies in it at all.
fn within(part: &[u8], buffer: Range<usize>) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(buffer.start)?;
    let end = start.checked_add(part.len())?;
    (end <= buffer.end - buffer.start).then_some(start..end)
}

/// The largest buffer of a gathered message kept for the next one (the
/// rest are freed): bigger messages are rare, and 10,000 connections that
/// each received one should not each keep it.
const HELD_BUFFER_KEPT: usize = 64 * 1024;

/// Where the whole message found by [`WebSocket::next_whole`] is.
enum Whole {
    /// In the receive buffer, unmasked in place (it arrived as one
    /// uncompressed frame).
    InInbox {
        kind: MessageKind,
        range: std::ops::Range<usize>,
    },
    /// Gathered from fragments or inflated: in [`Scratch::held`].
    Held,
}

/// What a handler of received events wants next.
enum Step<T> {
    Done(T),
    Continue,
}

/// When a whole write (a frame, a batch, the pending control frames)
/// began, and the [`Config::write_timeout`] it has: the start of its
/// deadline. Most writes end in their first write call, whose socket
/// timeout is the whole allowance; only a write that needs a second call
/// turns this into a `ws_proto::timer` [`Deadline`] ([`deadline`](Self::deadline)),
/// so the fast path reads the clock once and converts nothing.
///
/// The deadline is a `ws_proto::timer::Deadline`, so its arithmetic (when
/// it is due, what is left, how much was used) is the core's, as for every
/// other deadline. The write timeout itself is not one of the core's
/// [`Timers`]: those are the protocol's deadlines (handshake, idle ping,
/// pong, between messages, close), the same for every transport, while
/// this one bounds how long a blocking write to a socket that does not
/// drain may take, a concern of a blocking transport only (an event loop
/// never blocks in a write and bounds a stalled peer its own way). So the
/// interval stays in ws-std's [`Config`], and re-arming the socket's write
/// timeout before each write call stays here ([`WebSocket::arm_write_timeout`]),
/// which keeps the first write call free of a second clock read and of a
/// system call while the stream's timeout is whole.
#[derive(Debug, Clone, Copy)]
struct WriteStart {
    at: Instant,
    allowed: Duration,
}

impl WriteStart {
    /// A write that begins now, if it has a write timeout.
    fn now(allowed: Option<Duration>) -> Option<WriteStart> {
        allowed.map(|allowed| WriteStart {
            at: Instant::now(),
            allowed,
        })
    }

    /// Its deadline, on [`clock::now`]'s time.
    fn deadline(&self) -> Deadline {
        Deadline::new(clock::at(self.at), self.allowed)
    }

    /// The error of a write whose deadline passed.
    fn timed_out(&self) -> Error {
        Error::Io(timed_out("write", self.allowed))
    }
}

/// How late a write may end past its deadline rather than pay a system
/// call to shorten the socket's write timeout.
const WRITE_DEADLINE_SLACK: Duration = Duration::from_millis(1);

/// A WebSocket connection over a blocking stream (the Vais
/// `WsConnection`).
///
/// Obtain one from [`WsServer::accept`](crate::WsServer::accept) (or
/// [`accept_with`](crate::WsServer::accept_with), to accept or refuse on
/// the request), [`ws_upgrade`](crate::ws_upgrade),
/// [`connect`](crate::connect), or wrap
/// an already upgraded stream with [`from_server`](Self::from_server) /
/// [`from_client`](Self::from_client). Pings are answered and the close
/// handshake is completed automatically while receiving.
///
/// # Pings and pongs
///
/// The peer's pings are answered, and its close frame replied to, by
/// [`recv`](Self::recv), [`recv_event`](Self::recv_event) and
/// [`recv_frame`](Self::recv_frame), the calls that receive (and by
/// [`close_with`](Self::close_with) while it waits for the peer's close):
///
/// - While one of them waits, a ping is answered at once, even when the
///   peer sends nothing after it; so is a close.
/// - Every ping gets its own pong, in order: a burst of pings read in one
///   go gets one pong each (RFC 6455 5.5.3 would allow answering only the
///   latest).
/// - A ping that arrives while the program is elsewhere (sending, or busy
///   with the last message) waits, in the socket or in the receive buffer,
///   until the next `recv`, `recv_event` or `recv_frame` reads it, and is
///   answered then.
///   Sending does not read, so it answers nothing.
///
/// So a program that never calls `recv` (or `recv_event`, or
/// `recv_frame`) never answers a ping or a close,
/// and a peer that checks liveness with pings (Python's `websockets` does
/// by default, so do [`WsServer::run_echo`](crate::WsServer::run_echo)
/// with [`Config::idle_ping`] and `ws-mio`'s servers) drops it after its
/// pong timeout. A program that mostly sends should call `recv` regularly
/// with a short read timeout ([`set_read_timeout`](Self::set_read_timeout)
/// or [`Config::read_timeout`]): a `recv` that times out answers what has
/// arrived and loses nothing.
///
/// A `WebSocket` has no timer of its own: it never pings an idle peer.
/// Send pings with [`send_ping`](Self::send_ping) if the peer must prove
/// it is alive; its pong comes back through
/// [`recv_event`](Self::recv_event) (as [`Incoming::Pong`], between whole
/// messages) or `recv_frame`, and is skipped by `recv`.
/// `recv_event` answers pings like the others and also hands them out
/// ([`Incoming::Ping`]), after their pong was sent.
pub struct WebSocket<S: Stream> {
    stream: S,
    conn: Connection<OsMask>,
    inbox: Inbox,
    scratch: Scratch,
    /// Client frames are masked in a copy of the payload built here.
    outbox: Vec<u8>,
    /// Frames given to [`feed`](WebSocket::feed), written by `flush`.
    batch: Vec<u8>,
    config: Config,
    subprotocol: Option<String>,
    /// The request (or, on a client, the response) of the handshake.
    opened_with: Option<Box<OpenedWith>>,
    /// Bytes read from the stream since the connection opened: a change
    /// means the peer is alive (the echo server's idle ping watches it).
    received: u64,
    /// The socket is shut down, or a write failed part-way through a frame
    /// so that nothing more can be sent.
    socket_closed: bool,
    /// The stream's write timeout was cut to what was left of a write's
    /// deadline; the next write sets it again.
    write_timeout_cut: bool,
    /// When a receive must end, however its bytes trickle in (the echo
    /// loop's next deadline, the close handshake's): see
    /// [`check_receive_deadline`](WebSocket::check_receive_deadline).
    receive_deadline: Option<Deadline>,
    /// The read timeout last asked for ([`set_read_timeout`](WebSocket::set_read_timeout)),
    /// which the stream has unless `read_timeout_cut`.
    read_timeout: Option<Duration>,
    /// The stream's read timeout was cut to what was left until
    /// `receive_deadline`; the next receive sets `read_timeout` again.
    read_timeout_cut: bool,
}

impl<S: Stream> WebSocket<S> {
    /// Wrap a stream on which the server side of the handshake is done
    /// (Vais `WsConnection::from_server`), with the default [`Config`].
    pub fn from_server(stream: S) -> Self {
        Self::from_parts(stream, Role::Server, Config::default(), &[], None)
    }

    /// Wrap a stream on which the client side of the handshake is done
    /// (Vais `WsConnection::from_client`), with the default [`Config`].
    pub fn from_client(stream: S) -> Self {
        Self::from_parts(stream, Role::Client, Config::default(), &[], None)
    }

    /// Wrap an upgraded stream with a role, a configuration (its read and
    /// write timeouts are applied to the stream), the bytes already read
    /// past the handshake, and the negotiated subprotocol.
    pub fn from_parts(
        mut stream: S,
        role: Role,
        config: Config,
        already_read: &[u8],
        subprotocol: Option<String>,
    ) -> Self {
        let max_message = config.session.max_message_len();
        // Best effort: only a zero duration is refused, and Stream
        // implementations avoid it.
        let _ = stream.set_read_timeout(config.read_timeout);
        let _ = stream.set_write_timeout(config.write_timeout);
        WebSocket {
            stream,
            conn: Connection::new(role, config.session.protocol, os_mask()),
            inbox: Inbox::new(config.effective_read_buffer(), already_read),
            scratch: Scratch {
                messages: Messages::new(max_message).with_budget(&config.session.memory_budget),
                frame: Vec::new(),
                frame_opcode: OpCode::Continuation,
                held: Message::Binary(Vec::new()),
            },
            outbox: Vec::new(),
            batch: Vec::new(),
            subprotocol,
            opened_with: None,
            received: 0,
            socket_closed: false,
            write_timeout_cut: false,
            receive_deadline: None,
            read_timeout: config.read_timeout,
            read_timeout_cut: false,
            config,
        }
    }

    /// Turn on permessage-deflate with the parameters the handshake agreed.
    pub(crate) fn enable_deflate(&mut self, params: DeflateParams, config: CompressionConfig) {
        self.scratch
            .messages
            .enable_deflate(&mut self.conn, params, config);
    }

    /// The permessage-deflate parameters in force, if it was negotiated.
    pub fn compression(&self) -> Option<&DeflateParams> {
        self.scratch.messages.compression()
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, mutably. Reading or writing it directly corrupts the
    /// connection; this is for socket options.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Client or server.
    pub fn role(&self) -> Role {
        self.conn.role()
    }

    /// The configuration the connection was made with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// What the connection was opened with: on a server, the client's
    /// request (path with query, host, origin, headers, address); on a
    /// client, the path and host asked for and the server's response
    /// headers. `None` for a connection made with
    /// [`from_parts`](Self::from_parts), [`from_server`](Self::from_server)
    /// or [`from_client`](Self::from_client), whose handshake happened
    /// elsewhere.
    ///
    /// ```no_run
    /// let server = ws_std::WsServer::bind("127.0.0.1:9001")?;
    /// let ws = server.accept()?;
    /// if let Some(request) = ws.opened_with() {
    ///     println!("{} asked for {}", request.host(), request.path());
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn opened_with(&self) -> Option<&OpenedWith> {
        self.opened_with.as_deref()
    }

    /// Keep what the handshake was made with.
    pub(crate) fn set_opened_with(&mut self, opened_with: OpenedWith) {
        self.opened_with = Some(Box::new(opened_with));
    }

    /// The connection state (Vais `state`).
    pub fn state(&self) -> State {
        if self.socket_closed {
            State::Closed
        } else {
            self.conn.state()
        }
    }

    /// Open: messages may be sent and received (Vais `is_open`).
    pub fn is_open(&self) -> bool {
        self.state() == State::Open
    }

    /// Bytes read from the stream so far (the handshake's excepted).
    pub(crate) fn bytes_received(&self) -> u64 {
        self.received
    }

    /// Set the timeout of each read from now on (`None`: block for ever).
    /// A read that times out returns an error for which
    /// [`Error::is_timeout`] is true and loses nothing.
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.stream.set_read_timeout(timeout)?;
        self.read_timeout = timeout;
        self.read_timeout_cut = false;
        Ok(())
    }

    /// Make every receive from now on end by `deadline` (on
    /// [`clock::now`]'s time), however the peer trickles its bytes: a read
    /// timeout bounds each read, and a peer that sends a byte just before
    /// each one keeps a receive going for ever. `None`: the read timeout
    /// alone bounds a read. A receive stopped by it fails as a read
    /// timeout does ([`Error::is_timeout`], nothing lost).
    pub(crate) fn set_receive_deadline(&mut self, deadline: Option<Deadline>) {
        self.receive_deadline = deadline;
    }

    /// Receive the next whole message: fragments are joined, text is
    /// checked UTF-8 and returned as a `String`. Pings are answered and
    /// pongs skipped on the way. When the peer closes, the close reply is
    /// sent and the result is [`Error::Closed`] with the peer's code.
    ///
    /// To see pings and pongs too, use [`recv_event`](Self::recv_event).
    pub fn recv(&mut self) -> Result<Message> {
        self.pump(|scratch, event| match event {
            Event::Data(chunk) => Ok(match scratch.message(&chunk)? {
                Some(message) => Step::Done(message),
                None => Step::Continue,
            }),
            Event::Ping(_) | Event::Pong(_) => Ok(Step::Continue),
            Event::Close(close) => Err(Error::Closed {
                code: close.code,
                reason: close.reason.into(),
            }),
        })
    }

    /// [`recv`](Self::recv) without the copy: the message is lent from
    /// the connection's buffers until the next call that needs `&mut self`.
    /// A message that arrived as one uncompressed frame (most do) is read
    /// in the receive buffer, where it was unmasked; one gathered from
    /// fragments or inflated is kept in a buffer that the next such
    /// message reuses. Nothing is allocated per message, so a loop of
    /// `recv_ref` costs no more than the bytes it reads.
    ///
    /// ```no_run
    /// use ws_std::MessageRef;
    ///
    /// let mut ws = ws_std::connect("ws://127.0.0.1:9001/")?;
    /// loop {
    ///     match ws.recv_ref()? {
    ///         MessageRef::Text(text) => println!("{text}"),
    ///         MessageRef::Binary(data) => println!("{} bytes", data.len()),
    ///     }
    /// }
    /// # Ok::<(), ws_std::Error>(())
    /// ```
    pub fn recv_ref(&mut self) -> Result<MessageRef<'_>> {
        match self.next_whole()? {
            // Text was checked once already, but a `&str` cannot leave the
            // receive loop (the borrow checker cannot see that the loop
            // stops with it), so it is checked again here: a fast pass
            // (simdutf8) over bytes just read, against a copy and an
            // allocation saved.
            Whole::InInbox { kind, range } => Ok(MessageRef::new(kind, &self.inbox.buf[range])?),
            Whole::Held => Ok(self.scratch.held.as_ref()),
        }
    }

    /// Receive the next message and send it back unchanged: the body of
    /// the echo server's loop. A message that arrived as one frame is sent
    /// from the receive buffer, where it was unmasked: no copy into a
    /// message of its own, no allocation.
    pub(crate) fn echo_next(&mut self) -> Result<()> {
        match self.next_whole()? {
            Whole::InInbox { kind, range } => {
                // Out of `self` for the send, which does not read (so
                // cannot touch the receive buffer): no copy of the payload.
                let inbox = std::mem::take(&mut self.inbox.buf);
                let result = self.echo(&Frame::new(kind.opcode(), &inbox[range]));
                self.inbox.buf = inbox;
                result
            }
            Whole::Held => {
                let held = std::mem::replace(&mut self.scratch.held, Message::Binary(Vec::new()));
                let result = self.echo(&Frame::new(held.kind().opcode(), held.as_bytes()));
                // Its buffer takes the next gathered message.
                self.scratch.held = held;
                result
            }
        }
    }

    /// Send a whole message back: a small one joins the send batch, which
    /// leaves in one write with the others read in the same go (before
    /// the next read); a big or compressed one is sent at once.
    fn echo(&mut self, frame: &Frame<'_>) -> Result<()> {
        const BATCHED: usize = 1024;
        let len = frame.payload().len();
        if len > BATCHED || self.compresses(len) {
            return self.send_frame(frame).map(drop);
        }
        self.feed(frame)
    }

    /// Receive until a whole message is there; say where it is.
    fn next_whole(&mut self) -> Result<Whole> {
        let inbox = self.inbox.buf.as_ptr_range();
        let inbox = inbox.start as usize..inbox.end as usize;
        self.pump(|scratch, event| match event {
            Event::Data(chunk) => Ok(match scratch.locate(&chunk, inbox.clone())? {
                Some(whole) => Step::Done(whole),
                None => Step::Continue,
            }),
            Event::Ping(_) | Event::Pong(_) => Ok(Step::Continue),
            Event::Close(close) => Err(Error::Closed {
                code: close.code,
                reason: close.reason.into(),
            }),
        })
    }

    /// [`recv`](Self::recv), but pings and pongs are handed back too: the
    /// next whole message ([`Incoming::Message`]), ping
    /// ([`Incoming::Ping`], returned after its pong was sent) or pong
    /// ([`Incoming::Pong`]), whichever arrives first. A ping or pong that
    /// arrives between the fragments of a message is returned first; the
    /// message goes on being gathered at the next call.
    ///
    /// When the peer closes, the close reply is sent and the result is
    /// [`Error::Closed`], as with `recv`.
    ///
    /// ```no_run
    /// use ws_std::Incoming;
    ///
    /// let mut ws = ws_std::connect("ws://127.0.0.1:9001/")?;
    /// ws.send_ping(b"are you there")?;
    /// loop {
    ///     match ws.recv_event()? {
    ///         Incoming::Pong(payload) if payload == b"are you there" => break,
    ///         Incoming::Message(message) => println!("{message:?}"),
    ///         _ => {} // pings (already answered), other pongs
    ///     }
    /// }
    /// # Ok::<(), ws_std::Error>(())
    /// ```
    pub fn recv_event(&mut self) -> Result<Incoming> {
        self.pump(|scratch, event| match event {
            Event::Data(chunk) => Ok(match scratch.message(&chunk)? {
                Some(message) => Step::Done(Incoming::Message(message)),
                None => Step::Continue,
            }),
            Event::Ping(payload) => Ok(Step::Done(Incoming::Ping(payload.to_vec()))),
            Event::Pong(payload) => Ok(Step::Done(Incoming::Pong(payload.to_vec()))),
            Event::Close(close) => Err(Error::Closed {
                code: close.code,
                reason: close.reason.into(),
            }),
        })
    }

    /// Receive the next frame, as the Vais `recv_frame` does: data
    /// frames one by one (a frame larger than the receive buffer is
    /// gathered whole, within the frame size limit), and pings, pongs and
    /// the peer's close too. Pings are still answered automatically and a
    /// close is replied to before it is returned; after that, this returns
    /// [`Error::Closed`].
    pub fn recv_frame(&mut self) -> Result<OwnedFrame> {
        let masked = self.role() == Role::Server;
        self.pump(|scratch, event| {
            let (opcode, payload) = match event {
                Event::Data(chunk) if chunk.compressed => {
                    // A compressed message only makes sense whole: it comes
                    // back as one frame holding the inflated message.
                    let Some(message) = scratch.message(&chunk)? else {
                        return Ok(Step::Continue);
                    };
                    let opcode = message.kind().opcode();
                    return Ok(Step::Done(OwnedFrame {
                        opcode,
                        fin: true,
                        masked,
                        payload: message.into_bytes(),
                    }));
                }
                Event::Data(chunk) => {
                    if chunk.frame_start {
                        scratch.frame.clear();
                        scratch.frame_opcode = match chunk.message_start {
                            true => chunk.kind.opcode(),
                            false => OpCode::Continuation,
                        };
                    }
                    scratch.frame.extend_from_slice(chunk.payload);
                    if !chunk.frame_end {
                        return Ok(Step::Continue);
                    }
                    let frame = OwnedFrame {
                        opcode: scratch.frame_opcode,
                        fin: chunk.message_end,
                        masked,
                        payload: std::mem::take(&mut scratch.frame),
                    };
                    return Ok(Step::Done(frame));
                }
                Event::Ping(payload) => (OpCode::Ping, payload.to_vec()),
                Event::Pong(payload) => (OpCode::Pong, payload.to_vec()),
                Event::Close(close) => {
                    let payload = ClosePayload::new(close.code, close.reason)
                        .unwrap_or(ClosePayload::empty());
                    (OpCode::Close, payload.as_bytes().to_vec())
                }
            };
            Ok(Step::Done(OwnedFrame {
                opcode,
                fin: true,
                masked,
                payload,
            }))
        })
    }

    /// Feed received bytes through the core until `on_event` is done,
    /// reading from the stream whenever the buffer runs dry, and writing
    /// the control frames the core queues (pongs, close replies) as soon as
    /// they appear.
    fn pump<T>(
        &mut self,
        mut on_event: impl FnMut(&mut Scratch, Event<'_>) -> Result<Step<T>>,
    ) -> Result<T> {
        self.check_can_receive()?;
        // A read was made in this call: the next one checks the receive
        // deadline.
        let mut read_before = false;
        loop {
            let pending = &mut self.inbox.buf[self.inbox.start..self.inbox.end];
            let step = match self.conn.receive(pending) {
                Err(err) => Err(Error::Protocol(err)),
                Ok((consumed, event)) => {
                    self.inbox.start += consumed;
                    match event {
                        None => Ok(None),
                        Some(event) => on_event(&mut self.scratch, event).map(Some),
                    }
                }
            };
            if let Err(Error::Protocol(err)) = &step {
                // Limits and UTF-8 checked outside the core fail it too.
                if self.conn.failure().is_none() {
                    self.conn.fail(*err);
                }
            }
            // A ping may wait in the buffer for the previous one's pong:
            // once that is written, the core can go on without new bytes.
            let transmitted = self.conn.wants_transmit();
            self.flush_control()?;
            if self.conn.state() == State::Closed {
                self.finish_close();
            }
            match step? {
                Some(Step::Done(value)) => return Ok(value),
                Some(Step::Continue) => {}
                None if transmitted => {}
                None => {
                    self.fill(read_before)?;
                    read_before = true;
                }
            }
        }
    }

    fn check_can_receive(&self) -> Result<()> {
        if let Some(err) = self.conn.failure() {
            return Err(Error::Protocol(err));
        }
        if self.socket_closed || self.conn.peer_close_code().is_some() {
            return Err(self.closed_error());
        }
        Ok(())
    }

    fn closed_error(&self) -> Error {
        Error::Closed {
            code: self.conn.peer_close_code().unwrap_or(CloseCode::ABNORMAL),
            reason: String::new(),
        }
    }

    /// Read more bytes into the receive buffer. `read_before`: this
    /// receive has read already and still waits for the rest of a frame
    /// or message, so it checks the receive deadline first.
    fn fill(&mut self, read_before: bool) -> Result<()> {
        // Frames given to `feed` leave before we wait for the peer, which
        // may be waiting for them.
        self.flush()?;
        // The first read of a receive (most messages arrive whole in one)
        // reads no clock: its read timeout ends it.
        if read_before && self.receive_deadline.is_some() {
            self.check_receive_deadline()?;
        } else if self.read_timeout_cut {
            self.stream.set_read_timeout(self.read_timeout)?;
            self.read_timeout_cut = false;
        }
        let inbox = &mut self.inbox;
        if inbox.start == inbox.end || inbox.buf.len() - inbox.end < MAX_HEADER_LEN {
            inbox.compact();
        }
        loop {
            match self.stream.read(&mut inbox.buf[inbox.end..]) {
                Ok(0) => {
                    self.socket_closed = true;
                    let vanished = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the peer closed the connection without a close frame",
                    );
                    return Err(Error::Io(vanished));
                }
                Ok(read) => {
                    inbox.end += read;
                    self.received += read as u64;
                    return Ok(());
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(Error::Io(err)),
            }
        }
    }

    /// A receive that read and still waits: fail as a read timeout does
    /// once the receive deadline has passed, and otherwise cut the
    /// stream's read timeout to what is left of it when that is shorter,
    /// so that however the peer trickles its bytes the receive ends by
    /// the deadline. One clock read per such read; the system call only
    /// while the deadline is nearer than the read timeout.
    #[cold]
    fn check_receive_deadline(&mut self) -> Result<()> {
        let Some(deadline) = self.receive_deadline else {
            return Ok(());
        };
        let Some(left) = deadline.remaining(clock::now()) else {
            return Err(Error::Io(io::ErrorKind::TimedOut.into()));
        };
        if self.read_timeout.is_none_or(|timeout| left < timeout) {
            self.stream.set_read_timeout(Some(left))?;
            self.read_timeout_cut = true;
        }
        Ok(())
    }

    /// Write the control frames the core has queued (after any batched
    /// frames, which were encoded first).
    fn flush_control(&mut self) -> Result<()> {
        // Called after every receive step: read the clock only when a
        // control frame is queued.
        if !self.conn.wants_transmit() {
            return Ok(());
        }
        self.flush_control_by(WriteStart::now(self.config.write_timeout))
    }

    fn flush_control_by(&mut self, deadline: Option<WriteStart>) -> Result<()> {
        if self.conn.wants_transmit() {
            self.flush_by(deadline)?;
        }
        while self.conn.wants_transmit() {
            let mut frames = [0u8; 2 * ws_proto::frame::MAX_CONTROL_FRAME_LEN];
            let len = self.conn.poll_transmit(&mut frames);
            self.write_all(&mut [IoSlice::new(&frames[..len])], deadline)?;
        }
        Ok(())
    }

    /// After the close handshake (or a failure): the server closes the TCP
    /// connection first (RFC 6455 7.1.1); a client gives the server a
    /// moment to do so, then closes too.
    fn finish_close(&mut self) {
        if self.socket_closed {
            return;
        }
        if self.role() == Role::Client {
            // No close timeout: wait for the server for ever.
            let deadline = self.close_deadline(clock::now());
            let mut sink = [0u8; 512];
            loop {
                let left = match deadline {
                    Some(deadline) => match deadline.remaining(clock::now()) {
                        Some(left) => Some(left),
                        None => break,
                    },
                    None => None,
                };
                let _ = self.stream.set_read_timeout(left);
                match self.stream.read(&mut sink) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
        let _ = self.stream.shutdown();
        self.socket_closed = true;
    }

    /// Write every byte of `bufs` by `deadline`. A failure part-way leaves
    /// a partial frame on the wire, so the connection is closed for
    /// sending.
    ///
    /// The stream's write timeout bounds each write call, and a peer that
    /// reads a little now and then lets every call write a little: so
    /// before each call the timeout is set to what is left until the
    /// deadline, and the write fails with `TimedOut` once it has passed.
    fn write_all(
        &mut self,
        mut bufs: &mut [IoSlice<'_>],
        deadline: Option<WriteStart>,
    ) -> Result<()> {
        if self.socket_closed {
            return Err(self.closed_error());
        }
        // The first call needs no arming while the stream's timeout is the
        // whole `write_timeout` (it was not cut): the deadline was set just
        // before. Most writes finish in that one call, without a clock read.
        let mut armed = !self.write_timeout_cut;
        while !bufs.is_empty() {
            if let (Some(deadline), false) = (deadline, armed) {
                if let Err(err) = self.arm_write_timeout(deadline) {
                    self.socket_closed = true;
                    return Err(err);
                }
            }
            armed = false;
            match self.stream.write_vectored(bufs) {
                Ok(0) => {
                    self.socket_closed = true;
                    return Err(Error::Io(io::ErrorKind::WriteZero.into()));
                }
                Ok(written) => IoSlice::advance_slices(&mut bufs, written),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => {
                    self.socket_closed = true;
                    return Err(match deadline {
                        Some(deadline)
                            if matches!(
                                err.kind(),
                                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                            ) =>
                        {
                            deadline.timed_out()
                        }
                        _ => Error::Io(err),
                    });
                }
            }
        }
        Ok(())
    }

    /// Set the stream's write timeout to what is left until `deadline`,
    /// or fail if nothing is. While the stream still has the whole
    /// [`Config::write_timeout`] and less than [`WRITE_DEADLINE_SLACK`] of
    /// it was used, the system call is skipped: a write that starts right
    /// away cannot end more than that past the deadline.
    fn arm_write_timeout(&mut self, start: WriteStart) -> Result<()> {
        let deadline = start.deadline();
        let now = clock::now();
        let Some(left) = deadline.remaining(now) else {
            return Err(start.timed_out());
        };
        let used = deadline.used(now);
        if !self.write_timeout_cut && used < WRITE_DEADLINE_SLACK {
            return Ok(());
        }
        self.stream.set_write_timeout(Some(left))?;
        self.write_timeout_cut = used >= WRITE_DEADLINE_SLACK;
        Ok(())
    }

    /// Send one frame (Vais `send_frame`); returns the bytes written.
    ///
    /// Pending control frames go out first. A server sends header and
    /// payload with one vectored write, without copying the payload; a
    /// client masks a copy.
    pub fn send_frame(&mut self, frame: &Frame<'_>) -> Result<usize> {
        // One deadline for the batch, the control frames and the frame.
        let deadline = WriteStart::now(self.config.write_timeout);
        self.flush_by(deadline)?;
        self.flush_control_by(deadline)?;
        if self.role() == Role::Client && self.should_compress(frame) {
            return self.send_compressed(frame, deadline);
        }
        if self.role() == Role::Client || frame.is_close() {
            self.outbox
                .resize(frame.encoded_len(self.role() == Role::Client), 0);
            let len = self.conn.encode_frame(frame, &mut self.outbox)?;
            let outbox = std::mem::take(&mut self.outbox);
            let result = self.write_all(&mut [IoSlice::new(&outbox[..len])], deadline);
            self.outbox = outbox;
            result?;
            if self.conn.state() == State::Closed {
                self.finish_close();
            }
            return Ok(len);
        }
        if self.should_compress(frame) {
            return self.send_compressed(frame, deadline);
        }
        let mut header = [0u8; MAX_HEADER_LEN];
        let payload = frame.payload();
        let encoded = self.conn.encode_header(
            frame.opcode(),
            frame.is_final(),
            payload.len() as u64,
            &mut header,
        )?;
        self.write_all(
            &mut [IoSlice::new(&header[..encoded.len]), IoSlice::new(payload)],
            deadline,
        )?;
        Ok(encoded.len + payload.len())
    }

    /// Whether a message of `len` bytes is sent compressed.
    pub(crate) fn compresses(&self, len: usize) -> bool {
        self.scratch.messages.compresses(len)
    }

    /// A whole text or binary message worth compressing, on a connection
    /// that negotiated permessage-deflate.
    fn should_compress(&self, frame: &Frame<'_>) -> bool {
        let whole_message = frame.is_final() && (frame.is_text() || frame.is_binary());
        whole_message && self.compresses(frame.payload().len())
    }

    /// Send a whole message compressed (in frames of at most
    /// [`MAX_COMPRESSED_FRAME`](ws_proto::deflate::MAX_COMPRESSED_FRAME)).
    fn send_compressed(
        &mut self,
        frame: &Frame<'_>,
        deadline: Option<WriteStart>,
    ) -> Result<usize> {
        let kind = if frame.is_text() {
            MessageKind::Text
        } else {
            MessageKind::Binary
        };
        let mut out = std::mem::take(&mut self.outbox);
        out.clear();
        let encoded =
            self.scratch
                .messages
                .encode_message(&mut self.conn, kind, frame.payload(), &mut out);
        let result = match encoded {
            Ok(len) => self
                .write_all(&mut [IoSlice::new(&out[..len])], deadline)
                .map(|()| len),
            Err(err) => Err(session_error(err)),
        };
        self.outbox = out;
        if result.is_err() && self.conn.wants_transmit() {
            // The compressor failed and closed the connection (1011).
            let _ = self.flush_control_by(deadline);
        }
        result
    }

    /// Encode a frame into the send batch without writing it, so that many
    /// small messages leave in one write: call [`flush`](Self::flush) when
    /// the batch is done. A batch over 64 KiB is written at once, and the
    /// batch is written before `recv` waits for the peer. Frames sent with
    /// `send_*` write the batch first, so order is kept. Fed frames are not
    /// compressed.
    pub fn feed(&mut self, frame: &Frame<'_>) -> Result<()> {
        const BATCH_LIMIT: usize = 64 * 1024;
        let start = self.batch.len();
        self.batch
            .resize(start + frame.encoded_len(self.role() == Role::Client), 0);
        match self.conn.encode_frame(frame, &mut self.batch[start..]) {
            Ok(len) => self.batch.truncate(start + len),
            Err(err) => {
                self.batch.truncate(start);
                return Err(err.into());
            }
        }
        if self.batch.len() >= BATCH_LIMIT {
            self.flush()?;
        }
        Ok(())
    }

    /// Write the frames given to [`feed`](Self::feed), in one write call
    /// where the stream takes them at once.
    pub fn flush(&mut self) -> Result<()> {
        // No clock read when there is nothing to write: `recv` calls this
        // before every read.
        if self.batch.is_empty() {
            return Ok(());
        }
        self.flush_by(WriteStart::now(self.config.write_timeout))
    }

    fn flush_by(&mut self, deadline: Option<WriteStart>) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let result = self.write_all(&mut [IoSlice::new(&batch)], deadline);
        self.batch = batch;
        self.batch.clear();
        result?;
        match self.stream.flush() {
            Ok(()) => Ok(()),
            Err(err) => self.flush_failed(err),
        }
    }

    /// A signal may interrupt a flush as it does a read or a write: call
    /// it again; any other error is the flush's.
    #[cold]
    fn flush_failed(&mut self, mut err: io::Error) -> Result<()> {
        while err.kind() == io::ErrorKind::Interrupted {
            match self.stream.flush() {
                Ok(()) => return Ok(()),
                Err(again) => err = again,
            }
        }
        Err(Error::Io(err))
    }

    /// Send a text message (Vais `send_text`); returns the bytes written.
    pub fn send_text(&mut self, text: &str) -> Result<usize> {
        self.send_frame(&Frame::text(text))
    }

    /// Send a binary message (Vais `send_binary`); returns the bytes written.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<usize> {
        self.send_frame(&Frame::binary(data))
    }

    /// Send a whole message of either kind.
    pub fn send(&mut self, message: &Message) -> Result<usize> {
        match message {
            Message::Text(text) => self.send_text(text),
            Message::Binary(data) => self.send_binary(data),
        }
    }

    /// Send a message as several frames: `fragments` in order, the last
    /// one final.
    pub fn send_fragmented(&mut self, kind: MessageKind, fragments: &[&[u8]]) -> Result<usize> {
        let mut sent = 0;
        for (i, fragment) in fragments.iter().enumerate() {
            let opcode = if i == 0 {
                kind.opcode()
            } else {
                OpCode::Continuation
            };
            let frame = Frame::new(opcode, fragment).with_fin(i + 1 == fragments.len());
            sent += self.send_frame(&frame)?;
        }
        Ok(sent)
    }

    /// Send a ping (Vais `send_ping`), payload at most 125 bytes.
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<usize> {
        self.send_frame(&Frame::new(OpCode::Ping, payload))
    }

    /// Send a pong (Vais `send_pong`), payload at most 125 bytes. Pings are
    /// answered automatically; this is for unsolicited pongs (heartbeats).
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<usize> {
        self.send_frame(&Frame::new(OpCode::Pong, payload))
    }

    /// Send a close frame with a code and reason (Vais `send_close`),
    /// without waiting for the reply; keep calling `recv` to see it, or use
    /// [`close_with`](Self::close_with).
    pub fn send_close(&mut self, code: CloseCode, reason: &str) -> Result<usize> {
        let frame =
            Frame::close_with_reason(code, reason).map_err(ws_proto::SendError::InvalidClose)?;
        self.send_frame(&frame)
    }

    /// Close gracefully with 1000 (Vais `close`): see [`close_with`](Self::close_with).
    pub fn close(&mut self) -> Result<()> {
        self.close_with(CloseCode::NORMAL, "")
    }

    /// Close gracefully: send a close frame (unless one was sent), wait up
    /// to the close timeout ([`Config::close_timeout`]; `None`: for ever)
    /// for the peer's close while discarding any data still arriving, then
    /// close the socket. Returns `Ok` when the peer's close arrived in
    /// time.
    pub fn close_with(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        if self.socket_closed {
            return Ok(());
        }
        if self.conn.peer_close_code().is_none()
            && !self.conn.close_sent()
            && self.conn.failure().is_none()
        {
            if let Err(err) = self.send_close(code, reason) {
                self.force_close();
                return Err(err);
            }
        }
        let result = self.await_peer_close();
        self.finish_close();
        result
    }

    fn await_peer_close(&mut self) -> Result<()> {
        if self.conn.peer_close_code().is_some() || self.conn.failure().is_some() {
            return Ok(());
        }
        // The first read waits the whole close timeout; the receive
        // deadline stops the wait there however the peer's data trickles.
        let deadline = self.close_deadline(clock::now());
        self.set_read_timeout(deadline.map(|deadline| deadline.allowed()))?;
        self.receive_deadline = deadline;
        let result = self.pump(|_, event| match event {
            Event::Close(_) => Ok(Step::Done(())),
            _ => Ok(Step::Continue),
        });
        self.receive_deadline = None;
        result.map_err(|err| match deadline {
            Some(deadline) if err.is_timeout() => Error::Io(timed_out("close", deadline.allowed())),
            _ => err,
        })
    }

    /// The close handshake's deadline for a close frame sent at `now`, as
    /// the core's timers run it ([`TimerConfig::close`](ws_proto::TimerConfig::close)
    /// after our close); `None` when there is no close timeout.
    fn close_deadline(&self, now: Duration) -> Option<Deadline> {
        let mut timers = Timers::new_open(self.config.session.timers, now);
        timers.on_close_sent(now);
        timers.deadline(now)
    }

    /// Close the socket at once, without the close handshake (Vais
    /// `force_close`).
    pub fn force_close(&mut self) {
        if !self.socket_closed {
            let _ = self.stream.shutdown();
            self.socket_closed = true;
        }
    }
}

impl<S: Stream> Drop for WebSocket<S> {
    /// Dropping closes the socket (the Vais `drop` calls `force_close`).
    fn drop(&mut self) {
        self.force_close();
    }
}

impl<S: Stream> std::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("role", &self.role())
            .field("state", &self.state())
            .field("subprotocol", &self.subprotocol)
            .finish_non_exhaustive()
    }
}

/// A failure of the message layer as this crate reports it.
fn session_error(err: session::Error) -> Error {
    match err {
        session::Error::Protocol(err) => Error::Protocol(err),
        session::Error::Send(err) => Error::Send(err),
        // The enum is non-exhaustive; it has no other variant yet.
        _ => Error::Send(ws_proto::SendError::Closed),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::io::{Read, Write};

    use super::*;

    /// A stream that reads scripted chunks (then times out) and records
    /// the read timeouts it is given.
    #[derive(Default)]
    struct Scripted {
        chunks: VecDeque<Vec<u8>>,
        read_timeouts: Vec<Option<Duration>>,
    }

    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some(chunk) = self.chunks.pop_front() else {
                return Err(io::ErrorKind::WouldBlock.into());
            };
            buf[..chunk.len()].copy_from_slice(&chunk);
            Ok(chunk.len())
        }
    }

    impl Write for Scripted {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Stream for Scripted {
        fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
            self.read_timeouts.push(timeout);
            Ok(())
        }
    }

    fn client(chunks: &[&[u8]]) -> WebSocket<Scripted> {
        let stream = Scripted {
            chunks: chunks.iter().map(|chunk| chunk.to_vec()).collect(),
            ..Scripted::default()
        };
        let config = Config::default().read_timeout(Some(Duration::from_secs(10)));
        WebSocket::from_parts(stream, Role::Client, config, &[], None)
    }

    #[test]
    fn a_receive_that_reads_again_cuts_the_read_timeout_to_its_deadline_and_the_next_restores_it() {
        let mut ws = client(&[b"\x81", b"\x05hello", b"\x81\x02hi"]);
        let secs = Duration::from_secs;
        ws.set_receive_deadline(Some(Deadline::new(clock::now(), secs(5))));
        assert_eq!(ws.recv().unwrap(), Message::Text("hello".into()));
        // The first read set nothing; the second cut 10 s to what was left
        // of the 5 s.
        let timeouts = ws.get_ref().read_timeouts.clone();
        assert_eq!(timeouts.len(), 2, "{timeouts:?}");
        assert_eq!(timeouts[0], Some(secs(10)));
        assert!(timeouts[1].is_some_and(|left| left <= secs(5) && left > secs(4)));
        // A message whole in one read: its read has the whole timeout back.
        assert_eq!(ws.recv().unwrap(), Message::Text("hi".into()));
        assert_eq!(ws.get_ref().read_timeouts[2..], [Some(secs(10))]);
    }

    #[test]
    fn a_receive_past_its_deadline_times_out_and_loses_nothing() {
        let mut ws = client(&[b"\x81", b"\x03", b"abc"]);
        ws.set_receive_deadline(Some(Deadline::new(clock::now(), Duration::from_millis(1))));
        std::thread::sleep(Duration::from_millis(2));
        // The first read of the receive is made; before the second, the
        // deadline has passed.
        let err = ws.recv().unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert!(ws.is_open());
        ws.set_receive_deadline(None);
        assert_eq!(ws.recv().unwrap(), Message::Text("abc".into()));
    }

    #[test]
    fn a_message_whole_in_one_read_sets_no_read_timeout() {
        let mut ws = client(&[b"\x81\x02hi\x82\x01x"]);
        ws.set_receive_deadline(Some(Deadline::new(clock::now(), Duration::from_secs(5))));
        assert_eq!(ws.recv().unwrap(), Message::Text("hi".into()));
        assert_eq!(ws.recv().unwrap(), Message::Binary(vec![b'x']));
        assert_eq!(ws.get_ref().read_timeouts, [Some(Duration::from_secs(10))]);
    }

    #[test]
    fn a_payload_is_located_only_inside_the_receive_buffer() {
        let buffer = [0u8; 16];
        let range = buffer.as_ptr_range();
        let addresses = range.start as usize..range.end as usize;
        assert_eq!(within(&buffer[3..9], addresses.clone()), Some(3..9));
        assert_eq!(within(&buffer[16..], addresses.clone()), Some(16..16));
        let elsewhere = [0u8; 4];
        let before = [0u8; 4];
        for other in [&elsewhere[..], &before[..]] {
            assert_eq!(within(other, addresses.clone()), None);
        }
        // Starting before the buffer; running past its end.
        let (start, end) = (addresses.start, addresses.end);
        assert_eq!(within(&buffer[..], start + 1..end), None);
        assert_eq!(within(&buffer[..], start..end - 1), None);
    }
}
