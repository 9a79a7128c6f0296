//! Limits and timeouts, in one place, with safe defaults.

use std::time::Duration;

use ws_proto::constants::MIN_RECV_BUFFER;
use ws_proto::SessionConfig;

/// Everything a connection or a server can be tuned with: the settings
/// every transport shares, in [`session`](Self::session) (a
/// [`SessionConfig`] of `ws-proto`), and those of this transport's
/// blocking sockets and threads.
///
/// It is `#[non_exhaustive]`: start from [`Config::default`] and use the
/// setters, which take and return the configuration. The shared settings
/// have setters here too, so `session` rarely needs naming:
///
/// ```
/// use std::time::Duration;
///
/// let config = ws_std::Config::default()
///     .max_message_size(1 << 20)
///     .idle_ping(Some(Duration::from_secs(30)))
///     .subprotocols(["chat"])
///     .read_buffer_size(16 * 1024);
/// assert_eq!(config.session.protocol.max_message_size, 1 << 20);
/// assert_eq!(config.read_buffer_size, 16 * 1024);
/// ```
///
/// The defaults bound what a hostile peer can cost: memory by the size
/// limits, time by the timeouts. What they do not bound: a
/// [`WebSocket`](crate::WebSocket) driven by your own code has no read
/// timeout and no idle ping, so a silent peer holds it (and the thread in
/// `recv`) for ever unless you set `read_timeout` or send pings; and in
/// `run_echo` a peer that keeps sending, however little, keeps its slot
/// unless `message_timeout` (or, when it is unset, `read_timeout`) is set:
/// then a message must be whole within it, however its bytes trickle in.
/// The handshake and close timeouts hold however bytes trickle too.
///
/// | setting (setter) | default | when it is hit |
/// |---|---|---|
/// | `session.protocol.max_frame_size` (`max_frame_size`) | 16 MiB | close 1009, [`Error::Protocol`](crate::Error::Protocol) |
/// | `session.protocol.max_message_size` (`max_message_size`) | 16 MiB | close 1009, [`Error::Protocol`](crate::Error::Protocol) |
/// | `session.memory_budget` (`memory_budget`) | 256 MiB, shared by a server's connections | close 1009 for the connection whose unfinished message would pass it |
/// | `session.max_handshake_header` (`max_handshake_header`) | 8192 bytes | HTTP 431, [`Error::Handshake`](crate::Error::Handshake) |
/// | `session.timers.handshake` (`handshake_timeout`) | 10 s | [`Error::Io`](crate::Error::Io) (timed out) |
/// | `read_timeout` | none (a silent peer is waited for for ever, except by `run_echo`'s idle ping) | [`Error::Io`](crate::Error::Io) (timed out); the connection stays usable |
/// | `write_timeout` | 30 s, for each whole write | [`Error::Io`](crate::Error::Io) (timed out); the connection can no longer send |
/// | `session.timers.close` (`close_timeout`) | 5 s (`None`: wait for ever) | the socket is closed without the peer's close |
/// | `session.timers.idle_ping` (`idle_ping`) | 60 s (`run_echo` only) | `run_echo` pings a connection that sent nothing for that long |
/// | `session.timers.pong` (`pong_timeout`) | 10 s (after that ping) | `run_echo` closes with 1001 (the peer vanished or stopped answering) and frees the slot within the close timeout: 75 s after a silent peer's last byte |
/// | `session.timers.message` (`message_timeout`) | none (`run_echo` only; `read_timeout` when unset) | `run_echo` closes with 1001 a connection that sent no whole message for that long, however its bytes trickle |
/// | `max_connections` | 1024 | `run_echo` refuses further connections with HTTP 503. A slot is held by a silent peer for at most the handshake timeout before the upgrade and idle ping + pong timeout + close timeout after it, by one that does not read until a write times out |
/// | `session.compression` (`compression`) | permessage-deflate on, level 6, threshold 256 B | (inflated size counts against `max_message_size`) |
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The settings every transport shares: frame and message limits,
    /// auto-pong, the handshake, idle ping, pong, message and close
    /// timers, the upgrade header cap, permessage-deflate, subprotocols
    /// and the memory budget. See [`SessionConfig`] for each; the table
    /// above says what this transport does with them.
    pub session: SessionConfig,
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
    /// Size of the receive buffer: one read fills it with as many frames as
    /// have arrived. At least [`MIN_RECV_BUFFER`] bytes. The default, 64
    /// KiB, takes a 16 KiB message (or several smaller ones) in one read; a
    /// frame larger than the buffer is still received, in more reads.
    pub read_buffer_size: usize,
    /// Extra headers a client sends with its upgrade request.
    pub extra_headers: Vec<(String, String)>,
    /// Most connections [`WsServer::run_echo`](crate::WsServer::run_echo)
    /// serves at once (a thread each).
    pub max_connections: usize,
    /// TLS of a `wss://` client (feature `tls`): `None` (the default)
    /// trusts what [`tls::default_client_config`](crate::tls::default_client_config)
    /// does; set it for a private CA
    /// ([`tls::client_config_trusting`](crate::tls::client_config_trusting)),
    /// client certificates or pinning.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::ClientTls>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            session: SessionConfig::default(),
            read_timeout: None,
            write_timeout: Some(Duration::from_secs(30)),
            read_buffer_size: 64 * 1024,
            extra_headers: Vec::new(),
            max_connections: 1024,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl Config {
    ws_proto::session_config_setters!(session);

    ws_proto::__setters! {
        /// Sets [`read_timeout`](Self::read_timeout), the timeout of each
        /// read once the connection is open.
        read_timeout: Option<Duration> = read_timeout;
        /// Sets [`write_timeout`](Self::write_timeout), the time allowed for
        /// each whole write.
        write_timeout: Option<Duration> = write_timeout;
        /// Sets [`read_buffer_size`](Self::read_buffer_size), the size of the
        /// receive buffer.
        read_buffer_size: usize = read_buffer_size;
        /// Sets [`max_connections`](Self::max_connections), the most
        /// connections `run_echo` serves at once.
        max_connections: usize = max_connections;
    }

    ws_proto::__headers_setter! {
        /// Sets [`extra_headers`](Self::extra_headers), the headers a
        /// client adds to its upgrade request, as `(name, value)` pairs.
        extra_headers
    }

    /// Sets [`tls`](Self::tls), the TLS configuration of a `wss://`
    /// client.
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn tls(mut self, config: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(crate::tls::ClientTls(config));
        self
    }

    /// The receive buffer size actually used: never below what a whole
    /// control frame needs.
    pub(crate) fn effective_read_buffer(&self) -> usize {
        self.read_buffer_size.max(MIN_RECV_BUFFER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let config = Config::default();
        assert_eq!(config.session, SessionConfig::default());
        assert_eq!(config.session.memory_budget.limit(), 256 << 20);
        assert_eq!(config.read_timeout, None);
        assert_eq!(config.write_timeout, Some(Duration::from_secs(30)));
        assert_eq!(config.read_buffer_size, 64 * 1024);
        assert!(config.extra_headers.is_empty());
        assert_eq!(config.max_connections, 1024);
    }

    #[test]
    fn own_and_shared_setters() {
        let secs = Duration::from_secs;
        let config = Config::default()
            .read_timeout(Some(secs(1)))
            .write_timeout(None)
            .read_buffer_size(1)
            .max_connections(2)
            .extra_headers([("X-Token", "t")])
            .close_timeout(Some(secs(3)))
            .max_frame_size(4)
            .subprotocols(["chat"])
            .compression(None);
        assert_eq!(config.read_timeout, Some(secs(1)));
        assert_eq!(config.write_timeout, None);
        assert_eq!(config.effective_read_buffer(), MIN_RECV_BUFFER);
        assert_eq!(config.max_connections, 2);
        assert_eq!(
            config.extra_headers,
            [("X-Token".to_string(), "t".to_string())]
        );
        assert_eq!(config.session.timers.close, Some(secs(3)));
        assert_eq!(config.session.protocol.max_frame_size, 4);
        assert_eq!(config.session.subprotocols, ["chat"]);
        assert_eq!(config.session.compression, None);

        let session = SessionConfig::embedded();
        assert_eq!(Config::default().session(session.clone()).session, session);
    }
}
