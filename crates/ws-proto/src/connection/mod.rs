//! The connection state machine: bytes in, events out; frames to send,
//! bytes out. No sockets, no clock, no allocation.
//!
//! Receiving: the caller passes the bytes it has read as a mutable slice.
//! [`Connection::receive`] unmasks payload in place and returns how many
//! bytes it consumed plus, usually, an [`Event`] that borrows the slice.
//! Data arrives as [`DataChunk`]s: a frame that is whole in the slice comes
//! as one chunk, a larger one as a chunk per call, so a message of any size
//! streams through a buffer of any size (at least [`MIN_RECV_BUFFER`]
//! bytes, so that a control frame fits whole).
//!
//! Sending: `encode_*` methods write frames into a caller buffer after
//! checking the rules of sending (no data after close, fragments in order,
//! control frames short and final). Replies the protocol requires (a pong
//! for a ping, the close reply, the close frame that fails a connection)
//! are queued in fixed storage and written by [`Connection::poll_transmit`]
//! whenever the caller can send: nothing is lost when a write would block.
//!
//! # Pings and pongs
//!
//! Every ping gets its own pong, in order. RFC 6455 section 5.5.3 lets an
//! endpoint answer only the latest of several pings that arrived before it
//! could reply; we do not use that allowance, because peers that count
//! their pongs (the Autobahn suite's case 2.10, keepalive code that pairs
//! each ping with its pong by payload) would see the others as lost. The
//! storage stays one pong: while a pong is queued and not yet taken by
//! [`poll_transmit`](Connection::poll_transmit),
//! [`receive`](Connection::receive) stops in front of the next ping and
//! returns `None` without consuming it. So a transport's loop is: call
//! `receive` until it returns `None`; if
//! [`wants_transmit`](Connection::wants_transmit), transmit and call
//! `receive` again before waiting for more bytes. A peer that floods pings
//! and never reads its pongs is thereby slowed to the pace at which the
//! transport can write, instead of growing a queue.
//!
//! [`MIN_RECV_BUFFER`]: crate::constants::MIN_RECV_BUFFER

use crate::close::{CloseCode, CloseFrame, ClosePayload};
use crate::constants::MAX_CONTROL_PAYLOAD;
use crate::error::{ProtocolError, SendError};
use crate::frame::{Frame, FrameHeader, OpCode, RSV1};
use crate::mask::{apply_mask, MaskSource, NoMask};
use crate::utf8::Utf8Validator;

/// Which end of the connection this is. It decides masking: clients mask
/// every frame they send, servers never do, and each rejects frames from
/// the peer that break that rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The end that sent the upgrade request.
    Client,
    /// The end that accepted it.
    Server,
}

/// Connection state (Vais `WS_STATE_*`, with the same values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum State {
    /// 0, Vais `WS_STATE_CONNECTING`: the opening handshake is under way.
    /// Transports report it while they run the handshake; a [`Connection`]
    /// is created once the handshake is done and starts [`Open`](State::Open).
    Connecting = 0,
    /// 1, Vais `WS_STATE_OPEN`: messages flow both ways.
    Open = 1,
    /// 2, Vais `WS_STATE_CLOSING`: a close frame has been sent or received
    /// (or queued because the peer broke the protocol), not both.
    Closing = 2,
    /// 3, Vais `WS_STATE_CLOSED`: the close handshake is complete (or the
    /// connection failed and its close frame has been handed out): the
    /// transport should close the socket.
    Closed = 3,
}

/// Limits and switches of a connection: what a [`Connection`] keeps.
///
/// A transport's users set these through the session-wide
/// [`SessionConfig`](crate::SessionConfig), which holds one. Build it with
/// [`new`](Self::new), [`embedded`](Self::embedded) or [`Default`] and the
/// `const` setters; it is `#[non_exhaustive]`, so settings can be added
/// without breaking that code.
///
/// ```
/// use ws_proto::Config;
///
/// const LIMITS: Config = Config::new().max_frame_size(1 << 20).max_message_size(4 << 20);
/// assert!(LIMITS.auto_pong);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Largest accepted frame payload; a bigger frame fails the connection
    /// with 1009 as soon as its header arrives. Default 16 MiB.
    pub max_frame_size: u64,
    /// Largest accepted message (sum of its frames' payloads); checked at
    /// each frame header, so the excess is never read. A compressed
    /// message (permessage-deflate) is held to it by its inflated size
    /// instead, which the codec checks as it inflates. Default 16 MiB:
    /// room for any frame the default frame limit lets through and for the
    /// largest messages of the Autobahn suite, a quarter of tungstenite's
    /// 64 MiB (a peer can make a server hold this much per connection; the
    /// transports also cap the total with a shared memory budget), and
    /// more than the 1 MiB of Python's `websockets`, which turns away the
    /// files and images that applications commonly send in one message.
    pub max_message_size: u64,
    /// Queue a pong for every ping (default true). When off, pings are
    /// only reported and the caller answers them itself.
    pub auto_pong: bool,
    /// permessage-deflate was negotiated: RSV1 is allowed on the first
    /// frame of a data message and marks it compressed. Default false.
    pub compression: bool,
}

impl Config {
    /// Defaults for servers and clients with memory to spare: 16 MiB
    /// frames and 16 MiB messages (the Autobahn suite sends 16 MiB ones).
    pub const fn new() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 16 << 20,
            auto_pong: true,
            compression: false,
        }
    }

    /// Defaults for small devices: the Vais API's 64 KiB
    /// ([`WS_MAX_FRAME_SIZE`](crate::constants::WS_MAX_FRAME_SIZE)) for
    /// both frames and messages.
    pub const fn embedded() -> Self {
        let limit = crate::constants::WS_MAX_FRAME_SIZE as u64;
        Config {
            max_frame_size: limit,
            max_message_size: limit,
            ..Config::new()
        }
    }

    crate::__setters! {
        /// Sets [`max_frame_size`](Self::max_frame_size), the largest
        /// accepted frame payload.
        max_frame_size: u64 = max_frame_size;
        /// Sets [`max_message_size`](Self::max_message_size), the largest
        /// accepted message.
        max_message_size: u64 = max_message_size;
        /// Sets [`auto_pong`](Self::auto_pong): whether every ping gets its
        /// pong queued.
        auto_pong: bool = auto_pong;
        /// Sets [`compression`](Self::compression): whether permessage-deflate
        /// was negotiated. Transports set it from the handshake's outcome.
        compression: bool = compression;
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

/// The type of a data message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text (validated by the core unless compressed).
    Text,
    /// Arbitrary bytes.
    Binary,
}

impl MessageKind {
    /// The opcode of the message's first frame.
    pub const fn opcode(self) -> OpCode {
        match self {
            MessageKind::Text => OpCode::Text,
            MessageKind::Binary => OpCode::Binary,
        }
    }
}

/// A piece of a data message: all or part of one frame's payload, unmasked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataChunk<'a> {
    /// Text or binary, from the message's first frame.
    pub kind: MessageKind,
    /// The payload bytes. For uncompressed text, every chunk up to this one
    /// is valid UTF-8 so far (a code point may be split across chunks).
    pub payload: &'a [u8],
    /// The first chunk of its message.
    pub message_start: bool,
    /// The last chunk of its message: the message is complete (and, for
    /// uncompressed text, valid UTF-8).
    pub message_end: bool,
    /// The first chunk of its frame.
    pub frame_start: bool,
    /// The last chunk of its frame.
    pub frame_end: bool,
    /// The message was sent compressed (RSV1 under permessage-deflate).
    pub compressed: bool,
}

/// What [`Connection::receive`] found in the bytes.
///
/// Unlike the crate's errors and the session's events, this enum is
/// exhaustive on purpose: it is the contract between the core and the
/// transports, and a new kind of event must be a compile error in every
/// transport's receive loop rather than be dropped by a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// Part or all of a text or binary message.
    Data(DataChunk<'a>),
    /// A ping; unless auto-pong is off, its pong is now queued (see "Pings
    /// and pongs" in the [module docs](self)).
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// The peer's close frame. Unless we sent a close first, the reply is
    /// now queued; after it is transmitted the connection is closed.
    Close(CloseFrame<'a>),
}

/// A header encoded by [`Connection::encode_header`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodedHeader {
    /// Bytes of header written.
    pub len: usize,
    /// The key the payload must be masked with before it is sent (clients).
    pub mask: Option<[u8; 4]>,
}

/// The data frame whose payload is being received.
#[derive(Debug, Clone, Copy)]
struct FrameInProgress {
    remaining: u64,
    mask: Option<[u8; 4]>,
    mask_offset: u8,
    fin: bool,
    started: bool,
}

/// The data message being received.
#[derive(Debug, Clone, Copy)]
struct MessageInProgress {
    kind: MessageKind,
    /// Payload bytes announced so far by the message's frame headers.
    announced: u64,
    started: bool,
    compressed: bool,
}

/// A control payload (at most 125 bytes) kept for later transmission.
#[derive(Clone, Copy)]
struct ControlPayload {
    bytes: [u8; MAX_CONTROL_PAYLOAD],
    len: u8,
}

impl ControlPayload {
    fn copy_of(payload: &[u8]) -> Self {
        let mut stored = ControlPayload {
            bytes: [0; MAX_CONTROL_PAYLOAD],
            len: payload.len() as u8,
        };
        stored.bytes[..payload.len()].copy_from_slice(payload);
        stored
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// One end of a WebSocket connection after the opening handshake.
///
/// `M` supplies masking keys; only clients use it (see
/// [`Connection::client`]). A server is a `Connection<NoMask>`.
pub struct Connection<M = NoMask> {
    role: Role,
    config: Config,
    masks: M,
    frame: Option<FrameInProgress>,
    message: Option<MessageInProgress>,
    utf8: Utf8Validator,
    failure: Option<ProtocolError>,
    peer_close: Option<CloseCode>,
    sending_fragmented: bool,
    close_queued: bool,
    close_sent: bool,
    pending_pong: Option<ControlPayload>,
    pending_close: Option<ClosePayload>,
}

impl Connection<NoMask> {
    /// The server end of a connection.
    pub fn server(config: Config) -> Self {
        Connection::new(Role::Server, config, NoMask)
    }
}

impl<M: MaskSource> Connection<M> {
    /// The client end of a connection; `masks` must return fresh,
    /// unpredictable keys (RFC 6455 section 5.3).
    pub fn client(config: Config, masks: M) -> Self {
        Connection::new(Role::Client, config, masks)
    }

    /// A connection with an explicit role.
    pub fn new(role: Role, config: Config, masks: M) -> Self {
        Connection {
            role,
            config,
            masks,
            frame: None,
            message: None,
            utf8: Utf8Validator::new(),
            failure: None,
            peer_close: None,
            sending_fragmented: false,
            close_queued: false,
            close_sent: false,
            pending_pong: None,
            pending_close: None,
        }
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Change limits and switches, for example once an extension is negotiated.
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// The current state.
    pub fn state(&self) -> State {
        let peer_done = self.peer_close.is_some() || self.failure.is_some();
        if self.close_sent && peer_done {
            State::Closed
        } else if self.close_queued || peer_done {
            State::Closing
        } else {
            State::Open
        }
    }

    /// Open: data may be sent and received (Vais `is_open`).
    pub fn is_open(&self) -> bool {
        self.state() == State::Open
    }

    /// The code of the peer's close frame, once it arrived.
    pub fn peer_close_code(&self) -> Option<CloseCode> {
        self.peer_close
    }

    /// The protocol error that failed the connection, if any.
    pub fn failure(&self) -> Option<ProtocolError> {
        self.failure
    }

    /// True while a close frame has been sent (not just queued).
    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// Process received bytes.
    ///
    /// Returns the number of bytes of `buf` consumed and the event they
    /// made, if any. The caller drops the consumed bytes, keeps the rest
    /// and calls again, with more bytes appended when `None` comes back:
    /// `None` means nothing more can be done with these bytes (a header or
    /// a control frame is incomplete, or the frame's payload has not
    /// arrived yet), or that a ping waits for the previous ping's pong to
    /// be transmitted: when [`wants_transmit`](Self::wants_transmit) is
    /// true after `None`, call [`poll_transmit`](Self::poll_transmit), then
    /// `receive` again with the same bytes. Any split of the input gives
    /// the same messages.
    ///
    /// A protocol violation returns the error, queues a close frame with
    /// its close code and leaves the connection failed: later calls return
    /// the same error. Bytes after the peer's close frame are discarded.
    pub fn receive<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<(usize, Option<Event<'b>>), ProtocolError> {
        if let Some(err) = self.failure {
            return Err(err);
        }
        if self.peer_close.is_some() {
            return Ok((buf.len(), None));
        }
        let mut header_len = 0;
        if self.frame.is_none() {
            let Some((header, len)) = FrameHeader::decode(buf).map_err(|err| self.fail(err))?
            else {
                return Ok((0, None));
            };
            self.check_header(&header).map_err(|err| self.fail(err))?;
            if header.opcode.is_control() {
                return self.receive_control(header, len, buf);
            }
            self.start_data_frame(&header);
            header_len = len;
        }
        let payload = &mut buf[header_len..];
        match self.next_chunk(payload)? {
            Some(chunk) => Ok((header_len + chunk.payload.len(), Some(Event::Data(chunk)))),
            None => Ok((header_len, None)),
        }
    }

    /// The rules a header must follow given the role, the negotiated
    /// extensions, the fragmentation state and the limits.
    fn check_header(&self, header: &FrameHeader) -> Result<(), ProtocolError> {
        match (self.role, header.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        let starts_message = matches!(header.opcode, OpCode::Text | OpCode::Binary);
        let rsv1_allowed = self.config.compression && starts_message;
        if header.rsv & !RSV1 != 0 || (header.rsv & RSV1 != 0 && !rsv1_allowed) {
            return Err(ProtocolError::ReservedBits);
        }
        if header.opcode.is_control() {
            return Ok(());
        }
        match (header.opcode, &self.message) {
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Text | OpCode::Binary, Some(_)) => {
                return Err(ProtocolError::ExpectedContinuation)
            }
            _ => {}
        }
        if header.payload_len > self.config.max_frame_size {
            return Err(ProtocolError::FrameTooLarge);
        }
        // A compressed message's limit is its inflated size, which the
        // codec checks as it inflates; its wire size may pass the limit by
        // a little (deflate's block headers on incompressible data), and
        // its bytes are inflated as they arrive, never gathered.
        let compressed = match &self.message {
            Some(message) => message.compressed,
            None => header.rsv & RSV1 != 0,
        };
        let announced = self.message.map_or(0, |message| message.announced);
        if !compressed
            && announced.saturating_add(header.payload_len) > self.config.max_message_size
        {
            return Err(ProtocolError::MessageTooLarge);
        }
        Ok(())
    }

    /// Hand out a control frame once it is whole in `buf`.
    fn receive_control<'b>(
        &mut self,
        header: FrameHeader,
        header_len: usize,
        buf: &'b mut [u8],
    ) -> Result<(usize, Option<Event<'b>>), ProtocolError> {
        if header.opcode == OpCode::Ping && self.pending_pong.is_some() {
            // Every ping gets its own pong: this one waits until the last
            // one's pong is transmitted (see "Pings and pongs").
            return Ok((0, None));
        }
        // The decoder capped control payloads at 125 bytes.
        let total = header_len + header.payload_len as usize;
        let Some(frame) = buf.get_mut(..total) else {
            return Ok((0, None));
        };
        let payload = &mut frame[header_len..];
        if let Some(key) = header.mask {
            apply_mask(payload, key, 0);
        }
        let payload: &'b [u8] = payload;
        let event = match header.opcode {
            OpCode::Ping => {
                if self.config.auto_pong && !self.close_queued {
                    self.pending_pong = Some(ControlPayload::copy_of(payload));
                }
                Event::Ping(payload)
            }
            OpCode::Pong => Event::Pong(payload),
            _ => Event::Close(self.receive_close(payload)?),
        };
        Ok((total, Some(event)))
    }

    /// The peer's close: validate it and queue our reply.
    fn receive_close<'b>(&mut self, payload: &'b [u8]) -> Result<CloseFrame<'b>, ProtocolError> {
        let close = CloseFrame::parse(payload)
            .map_err(|err| self.fail(ProtocolError::InvalidClosePayload(err)))?;
        self.peer_close = Some(close.code);
        if !self.close_queued {
            // Echo the code, as RFC 6455 5.5.1 suggests; "no status" echoes
            // as an empty close. The peer's code is valid on the wire.
            let reply = ClosePayload::new(close.code, "").unwrap_or(ClosePayload::empty());
            self.queue_close(reply);
        }
        Ok(close)
    }

    fn start_data_frame(&mut self, header: &FrameHeader) {
        let message = self.message.get_or_insert(MessageInProgress {
            kind: if header.opcode == OpCode::Text {
                MessageKind::Text
            } else {
                MessageKind::Binary
            },
            announced: 0,
            started: false,
            compressed: header.rsv & RSV1 != 0,
        });
        message.announced += header.payload_len;
        self.frame = Some(FrameInProgress {
            remaining: header.payload_len,
            mask: header.mask,
            mask_offset: 0,
            fin: header.fin,
            started: false,
        });
    }

    /// Unmask and validate the next piece of the current data frame.
    fn next_chunk<'b>(
        &mut self,
        available: &'b mut [u8],
    ) -> Result<Option<DataChunk<'b>>, ProtocolError> {
        let (Some(mut frame), Some(mut message)) = (self.frame, self.message) else {
            return Ok(None);
        };
        let take = frame.remaining.min(available.len() as u64) as usize;
        if take == 0 && frame.remaining > 0 {
            return Ok(None);
        }
        let payload = &mut available[..take];
        if let Some(key) = frame.mask {
            frame.mask_offset = apply_mask(payload, key, usize::from(frame.mask_offset)) as u8;
        }
        frame.remaining -= take as u64;
        let frame_end = frame.remaining == 0;
        let message_end = frame_end && frame.fin;
        if message.kind == MessageKind::Text && !message.compressed {
            self.check_utf8(payload, message_end)?;
        }
        let chunk = DataChunk {
            kind: message.kind,
            payload,
            message_start: !message.started,
            message_end,
            frame_start: !frame.started,
            frame_end,
            compressed: message.compressed,
        };
        frame.started = true;
        message.started = true;
        self.frame = (!frame_end).then_some(frame);
        self.message = (!message_end).then_some(message);
        Ok(Some(chunk))
    }

    fn check_utf8(&mut self, payload: &[u8], message_end: bool) -> Result<(), ProtocolError> {
        let mut valid = self.utf8.feed(payload).is_ok();
        if valid && message_end {
            valid = self.utf8.finish().is_ok();
        }
        if valid {
            Ok(())
        } else {
            Err(self.fail(ProtocolError::InvalidUtf8))
        }
    }

    /// Fail the connection for a violation found outside the core (for
    /// example invalid UTF-8 in decompressed text): record `err`, queue a
    /// close frame with its code (unless a close is already queued or
    /// sent) and return it. Later [`receive`](Self::receive) calls return it.
    pub fn fail(&mut self, err: ProtocolError) -> ProtocolError {
        self.failure = Some(err);
        if !self.close_queued {
            let close =
                ClosePayload::new(err.close_code(), err.reason()).unwrap_or(ClosePayload::empty());
            self.queue_close(close);
        }
        err
    }

    fn queue_close(&mut self, payload: ClosePayload) {
        self.pending_close = Some(payload);
        self.close_queued = true;
        // Nothing may follow a close frame: an unsent pong is dropped.
        self.pending_pong = None;
    }

    /// True when [`poll_transmit`](Self::poll_transmit) has bytes to write.
    pub fn wants_transmit(&self) -> bool {
        self.pending_pong.is_some() || self.pending_close.is_some()
    }

    /// Write queued control frames (pong, close) into `out` and return the
    /// number of bytes written. Whole frames only: a frame that does not
    /// fit stays queued (131 bytes always fit the largest). Call it after
    /// [`receive`](Self::receive) and whenever the socket is writable;
    /// control frames may go between the fragments of a message, never
    /// inside a frame.
    pub fn poll_transmit(&mut self, out: &mut [u8]) -> usize {
        let mut written = 0;
        if let Some(pong) = self.pending_pong {
            match self.write_control(&Frame::new(OpCode::Pong, pong.as_bytes()), out) {
                Some(n) => {
                    written += n;
                    self.pending_pong = None;
                }
                None => return written,
            }
        }
        if let Some(close) = self.pending_close {
            let frame = Frame::new(OpCode::Close, close.as_bytes());
            if let Some(n) = self.write_control(&frame, &mut out[written..]) {
                written += n;
                self.pending_close = None;
                self.close_sent = true;
            }
        }
        written
    }

    fn write_control(&mut self, frame: &Frame<'_>, out: &mut [u8]) -> Option<usize> {
        if out.len() < frame.encoded_len(self.role == Role::Client) {
            return None;
        }
        let mask = self.next_mask();
        frame.encode(out, mask)
    }

    fn next_mask(&mut self) -> Option<[u8; 4]> {
        match self.role {
            Role::Client => Some(self.masks.next_key()),
            Role::Server => None,
        }
    }

    /// Queue a close frame (Vais `close` / `send_close`); it goes out with
    /// the next [`poll_transmit`](Self::poll_transmit). After this no data
    /// may be sent. The reason is cut to 123 bytes at a character boundary.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        if self.close_queued {
            return Err(SendError::Closed);
        }
        let payload = ClosePayload::new(code, reason).map_err(SendError::InvalidClose)?;
        self.queue_close(payload);
        Ok(())
    }

    /// Whether a compressed message may start now (what
    /// [`encode_compressed_header`](Self::encode_compressed_header) would
    /// refuse), checked before compressing it.
    #[cfg(feature = "deflate")]
    pub(crate) fn admits_compressed_message(&self) -> Result<(), SendError> {
        if self.close_queued {
            return Err(SendError::Closed);
        }
        if !self.config.compression {
            return Err(SendError::CompressionNotNegotiated);
        }
        if self.sending_fragmented {
            return Err(SendError::MessageUnfinished);
        }
        Ok(())
    }

    /// Check a frame against the rules of sending and update the sending
    /// state. Nothing is changed when it fails.
    fn admit_frame(
        &mut self,
        opcode: OpCode,
        fin: bool,
        payload_len: u64,
    ) -> Result<(), SendError> {
        if self.close_queued {
            return Err(SendError::Closed);
        }
        match opcode {
            OpCode::Ping | OpCode::Pong | OpCode::Close => {
                if !fin || payload_len > MAX_CONTROL_PAYLOAD as u64 {
                    return Err(SendError::InvalidControlFrame);
                }
            }
            OpCode::Continuation if !self.sending_fragmented => {
                return Err(SendError::NoMessageToContinue)
            }
            OpCode::Text | OpCode::Binary if self.sending_fragmented => {
                return Err(SendError::MessageUnfinished)
            }
            OpCode::Continuation | OpCode::Text | OpCode::Binary => self.sending_fragmented = !fin,
        }
        Ok(())
    }

    /// Encode just the header of a frame whose payload the caller sends
    /// itself (for example with one vectored write of header and payload).
    ///
    /// For a client the returned key must be applied to the payload
    /// ([`apply_mask`] from offset 0) before it is sent. Close frames must
    /// go through [`close`](Self::close) or [`encode_frame`](Self::encode_frame),
    /// which check the payload.
    pub fn encode_header(
        &mut self,
        opcode: OpCode,
        fin: bool,
        payload_len: u64,
        out: &mut [u8],
    ) -> Result<EncodedHeader, SendError> {
        if opcode == OpCode::Close {
            return Err(SendError::InvalidControlFrame);
        }
        let masked = self.role == Role::Client;
        let mut header = FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask: masked.then_some([0; 4]),
            payload_len,
        };
        let needed = header.encoded_len();
        if out.len() < needed {
            return Err(SendError::BufferTooSmall { needed });
        }
        self.admit_frame(opcode, fin, payload_len)?;
        header.mask = self.next_mask();
        let len = header
            .encode(out)
            .ok_or(SendError::BufferTooSmall { needed })?;
        Ok(EncodedHeader {
            len,
            mask: header.mask,
        })
    }

    /// Encode the header of a compressed message (permessage-deflate):
    /// RSV1 set, `opcode` Text or Binary. Refused unless compression was
    /// negotiated ([`Config::compression`]). With `fin` false, the rest of
    /// the message follows in continuation frames without RSV1.
    pub fn encode_compressed_header(
        &mut self,
        opcode: OpCode,
        fin: bool,
        payload_len: u64,
        out: &mut [u8],
    ) -> Result<EncodedHeader, SendError> {
        if !self.config.compression || !matches!(opcode, OpCode::Text | OpCode::Binary) {
            return Err(SendError::CompressionNotNegotiated);
        }
        let encoded = self.encode_header(opcode, fin, payload_len, out)?;
        out[0] |= RSV1 << 4;
        Ok(encoded)
    }

    /// Encode a whole frame (header and payload, masked for clients) into
    /// `out`; returns the bytes written (Vais `send_frame`). A close frame
    /// sent this way counts as our close.
    pub fn encode_frame(&mut self, frame: &Frame<'_>, out: &mut [u8]) -> Result<usize, SendError> {
        let needed = frame.encoded_len(self.role == Role::Client);
        if out.len() < needed {
            return Err(SendError::BufferTooSmall { needed });
        }
        if frame.is_close() {
            CloseFrame::parse(frame.payload()).map_err(SendError::InvalidClose)?;
        }
        self.admit_frame(
            frame.opcode(),
            frame.is_final(),
            frame.payload().len() as u64,
        )?;
        if frame.is_close() {
            self.close_queued = true;
            self.close_sent = true;
            self.pending_pong = None;
        }
        let mask = self.next_mask();
        frame
            .encode(out, mask)
            .ok_or(SendError::BufferTooSmall { needed })
    }

    /// Encode a text message as one frame (Vais `send_text`).
    pub fn encode_text(&mut self, text: &str, out: &mut [u8]) -> Result<usize, SendError> {
        self.encode_frame(&Frame::text(text), out)
    }

    /// Encode a binary message as one frame (Vais `send_binary`).
    pub fn encode_binary(&mut self, data: &[u8], out: &mut [u8]) -> Result<usize, SendError> {
        self.encode_frame(&Frame::binary(data), out)
    }

    /// Encode a ping (Vais `send_ping`); the payload is at most 125 bytes.
    pub fn encode_ping(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, SendError> {
        self.encode_frame(&Frame::new(OpCode::Ping, payload), out)
    }

    /// Encode a pong (Vais `send_pong`); the payload is at most 125 bytes.
    pub fn encode_pong(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, SendError> {
        self.encode_frame(&Frame::new(OpCode::Pong, payload), out)
    }
}

impl<M> core::fmt::Debug for Connection<M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("config", &self.config)
            .field("receiving_message", &self.message.map(|m| m.kind))
            .field("failure", &self.failure)
            .field("peer_close", &self.peer_close)
            .field("close_queued", &self.close_queued)
            .field("close_sent", &self.close_sent)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
