//! Limits, timeouts and buffer sizes of an event loop, with safe defaults.

use std::time::Duration;

use ws_proto::SessionConfig;

/// Settings of an event loop and of every connection it serves: the
/// settings every transport shares, in [`session`](Self::session) (a
/// [`SessionConfig`] of `ws-proto`), and those of this transport's loops,
/// queues and sockets.
///
/// It is `#[non_exhaustive]`: start from [`Config::default`] and use the
/// setters, which take and return the configuration. The shared settings
/// have setters here too, so `session` rarely needs naming:
///
/// ```
/// use std::time::Duration;
///
/// let config = ws_mio::Config::default()
///     .max_message_size(1 << 20)
///     .idle_ping(Some(Duration::from_secs(30)))
///     .subprotocols(["chat"])
///     .max_outgoing(256 * 1024);
/// assert_eq!(config.session.protocol.max_message_size, 1 << 20);
/// assert_eq!(config.max_outgoing, 256 * 1024);
/// ```
///
/// | setting (setter) | default | when it is hit |
/// |---|---|---|
/// | `session.protocol.max_frame_size` (`max_frame_size`) | 16 MiB | close 1009 |
/// | `session.protocol.max_message_size` (`max_message_size`) | 16 MiB | close 1009 |
/// | `session.protocol.auto_pong` (`auto_pong`) | on | every ping gets its pong |
/// | `session.memory_budget` (`memory_budget`) | 256 MiB, shared by all loops of a server | close 1009 for the connection whose unfinished message would pass it |
/// | `session.max_handshake_header` (`max_handshake_header`) | 8192 bytes | HTTP 431, connection closed |
/// | `session.timers.handshake` (`handshake_timeout`) | 10 s | connection closed ([`Error::Timeout`](crate::Error::Timeout)) |
/// | `session.timers.idle_ping` (`idle_ping`) | 60 s | a ping is sent |
/// | `session.timers.pong` (`pong_timeout`) | 10 s (after that ping) | close 1001 |
/// | `session.timers.message` (`message_timeout`) | none | close 1001 for a peer that sent no whole message for that long (pings and pongs do not count) |
/// | `session.timers.close` (`close_timeout`) | 5 s | socket closed without the peer's close (on shutdown: counted from when the queue ahead of the 1001 is written; see [Shutting down](Self#shutting-down)) |
/// | `session.compression` (`compression`) | permessage-deflate on, level 6, threshold 256 B | inflated size counts against `max_message_size` |
/// | `session.subprotocols` (`subprotocols`) | none | a server answers with the first it supports that the client offered |
/// | `max_outgoing` | 1 MiB | sends refused with `SendError::QueueFull` (then `Handler::on_writable` once under half of it); reading pauses from half of it |
/// | `stall_timeout` | 30 s without write progress | socket closed (the peer does not read) |
/// | `max_connections` | 100,000 per loop | new connections closed at once |
/// | `max_server_connections` | none | new connections closed at once, whichever loop accepts them |
/// | `allowed_origins` | any | HTTP 403 for a request whose `Origin` is not listed |
/// | `max_mailbox` | 16 MiB per loop | sends from other loops refused with `SendError::QueueFull` |
/// | `read_buffer_size` | 64 KiB per loop | (the most one read takes) |
/// | `max_pooled_buffer`, `max_pooled_buffers` | 256 KiB, 1024 | (larger or further idle buffers are freed) |
/// | `nodelay` | on | (`TCP_NODELAY` on every connection) |
/// | `release_compressor_after` | 10 s quiet | zlib state no context needs is freed |
///
/// A timer set to `None` does not run. The memory a connection's
/// permessage-deflate keeps: one that negotiates it with context
/// takeover keeps about 300 KiB of zlib state; negotiate
/// `server_no_context_takeover` to have it dropped when idle
/// (`release_compressor_after`).
///
/// # Shutting down
/// On shutdown, the 1001 goes out behind every message already queued
/// for a connection, however full its queue: its close timeout starts
/// once all of that is written. Until then the connection is kept as
/// long as writes make progress, at most the close timeout apart (or
/// `stall_timeout`, if shorter). A loop returns when its connections are
/// closed, and at the latest `stall_timeout` plus the close timeout after
/// the shutdown began; with no close timeout (`close_timeout(None)`) it
/// waits for every peer's close, however long that takes.
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
#[non_exhaustive]
pub struct Config {
    /// The settings every transport shares: frame and message limits,
    /// auto-pong, the handshake, idle ping, pong, message and close
    /// timers, the upgrade header cap, permessage-deflate, subprotocols
    /// and the memory budget (shared by the clones a
    /// [`Server`](crate::Server) makes for its loops). See
    /// [`SessionConfig`] for each; the table above says what the loop
    /// does with them.
    pub session: SessionConfig,
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
    /// Set `TCP_NODELAY` on every connection (default true: WebSocket
    /// messages are small and latency matters more than segment count).
    pub nodelay: bool,
    /// A connection quiet for this long gives back the compressor and
    /// decompressor state that no context needs (with
    /// `server_no_context_takeover` / `client_no_context_takeover`
    /// negotiated: up to about 300 KiB each). Default 10 s.
    pub release_compressor_after: Duration,
    /// TLS of the loop's `wss://` client connections (feature `tls`):
    /// `None` (the default) trusts what
    /// [`tls::default_client_config`](crate::tls::default_client_config)
    /// does (the machine's roots); set a rustls `ClientConfig` for a
    /// private CA ([`tls::client_config_trusting`](crate::tls::client_config_trusting)),
    /// client certificates or pinning. Servers take their TLS
    /// configuration per listener instead
    /// ([`EventLoop::listen_tls`](crate::EventLoop::listen_tls),
    /// [`Server::tls`](crate::Server::tls)).
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::ClientTls>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            session: SessionConfig::default(),
            max_outgoing: 1 << 20,
            stall_timeout: Duration::from_secs(30),
            max_connections: 100_000,
            max_server_connections: None,
            allowed_origins: None,
            max_mailbox: 16 << 20,
            read_buffer_size: 64 * 1024,
            max_pooled_buffer: 256 * 1024,
            max_pooled_buffers: 1024,
            nodelay: true,
            release_compressor_after: Duration::from_secs(10),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl Config {
    ws_proto::session_config_setters!(session);

    ws_proto::__setters! {
        /// Sets [`max_outgoing`](Self::max_outgoing), the bound on each
        /// connection's queue of outgoing bytes.
        max_outgoing: usize = max_outgoing;
        /// Sets [`stall_timeout`](Self::stall_timeout), how long a queue
        /// may make no progress before its connection is dropped.
        stall_timeout: Duration = stall_timeout;
        /// Sets [`max_connections`](Self::max_connections), the most
        /// connections one loop holds.
        max_connections: usize = max_connections;
        /// Sets [`max_server_connections`](Self::max_server_connections),
        /// the most connections all the loops of a server hold together.
        max_server_connections: Option<usize> = max_server_connections;
        /// Sets [`max_mailbox`](Self::max_mailbox), the bound on what
        /// other loops may have waiting for this one.
        max_mailbox: usize = max_mailbox;
        /// Sets [`read_buffer_size`](Self::read_buffer_size), the size of
        /// the loop's receive buffer.
        read_buffer_size: usize = read_buffer_size;
        /// Sets [`max_pooled_buffer`](Self::max_pooled_buffer), the
        /// largest buffer kept for reuse.
        max_pooled_buffer: usize = max_pooled_buffer;
        /// Sets [`max_pooled_buffers`](Self::max_pooled_buffers), the most
        /// idle buffers kept for reuse.
        max_pooled_buffers: usize = max_pooled_buffers;
        /// Sets [`nodelay`](Self::nodelay), whether every connection has
        /// `TCP_NODELAY`.
        nodelay: bool = nodelay;
        /// Sets [`release_compressor_after`](Self::release_compressor_after),
        /// the quiet time after which unneeded zlib state is freed.
        release_compressor_after: Duration = release_compressor_after;
    }

    /// Sets [`allowed_origins`](Self::allowed_origins) to this list: a
    /// request whose `Origin` is not in it is refused with HTTP 403. (Set
    /// the field to `None` to accept any origin again.)
    #[must_use]
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_origins = Some(origins.into_iter().map(Into::into).collect());
        self
    }

    /// Sets [`tls`](Self::tls), the TLS configuration of the loop's
    /// `wss://` client connections. Feature `tls`.
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn tls(mut self, config: std::sync::Arc<crate::tls::rustls::ClientConfig>) -> Self {
        self.tls = Some(crate::tls::ClientTls(config));
        self
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loop's own defaults; the shared ones are ws-proto's, checked
    /// there.
    #[test]
    fn defaults_of_the_loop() {
        let config = Config::default();
        assert_eq!(config.max_outgoing, 1 << 20);
        assert_eq!(config.stall_timeout, Duration::from_secs(30));
        assert_eq!(config.max_connections, 100_000);
        assert_eq!(config.max_server_connections, None);
        assert_eq!(config.allowed_origins, None);
        assert_eq!(config.max_mailbox, 16 << 20);
        assert_eq!(config.read_buffer_size, 64 * 1024);
        assert_eq!(config.max_pooled_buffer, 256 * 1024);
        assert_eq!(config.max_pooled_buffers, 1024);
        assert!(config.nodelay);
        assert_eq!(config.release_compressor_after, Duration::from_secs(10));
        assert_eq!(config.session, SessionConfig::default());
    }

    #[test]
    fn own_and_shared_setters() {
        let secs = Duration::from_secs;
        let config = Config::default()
            .max_outgoing(1)
            .stall_timeout(secs(2))
            .max_connections(3)
            .max_server_connections(Some(4))
            .allowed_origins(["https://example.com"])
            .max_mailbox(5)
            .read_buffer_size(6)
            .max_pooled_buffer(7)
            .max_pooled_buffers(8)
            .nodelay(false)
            .release_compressor_after(secs(9))
            .idle_ping(None)
            .close_timeout(Some(secs(10)))
            .max_frame_size(11)
            .subprotocols(["chat"])
            .compression(None);
        assert_eq!(config.max_outgoing, 1);
        assert_eq!(config.stall_timeout, secs(2));
        assert_eq!(config.max_connections, 3);
        assert_eq!(config.max_server_connections, Some(4));
        assert_eq!(
            config.allowed_origins.as_deref(),
            Some(&["https://example.com".to_string()][..])
        );
        assert_eq!(config.max_mailbox, 5);
        assert_eq!(config.read_buffer_size, 6);
        assert_eq!(config.max_pooled_buffer, 7);
        assert_eq!(config.max_pooled_buffers, 8);
        assert!(!config.nodelay);
        assert_eq!(config.release_compressor_after, secs(9));
        assert_eq!(config.session.timers.idle_ping, None);
        assert_eq!(config.session.timers.close, Some(secs(10)));
        assert_eq!(config.session.protocol.max_frame_size, 11);
        assert_eq!(config.session.subprotocols, ["chat"]);
        assert_eq!(config.session.compression, None);
        let embedded = config.session(SessionConfig::embedded());
        assert_eq!(embedded.session, SessionConfig::embedded());
        assert_eq!(embedded.max_outgoing, 1, "the loop's own settings stay");
    }
}
