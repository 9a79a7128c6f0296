//! A plain TCP echo server on one `mio` thread: no handshake, no framing,
//! every byte read is written straight back. It is the physical limit of
//! the machine for a given load: what any WebSocket server does on top of
//! this (parsing, unmasking, re-framing) can only cost.
//!
//! Edge-triggered; each connection keeps the bytes the socket would not
//! take and reads nothing more until they are written, so memory stays
//! bounded by the read buffer per connection whatever the client does.
//! On Linux a short read ends the reading, as in `ws-mio`: epoll(7) raises
//! a new edge for later data, so the read that would only say `WouldBlock`
//! is not made (see `net::may_have_more`).

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use crate::net;

/// The listener's token; connection `i` has token `i + 1`.
const LISTENER: Token = Token(0);
/// Size of the read buffer shared by all connections.
const READ_BUFFER: usize = 64 * 1024;
/// Reads per readiness event before the connection yields to others.
const MAX_READS_PER_EVENT: usize = 64;
/// Accepts per readiness event of the listener.
const MAX_ACCEPTS_PER_EVENT: usize = 1024;
/// Longest sleep in the poll, so that the stop flag is noticed.
const TICK: Duration = Duration::from_millis(100);

/// One accepted connection.
struct Conn {
    stream: TcpStream,
    /// Bytes read but not yet written back.
    pending: Vec<u8>,
    /// An event signalled the end of stream or an error, which raises no
    /// new edge: read until `WouldBlock` or the end, even after a short
    /// read.
    read_closed: bool,
}

/// What a connection wants after being served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Wait,
    Again,
    Drop,
}

/// The raw echo server.
pub struct RawEchoServer {
    poll: Poll,
    listener: TcpListener,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    rbuf: Vec<u8>,
    max_conns: usize,
    accepted: usize,
}

impl std::fmt::Debug for RawEchoServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawEchoServer")
            .field("addr", &self.listener.local_addr().ok())
            .field("accepted", &self.accepted)
            .finish_non_exhaustive()
    }
}

impl RawEchoServer {
    /// Listen on `addr`; at most `max_conns` connections are ever accepted.
    pub fn bind(addr: SocketAddr, max_conns: usize) -> io::Result<RawEchoServer> {
        let mut listener = TcpListener::bind(addr)?;
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok(RawEchoServer {
            poll,
            listener,
            conns: Vec::new(),
            free: Vec::new(),
            rbuf: vec![0; READ_BUFFER],
            max_conns,
            accepted: 0,
        })
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve until `stop` is set or `deadline` passes.
    pub fn run(&mut self, stop: &AtomicBool, deadline: Instant) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut again: Vec<usize> = Vec::new();
        // Bounded by the deadline: every turn waits at most TICK, or
        // handles connections that had more to read.
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let wait = if again.is_empty() {
                (deadline - now).min(TICK)
            } else {
                Duration::ZERO
            };
            match self.poll.poll(&mut events, Some(wait)) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
            for idx in std::mem::take(&mut again) {
                self.serve(idx, false, &mut again);
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept()?,
                    Token(t) => self.serve(t - 1, net::end_signalled(event), &mut again),
                }
            }
        }
        Ok(())
    }

    fn accept(&mut self) -> io::Result<()> {
        for _ in 0..MAX_ACCEPTS_PER_EVENT {
            if self.accepted >= self.max_conns {
                return Ok(());
            }
            let (mut stream, _) = match self.listener.accept() {
                Ok(pair) => pair,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                // Out of descriptors, a connection reset before accept...:
                // skip it, keep serving the others.
                Err(err) => {
                    eprintln!("raw-tcp-echo: accept: {err}");
                    return Ok(());
                }
            };
            self.accepted += 1;
            let _ = stream.set_nodelay(true);
            let idx = self.free.pop().unwrap_or(self.conns.len());
            let interest = Interest::READABLE | Interest::WRITABLE;
            if self
                .poll
                .registry()
                .register(&mut stream, Token(idx + 1), interest)
                .is_err()
            {
                self.free.push(idx);
                continue;
            }
            let conn = Conn {
                stream,
                pending: Vec::new(),
                read_closed: false,
            };
            if idx == self.conns.len() {
                self.conns.push(Some(conn));
            } else {
                self.conns[idx] = Some(conn);
            }
        }
        Ok(())
    }

    /// Serve connection `idx`; `end_signalled`: its event said end of
    /// stream or error.
    fn serve(&mut self, idx: usize, end_signalled: bool, again: &mut Vec<usize>) {
        let Some(conn) = self.conns.get_mut(idx).and_then(Option::as_mut) else {
            return;
        };
        conn.read_closed |= end_signalled;
        match echo(conn, &mut self.rbuf) {
            Next::Wait => {}
            Next::Again => again.push(idx),
            Next::Drop => {
                if let Some(mut conn) = self.conns[idx].take() {
                    let _ = self.poll.registry().deregister(&mut conn.stream);
                }
                self.free.push(idx);
            }
        }
    }
}

/// Write what is pending, then read and echo until the socket is drained
/// (a short read on Linux, else `WouldBlock`; see [`net::may_have_more`])
/// or the per-event cap.
fn echo(conn: &mut Conn, rbuf: &mut [u8]) -> Next {
    if !conn.pending.is_empty() {
        match write_some(&mut conn.stream, &conn.pending) {
            Ok(n) if n == conn.pending.len() => conn.pending.clear(),
            Ok(n) => {
                conn.pending.drain(..n);
                return Next::Wait;
            }
            Err(_) => return Next::Drop,
        }
    }
    for _ in 0..MAX_READS_PER_EVENT {
        let n = match conn.stream.read(rbuf) {
            Ok(0) => return Next::Drop,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Next::Wait,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Next::Drop,
        };
        match write_some(&mut conn.stream, &rbuf[..n]) {
            Ok(written) if written == n => {}
            Ok(written) => {
                // Wait for writability before reading more.
                conn.pending.extend_from_slice(&rbuf[written..n]);
                return Next::Wait;
            }
            Err(_) => return Next::Drop,
        }
        if !net::may_have_more(n, rbuf.len(), conn.read_closed) {
            return Next::Wait;
        }
    }
    Next::Again
}

/// Write as much of `data` as the socket takes now.
fn write_some(stream: &mut TcpStream, data: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    // Each successful write advances; at most one pass per byte.
    for _ in 0..=data.len() {
        if written == data.len() {
            break;
        }
        match stream.write(&data[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Run the server on a thread for at most 20 s; set the flag to stop it.
    fn run_in_background(
        mut server: RawEchoServer,
    ) -> (Arc<AtomicBool>, std::thread::JoinHandle<()>) {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            server
                .run(&flag, Instant::now() + Duration::from_secs(20))
                .unwrap()
        });
        (stop, handle)
    }

    #[test]
    fn echoes_bytes_back() {
        let server = RawEchoServer::bind("127.0.0.1:0".parse().unwrap(), 10).unwrap();
        let addr = server.local_addr().unwrap();
        let (stop, handle) = run_in_background(server);
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        // More than the socket buffers hold, written from another thread,
        // so that the server has to keep pending bytes.
        let data: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut writer = client.try_clone().unwrap();
        let sent = data.clone();
        let w = std::thread::spawn(move || writer.write_all(&sent).unwrap());
        let mut back = vec![0u8; data.len()];
        client.read_exact(&mut back).unwrap();
        w.join().unwrap();
        assert!(back == data);
        stop.store(true, Ordering::Relaxed);
        handle.join().unwrap();
    }

    /// A client that sends and then shuts down its side gets the echo and
    /// then the server's close. The bytes and the end of stream are both
    /// queued before the server first polls, so one event says readable
    /// and read-closed: after the short read of the bytes, only the end
    /// signalled by that event makes the server read on to the end (no
    /// new edge comes for it).
    #[test]
    fn sees_the_close_that_came_with_the_data() {
        let server = RawEchoServer::bind("127.0.0.1:0".parse().unwrap(), 10).unwrap();
        let addr = server.local_addr().unwrap();
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        client.write_all(b"hello, then goodbye").unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        let (stop, handle) = run_in_background(server);
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut back = Vec::new();
        // Ends at the server's close; a timeout fails the test.
        client.read_to_end(&mut back).unwrap();
        assert_eq!(back, b"hello, then goodbye");
        stop.store(true, Ordering::Relaxed);
        handle.join().unwrap();
    }
}
