//! The server: bind, accept with the upgrade handshake, echo, stop.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use ws_proto::message::Message;
use ws_proto::{CloseCode, Frame};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::handshake::accept;
use crate::websocket::WebSocket;

/// How often an echo connection waiting for data checks for `stop`.
const STOP_POLL: Duration = Duration::from_millis(100);
/// How long `run_echo` waits for its connections to close after `stop`.
const STOP_GRACE: Duration = Duration::from_millis(900);

/// State shared between a server and its stop handles.
#[derive(Debug)]
struct Shared {
    stopped: AtomicBool,
    active: AtomicUsize,
    /// Where to connect to wake a blocked `accept`.
    wake_addr: SocketAddr,
}

/// Stops a [`WsServer`] from any thread (Vais `WsServer::stop`).
#[derive(Debug, Clone)]
pub struct StopHandle {
    shared: Arc<Shared>,
}

impl StopHandle {
    /// Stop the server: `run_echo` and `incoming` return, open echo
    /// connections are closed with 1001 (going away).
    pub fn stop(&self) {
        if !self.shared.stopped.swap(true, Ordering::SeqCst) {
            // Wake the accept call blocked in another thread.
            let _ = TcpStream::connect_timeout(&self.shared.wake_addr, Duration::from_secs(1));
        }
    }

    /// True once `stop` has been called.
    pub fn is_stopped(&self) -> bool {
        self.shared.stopped.load(Ordering::SeqCst)
    }
}

/// A WebSocket server on a TCP listener (the Vais `WsServer`).
///
/// ```no_run
/// let server = ws_std::WsServer::bind("127.0.0.1:9001")?;
/// let stop = server.stop_handle();
/// std::thread::spawn(move || {
///     std::thread::sleep(std::time::Duration::from_secs(60));
///     stop.stop();
/// });
/// server.run_echo()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct WsServer {
    listener: TcpListener,
    config: Config,
    shared: Arc<Shared>,
}

/// Bind a server on every interface at `port` (Vais `ws_server`); port 0
/// picks a free one. Use [`WsServer::bind`] to choose the address.
pub fn ws_server(port: u16) -> io::Result<WsServer> {
    WsServer::bind((Ipv4Addr::UNSPECIFIED, port))
}

impl WsServer {
    /// Bind to `addr` with the default [`Config`] (Vais `WsServer::bind`;
    /// an `Err` stands for Vais `is_valid` returning false).
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<WsServer> {
        WsServer::bind_with_config(addr, Config::default())
    }

    /// Bind to `addr` with a configuration. The accept queue holds 1024
    /// connections, so a burst of clients is not dropped (and made to wait
    /// for a retry) while threads are being started.
    pub fn bind_with_config(addr: impl ToSocketAddrs, config: Config) -> io::Result<WsServer> {
        let listener = listen(addr)?;
        let wake_addr = reachable(listener.local_addr()?);
        Ok(WsServer {
            listener,
            config,
            shared: Arc::new(Shared {
                stopped: AtomicBool::new(false),
                active: AtomicUsize::new(0),
                wake_addr,
            }),
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The configuration given to every connection.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A handle that stops the server from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Stop the server (Vais `stop`); see [`StopHandle::stop`].
    pub fn stop(&self) {
        self.stop_handle().stop();
    }

    /// Accept the next connection and perform the upgrade handshake in
    /// this thread (Vais `accept`). A refused handshake returns
    /// [`Error::Handshake`] after the refusal was sent; call again for the
    /// next connection.
    pub fn accept(&self) -> Result<WebSocket<TcpStream>> {
        let stream = self.accept_tcp()?;
        accept(stream, &self.config)
    }

    /// Accept a TCP connection, unless the server is stopped.
    fn accept_tcp(&self) -> Result<TcpStream> {
        loop {
            let accepted = self.listener.accept();
            if self.shared.stopped.load(Ordering::SeqCst) {
                return Err(Error::Io(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "server stopped",
                )));
            }
            match accepted {
                Ok((stream, _)) => {
                    stream.set_nodelay(true)?;
                    return Ok(stream);
                }
                // A connection reset before we accepted it: take the next.
                Err(err) if is_transient(&err) => continue,
                Err(err) => return Err(Error::Io(err)),
            }
        }
    }

    /// Upgraded connections, one per accepted socket, until the server is
    /// stopped. Refused handshakes come through as errors.
    pub fn incoming(&self) -> impl Iterator<Item = Result<WebSocket<TcpStream>>> + '_ {
        std::iter::from_fn(move || match self.accept() {
            Err(_) if self.shared.stopped.load(Ordering::SeqCst) => None,
            other => Some(other),
        })
    }

    /// Serve every connection concurrently, a thread each (at most
    /// [`Config::max_connections`]; more are refused with HTTP 503),
    /// echoing text and binary messages, until [`stop`](Self::stop) (Vais
    /// `run_echo`). Returns within about a second of `stop`, after the open
    /// connections were sent 1001.
    ///
    /// A connection from which nothing arrived for [`Config::idle_ping`] is
    /// pinged, and closed with 1001 when nothing arrives within
    /// [`Config::pong_timeout`] after that; one that sent no message for
    /// [`Config::read_timeout`] (when set) is closed with 1001 too.
    pub fn run_echo(&self) -> io::Result<()> {
        loop {
            let stream = match self.accept_tcp() {
                Ok(stream) => stream,
                Err(_) if self.shared.stopped.load(Ordering::SeqCst) => break,
                Err(Error::Io(err)) if is_out_of_resources(&err) => {
                    // Too many open files: back off instead of spinning.
                    thread::sleep(Duration::from_millis(50));
                    continue;
                }
                Err(Error::Io(err)) => return Err(err),
                Err(_) => continue,
            };
            self.spawn_echo(stream);
        }
        self.wait_for_connections(STOP_GRACE);
        Ok(())
    }

    fn spawn_echo(&self, mut stream: TcpStream) {
        let active = self.shared.active.fetch_add(1, Ordering::SeqCst);
        let guard = ActiveGuard(Arc::clone(&self.shared));
        if active >= self.config.max_connections {
            let _ = stream.write_all(b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        let config = self.config.clone();
        let shared = Arc::clone(&self.shared);
        let spawned = thread::Builder::new()
            .name("ws-echo".into())
            .spawn(move || {
                let _guard = guard;
                if let Ok(mut ws) = accept(stream, &config) {
                    echo(&mut ws, &shared);
                }
            });
        // Out of threads: the connection was dropped (closed) with the closure.
        drop(spawned);
    }

    fn wait_for_connections(&self, grace: Duration) {
        let deadline = Instant::now() + grace;
        while self.shared.active.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Close the listener (Vais `close`); dropping the server does the same.
    pub fn close(self) {
        self.stop();
    }
}

impl Drop for WsServer {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
    }
}

/// Counts a connection as active for as long as it lives.
struct ActiveGuard(Arc<Shared>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Echo messages until the peer closes, an error, `stop`, the peer's
/// silence (`read_timeout`), or an idle ping left unanswered.
fn echo(ws: &mut WebSocket<TcpStream>, shared: &Shared) {
    let user_timeout = ws.config().read_timeout;
    let mut idle_since = Instant::now();
    // A message came since the last poll timeout. Cheaper than reading the
    // clock per message; idleness is then measured from the first quiet
    // poll period, at most STOP_POLL late.
    let mut heard = false;
    let mut keepalive = Keepalive::new(ws.config(), Instant::now());
    if ws.set_read_timeout(Some(STOP_POLL)).is_err() {
        return;
    }
    loop {
        match ws.recv() {
            Ok(message) => {
                if echo_message(ws, &message).is_err() {
                    return;
                }
                heard = true;
            }
            Err(err) if err.is_timeout() => {
                if std::mem::take(&mut heard) {
                    idle_since = Instant::now();
                }
                let idle_too_long = user_timeout.is_some_and(|limit| idle_since.elapsed() >= limit);
                if shared.stopped.load(Ordering::SeqCst) {
                    let _ = ws.close_with(CloseCode::GOING_AWAY, "server shutting down");
                    return;
                }
                if idle_too_long {
                    let _ = ws.close_with(CloseCode::GOING_AWAY, "idle timeout");
                    return;
                }
                match keepalive.check(ws.bytes_received(), Instant::now()) {
                    Due::Nothing => {}
                    Due::Ping => {
                        if ws.send_ping(b"").is_err() {
                            return;
                        }
                    }
                    Due::Drop => {
                        let _ = ws.close_with(CloseCode::GOING_AWAY, "pong timeout");
                        return;
                    }
                }
            }
            Err(_) => return,
        }
    }
}

/// What [`Keepalive::check`] says is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    Nothing,
    /// Send a ping: nothing arrived for `idle_ping`.
    Ping,
    /// Close the connection: nothing arrived within `pong_timeout` of the
    /// ping.
    Drop,
}

/// The echo server's idle ping ([`Config::idle_ping`],
/// [`Config::pong_timeout`]), on the time it is given: anything received
/// (a message, a pong, a ping) counts as a sign of life.
#[derive(Debug)]
struct Keepalive {
    idle_ping: Option<Duration>,
    pong_timeout: Duration,
    /// Bytes received at the last check.
    received: u64,
    /// Since when nothing has arrived.
    quiet_since: Instant,
    /// When the ping that is still unanswered went out.
    pinged_at: Option<Instant>,
}

impl Keepalive {
    fn new(config: &Config, now: Instant) -> Keepalive {
        Keepalive {
            idle_ping: config.idle_ping,
            pong_timeout: config.pong_timeout,
            received: 0,
            quiet_since: now,
            pinged_at: None,
        }
    }

    /// What is due at `now`, `received` being the count of bytes received
    /// so far. `Ping` is said once per quiet period.
    fn check(&mut self, received: u64, now: Instant) -> Due {
        if received != self.received {
            self.received = received;
            self.quiet_since = now;
            self.pinged_at = None;
        }
        let Some(idle_ping) = self.idle_ping else {
            return Due::Nothing;
        };
        match self.pinged_at {
            Some(pinged) if now.saturating_duration_since(pinged) >= self.pong_timeout => Due::Drop,
            Some(_) => Due::Nothing,
            None if now.saturating_duration_since(self.quiet_since) >= idle_ping => {
                self.pinged_at = Some(now);
                Due::Ping
            }
            None => Due::Nothing,
        }
    }
}

/// Bind the first address `addr` resolves to, with a backlog of 1024 (the
/// standard library's `TcpListener::bind` uses 128).
fn listen(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
    let mut last_error = None;
    for addr in addr.to_socket_addrs()? {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        match socket.bind(&addr.into()).and_then(|()| socket.listen(1024)) {
            Ok(()) => return Ok(socket.into()),
            Err(err) => last_error = Some(err),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "address resolves to nothing")
    }))
}

/// Echo one message. Small ones are batched: every echo of the messages
/// that one read brought in leaves in a single write, made before the next
/// read (see [`WebSocket::feed`]).
fn echo_message(ws: &mut WebSocket<TcpStream>, message: &Message) -> crate::Result<()> {
    const BATCHED: usize = 1024;
    let len = message.as_bytes().len();
    let compressed =
        ws.compression().is_some() && ws.config().compression.is_some_and(|c| len >= c.threshold);
    if len > BATCHED || compressed {
        return ws.send(message).map(drop);
    }
    let frame = match message {
        Message::Text(text) => Frame::text(text),
        Message::Binary(data) => Frame::binary(data),
    };
    ws.feed(&frame)
}

/// The address to connect to in order to reach a listener bound to `addr`
/// (an unspecified address is reached through loopback).
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    }
}

fn is_transient(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

fn is_out_of_resources(err: &io::Error) -> bool {
    // EMFILE / ENFILE.
    matches!(err.raw_os_error(), Some(23 | 24))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keepalive(idle_ping: Option<u64>, pong_timeout: u64, start: Instant) -> Keepalive {
        let config = Config {
            idle_ping: idle_ping.map(Duration::from_secs),
            pong_timeout: Duration::from_secs(pong_timeout),
            ..Config::default()
        };
        Keepalive::new(&config, start)
    }

    #[test]
    fn keepalive_pings_once_after_the_idle_time_then_drops_after_the_pong_timeout() {
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        let mut keepalive = keepalive(Some(10), 3, start);
        assert_eq!(keepalive.check(0, at(9)), Due::Nothing);
        assert_eq!(keepalive.check(0, at(10)), Due::Ping);
        assert_eq!(keepalive.check(0, at(12)), Due::Nothing);
        assert_eq!(keepalive.check(0, at(13)), Due::Drop);
    }

    #[test]
    fn keepalive_counts_anything_received_as_the_answer_and_restarts_the_idle_time() {
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        let mut keepalive = keepalive(Some(10), 3, start);
        assert_eq!(keepalive.check(0, at(10)), Due::Ping);
        // The pong (6 bytes) arrived: no drop, and the next ping is due
        // 10 s after it.
        assert_eq!(keepalive.check(6, at(11)), Due::Nothing);
        assert_eq!(keepalive.check(6, at(20)), Due::Nothing);
        assert_eq!(keepalive.check(6, at(21)), Due::Ping);
    }

    #[test]
    fn keepalive_off_never_pings_nor_drops() {
        let start = Instant::now();
        let mut keepalive = keepalive(None, 1, start);
        for secs in [0, 60, 3600, 86_400] {
            assert_eq!(
                keepalive.check(0, start + Duration::from_secs(secs)),
                Due::Nothing
            );
        }
    }
}
