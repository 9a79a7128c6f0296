//! One connection of the event loop: its socket, protocol state, buffers
//! and timers.

use std::io;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use ws_proto::handshake::{self, ServerHandshake};
use ws_proto::mask::{MaskSource, OsMask};
use ws_proto::session::Messages;
use ws_proto::timer::TimerState;
use ws_proto::Connection;

use crate::tls::{self, TlsLayer};

/// Masking for a connection of either role: servers never mask; a client
/// draws keys from the OS (boxed, so server connections do not pay for
/// the entropy pool).
pub(crate) enum LoopMask {
    Server,
    Client(Box<OsMask>),
}

impl MaskSource for LoopMask {
    fn next_key(&mut self) -> [u8; 4] {
        match self {
            LoopMask::Server => [0; 4],
            LoopMask::Client(source) => source.next_key(),
        }
    }
}

/// A client connection's opening handshake: ws-proto's state machine,
/// which owns what it checks the server's response against.
pub(crate) struct ClientHandshake {
    pub(crate) handshake: handshake::ClientHandshake,
    /// The handler was told why the connection failed (`on_error`): it
    /// hears of a connection it asked for once, however it ends.
    pub(crate) reported: bool,
}

/// Where a connection is in its life.
pub(crate) enum Phase {
    /// Reading the client's upgrade request.
    ServerHandshake(ServerHandshake),
    /// Waiting for the server's response to our request.
    ClientHandshake(Box<ClientHandshake>),
    /// Upgraded: frames flow (the protocol core knows about closing).
    Open,
    /// The handshake was refused: the refusal is being written, then the
    /// socket closes.
    Refused,
}

/// A connection and everything the loop keeps for it.
pub(crate) struct Conn<D> {
    pub(crate) stream: TcpStream,
    /// TLS between the socket and the WebSocket bytes (`wss://`); `None`
    /// for a plain connection, which pays nothing more for it.
    pub(crate) tls: Option<Box<TlsLayer>>,
    pub(crate) generation: u32,
    pub(crate) phase: Phase,
    pub(crate) proto: Connection<LoopMask>,
    /// Handshake bytes, or the start of a frame that a read cut short
    /// (at most a header or a control frame). Pooled; empty when idle.
    pub(crate) inbuf: Vec<u8>,
    /// Whole messages: fragments that did not arrive in one read, and
    /// permessage-deflate when negotiated.
    pub(crate) messages: Messages,
    /// Outgoing bytes: whole frames, `out[out_pos..]` not yet written.
    pub(crate) out: Vec<u8>,
    pub(crate) out_pos: usize,
    pub(crate) data: Option<D>,
    /// `on_open` accepted it: `on_close` is owed.
    pub(crate) opened: bool,
    pub(crate) close_reported: bool,
    /// Our close (a shutdown's 1001) waits behind queued messages: its
    /// close deadline starts once the queue, close included, is written.
    pub(crate) close_unwritten: bool,
    /// A send was refused with `QueueFull`: `on_writable` is owed once the
    /// queue drains to the low-water mark.
    pub(crate) wants_writable: bool,
    /// Reading stopped because the outgoing queue is above high water.
    pub(crate) read_paused: bool,
    /// In the loop's list of connections to flush.
    pub(crate) dirty: bool,
    /// The peer's end of stream (or a socket error) was signalled: read
    /// until `WouldBlock` or the end, even after a short read.
    pub(crate) read_closed: bool,
    pub(crate) last_read: Instant,
    pub(crate) last_write: Instant,
    /// The protocol core's deadlines: the opening handshake's, the idle
    /// ping and its pong, the close's (from when our close, or a refusal,
    /// was queued), on the time of `Core::clock`.
    pub(crate) timers: TimerState,
    /// The deadline this connection's entry in the loop's timer heap is
    /// for, and the entry's stamp (`None`: no entry); see `core::timers`.
    pub(crate) armed: Option<(Instant, u64)>,
    /// The start of the quiet spell for which the idle compressor was
    /// given back: not again until something is read or written.
    pub(crate) released_quiet: Option<Instant>,
}

impl<D> Conn<D> {
    pub(crate) fn new(
        stream: TcpStream,
        generation: u32,
        phase: Phase,
        proto: Connection<LoopMask>,
        messages: Messages,
        now: Instant,
        clock: Duration,
    ) -> Self {
        Conn {
            stream,
            tls: None,
            generation,
            phase,
            proto,
            inbuf: Vec::new(),
            messages,
            out: Vec::new(),
            out_pos: 0,
            data: None,
            opened: false,
            close_reported: false,
            close_unwritten: false,
            wants_writable: false,
            read_paused: false,
            dirty: false,
            read_closed: false,
            last_read: now,
            last_write: now,
            timers: TimerState::new(clock),
            armed: None,
            released_quiet: None,
        }
    }

    /// Bytes queued and not yet written, those rustls holds included.
    pub(crate) fn queued(&self) -> usize {
        let tls = self.tls.as_ref().map_or(0, |tls| tls.buffered());
        self.out.len() - self.out_pos + tls
    }

    /// Read from the socket (plaintext, through TLS if there is TLS).
    pub(crate) fn read_socket(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        tls::read(&mut self.tls, &mut self.stream, buf)
    }

    /// Write `out[out_pos..]` to the socket (through TLS if there is TLS).
    pub(crate) fn write_queued(&mut self) -> io::Result<usize> {
        let pending = &self.out[self.out_pos..];
        tls::write(&mut self.tls, &mut self.stream, pending)
    }

    /// Send what TLS holds (nothing to do without TLS).
    pub(crate) fn flush_tls(&mut self) -> io::Result<()> {
        match &mut self.tls {
            None => Ok(()),
            Some(tls) => tls.flush(&mut self.stream),
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open) && self.proto.is_open()
    }
}
