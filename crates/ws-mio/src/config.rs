//! Limits, timeouts and buffer sizes of an event loop, with safe defaults.

use std::time::Duration;

use ws_proto::budget::MemoryBudget;
use ws_proto::constants::WS_HEADER_BUFFER;
use ws_proto::deflate::CompressionConfig;
use ws_proto::timer::TimerConfig;

/// Settings of an event loop and of every connection it serves.
///
/// | setting | default | when it is hit |
/// |---|---|---|
/// | `protocol.max_frame_size` | 16 MiB | close 1009 |
/// | `protocol.max_message_size` | 16 MiB | close 1009 |
/// | `memory_budget` | 256 MiB, shared by all loops of a server | close 1009 for the connection whose unfinished message would pass it |
/// | `max_handshake_header` | 8192 bytes | HTTP 431, connection closed |
/// | `handshake_timeout` | 10 s | connection closed |
/// | `idle_timeout` | 60 s | a ping is sent |
/// | `pong_timeout` | 10 s (after that ping) | close 1001 |
/// | `close_timeout` | 5 s | socket closed without the peer's close (on shutdown: counted from when the queue ahead of the 1001 is written) |
/// | `max_outgoing` | 1 MiB | sends refused with `SendError::QueueFull` (then `Handler::on_writable` once under half of it); reading pauses from half of it |
/// | `stall_timeout` | 30 s without write progress | socket closed (the peer does not read) |
/// | `max_connections` | 100,000 per loop | new connections closed at once |
/// | `max_server_connections` | none | new connections closed at once, whichever loop accepts them |
/// | `allowed_origins` | any | HTTP 403 for a request whose `Origin` is not listed |
/// | `max_mailbox` | 16 MiB per loop | sends from other loops refused with `SendError::QueueFull` |
/// | `compression` | permessage-deflate on, level 6, threshold 256 B | inflated size counts against `max_message_size` |
///
/// # Accepting, and running out of descriptors
/// A loop accepts every connection waiting on its listener each time the
/// listener is ready. `max_connections` is the loop's own cap: past it a
/// new connection is accepted and closed at once. The process's
/// descriptor limit (`RLIMIT_NOFILE`, `ulimit -n`) is another matter:
/// when an accept fails for want of descriptors (`EMFILE`, `ENFILE`) or
/// of kernel memory (`ENOBUFS`, `ENOMEM`), the connections not accepted
/// stay in the listen backlog (1024 for a [`Server`](crate::Server)) and
/// the loop tries again as soon as one of its connections closes, and
/// every 100 ms in any case (for descriptors freed elsewhere in the
/// process). They are served late, not dropped; clients beyond the
/// backlog wait for the kernel to retry their connect. Other accept
/// failures (a connection reset before it was accepted, a signal) skip
/// to the next connection. Keep `max_connections` times the number of
/// loops below the descriptor limit to have connections over the cap
/// closed at once rather than waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Frame and message limits and the other settings of the protocol core.
    pub protocol: ws_proto::Config,
    /// Cap on the HTTP upgrade header block.
    pub max_handshake_header: usize,
    /// Time allowed for the opening handshake.
    pub handshake_timeout: Duration,
    /// After this long without receiving anything, a ping is sent (`None`:
    /// never).
    pub idle_timeout: Option<Duration>,
    /// After that ping, the time allowed for anything to arrive before the
    /// connection is closed with 1001.
    pub pong_timeout: Duration,
    /// Time the peer has to answer our close frame.
    ///
    /// On shutdown, the 1001 goes out behind every message already queued for
    /// the connection, however full its queue: its close timeout starts
    /// once all of that is written. Until then the connection is kept as
    /// long as writes make progress, at most `close_timeout` apart (or
    /// `stall_timeout`, if shorter). A loop returns when its connections
    /// are closed, and at the latest `stall_timeout + close_timeout` after
    /// the shutdown began.
    pub close_timeout: Duration,
    /// Bound on each connection's queue of outgoing bytes. A send is
    /// refused once the queue holds this much; reading from the connection
    /// pauses while it holds more than half of it, so a peer that does not
    /// read cannot make the server buffer without limit. One message may
    /// take the queue past the bound (so a 16 MiB echo works with a 1 MiB
    /// bound): memory per connection stays under `max_outgoing` plus one
    /// maximal message. After a refusal the handler's
    /// [`on_writable`](crate::Handler::on_writable) runs once the queue
    /// has drained to half of `max_outgoing` (the low-water mark).
    pub max_outgoing: usize,
    /// A connection whose outgoing queue makes no progress for this long is
    /// dropped.
    pub stall_timeout: Duration,
    /// Most connections one loop holds; more are closed on accept. A
    /// [`Server`](crate::Server) with N loops may hold N times this; cap
    /// the whole server with `max_server_connections`. See
    /// [Accepting, and running out of descriptors](Self#accepting-and-running-out-of-descriptors)
    /// for what happens when the process's descriptor limit comes first.
    pub max_connections: usize,
    /// Most connections all the loops of a [`Server`](crate::Server) hold
    /// together (`None`: no cap but each loop's `max_connections`). Past
    /// it a new connection is accepted and closed at once, like one over
    /// `max_connections`. Client connections made with `connect` count
    /// towards it but are never refused by it. For a lone
    /// [`EventLoop`](crate::EventLoop) it is a second cap on that loop.
    pub max_server_connections: Option<usize>,
    /// The `Origin` header values a server accepts (compared ignoring
    /// ASCII case, for example `"https://example.com"`); `None` (the
    /// default) accepts any request, with or without `Origin`. With a
    /// list, a request whose `Origin` is not in it, or that has none, is
    /// answered with HTTP 403 before the handler's `on_open` sees it.
    /// Browsers always send `Origin`; other clients usually do not, so
    /// list the origins they should send.
    pub allowed_origins: Option<Vec<String>>,
    /// Bound on the bytes that the other loops of a [`Server`](crate::Server)
    /// may have waiting for this loop (their sends to its connections and
    /// their broadcasts), each message counting its size plus 64 bytes. A
    /// send that does not fit is refused with
    /// [`SendError::QueueFull`](crate::SendError::QueueFull) and a
    /// broadcast does not reach this loop; the loop empties its mailbox at
    /// every turn.
    pub max_mailbox: usize,
    /// The loop's one shared receive buffer: a read takes up to this much.
    pub read_buffer_size: usize,
    /// Largest buffer kept in the pool for reuse; larger ones are freed.
    pub max_pooled_buffer: usize,
    /// Most idle buffers kept in the pool.
    pub max_pooled_buffers: usize,
    /// Subprotocols the server supports, in order of preference; or those
    /// a client offers.
    pub subprotocols: Vec<String>,
    /// Set `TCP_NODELAY` on every connection (default true: WebSocket
    /// messages are small and latency matters more than segment count).
    pub nodelay: bool,
    /// permessage-deflate (RFC 7692): what a server accepts or a client
    /// offers, the level and the size under which messages go
    /// uncompressed. On by default; `None` turns it off. A connection that
    /// negotiates it with context takeover keeps about 300 KiB of zlib
    /// state; negotiate `server_no_context_takeover` to drop it when idle.
    pub compression: Option<CompressionConfig>,
    /// A connection quiet for this long gives back the compressor and
    /// decompressor state that no context needs (with
    /// `server_no_context_takeover` / `client_no_context_takeover`
    /// negotiated: up to about 300 KiB each). Default 10 s.
    pub release_compressor_after: Duration,
    /// Memory that all connections made with this configuration (and its
    /// clones: a [`Server`](crate::Server) clones it for each loop) may hold together
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
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Some(Duration::from_secs(60)),
            pong_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(5),
            max_outgoing: 1 << 20,
            stall_timeout: Duration::from_secs(30),
            max_connections: 100_000,
            max_server_connections: None,
            allowed_origins: None,
            max_mailbox: 16 << 20,
            read_buffer_size: 64 * 1024,
            max_pooled_buffer: 256 * 1024,
            max_pooled_buffers: 1024,
            subprotocols: Vec::new(),
            nodelay: true,
            compression: Some(CompressionConfig::default()),
            release_compressor_after: Duration::from_secs(10),
            memory_budget: MemoryBudget::new(DEFAULT_MEMORY_BUDGET),
        }
    }
}

impl Config {
    /// The message size limit as a `usize` for the assembler.
    pub(crate) fn max_message_len(&self) -> usize {
        usize::try_from(self.protocol.max_message_size).unwrap_or(usize::MAX)
    }

    /// The queue size to which a full queue must drain before the
    /// handler hears `on_writable`.
    pub(crate) fn low_water(&self) -> usize {
        self.max_outgoing / 2
    }

    /// The queue size from which reading pauses.
    pub(crate) fn high_water(&self) -> usize {
        self.max_outgoing / 2
    }

    /// The protocol core's timers for these settings (no limit between
    /// messages).
    pub(crate) fn timers(&self) -> TimerConfig {
        TimerConfig::new()
            .handshake(Some(self.handshake_timeout))
            .idle_ping(self.idle_timeout)
            .pong(Some(self.pong_timeout))
            .message(None)
            .close(Some(self.close_timeout))
    }
}
