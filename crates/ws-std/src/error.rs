//! The one error type of the blocking transport.

use std::fmt;
use std::io;

use ws_proto::{CloseCode, HandshakeError, ProtocolError, SendError};

/// What went wrong, told apart the way a caller needs to react.
///
/// `#[non_exhaustive]`: new kinds of error may be added, so a `match`
/// needs a wildcard arm.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The socket failed, timed out, or the peer vanished (an unexpected
    /// end of stream is `io::ErrorKind::UnexpectedEof`).
    Io(io::Error),
    /// The peer broke RFC 6455 (or a limit): a close frame with
    /// [`ProtocolError::close_code`] was sent and the connection is failed.
    Protocol(ProtocolError),
    /// The opening handshake was refused or invalid. On the server side
    /// the HTTP refusal ([`HandshakeError::status_code`]) was sent, or a 500
    /// when the application's own answer could not be written as given
    /// (see [`accept_with`](crate::accept_with)); on the
    /// client side the server's answer was not a valid upgrade (a server's
    /// refusal with another status is [`Error::HttpStatus`]). The message
    /// names no HTTP status.
    Handshake(HandshakeError),
    /// A server answered the upgrade request with a status other than 101
    /// (also reported as `Handshake(BadStatus)` by the core; kept separate
    /// here so the status is at hand).
    HttpStatus(u16),
    /// The frame could not be sent in the connection's state (for example
    /// data after close).
    Send(SendError),
    /// The connection is closed: the peer's close frame arrived (its code
    /// and reason are here), or we closed it earlier.
    Closed {
        /// The peer's close code ([`CloseCode::NO_STATUS`] if it sent
        /// none, [`CloseCode::ABNORMAL`] if the socket closed first).
        code: CloseCode,
        /// The peer's reason.
        reason: String,
    },
    /// The application refused the upgrade request (its callback returned a
    /// [`Refusal`](crate::Refusal)): the HTTP response with this status was
    /// sent and the connection closed.
    Refused {
        /// The status sent (400 to 599).
        status: u16,
    },
    /// The URL given to `connect` cannot be used.
    Url(String),
    /// The server's answer to our extension offer is not one we can use
    /// (RFC 7692 says to fail the connection).
    Extension(ws_proto::deflate::NegotiationError),
    /// TLS failed (feature `tls`): a certificate the client does not
    /// trust, one for another name, an expired one
    /// (`InvalidCertificate(UnknownIssuer / NotValidForName / Expired)`),
    /// an alert from the peer, a configuration rustls refused.
    #[cfg(feature = "tls")]
    Tls(rustls::Error),
}

impl Error {
    /// True for a timeout. After a read timeout nothing is lost and the
    /// call can be repeated; a write that timed out (see
    /// [`Config::write_timeout`](crate::Config::write_timeout)) may have
    /// left part of a frame on the wire, so the connection can no longer
    /// send; the handshake timeout ends the handshake.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Io(err) if matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
    }

    /// The close code this error ended (or would end) the connection with.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            Error::Protocol(err) => Some(err.close_code()),
            Error::Closed { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(err) => write!(f, "I/O error: {err}"),
            Error::Protocol(err) => write!(f, "protocol error: {err}"),
            // No status here: on the client side (and for the server's own
            // failures to write its answer) none was sent or received. A
            // server's refusal is `HttpStatus`; the status a server sent
            // for this error is `HandshakeError::status_code`.
            Error::Handshake(err) => write!(f, "handshake failed: {err}"),
            Error::HttpStatus(status) => {
                write!(f, "server answered the upgrade with HTTP {status}")
            }
            Error::Send(err) => write!(f, "cannot send: {err}"),
            Error::Closed { code, reason } if reason.is_empty() => {
                write!(f, "connection closed ({code})")
            }
            Error::Closed { code, reason } => write!(f, "connection closed ({code}: {reason})"),
            Error::Refused { status } => write!(f, "upgrade refused with HTTP {status}"),
            Error::Url(why) => write!(f, "invalid URL: {why}"),
            Error::Extension(err) => write!(f, "bad permessage-deflate answer: {err}"),
            #[cfg(feature = "tls")]
            Error::Tls(err) => write!(f, "TLS: {err}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(err) => Some(err),
            Error::Protocol(err) => Some(err),
            Error::Send(err) => Some(err),
            #[cfg(feature = "tls")]
            Error::Tls(err) => Some(err),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Error::Io(err)
    }
}

impl From<ProtocolError> for Error {
    fn from(err: ProtocolError) -> Self {
        Error::Protocol(err)
    }
}

impl From<HandshakeError> for Error {
    fn from(err: HandshakeError) -> Self {
        match err {
            HandshakeError::BadStatus(status) => Error::HttpStatus(status),
            HandshakeError::Deflate(err) => Error::Extension(err),
            other => Error::Handshake(other),
        }
    }
}

impl From<SendError> for Error {
    fn from(err: SendError) -> Self {
        Error::Send(err)
    }
}

/// A duration as people write it in a message: "10 s", "500 ms", "1.5 s".
pub(crate) fn human_duration(duration: std::time::Duration) -> String {
    let millis = duration.as_millis();
    if millis >= 1000 && millis.is_multiple_of(1000) {
        format!("{} s", millis / 1000)
    } else if millis >= 1000 {
        format!("{} s", duration.as_secs_f64())
    } else if millis > 0 && duration.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{millis} ms")
    } else {
        format!("{duration:?}")
    }
}

/// An `io::ErrorKind::TimedOut` error saying what timed out and after how
/// long: "handshake timed out after 10 s".
pub(crate) fn timed_out(what: &str, after: std::time::Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("{what} timed out after {}", human_duration(after)),
    )
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human_duration(Duration::from_secs(10)), "10 s");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human_duration(Duration::from_millis(500)), "500 ms");
        assert_eq!(human_duration(Duration::from_micros(1500)), "1.5ms");
    }

    #[test]
    fn only_a_status_received_from_a_server_is_named_in_the_message() {
        let local = Error::Handshake(HandshakeError::AcceptMismatch).to_string();
        assert!(!local.contains("HTTP"), "{local}");
        let refused = Error::HttpStatus(503).to_string();
        assert!(refused.contains("HTTP 503"), "{refused}");
    }

    #[test]
    fn an_application_refusal_names_the_status_sent() {
        let refused = Error::Refused { status: 401 };
        assert_eq!(refused.to_string(), "upgrade refused with HTTP 401");
        assert!(!refused.is_timeout());
        assert_eq!(refused.close_code(), None);
    }

    #[test]
    fn a_timeout_says_what_timed_out_and_after_how_long() {
        let err = Error::Io(timed_out("handshake", Duration::from_secs(10)));
        assert!(err.is_timeout());
        assert_eq!(err.to_string(), "I/O error: handshake timed out after 10 s");
    }
}
