//! The one error type of the async transport.

use std::{fmt, io};

use ws_proto::{session, CloseCode, HandshakeError, ProtocolError, SendError};

/// What went wrong, told apart the way a caller needs to react.
///
/// The end of a connection is not an error: after the close handshake
/// [`recv`](crate::WebSocket::recv) returns `None` (and the `Stream`
/// ends); the peer's close frame is at
/// [`WebSocket::close_frame`](crate::WebSocket::close_frame).
///
/// `#[non_exhaustive]`: new kinds of error may be added, so a `match`
/// needs a wildcard arm.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The stream failed, or the peer vanished without the close
    /// handshake (`io::ErrorKind::UnexpectedEof`).
    Io(io::Error),
    /// The peer broke RFC 6455 or a limit: the close frame with
    /// [`ProtocolError::close_code`] (1002, 1007, 1009) was queued and the
    /// connection is failed.
    Protocol(ProtocolError),
    /// A deadline passed: the opening handshake's (`"handshake"`), or the
    /// close handshake's (`"close"`: the peer did not answer our close in
    /// time), after which the stream is shut down.
    TimedOut(&'static str),
    /// The opening handshake was invalid. A server sent the matching HTTP
    /// refusal (or a 500 when the application's own answer could not be
    /// written as given); on a client, the server's 101 did not check out.
    Handshake(HandshakeError),
    /// A server answered the upgrade request with this status, not 101.
    HttpStatus(u16),
    /// The application's callback refused the upgrade with a
    /// [`Refusal`](crate::Refusal): the response with this status was
    /// sent and the stream shut down.
    Refused {
        /// The status sent (400 to 599).
        status: u16,
    },
    /// The message could not be sent in the connection's state (after a
    /// close, say).
    Send(SendError),
    /// The URL given to [`connect`](crate::connect) cannot be used.
    Url(String),
}

impl Error {
    /// The close code this error ended the connection with, if it did.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            Error::Protocol(err) => Some(err.close_code()),
            Error::Send(SendError::CompressionFailed) => Some(CloseCode::UNEXPECTED),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(err) => write!(f, "I/O error: {err}"),
            Error::Protocol(err) => write!(f, "protocol error: {err}"),
            Error::TimedOut(what) => write!(f, "the {what} handshake timed out"),
            Error::Handshake(err) => write!(f, "handshake failed: {err}"),
            Error::HttpStatus(status) => {
                write!(f, "server answered the upgrade with HTTP {status}")
            }
            Error::Refused { status } => write!(f, "upgrade refused with HTTP {status}"),
            Error::Send(err) => write!(f, "cannot send: {err}"),
            Error::Url(why) => write!(f, "invalid URL: {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(err) => Some(err),
            Error::Protocol(err) => Some(err),
            Error::Send(err) => Some(err),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Error::Io(err)
    }
}

impl From<HandshakeError> for Error {
    fn from(err: HandshakeError) -> Self {
        match err {
            HandshakeError::BadStatus(status) => Error::HttpStatus(status),
            other => Error::Handshake(other),
        }
    }
}

impl From<session::Error> for Error {
    fn from(err: session::Error) -> Self {
        match err {
            session::Error::Protocol(err) => Error::Protocol(err),
            session::Error::Send(err) => Error::Send(err),
            // Non-exhaustive; it has no other variant yet.
            _ => Error::Send(SendError::Closed),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_from_the_server_is_kept_apart() {
        assert!(matches!(
            Error::from(HandshakeError::BadStatus(503)),
            Error::HttpStatus(503)
        ));
        let local = Error::from(HandshakeError::AcceptMismatch).to_string();
        assert!(!local.contains("HTTP"), "{local}");
    }

    #[test]
    fn close_codes() {
        let too_big = Error::from(session::Error::Protocol(ProtocolError::MessageTooLarge));
        assert_eq!(too_big.close_code(), Some(CloseCode::TOO_LARGE));
        assert_eq!(Error::TimedOut("close").close_code(), None);
        assert_eq!(
            Error::TimedOut("close").to_string(),
            "the close handshake timed out"
        );
    }
}
