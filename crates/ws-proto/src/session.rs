//! Whole messages over a [`Connection`] (feature `alloc`; compression with
//! the feature `deflate`): written once here so that the transports hold
//! no assembly or compression logic of their own.
//!
//! [`Messages`] sits beside the frame-level [`Connection`], which keeps its
//! API for those who want chunks and frames:
//!
//! - receiving, it takes the [`DataChunk`]s that
//!   [`Connection::receive`] hands out and returns whole messages
//!   ([`Received`]): borrowed from the receive buffer when the message
//!   arrived as one uncompressed chunk (no copy), owned otherwise
//!   (gathered, or inflated when it was compressed), within the message
//!   size limit and the [`MemoryBudget`] shared with other connections;
//! - sending, it encodes a whole message into frames appended to a
//!   caller's `Vec<u8>` ([`encode_message`](Messages::encode_message),
//!   [`encode_fragmented`](Messages::encode_fragmented)): compressed when
//!   permessage-deflate was negotiated and the message is long enough,
//!   masked for a client through the connection's mask source.
//!
//! [`Session`] owns a `Connection` and its `Messages`: bytes in, whole
//! messages, pings, pongs and the close out; whole messages in, frames
//! out. Its [`connection_mut`](Session::connection_mut) keeps the frame
//! level at hand.
//!
//! Every failure is an [`Error`] with the close code to fail the
//! connection with ([`Error::close_code`]).
//!
//! ```
//! use ws_proto::session::Messages;
//! use ws_proto::{Config, Connection, Event, MessageKind};
//!
//! let mut client = Connection::client(Config::default(), || [1, 2, 3, 4]);
//! let mut client_messages = Messages::new(1 << 20);
//! let mut wire = Vec::new();
//! client_messages
//!     .encode_fragmented(&mut client, MessageKind::Text, b"Hello, world", 5, &mut wire)
//!     .unwrap();
//!
//! let mut server = Connection::server(Config::default());
//! let mut server_messages = Messages::new(1 << 20);
//! let mut start = 0;
//! let mut received = Vec::new();
//! while let (consumed, Some(event)) = server.receive(&mut wire[start..]).unwrap() {
//!     start += consumed;
//!     if let Event::Data(chunk) = event {
//!         if let Some(message) = server_messages.receive(&chunk).unwrap() {
//!             received.push(message.into_owned());
//!         }
//!     }
//! }
//! assert_eq!(received[0].as_bytes(), b"Hello, world");
//! ```

#[cfg(feature = "deflate")]
use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::budget::MemoryBudget;
use crate::close::{CloseCode, CloseFrame};
use crate::connection::{Config, Connection, DataChunk, Event, MessageKind};
use crate::constants::MAX_HEADER_LEN;
use crate::error::{ProtocolError, SendError};
use crate::frame::OpCode;
use crate::mask::{apply_mask, MaskSource, NoMask};
use crate::message::{Message, MessageAssembler, MessageRef};

#[cfg(feature = "deflate")]
use crate::deflate::{CompressionConfig, DeflateParams, PerMessageDeflate, MAX_COMPRESSED_FRAME};

/// Why receiving or sending a message failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke RFC 6455 or a limit (including a compressed message
    /// that does not inflate, or inflates past the limit or the budget):
    /// fail the connection with [`ProtocolError::close_code`]
    /// ([`Connection::fail`]).
    Protocol(ProtocolError),
    /// The message could not be sent. [`SendError::CompressionFailed`]
    /// also closed the connection with 1011; the others leave it as it
    /// was.
    Send(SendError),
}

impl Error {
    /// The close code the connection is (or must be) closed with, or
    /// `None` for a refused send that leaves the connection usable.
    ///
    /// | error | close code |
    /// |---|---|
    /// | `Protocol(err)` | `err.close_code()`: 1002, 1007 or 1009 |
    /// | `Send(CompressionFailed)` | 1011 |
    /// | other `Send` | none |
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            Error::Protocol(err) => Some(err.close_code()),
            Error::Send(SendError::CompressionFailed) => Some(CloseCode::UNEXPECTED),
            Error::Send(_) => None,
        }
    }
}

impl From<ProtocolError> for Error {
    fn from(err: ProtocolError) -> Self {
        Error::Protocol(err)
    }
}

impl From<SendError> for Error {
    fn from(err: SendError) -> Self {
        Error::Send(err)
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Protocol(err) => write!(f, "protocol error: {err}"),
            Error::Send(err) => write!(f, "send refused: {err}"),
        }
    }
}

impl core::error::Error for Error {}

/// A whole message from [`Messages::receive`].
///
/// `#[non_exhaustive]`: new forms may be added, so a `match` needs a
/// wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Received<'a> {
    /// It arrived as one uncompressed chunk: borrowed from the receive
    /// buffer, not copied.
    Borrowed(MessageRef<'a>),
    /// Gathered from several chunks, or inflated.
    Owned(Message),
}

impl<'a> Received<'a> {
    /// Borrow as a [`MessageRef`].
    pub fn as_ref(&self) -> MessageRef<'_> {
        match self {
            Received::Borrowed(message) => *message,
            Received::Owned(message) => message.as_ref(),
        }
    }

    /// An owned [`Message`] (a copy only if it was borrowed).
    pub fn into_owned(self) -> Message {
        match self {
            Received::Borrowed(message) => message.to_owned(),
            Received::Owned(message) => message,
        }
    }

    /// The owned message's buffer, to reuse for another message (see
    /// [`Messages::receive_with`]); `None` for a borrowed message.
    pub fn into_buffer(self) -> Option<Vec<u8>> {
        match self {
            Received::Borrowed(_) => None,
            Received::Owned(message) => Some(message.into_bytes()),
        }
    }
}

/// One connection's message layer: assembly, permessage-deflate when
/// negotiated, and the encoding of whole messages. See the
/// [module documentation](self).
#[derive(Debug)]
pub struct Messages {
    assembler: MessageAssembler,
    max_message: usize,
    budget: Option<MemoryBudget>,
    #[cfg(feature = "deflate")]
    deflate: Option<Box<PerMessageDeflate>>,
}

impl Messages {
    /// Messages of at most `max_message` bytes (after inflating), with no
    /// budget but that limit, and no compression.
    pub fn new(max_message: usize) -> Self {
        Messages {
            assembler: MessageAssembler::new(max_message),
            max_message,
            budget: None,
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }

    /// Pay for unfinished (and inflating) messages from `budget`, shared
    /// by the connections of a server.
    pub fn with_budget(mut self, budget: &MemoryBudget) -> Self {
        self.assembler = self.assembler.with_budget(budget);
        self.budget = Some(budget.clone());
        self
    }

    /// The message size limit.
    pub fn max_message(&self) -> usize {
        self.max_message
    }

    /// Turn on permessage-deflate with the parameters the handshake
    /// agreed: `conn` accepts compressed frames from now on, and messages
    /// are compressed as `config` says.
    #[cfg(feature = "deflate")]
    pub fn enable_deflate<M: MaskSource>(
        &mut self,
        conn: &mut Connection<M>,
        params: DeflateParams,
        config: CompressionConfig,
    ) {
        conn.config_mut().compression = true;
        let mut deflate = PerMessageDeflate::new(conn.role(), params, config, self.max_message);
        if let Some(budget) = &self.budget {
            deflate = deflate.with_budget(budget);
        }
        self.deflate = Some(Box::new(deflate));
    }

    /// The permessage-deflate parameters in force, if it was negotiated.
    #[cfg(feature = "deflate")]
    pub fn compression(&self) -> Option<&DeflateParams> {
        self.deflate.as_ref().map(|deflate| deflate.params())
    }

    /// Whether a message of `len` bytes would be sent compressed.
    pub fn compresses(&self, len: usize) -> bool {
        #[cfg(feature = "deflate")]
        if let Some(deflate) = &self.deflate {
            return deflate.should_compress(len);
        }
        let _ = len;
        false
    }

    /// Take a chunk from [`Connection::receive`]; the whole message when
    /// the chunk completes one. Receiving fails only with a
    /// [`ProtocolError`] (which converts into [`Error`]): fail the
    /// connection with it ([`Connection::fail`]).
    pub fn receive<'a>(
        &mut self,
        chunk: &DataChunk<'a>,
    ) -> Result<Option<Received<'a>>, ProtocolError> {
        self.receive_with(chunk, Vec::new)
    }

    /// [`receive`](Self::receive), taking the buffer to gather or inflate
    /// a message in from `fresh` when one is needed (at the start of a
    /// message that did not arrive whole, if the last one's buffer was
    /// handed out): with [`Received::into_buffer`], a transport recycles
    /// buffers through a pool instead of allocating one per message.
    pub fn receive_with<'a>(
        &mut self,
        chunk: &DataChunk<'a>,
        fresh: impl FnOnce() -> Vec<u8>,
    ) -> Result<Option<Received<'a>>, ProtocolError> {
        if chunk.compressed {
            #[cfg(feature = "deflate")]
            if let Some(deflate) = &mut self.deflate {
                if chunk.message_start && deflate.needs_buffer() {
                    deflate.recycle(fresh());
                }
                return Ok(deflate.receive_chunk(chunk)?.map(Received::Owned));
            }
            // The core marks chunks compressed only when it was negotiated.
            return Err(ProtocolError::ReservedBits);
        }
        if chunk.message_start && chunk.message_end {
            return Ok(Some(Received::Borrowed(MessageRef::new(
                chunk.kind,
                chunk.payload,
            )?)));
        }
        if chunk.message_start && self.assembler.needs_buffer() {
            self.assembler.recycle(fresh());
        }
        Ok(self.assembler.push_owned(chunk)?.map(Received::Owned))
    }

    /// True while part of a message has been gathered.
    pub fn is_assembling(&self) -> bool {
        self.assembler.is_assembling()
    }

    /// Move out the assembly buffer (empty, with its capacity), for a
    /// transport that returns idle buffers to a pool.
    pub fn take_buffer(&mut self) -> Vec<u8> {
        self.assembler.take_buffer()
    }

    /// Give back the compression state that no context needs (made again
    /// on next use); call it when the connection goes idle.
    pub fn release_idle(&mut self) {
        #[cfg(feature = "deflate")]
        if let Some(deflate) = &mut self.deflate {
            deflate.release_idle();
        }
    }

    /// Encode a whole message as one frame (compressed frames are cut at
    /// [`deflate::MAX_COMPRESSED_FRAME`](crate::deflate::MAX_COMPRESSED_FRAME)),
    /// appended to `out`; returns the bytes appended. See
    /// [`encode_fragmented`](Self::encode_fragmented).
    pub fn encode_message<M: MaskSource>(
        &mut self,
        conn: &mut Connection<M>,
        kind: MessageKind,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<usize, Error> {
        self.encode_fragmented(conn, kind, payload, usize::MAX, out)
    }

    /// Encode a whole message into frames of at most `max_frame` payload
    /// bytes (at least one), appended to `out`; returns the bytes appended.
    ///
    /// The message is compressed when permessage-deflate was negotiated
    /// and it is at least the configured threshold long
    /// ([`compresses`](Self::compresses)); client frames are masked with
    /// keys from the connection's mask source. On an error nothing is
    /// appended. A compressor failure closes the connection with 1011
    /// ([`SendError::CompressionFailed`]): its context is lost.
    pub fn encode_fragmented<M: MaskSource>(
        &mut self,
        conn: &mut Connection<M>,
        kind: MessageKind,
        payload: &[u8],
        max_frame: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize, Error> {
        let start = out.len();
        let max_frame = max_frame.max(1);
        #[cfg(feature = "deflate")]
        if self.compresses(payload.len()) {
            let result = self.encode_compressed(conn, kind, payload, max_frame, out);
            if result.is_err() {
                out.truncate(start);
            }
            return result.map(|()| out.len() - start);
        }
        let result = encode_frames(conn, kind, payload, max_frame, false, out);
        if result.is_err() {
            out.truncate(start);
        }
        result.map(|()| out.len() - start).map_err(Error::Send)
    }

    #[cfg(feature = "deflate")]
    fn encode_compressed<M: MaskSource>(
        &mut self,
        conn: &mut Connection<M>,
        kind: MessageKind,
        payload: &[u8],
        max_frame: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let Some(deflate) = self.deflate.as_mut() else {
            return Err(SendError::CompressionNotNegotiated.into());
        };
        // Compressing moves the compressor's context on: only compress a
        // message the connection will take.
        conn.admits_compressed_message()?;
        // Compress right after room for the header, so that a message of
        // one frame needs no second buffer.
        let start = out.len();
        let body_at = start + MAX_HEADER_LEN;
        out.resize(body_at, 0);
        if deflate.compress(payload, out).is_err() {
            let _ = conn.close(CloseCode::UNEXPECTED, "compression failed");
            return Err(SendError::CompressionFailed.into());
        }
        let body_len = out.len() - body_at;
        let max_frame = max_frame.min(MAX_COMPRESSED_FRAME);
        if body_len > max_frame {
            let body = out.split_off(body_at);
            out.truncate(start);
            return encode_frames(conn, kind, &body, max_frame, true, out).map_err(Error::Send);
        }
        let mut header = [0u8; MAX_HEADER_LEN];
        let encoded =
            conn.encode_compressed_header(kind.opcode(), true, body_len as u64, &mut header)?;
        let header_at = body_at - encoded.len;
        out[header_at..body_at].copy_from_slice(&header[..encoded.len]);
        if let Some(key) = encoded.mask {
            apply_mask(&mut out[body_at..], key, 0);
        }
        out.drain(start..header_at);
        Ok(())
    }
}

/// What [`Session::receive`] found in the bytes.
///
/// `#[non_exhaustive]`: new kinds of event may be added, so a `match` needs a
/// wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Incoming<'a> {
    /// A whole text or binary message.
    Message(Received<'a>),
    /// A chunk of a message that is not complete yet, already taken in
    /// (gathered, or inflated when `compressed`): for those who stream
    /// messages, its uncompressed payload; the others call again.
    Partial(DataChunk<'a>),
    /// A ping; its pong is queued (unless auto-pong is off).
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// The peer's close frame; the reply is queued unless we closed first.
    Close(CloseFrame<'a>),
}

/// A [`Connection`] and its [`Messages`]: the message-level session. See
/// the [module documentation](self).
///
/// ```
/// use ws_proto::session::{Incoming, Session};
/// use ws_proto::{Config, MessageKind};
///
/// let mut client = Session::client(Config::default(), || [7, 7, 7, 7], 1 << 20);
/// let mut server = Session::server(Config::default(), 1 << 20);
/// let mut wire = Vec::new();
/// client.send_message(MessageKind::Text, b"hi", &mut wire).unwrap();
/// let (consumed, incoming) = server.receive(&mut wire).unwrap();
/// assert_eq!(consumed, 8);
/// match incoming {
///     Some(Incoming::Message(message)) => assert_eq!(message.as_ref().as_bytes(), b"hi"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug)]
pub struct Session<M = NoMask> {
    conn: Connection<M>,
    messages: Messages,
}

impl Session<NoMask> {
    /// A server's session, for messages of at most `max_message` bytes.
    pub fn server(config: Config, max_message: usize) -> Self {
        Session::new(Connection::server(config), Messages::new(max_message))
    }
}

impl<M: MaskSource> Session<M> {
    /// A client's session, masking with keys from `masks`.
    pub fn client(config: Config, masks: M, max_message: usize) -> Self {
        Session::new(
            Connection::client(config, masks),
            Messages::new(max_message),
        )
    }

    /// A session of a connection and its message layer (made with
    /// [`Messages::with_budget`] for a server's shared budget).
    pub fn new(conn: Connection<M>, messages: Messages) -> Self {
        Session { conn, messages }
    }

    /// The frame-level connection.
    pub fn connection(&self) -> &Connection<M> {
        &self.conn
    }

    /// The frame-level connection, to send frames or close.
    pub fn connection_mut(&mut self) -> &mut Connection<M> {
        &mut self.conn
    }

    /// The message layer.
    pub fn messages(&self) -> &Messages {
        &self.messages
    }

    /// The connection and the message layer.
    pub fn into_parts(self) -> (Connection<M>, Messages) {
        (self.conn, self.messages)
    }

    /// Turn on permessage-deflate with the parameters the handshake agreed.
    #[cfg(feature = "deflate")]
    pub fn enable_deflate(&mut self, params: DeflateParams, config: CompressionConfig) {
        self.messages.enable_deflate(&mut self.conn, params, config);
    }

    /// Take the peer's bytes, as [`Connection::receive`] does (call again
    /// with the bytes after `consumed`; `None` when more are needed), and
    /// hand out whole messages. A failure, in the core or in the message
    /// layer, fails the connection: its close frame is queued for
    /// [`poll_transmit`](Self::poll_transmit).
    pub fn receive<'b>(
        &mut self,
        input: &'b mut [u8],
    ) -> Result<(usize, Option<Incoming<'b>>), Error> {
        let (consumed, event) = self.conn.receive(input)?;
        let incoming = match event {
            None => None,
            Some(Event::Data(chunk)) => match self.messages.receive(&chunk) {
                Ok(Some(message)) => Some(Incoming::Message(message)),
                Ok(None) => Some(Incoming::Partial(chunk)),
                Err(err) => return Err(self.conn.fail(err).into()),
            },
            Some(Event::Ping(payload)) => Some(Incoming::Ping(payload)),
            Some(Event::Pong(payload)) => Some(Incoming::Pong(payload)),
            Some(Event::Close(close)) => Some(Incoming::Close(close)),
        };
        Ok((consumed, incoming))
    }

    /// Encode a whole message (see [`Messages::encode_message`]), appended
    /// to `out`; returns the bytes appended.
    pub fn send_message(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<usize, Error> {
        self.messages
            .encode_message(&mut self.conn, kind, payload, out)
    }

    /// Encode a whole message in frames of at most `max_frame` payload
    /// bytes (see [`Messages::encode_fragmented`]).
    pub fn send_fragmented(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        max_frame: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize, Error> {
        self.messages
            .encode_fragmented(&mut self.conn, kind, payload, max_frame, out)
    }

    /// Queue our close frame ([`Connection::close`]).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        Ok(self.conn.close(code, reason)?)
    }

    /// Write the queued control frames ([`Connection::poll_transmit`]).
    pub fn poll_transmit(&mut self, out: &mut [u8]) -> usize {
        self.conn.poll_transmit(out)
    }
}

/// Append `payload` as frames of at most `max_frame` bytes (one frame for
/// an empty payload); the first with RSV1 when `compressed`.
fn encode_frames<M: MaskSource>(
    conn: &mut Connection<M>,
    kind: MessageKind,
    payload: &[u8],
    max_frame: usize,
    compressed: bool,
    out: &mut Vec<u8>,
) -> Result<(), SendError> {
    let count = payload.len().div_ceil(max_frame).max(1);
    let mut parts = payload.chunks(max_frame);
    for i in 0..count {
        let part = parts.next().unwrap_or(&[]);
        let (first, fin) = (i == 0, i + 1 == count);
        let at = out.len();
        out.resize(at + MAX_HEADER_LEN, 0);
        let header = &mut out[at..];
        let len = part.len() as u64;
        let encoded = match (first, compressed) {
            (true, true) => conn.encode_compressed_header(kind.opcode(), fin, len, header)?,
            (true, false) => conn.encode_header(kind.opcode(), fin, len, header)?,
            (false, _) => conn.encode_header(OpCode::Continuation, fin, len, header)?,
        };
        out.truncate(at + encoded.len);
        out.extend_from_slice(part);
        if let Some(key) = encoded.mask {
            apply_mask(&mut out[at + encoded.len..], key, 0);
        }
    }
    Ok(())
}

mod recv_buffer;
pub use recv_buffer::RecvBuffer;

#[cfg(test)]
mod tests;
