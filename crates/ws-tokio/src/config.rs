//! The configuration of a connection: the shared [`SessionConfig`] and
//! this transport's buffers.

use ws_proto::constants::MIN_RECV_BUFFER;
use ws_proto::SessionConfig;

/// How a connection is set up: the settings every transport shares
/// ([`session`](Self::session)) and this transport's own, its buffers.
///
/// | setting | default | what ws-tokio does with it |
/// |---|---|---|
/// | `session.protocol.max_frame_size` (`max_frame_size`) | 16 MiB | a bigger frame fails the connection with 1009 |
/// | `session.protocol.max_message_size` (`max_message_size`) | 16 MiB | a bigger (inflated) message fails the connection with 1009 |
/// | `session.protocol.auto_pong` (`auto_pong`) | on | pings are answered while [`recv`](crate::WebSocket::recv) (or the `Stream`) runs |
/// | `session.timers.handshake` (`handshake_timeout`) | 10 s | [`accept`](crate::accept) and [`connect`](crate::connect) fail with a timeout |
/// | `session.timers.idle_ping` (`idle_ping`) | 60 s | while a receive waits, a ping is sent when nothing arrived for that long |
/// | `session.timers.pong` (`pong_timeout`) | 10 s | after that ping, a silent peer is closed with 1001 |
/// | `session.timers.message` (`message_timeout`) | none | a peer that sent no message for that long is closed with 1001 |
/// | `session.timers.close` (`close_timeout`) | 5 s | after our close, the peer's may take that long; then the stream is shut down |
/// | `session.max_handshake_header` | 8192 bytes | a bigger request is refused with HTTP 431 |
/// | `session.compression` (`compression`) | permessage-deflate offered / accepted | |
/// | `session.subprotocols` (`subprotocols`) | none | a server chooses the first the client offered; a client offers them |
/// | `session.memory_budget` (`memory_budget`) | 256 MiB | shared by the connections made with clones of one configuration |
/// | `read_buffer_size` | 64 KiB | |
/// | `write_buffer_limit` | 128 KiB | see below |
///
/// The timers run while the connection is polled to receive
/// ([`recv`](crate::WebSocket::recv), the `Stream`, or
/// [`close`](crate::WebSocket::close)): a connection that nobody reads
/// answers no ping and sends none.
///
/// ```
/// use std::time::Duration;
///
/// let config = ws_tokio::Config::default()
///     .max_message_size(1 << 20)
///     .idle_ping(Some(Duration::from_secs(20)))
///     .write_buffer_limit(64 * 1024);
/// assert_eq!(config.session.timers.idle_ping, Some(Duration::from_secs(20)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The settings every transport shares: limits, timers, the upgrade
    /// header cap, permessage-deflate, subprotocols and the memory budget
    /// (see [`SessionConfig`]; the table above says what this transport
    /// does with them).
    pub session: SessionConfig,
    /// Size of the receive buffer: one read takes as many frames as have
    /// arrived, up to this many bytes (at least
    /// [`MIN_RECV_BUFFER`](ws_proto::constants::MIN_RECV_BUFFER)). A frame
    /// larger than the buffer is still received, in more reads.
    pub read_buffer_size: usize,
    /// Bytes of encoded frames that may wait to be written before the
    /// `Sink`'s `poll_ready` (and so [`send`](crate::WebSocket::send))
    /// waits for the peer to read: the bound on the memory a slow reader
    /// costs. One message is always taken whole, however big, so the
    /// buffer may hold up to this limit plus one message. While it is over
    /// the limit, a receive stops reading too (the pongs it would queue
    /// could not leave either).
    pub write_buffer_limit: usize,
    /// Extra headers a client sends with its upgrade request (an `Origin`,
    /// an `Authorization`).
    pub extra_headers: Vec<(String, String)>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            session: SessionConfig::default(),
            read_buffer_size: 64 * 1024,
            write_buffer_limit: 128 * 1024,
            extra_headers: Vec::new(),
        }
    }
}

impl Config {
    ws_proto::session_config_setters!(session);

    ws_proto::__setters! {
        /// Sets [`read_buffer_size`](Self::read_buffer_size), the size of
        /// the receive buffer.
        read_buffer_size: usize = read_buffer_size;
        /// Sets [`write_buffer_limit`](Self::write_buffer_limit), the bytes
        /// that may wait to be written before `poll_ready` waits.
        write_buffer_limit: usize = write_buffer_limit;
    }

    ws_proto::__headers_setter! {
        /// Sets [`extra_headers`](Self::extra_headers), the headers a
        /// client adds to its upgrade request, as `(name, value)` pairs.
        extra_headers
    }

    /// The receive buffer size actually used.
    pub(crate) fn effective_read_buffer(&self) -> usize {
        self.read_buffer_size.max(MIN_RECV_BUFFER)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn defaults() {
        let config = Config::default();
        assert_eq!(config.session, SessionConfig::default());
        assert_eq!(config.read_buffer_size, 64 * 1024);
        assert_eq!(config.write_buffer_limit, 128 * 1024);
        assert!(config.extra_headers.is_empty());
    }

    #[test]
    fn own_and_shared_setters() {
        let secs = Duration::from_secs;
        let config = Config::default()
            .read_buffer_size(1)
            .write_buffer_limit(2)
            .extra_headers([("Origin", "http://a")])
            .close_timeout(Some(secs(3)))
            .max_frame_size(4)
            .subprotocols(["chat"])
            .compression(None);
        assert_eq!(config.effective_read_buffer(), MIN_RECV_BUFFER);
        assert_eq!(config.write_buffer_limit, 2);
        assert_eq!(config.extra_headers, [("Origin".into(), "http://a".into())]);
        assert_eq!(config.session.timers.close, Some(secs(3)));
        assert_eq!(config.session.protocol.max_frame_size, 4);
        assert_eq!(config.session.subprotocols, ["chat"]);
        assert_eq!(config.session.compression, None);
    }
}
