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

/// std refuses a zero timeout; a deadline that has just passed becomes the
/// shortest one it accepts.
pub(crate) fn at_least_a_microsecond(timeout: Duration) -> Duration {
    timeout.max(Duration::from_micros(1))
}
