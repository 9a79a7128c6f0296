//! The one error type of the blocking transport.

use std::fmt;
use std::io;

use ws_proto::{CloseCode, HandshakeError, ProtocolError, SendError};

/// What went wrong, told apart the way a caller needs to react.
#[derive(Debug)]
pub enum Error {
    /// The socket failed, timed out, or the peer vanished (an unexpected
    /// end of stream is `io::ErrorKind::UnexpectedEof`).
    Io(io::Error),
    /// The peer broke RFC 6455 (or a limit): a close frame with
    /// [`ProtocolError::close_code`] was sent and the connection is failed.
    Protocol(ProtocolError),
    /// The opening handshake was refused or invalid. On the server side
    /// the HTTP refusal ([`HandshakeError::status_code`]) was sent.
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
    /// The URL given to `connect` cannot be used.
    Url(String),
    /// The server's answer to our extension offer is not one we can use
    /// (RFC 7692 says to fail the connection).
    Extension(ws_proto::deflate::NegotiationError),
}

impl Error {
    /// True for a read or write timeout: nothing is lost, the call can be
    /// repeated.
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
            Error::Handshake(err) => {
                write!(f, "handshake failed: {err} (HTTP {})", err.status_code())
            }
            Error::HttpStatus(status) => {
                write!(f, "server answered the upgrade with HTTP {status}")
            }
            Error::Send(err) => write!(f, "cannot send: {err}"),
            Error::Closed { code, reason } if reason.is_empty() => {
                write!(f, "connection closed ({code})")
            }
            Error::Closed { code, reason } => write!(f, "connection closed ({code}: {reason})"),
            Error::Url(why) => write!(f, "invalid URL: {why}"),
            Error::Extension(err) => write!(f, "bad permessage-deflate answer: {err}"),
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

impl From<ProtocolError> for Error {
    fn from(err: ProtocolError) -> Self {
        Error::Protocol(err)
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

impl From<SendError> for Error {
    fn from(err: SendError) -> Self {
        Error::Send(err)
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
