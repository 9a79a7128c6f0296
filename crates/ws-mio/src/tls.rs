//! `wss://` inside the loop (feature `tls`, on by default): rustls's
//! record layer between a connection's socket and the WebSocket bytes.
//!
//! ```no_run
//! use ws_mio::{Config, Echo, EventLoop};
//!
//! let cert = std::fs::read("cert.pem")?;
//! let key = std::fs::read("key.pem")?;
//! let tls = ws_mio::tls::server_config(&cert, &key)?;
//! let mut event_loop = EventLoop::new(Config::default(), Echo)?;
//! event_loop.listen("127.0.0.1:9002".parse()?)?; // ws://
//! event_loop.listen_tls("127.0.0.1:9443".parse()?, tls)?; // wss://
//! event_loop.run()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A connection with TLS holds its rustls connection in a box, so a
//! plain connection pays one pointer-sized `None`, checked once per read
//! and write. Reading pulls records with `read_tls`, decrypts them with
//! `process_new_packets` and hands the plaintext on; writing encrypts
//! with `writer().write` and sends with `write_tls`. The TLS handshake
//! happens on the way, within the connection's opening-handshake
//! deadline, since the WebSocket handshake cannot start before it ends.
//! The bytes rustls holds count towards the connection's outgoing queue
//! (backpressure, the stall timeout); a connection that ends sends TLS's
//! `close_notify` (after the WebSocket close, when there is one).
//!
//! The configuration (crypto provider, ALPN `http/1.1`, trusted roots,
//! certificates from PEM) is ws-proto's (`ws_proto::tls`), re-exported
//! here: [`server_config`] for a listener, [`client_config_trusting`]
//! or [`default_client_config`] for [`Config::tls`](crate::Config::tls).

use std::io::{self, Read, Write};

use mio::net::TcpStream;

#[cfg(feature = "tls")]
pub use ws_proto::tls::{
    client_config_trusting, default_client_config, rustls, server_config, ClientTls, TlsConfigError,
};

/// The TLS state of one connection: rustls's connection, and how many
/// bytes handed to it are not known to be on the wire yet (they count
/// towards the outgoing queue, for backpressure and the stall timeout).
#[cfg(feature = "tls")]
pub(crate) struct TlsLayer {
    conn: rustls::Connection,
    buffered: usize,
}

/// Without the feature `tls` there is no TLS connection: the type has no
/// value, and every use of it is unreachable.
#[cfg(not(feature = "tls"))]
pub(crate) enum TlsLayer {}

#[cfg(not(feature = "tls"))]
impl TlsLayer {
    pub(crate) fn read(&mut self, _: &mut TcpStream, _: &mut [u8]) -> io::Result<usize> {
        match *self {}
    }

    pub(crate) fn write(&mut self, _: &mut TcpStream, _: &[u8]) -> io::Result<usize> {
        match *self {}
    }

    pub(crate) fn flush(&mut self, _: &mut TcpStream) -> io::Result<()> {
        match *self {}
    }

    pub(crate) fn buffered(&self) -> usize {
        match *self {}
    }

    pub(crate) fn close_notify(&mut self, _: &mut TcpStream) {
        match *self {}
    }
}

#[cfg(feature = "tls")]
impl TlsLayer {
    /// A server connection's layer.
    pub(crate) fn server(config: &std::sync::Arc<rustls::ServerConfig>) -> io::Result<Box<Self>> {
        let conn = rustls::ServerConnection::new(std::sync::Arc::clone(config))
            .map_err(io::Error::other)?;
        Ok(Box::new(TlsLayer {
            conn: conn.into(),
            buffered: 0,
        }))
    }

    /// A client connection's layer for the server `host` (sent as SNI
    /// and checked against its certificate; an IP address is checked
    /// against the certificate's addresses).
    pub(crate) fn client(
        config: &std::sync::Arc<rustls::ClientConfig>,
        host: &str,
    ) -> Result<Box<Self>, crate::Error> {
        let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|err| {
            crate::Error::Url(format!("{host:?} is not a server name for TLS: {err}"))
        })?;
        let conn = rustls::ClientConnection::new(std::sync::Arc::clone(config), name)
            .map_err(crate::Error::Tls)?;
        Ok(Box::new(TlsLayer {
            conn: conn.into(),
            buffered: 0,
        }))
    }

    /// Plaintext into `buf`: what rustls holds, else records read from
    /// the socket and decrypted (handshake records are answered on the
    /// way). `Ok(0)`: the peer's `close_notify`; `WouldBlock`: the socket
    /// is drained and no plaintext is left; a TLS error (bad records, a
    /// ClientHello that is not one, a certificate refused) is
    /// `InvalidData` carrying the [`rustls::Error`], after the alert was
    /// sent if it could be.
    pub(crate) fn read(&mut self, sock: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                done => return done,
            }
            // Nothing decrypted is left: more records from the socket.
            // An end of stream is recorded by rustls, whose reader then
            // tells a clean close (`Ok(0)`) from a truncation.
            let got = self.conn.read_tls(sock)?;
            if let Err(err) = self.conn.process_new_packets() {
                // The alert rustls queued, if the socket takes it.
                let _ = self.send(sock);
                return Err(io::Error::new(io::ErrorKind::InvalidData, err));
            }
            // Handshake answers, key updates: out at once.
            match self.send(sock) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                other => other?,
            }
            if got == 0 {
                return match self.conn.reader().read(buf) {
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                        Err(io::ErrorKind::UnexpectedEof.into())
                    }
                    done => done,
                };
            }
        }
    }

    /// Encrypt what of `buf` rustls takes, and send what it can. Records
    /// it holds already go first, so its buffer stays bounded (rustls's
    /// buffer limit, 64 KiB by default, caps what it takes).
    pub(crate) fn write(&mut self, sock: &mut TcpStream, buf: &[u8]) -> io::Result<usize> {
        self.flush(sock)?;
        let taken = self.conn.writer().write(buf)?;
        self.buffered += taken;
        match self.flush(sock) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            other => other?,
        }
        if taken == 0 && !buf.is_empty() {
            // rustls is full (a client's request waiting for the end of
            // the handshake): the socket's next event resumes writing.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(taken)
    }

    /// Send every record rustls holds; `WouldBlock` if the socket does
    /// not take them all.
    pub(crate) fn flush(&mut self, sock: &mut TcpStream) -> io::Result<()> {
        while self.conn.wants_write() {
            self.send(sock)?;
        }
        self.buffered = 0;
        Ok(())
    }

    /// One `write_tls`.
    fn send(&mut self, sock: &mut TcpStream) -> io::Result<()> {
        if !self.conn.wants_write() {
            return Ok(());
        }
        let written = self.conn.write_tls(sock)?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        self.buffered = self.buffered.saturating_sub(written);
        Ok(())
    }

    /// Bytes handed to rustls and not yet written to the socket (about:
    /// record overhead aside).
    pub(crate) fn buffered(&self) -> usize {
        self.buffered
    }

    /// The connection ends: TLS's `close_notify`, if the socket takes it
    /// (best effort: the peer may be gone).
    pub(crate) fn close_notify(&mut self, sock: &mut TcpStream) {
        self.conn.send_close_notify();
        let _ = self.flush(sock);
    }
}

/// What a listener hands each connection it accepts: a server
/// configuration for `wss://`, or (without the feature `tls`) nothing.
#[cfg(feature = "tls")]
pub(crate) type ServerTls = std::sync::Arc<rustls::ServerConfig>;

/// Without the feature `tls` no listener has TLS.
#[cfg(not(feature = "tls"))]
#[derive(Debug, Clone)]
pub(crate) enum ServerTls {}

/// The layer of a connection accepted by a listener with `tls`.
pub(crate) fn accepted(tls: &ServerTls) -> io::Result<Box<TlsLayer>> {
    #[cfg(feature = "tls")]
    return TlsLayer::server(tls);
    #[cfg(not(feature = "tls"))]
    match *tls {}
}

/// An I/O error as the handler hears it: [`Error::Tls`](crate::Error::Tls)
/// when it carries a TLS error (a certificate refused, an alert).
pub(crate) fn error_of(err: io::Error) -> crate::Error {
    #[cfg(feature = "tls")]
    if let Some(tls) = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return crate::Error::Tls(tls.clone());
    }
    crate::Error::Io(err)
}

/// A socket read, through the TLS layer if there is one.
pub(crate) fn read(
    tls: &mut Option<Box<TlsLayer>>,
    sock: &mut TcpStream,
    buf: &mut [u8],
) -> io::Result<usize> {
    match tls {
        None => sock.read(buf),
        Some(tls) => tls.read(sock, buf),
    }
}

/// A socket write, through the TLS layer if there is one.
pub(crate) fn write(
    tls: &mut Option<Box<TlsLayer>>,
    sock: &mut TcpStream,
    buf: &[u8],
) -> io::Result<usize> {
    match tls {
        None => sock.write(buf),
        Some(tls) => tls.write(sock, buf),
    }
}
