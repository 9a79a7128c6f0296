//! The byte streams a WebSocket can run over.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// A byte stream a [`WebSocket`](crate::WebSocket) can run over: any
/// `Read + Write`, plus the socket controls the transport uses when the
/// stream has them. The provided methods do nothing, so an in-memory pipe
/// or a TLS stream needs only `impl Stream for MyStream {}`.
pub trait Stream: Read + Write {
    /// Set the timeout of each read (`None`: block for ever).
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }

    /// Set the timeout of each write.
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }

    /// Close the underlying connection in both directions.
    fn shutdown(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// The address of the peer, if the stream has one (`None` by
    /// default): what [`RequestView::peer_addr`](crate::RequestView::peer_addr)
    /// and [`OpenedWith::peer_addr`](crate::OpenedWith::peer_addr) report.
    fn peer_addr(&self) -> Option<SocketAddr> {
        None
    }
}

impl Stream for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout.map(at_least_a_microsecond))
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout.map(at_least_a_microsecond))
    }

    fn shutdown(&mut self) -> io::Result<()> {
        TcpStream::shutdown(self, Shutdown::Both)
    }

    fn peer_addr(&self) -> Option<SocketAddr> {
        TcpStream::peer_addr(self).ok()
    }
}

#[cfg(unix)]
impl Stream for std::os::unix::net::UnixStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout.map(at_least_a_microsecond))
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_write_timeout(self, timeout.map(at_least_a_microsecond))
    }

    fn shutdown(&mut self) -> io::Result<()> {
        std::os::unix::net::UnixStream::shutdown(self, Shutdown::Both)
    }
}

impl<S: Stream + ?Sized> Stream for Box<S> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }

    fn shutdown(&mut self) -> io::Result<()> {
        (**self).shutdown()
    }

    fn peer_addr(&self) -> Option<SocketAddr> {
        (**self).peer_addr()
    }
}

/// A stream that is TLS or not: what [`connect`](crate::connect) opens
/// (plain TCP for a `ws://` URL, TLS over TCP for `wss://`) and what a
/// [`WsServer`](crate::WsServer) accepts (TLS when it was given a
/// certificate). `S` is the socket underneath.
///
/// `#[non_exhaustive]`: a `match` needs a wildcard arm.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream<S: Read + Write = TcpStream> {
    /// No TLS: the socket itself.
    Plain(S),
    /// A TLS client over the socket (`wss://`; feature `tls`). Boxed: the
    /// TLS state is large and a plain connection should not carry its
    /// size.
    #[cfg(feature = "tls")]
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, S>>),
    /// A TLS server over the socket (feature `tls`).
    #[cfg(feature = "tls")]
    ServerTls(Box<rustls::StreamOwned<rustls::ServerConnection, S>>),
}

impl<S: Read + Write> MaybeTlsStream<S> {
    /// The socket underneath (for its addresses and options).
    pub fn get_ref(&self) -> &S {
        match self {
            MaybeTlsStream::Plain(socket) => socket,
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => &tls.sock,
            #[cfg(feature = "tls")]
            MaybeTlsStream::ServerTls(tls) => &tls.sock,
        }
    }

    /// Whether the stream is TLS.
    pub fn is_tls(&self) -> bool {
        !matches!(self, MaybeTlsStream::Plain(_))
    }

    /// The TLS connection's state (negotiated version and ALPN, the
    /// peer's certificates, the server name the client sent), if the
    /// stream is TLS (feature `tls`).
    #[cfg(feature = "tls")]
    pub fn tls(&self) -> Option<&rustls::CommonState> {
        match self {
            MaybeTlsStream::Plain(_) => None,
            MaybeTlsStream::Tls(tls) => Some(&tls.conn),
            MaybeTlsStream::ServerTls(tls) => Some(&tls.conn),
        }
    }
}

/// Forward a call to the plain or the TLS stream.
macro_rules! either {
    ($stream:expr, $inner:ident => $call:expr) => {
        match $stream {
            MaybeTlsStream::Plain($inner) => $call,
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls($inner) => $call,
            #[cfg(feature = "tls")]
            MaybeTlsStream::ServerTls($inner) => $call,
        }
    };
}

impl<S: Read + Write> Read for MaybeTlsStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        either!(self, stream => stream.read(buf))
    }
}

impl<S: Read + Write> Write for MaybeTlsStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        either!(self, stream => stream.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        either!(self, stream => stream.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        either!(self, stream => stream.flush())
    }
}

impl<S: Stream> Stream for MaybeTlsStream<S> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        either!(self, stream => Stream::set_read_timeout(stream, timeout))
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        either!(self, stream => Stream::set_write_timeout(stream, timeout))
    }

    fn shutdown(&mut self) -> io::Result<()> {
        either!(self, stream => Stream::shutdown(stream))
    }

    fn peer_addr(&self) -> Option<SocketAddr> {
        either!(self, stream => Stream::peer_addr(stream))
    }
}

/// std refuses a zero timeout; a deadline that has just passed becomes the
/// shortest one it accepts.
pub(crate) fn at_least_a_microsecond(timeout: Duration) -> Duration {
    timeout.max(Duration::from_micros(1))
}
