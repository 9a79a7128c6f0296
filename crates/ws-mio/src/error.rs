//! Errors of the event-loop transport.

use std::fmt;
use std::io;

use ws_proto::{HandshakeError, ProtocolError};

/// Why a connection failed or could not be made; given to
/// [`Handler::on_error`](crate::Handler::on_error).
///
/// It is `#[non_exhaustive]`: new ways to fail may be added, so a `match`
/// on it needs a `_` arm.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The socket failed, or the peer vanished; for a client connection
    /// in its handshake also a refused connect, and (kind
    /// `ConnectionAborted`) a loop that shut down before the handshake
    /// completed.
    Io(io::Error),
    /// The peer broke RFC 6455 (or a limit); the close frame with
    /// [`ProtocolError::close_code`] was sent.
    Protocol(ProtocolError),
    /// The opening handshake failed (client connections).
    Handshake(HandshakeError),
    /// The server answered a client's upgrade with this HTTP status.
    HttpStatus(u16),
    /// A timer ran out: the handshake (`"opening handshake"`, also a
    /// client whose server never answered within `handshake_timeout`),
    /// the pong after an idle ping, a message within the message timeout,
    /// the close handshake, or writing to a peer that does not read.
    Timeout(&'static str),
    /// A URL that cannot be connected to.
    Url(String),
    /// The server's answer to our permessage-deflate offer cannot be used.
    Extension(ws_proto::deflate::NegotiationError),
    /// A message that another loop's handler sent to this connection (or
    /// broadcast) could not be queued here, for the reason given (its
    /// outgoing queue was full); it was dropped. The sender was told its
    /// send succeeded, so this is where it shows.
    Undelivered(SendError),
    /// TLS failed (feature `tls`): the server's certificate was refused
    /// (untrusted, expired, for another name), the peer sent an alert,
    /// or rustls refused the configuration. A TLS failure on a socket
    /// during a connection is an [`Error::Io`] of kind `InvalidData`
    /// whose inner error is the [`rustls::Error`](crate::tls::rustls::Error).
    #[cfg(feature = "tls")]
    Tls(crate::tls::rustls::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(err) => write!(f, "I/O error: {err}"),
            Error::Protocol(err) => write!(f, "protocol error: {err}"),
            Error::Handshake(err) => write!(f, "handshake failed: {err}"),
            Error::HttpStatus(status) => {
                write!(f, "server answered the upgrade with HTTP {status}")
            }
            Error::Timeout(what) => write!(f, "timed out: {what}"),
            Error::Url(why) => write!(f, "invalid URL: {why}"),
            Error::Extension(err) => write!(f, "bad permessage-deflate answer: {err}"),
            Error::Undelivered(err) => {
                write!(f, "a message from another loop was dropped: {err}")
            }
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
            Error::Undelivered(err) => Some(err),
            #[cfg(feature = "tls")]
            Error::Tls(err) => Some(err),
            _ => None,
        }
    }
}

#[cfg(feature = "tls")]
impl From<crate::tls::TlsConfigError> for Error {
    fn from(err: crate::tls::TlsConfigError) -> Self {
        match err {
            crate::tls::TlsConfigError::Rustls(err) => Error::Tls(err),
            other => Error::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                other.to_string(),
            )),
        }
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Error::Io(err)
    }
}

/// Why a send through a [`Context`](crate::Context) was refused.
///
/// It is `#[non_exhaustive]`: new reasons may be added, so a `match` on
/// it needs a `_` arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// No such connection (it closed, or the id is stale).
    NotFound,
    /// The connection's outgoing queue is full (see
    /// [`Config::max_outgoing`](crate::Config::max_outgoing)), or the
    /// mailbox of the loop that serves it is (see
    /// [`Config::max_mailbox`](crate::Config::max_mailbox)); nothing was
    /// queued.
    QueueFull,
    /// The connection is not open for this send (handshake not done, or a
    /// close was sent), or the frame breaks a rule of sending.
    Refused(ws_proto::SendError),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NotFound => f.write_str("no such connection"),
            SendError::QueueFull => f.write_str("outgoing queue full"),
            SendError::Refused(err) => write!(f, "send refused: {err}"),
        }
    }
}

impl std::error::Error for SendError {}

impl From<ws_proto::SendError> for SendError {
    fn from(err: ws_proto::SendError) -> Self {
        SendError::Refused(err)
    }
}
