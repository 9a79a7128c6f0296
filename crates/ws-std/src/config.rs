//! Limits and timeouts, in one place, with safe defaults.

use std::time::Duration;

use ws_proto::budget::MemoryBudget;
use ws_proto::constants::{MIN_RECV_BUFFER, WS_HEADER_BUFFER};
use ws_proto::deflate::CompressionConfig;

/// Everything a connection or a server can be tuned with.
///
/// The defaults bound what a hostile peer can cost: memory by the size
/// limits, time by the timeouts. What they do not bound: a
/// [`WebSocket`](crate::WebSocket) driven by your own code has no read
/// timeout and no idle ping, so a silent peer holds it (and the thread in
/// `recv`) for ever unless you set `read_timeout` or send pings; and in
/// `run_echo` a peer that keeps sending, however little, keeps its slot.
///
/// | setting | default | when it is hit |
/// |---|---|---|
/// | `protocol.max_frame_size` | 16 MiB | close 1009, [`Error::Protocol`](crate::Error::Protocol) |
/// | `protocol.max_message_size` | 16 MiB | close 1009, [`Error::Protocol`](crate::Error::Protocol) |
/// | `memory_budget` | 256 MiB, shared by a server's connections | close 1009 for the connection whose unfinished message would pass it |
/// | `max_handshake_header` | 8192 bytes | HTTP 431, [`Error::Handshake`](crate::Error::Handshake) |
/// | `handshake_timeout` | 10 s | [`Error::Io`](crate::Error::Io) (timed out) |
/// | `read_timeout` | none (a silent peer is waited for for ever, except by `run_echo`'s idle ping) | [`Error::Io`](crate::Error::Io) (timed out); the connection stays usable |
/// | `write_timeout` | 30 s, for each whole write | [`Error::Io`](crate::Error::Io) (timed out); the connection can no longer send |
/// | `close_timeout` | 5 s | the socket is closed without the peer's close |
/// | `idle_ping` | 60 s (`run_echo` only) | `run_echo` pings a connection that sent nothing for that long |
/// | `pong_timeout` | 10 s (after that ping) | `run_echo` closes with 1001 (the peer vanished or stopped answering) and frees the slot within `close_timeout`: 75 s after a silent peer's last byte |
/// | `max_connections` | 1024 | `run_echo` refuses further connections with HTTP 503. A slot is held by a silent peer for at most `handshake_timeout` before the upgrade and `idle_ping` + `pong_timeout` + `close_timeout` after it, by one that does not read until a write times out |
/// | `compression` | permessage-deflate on, level 6, threshold 256 B | (inflated size counts against `max_message_size`) |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Frame and message limits, auto-pong, and the other settings of the
    /// protocol core.
    pub protocol: ws_proto::Config,
    /// Cap on the HTTP upgrade header block, request or response.
    pub max_handshake_header: usize,
    /// Time allowed for the whole opening handshake.
    pub handshake_timeout: Option<Duration>,
    /// Timeout of each read once the connection is open (`None`: wait
    /// for ever). A read that times out returns an error but loses nothing:
    /// the next `recv` goes on where it stopped.
    pub read_timeout: Option<Duration>,
    /// Time allowed for each whole write: a frame or message sent with
    /// `send_*`, a [`flush`](crate::WebSocket::flush), the pongs and close
    /// replies `recv` sends (`None`: wait for ever). It bounds the write
    /// however the peer reads: before each write call the stream's write
    /// timeout is set to what is left. When it runs out the call fails
    /// with [`Error::Io`](crate::Error::Io) of kind `TimedOut` and the
    /// connection can no longer send (part of a frame may be on the wire);
    /// `run_echo` drops it. A [`Stream`](crate::Stream) whose
    /// `set_write_timeout` does nothing is not bounded.
    pub write_timeout: Option<Duration>,
    /// How long a graceful [`close`](crate::WebSocket::close) waits for the
    /// peer's close frame.
    pub close_timeout: Duration,
    /// [`WsServer::run_echo`](crate::WsServer::run_echo) sends a ping on a
    /// connection from which nothing (no message, ping or pong) arrived
    /// for this long (`None`: never). With [`pong_timeout`](Self::pong_timeout)
    /// this drops peers that vanished without closing, and keeps the
    /// connection alive through proxies that cut idle ones. The
    /// connection's thread sleeps until then: an idle connection costs no
    /// wake-ups. A [`WebSocket`](crate::WebSocket) driven by your own code
    /// has no timer; see its section on pings and pongs.
    pub idle_ping: Option<Duration>,
    /// After `run_echo`'s idle ping, how long the peer has for its pong (or
    /// anything else) to arrive before the connection is closed with 1001
    /// (going away), waiting at most `close_timeout` for the peer's close.
    pub pong_timeout: Duration,
    /// Size of the receive buffer: one read fills it with as many frames as
    /// have arrived. At least [`MIN_RECV_BUFFER`] bytes. The default, 64
    /// KiB, takes a 16 KiB message (or several smaller ones) in one read; a
    /// frame larger than the buffer is still received, in more reads.
    pub read_buffer_size: usize,
    /// Subprotocols: for a server, those it supports, in order of
    /// preference (the first the client also offers is chosen); for a
    /// client, those it offers.
    pub subprotocols: Vec<String>,
    /// Extra headers a client sends with its upgrade request.
    pub extra_headers: Vec<(String, String)>,
    /// Most connections [`WsServer::run_echo`](crate::WsServer::run_echo)
    /// serves at once (a thread each).
    pub max_connections: usize,
    /// permessage-deflate (RFC 7692): what a client offers or a server
    /// accepts, the level and the size under which messages go
    /// uncompressed. On by default; `None` turns it off. The message size
    /// limit applies to the inflated size.
    pub compression: Option<CompressionConfig>,
    /// Memory that all connections made with this configuration (and its
    /// clones: a server clones it for each connection) may hold together
    /// for incoming messages that are not yet complete, or not yet
    /// inflated, before they are handed out. A connection whose message
    /// would pass it is closed with 1009, like one over
    /// `protocol.max_message_size`; memory is paid for before it is
    /// allocated. Default 256 MiB: sixteen messages of the largest default
    /// size at once. Give a server its own with [`MemoryBudget::new`].
    pub memory_budget: MemoryBudget,
}

/// The default [`Config::memory_budget`]: 256 MiB.
const DEFAULT_MEMORY_BUDGET: usize = 256 << 20;

impl Default for Config {
    fn default() -> Self {
        Config {
            protocol: ws_proto::Config::new(),
            max_handshake_header: WS_HEADER_BUFFER,
            handshake_timeout: Some(Duration::from_secs(10)),
            read_timeout: None,
            write_timeout: Some(Duration::from_secs(30)),
            close_timeout: Duration::from_secs(5),
            idle_ping: Some(Duration::from_secs(60)),
            pong_timeout: Duration::from_secs(10),
            read_buffer_size: 64 * 1024,
            subprotocols: Vec::new(),
            extra_headers: Vec::new(),
            max_connections: 1024,
            compression: Some(CompressionConfig::default()),
            memory_budget: MemoryBudget::new(DEFAULT_MEMORY_BUDGET),
        }
    }
}

impl Config {
    /// The receive buffer size actually used: never below what a whole
    /// control frame needs.
    pub(crate) fn effective_read_buffer(&self) -> usize {
        self.read_buffer_size.max(MIN_RECV_BUFFER)
    }

    /// The message size limit as a `usize` for the assembler.
    pub(crate) fn max_message_len(&self) -> usize {
        usize::try_from(self.protocol.max_message_size).unwrap_or(usize::MAX)
    }
}
