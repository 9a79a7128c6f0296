//! `wss://`: TLS on rustls (feature `tls`, on by default).
//!
//! A client gets TLS from [`connect`](crate::connect) for a `wss://` URL:
//! the server's name goes out as SNI and its certificate is checked
//! against the machine's trusted roots (with the feature `webpki-roots`,
//! Mozilla's roots built into the program instead), or against what
//! [`Config::tls`](crate::Config::tls) says. A server, or a client that
//! sets up TLS itself, runs the WebSocket over a
//! [`rustls::StreamOwned`], which is a [`Stream`]:
//!
//! ```no_run
//! use std::net::TcpListener;
//!
//! let cert = std::fs::read("cert.pem")?;
//! let key = std::fs::read("key.pem")?;
//! let tls = ws_std::tls::server_config(&cert, &key)?;
//! let listener = TcpListener::bind("127.0.0.1:9443")?;
//! let (tcp, _) = listener.accept()?;
//! let stream = ws_std::tls::accept(tcp, tls)?;
//! let mut ws = ws_std::accept(stream, &ws_std::Config::default())?;
//! let message = ws.recv()?;
//! ws.send(&message)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The cryptography is rustls's `ring` provider (it needs a C compiler
//! to build, as most Rust programs on Linux already do), unless the
//! program installed another as the process default.

use std::io::{self, Read, Write};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

pub use rustls;
use rustls::pki_types::ServerName;
use rustls::{
    ClientConfig, ClientConnection, ConnectionCommon, ServerConfig, ServerConnection, SideData,
    StreamOwned,
};

use std::time::Duration;

use ws_proto::timer::Deadline;

use crate::clock;
use crate::error::{timed_out, Error, Result};
use crate::stream::Stream;

pub use ws_proto::tls::{ClientTls, TlsConfigError};

/// A configuration error of ws-proto's `tls` as this crate's [`Error`]:
/// rustls's as [`Error::Tls`], bad PEM as invalid data, no roots found
/// as not found.
impl From<TlsConfigError> for Error {
    fn from(err: TlsConfigError) -> Self {
        let kind = match err {
            TlsConfigError::Rustls(err) => return Error::Tls(err),
            TlsConfigError::NoRoots(_) => io::ErrorKind::NotFound,
            _ => io::ErrorKind::InvalidData,
        };
        Error::Io(io::Error::new(kind, err.to_string()))
    }
}

/// The client configuration `connect` uses for `wss://` when
/// [`Config::tls`](crate::Config::tls) is not set: the machine's trusted
/// root certificates (read once per process), or, with the feature
/// `webpki-roots`, Mozilla's roots built into the program (see
/// [`ws_proto::tls::default_client_config`]).
pub fn default_client_config() -> Result<Arc<ClientConfig>> {
    Ok(ws_proto::tls::default_client_config()?)
}

/// A client configuration that trusts exactly the CA certificates in
/// `ca_pem` (one or more PEM `CERTIFICATE` blocks): for a private CA, a
/// test, or `--ca FILE`.
pub fn client_config_trusting(ca_pem: &[u8]) -> Result<Arc<ClientConfig>> {
    Ok(ws_proto::tls::client_config_trusting(ca_pem)?)
}

/// A server configuration from a PEM certificate chain (the server's
/// certificate first) and its PEM private key (PKCS#8, PKCS#1 or SEC1),
/// with ALPN `http/1.1`; the client's SNI is read but one certificate
/// serves every name.
pub fn server_config(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>> {
    Ok(ws_proto::tls::server_config(cert_chain_pem, key_pem)?)
}

/// Run the TLS handshake of a client over `tcp` for the server `host`
/// (a name, sent as SNI and checked against the certificate, or an IP
/// address, checked against the certificate's addresses), within the
/// socket's timeouts.
pub fn connect<S: Read + Write>(
    socket: S,
    host: &str,
    config: Arc<ClientConfig>,
) -> Result<StreamOwned<ClientConnection, S>> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|err| Error::Url(format!("{host:?} is not a server name for TLS: {err}")))?;
    let connection = ClientConnection::new(config, name).map_err(Error::Tls)?;
    handshake(StreamOwned::new(connection, socket))
}

/// Run the TLS handshake of a server over an accepted connection, within
/// the socket's timeouts; then [`accept`](crate::accept) upgrades the
/// stream.
pub fn accept<S: Read + Write>(
    socket: S,
    config: Arc<ServerConfig>,
) -> Result<StreamOwned<ServerConnection, S>> {
    let connection = ServerConnection::new(config).map_err(Error::Tls)?;
    handshake(StreamOwned::new(connection, socket))
}

/// [`accept`] within a deadline: the socket's timeouts are what is left
/// of it, and a handshake that outlasts it is a timeout.
pub(crate) fn accept_within<S: Stream>(
    mut socket: S,
    config: Arc<ServerConfig>,
    deadline: Option<Deadline>,
) -> Result<StreamOwned<ServerConnection, S>> {
    let timeout = left(deadline)?;
    socket.set_read_timeout(timeout)?;
    socket.set_write_timeout(timeout)?;
    accept(socket, config).map_err(|err| timeout_named(err, timeout))
}

/// [`connect`] within a deadline, as [`accept_within`].
pub(crate) fn connect_within<S: Stream>(
    mut socket: S,
    host: &str,
    config: Arc<ClientConfig>,
    deadline: Option<Deadline>,
) -> Result<StreamOwned<ClientConnection, S>> {
    let timeout = left(deadline)?;
    socket.set_read_timeout(timeout)?;
    socket.set_write_timeout(timeout)?;
    connect(socket, host, config).map_err(|err| timeout_named(err, timeout))
}

/// What is left of `deadline` (`None`: no deadline), or the timeout.
fn left(deadline: Option<Deadline>) -> Result<Option<Duration>> {
    let Some(deadline) = deadline else {
        return Ok(None);
    };
    match deadline.remaining(clock::now()) {
        Some(left) => Ok(Some(left)),
        None => Err(Error::Io(timed_out(HANDSHAKE, deadline.allowed()))),
    }
}

const HANDSHAKE: &str = "TLS handshake";

/// A read or write that timed out in the handshake, said as such.
fn timeout_named(err: Error, timeout: Option<Duration>) -> Error {
    match err {
        Error::Io(io)
            if matches!(
                io.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Error::Io(timed_out(HANDSHAKE, timeout.unwrap_or_default()))
        }
        other => other,
    }
}

/// Drive a handshake to its end, so that a bad certificate is reported
/// as [`Error::Tls`] here rather than as an I/O error of the first read.
fn handshake<C, D, S>(mut stream: StreamOwned<C, S>) -> Result<StreamOwned<C, S>>
where
    C: DerefMut + Deref<Target = ConnectionCommon<D>>,
    D: SideData,
    S: Read + Write,
{
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .map_err(tls_error)?;
    }
    Ok(stream)
}

/// An I/O error from rustls: its TLS error when it carries one (a bad
/// certificate, an alert from the peer).
pub(crate) fn tls_error(err: io::Error) -> Error {
    match err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => Error::Tls(tls.clone()),
        None => Error::Io(err),
    }
}

/// A TLS stream is a [`Stream`]: timeouts and the peer's address are its
/// socket's; `shutdown` sends TLS's `close_notify` before closing the
/// socket.
impl<C, D, S> Stream for StreamOwned<C, S>
where
    C: DerefMut + Deref<Target = ConnectionCommon<D>>,
    D: SideData,
    S: Stream,
{
    fn set_read_timeout(&mut self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        self.sock.set_write_timeout(timeout)
    }

    fn shutdown(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        // Best effort: the peer may be gone already.
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut self.sock).is_err() {
                break;
            }
        }
        let _ = self.sock.flush();
        self.sock.shutdown()
    }

    fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        self.sock.peer_addr()
    }
}
