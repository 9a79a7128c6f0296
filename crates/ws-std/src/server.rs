//! The server: bind, accept with the upgrade handshake, echo, stop.

use std::collections::HashMap;
use std::io::{self, IoSlice, Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs,
};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use ws_proto::timer::{Deadline, TimerConfig, TimerEvent, Timers};
use ws_proto::{CloseCode, Frame};

use crate::clock;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::handshake::{handshake_deadline, upgrade_within};
use crate::request::RequestView;
use crate::stream::{at_least_a_microsecond, MaybeTlsStream, Stream};
use crate::websocket::WebSocket;
use crate::Accept;
use ws_proto::handshake::Refusal;

/// How long `run_echo` waits for its connections to close after `stop`.
const STOP_GRACE: Duration = Duration::from_millis(900);
/// The shortest wait of an echo connection for its next deadline, so that
/// one just missed does not make it spin.
const MIN_WAIT: Duration = Duration::from_millis(1);

/// State shared between a server and its stop handles.
#[derive(Debug)]
struct Shared {
    stopped: AtomicBool,
    active: AtomicUsize,
    /// Where to connect to wake a blocked `accept`.
    wake_addr: SocketAddr,
    /// The sockets of `run_echo`'s connections, so that `stop` can wake
    /// the threads blocked reading them. An echo thread sleeps until its
    /// next deadline (idle ping, pong timeout, read timeout) or for ever,
    /// without polling for `stop`.
    sockets: Mutex<Sockets>,
}

/// The open echo connections' sockets, by an id of their own.
#[derive(Debug, Default)]
struct Sockets {
    next_id: u64,
    open: HashMap<u64, Arc<TcpStream>>,
}

impl Shared {
    /// Mark the server stopped and wake its echo connections; true for
    /// the call that stopped it.
    fn stop(&self) -> bool {
        let first = !self.stopped.swap(true, Ordering::SeqCst);
        self.wake_connections();
        first
    }

    /// Shut the read side of every echo connection: a thread blocked
    /// reading sees the end of the stream, finds the server stopped, and
    /// sends its 1001.
    fn wake_connections(&self) {
        let sockets = self.sockets.lock().unwrap_or_else(PoisonError::into_inner);
        for socket in sockets.open.values() {
            let _ = socket.shutdown(Shutdown::Read);
        }
    }

    /// Keep `socket` where `stop` finds it; its id, to forget it by.
    fn register(&self, socket: &Arc<TcpStream>) -> u64 {
        let id = {
            let mut sockets = self.sockets.lock().unwrap_or_else(PoisonError::into_inner);
            let id = sockets.next_id;
            sockets.next_id += 1;
            sockets.open.insert(id, Arc::clone(socket));
            id
        };
        // A `stop` that went through the sockets before this one was added
        // had set `stopped` first: wake this connection ourselves.
        if self.stopped.load(Ordering::SeqCst) {
            let _ = socket.shutdown(Shutdown::Read);
        }
        id
    }

    fn forget(&self, id: u64) {
        let mut sockets = self.sockets.lock().unwrap_or_else(PoisonError::into_inner);
        sockets.open.remove(&id);
    }
}

/// An echo connection's socket, shared with [`Shared::sockets`].
#[derive(Debug)]
struct EchoSocket(Arc<TcpStream>);

impl Read for EchoSocket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
}

impl Write for EchoSocket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self.0).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self.0).flush()
    }
}

impl Stream for EchoSocket {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.0.set_read_timeout(timeout.map(at_least_a_microsecond))
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.0
            .set_write_timeout(timeout.map(at_least_a_microsecond))
    }

    fn shutdown(&mut self) -> io::Result<()> {
        self.0.shutdown(Shutdown::Both)
    }
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
        if self.shared.stop() {
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
    tls: ServerTls,
}

/// A server's TLS: its configuration, if it serves `wss://` (never
/// without the feature `tls`).
#[derive(Debug, Clone, Default)]
struct ServerTls {
    #[cfg(feature = "tls")]
    config: Option<Arc<rustls::ServerConfig>>,
}

impl ServerTls {
    /// The TLS handshake of an accepted socket, if there is TLS, within
    /// `deadline`.
    fn secure<S: Stream>(
        &self,
        socket: S,
        deadline: Option<Deadline>,
    ) -> Result<MaybeTlsStream<S>> {
        #[cfg(feature = "tls")]
        if let Some(config) = &self.config {
            return crate::tls::accept_within(socket, Arc::clone(config), deadline)
                .map(|tls| MaybeTlsStream::ServerTls(Box::new(tls)));
        }
        let _ = deadline;
        Ok(MaybeTlsStream::Plain(socket))
    }

    /// TLS (if any), then the upgrade, under one handshake deadline.
    fn upgrade<S, F>(
        &self,
        socket: S,
        config: &Config,
        decide: F,
    ) -> Result<WebSocket<MaybeTlsStream<S>>>
    where
        S: Stream,
        F: FnOnce(&RequestView<'_>) -> std::result::Result<Accept, Refusal>,
    {
        let deadline = handshake_deadline(config);
        let stream = self.secure(socket, deadline)?;
        upgrade_within(stream, &[], config, decide, deadline)
    }
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
                sockets: Mutex::default(),
            }),
            tls: ServerTls::default(),
        })
    }

    /// Serve `wss://`: every accepted connection runs the TLS handshake
    /// (within the handshake timeout, which covers the upgrade after it
    /// too) before the upgrade. Build `config` from PEM files with
    /// [`tls::server_config`](crate::tls::server_config). Feature `tls`.
    ///
    /// ```no_run
    /// let tls = ws_std::tls::server_config(
    ///     &std::fs::read("cert.pem")?,
    ///     &std::fs::read("key.pem")?,
    /// )?;
    /// let server = ws_std::WsServer::bind("127.0.0.1:9443")?.with_tls(tls);
    /// server.run_echo()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn with_tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls.config = Some(config);
        self
    }

    /// Whether the server serves `wss://`.
    pub fn is_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.config.is_some();
        #[cfg(not(feature = "tls"))]
        false
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
    /// next connection. To accept or refuse on the request's path, origin
    /// or credentials, use [`accept_with`](Self::accept_with).
    pub fn accept(&self) -> Result<WebSocket<MaybeTlsStream>> {
        self.accept_with(|_| Ok(Accept::new()))
    }

    /// [`accept`](Self::accept), with the application's say: `decide`
    /// sees the request ([`RequestView`], with the client's address) and
    /// accepts it (`Ok(`[`Accept`]`)`, optionally with a subprotocol and
    /// extra headers) or refuses it (`Err(`[`Refusal`]`)`: the HTTP error is
    /// sent, the connection closed, and this returns [`Error::Refused`]).
    /// See [`accept_with`](crate::accept_with) for everything that is sent
    /// and returned.
    ///
    /// ```no_run
    /// use ws_std::{Accept, Refusal, WsServer};
    ///
    /// let server = WsServer::bind("127.0.0.1:9001")?;
    /// let ws = server.accept_with(|request| {
    ///     if request.origin() != Some("https://example.com") {
    ///         return Err(Refusal::forbidden());
    ///     }
    ///     Ok(Accept::new())
    /// })?;
    /// # let _ = ws;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn accept_with<F>(&self, decide: F) -> Result<WebSocket<MaybeTlsStream>>
    where
        F: FnOnce(&RequestView<'_>) -> std::result::Result<Accept, Refusal>,
    {
        let stream = self.accept_tcp()?;
        self.tls.upgrade(stream, &self.config, decide)
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
    pub fn incoming(&self) -> impl Iterator<Item = Result<WebSocket<MaybeTlsStream>>> + '_ {
        std::iter::from_fn(move || match self.accept() {
            Err(_) if self.shared.stopped.load(Ordering::SeqCst) => None,
            other => Some(other),
        })
    }

    /// [`incoming`](Self::incoming), with `decide` called on each request
    /// as by [`accept_with`](Self::accept_with): the connections it
    /// accepts, and an error for each one refused ([`Error::Refused`], after
    /// the refusal was sent) or failed.
    ///
    /// ```no_run
    /// use ws_std::{Accept, Refusal, WsServer};
    ///
    /// let server = WsServer::bind("127.0.0.1:9001")?;
    /// let allowed = |request: &ws_std::RequestView<'_>| match request.path() {
    ///     "/echo" => Ok(Accept::new()),
    ///     _ => Err(Refusal::not_found()),
    /// };
    /// for ws in server.incoming_with(allowed) {
    ///     let Ok(mut ws) = ws else { continue };
    ///     std::thread::spawn(move || {
    ///         while let Ok(message) = ws.recv() {
    ///             if ws.send(&message).is_err() {
    ///                 break;
    ///             }
    ///         }
    ///     });
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn incoming_with<'s, F>(
        &'s self,
        mut decide: F,
    ) -> impl Iterator<Item = Result<WebSocket<MaybeTlsStream>>> + 's
    where
        F: FnMut(&RequestView<'_>) -> std::result::Result<Accept, Refusal> + 's,
    {
        std::iter::from_fn(move || match self.accept_with(&mut decide) {
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
    /// [`Config::message_timeout`] (or, when that is unset,
    /// [`Config::read_timeout`]) is closed with 1001 too. A
    /// write (an echo, a pong) that takes longer than
    /// [`Config::write_timeout`] drops the connection. Between messages a
    /// connection's thread sleeps until the next of these deadlines;
    /// `stop` wakes it by shutting down the read side of its socket.
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
        let mut guard = ActiveGuard {
            shared: Arc::clone(&self.shared),
            socket: None,
        };
        if active >= self.config.max_connections {
            let _ = stream.write_all(b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        // Registered before the handshake, so that `stop` also ends one
        // that is under way.
        let socket = Arc::new(stream);
        guard.socket = Some(self.shared.register(&socket));
        let config = self.config.clone();
        let tls = self.tls.clone();
        let shared = Arc::clone(&self.shared);
        let spawned = thread::Builder::new()
            .name("ws-echo".into())
            .spawn(move || {
                let _guard = guard;
                if let Ok(mut ws) = tls.upgrade(EchoSocket(socket), &config, |_| Ok(Accept::new()))
                {
                    echo(&mut ws, &shared);
                }
            });
        // Out of threads: the connection was dropped (closed) with the closure.
        drop(spawned);
    }

    fn wait_for_connections(&self, grace: Duration) {
        let deadline = Deadline::new(clock::now(), grace);
        while self.shared.active.load(Ordering::SeqCst) > 0 && !deadline.is_due(clock::now()) {
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
        // The listener closes with the server: no accept to wake, but the
        // echo connections still running are closed with 1001.
        self.shared.stopped.store(true, Ordering::SeqCst);
        self.shared.wake_connections();
    }
}

/// Counts a connection as active, and keeps its socket where `stop` finds
/// it, for as long as it lives.
struct ActiveGuard {
    shared: Arc<Shared>,
    /// The id of the socket in [`Shared::sockets`].
    socket: Option<u64>,
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        if let Some(id) = self.socket {
            self.shared.forget(id);
        }
        self.shared.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Echo messages until the peer closes, an error, `stop`, or a deadline
/// of the protocol core's [`Timers`]: an idle ping left unanswered, or no
/// message for `read_timeout`.
///
/// Between messages the thread sleeps in `recv` until the next deadline
/// ([`Timers::poll_timeout`], made the socket's read timeout), or for ever
/// when there is none: an idle connection costs no wake-ups. `stop` wakes
/// it by shutting the socket's read side.
fn echo(ws: &mut WebSocket<MaybeTlsStream<EchoSocket>>, shared: &Shared) {
    let now = clock::now();
    let mut timers = Timers::new_open(timer_config(ws.config()), now);
    // Bytes received by the last deadline: when the count moved, the
    // peer was heard from.
    let mut received = 0;
    let mut timeout = read_timeout(&timers, now);
    if ws.set_read_timeout(timeout).is_err() {
        return;
    }
    // A message whose bytes trickle in, each just before the read
    // timeout, still ends at the deadline.
    ws.set_receive_deadline(timers.deadline(now));
    loop {
        match ws.echo_next() {
            Ok(()) => {
                if shared.stopped.load(Ordering::SeqCst) {
                    let _ = ws.close_with(CloseCode::GOING_AWAY, "server shutting down");
                    return;
                }
                // No new read timeout: deadlines only move later with a
                // message, and the next read's wait, which starts now,
                // ends no earlier than before; when it ends the deadline
                // is checked and the wait set again.
                timers.on_message(clock::now());
            }
            // A read timed out: a deadline is due. (A write that timed out
            // closed the connection for sending: not open any more.)
            Err(err) if err.is_timeout() && ws.is_open() => {
                let now = clock::now();
                if shared.stopped.load(Ordering::SeqCst) {
                    let _ = ws.close_with(CloseCode::GOING_AWAY, "server shutting down");
                    return;
                }
                if ws.bytes_received() != received {
                    received = ws.bytes_received();
                    // Nothing arrived during the read that timed out,
                    // which began `timeout` ago: what arrived came before.
                    timers.on_receive(now.saturating_sub(timeout.unwrap_or_default()));
                }
                while let Some(event) = timers.handle_timeout(now) {
                    match event {
                        TimerEvent::SendPing => {
                            if ws.send_ping(b"").is_err() {
                                return;
                            }
                        }
                        // `close_with` waits for the peer's close itself,
                        // at most `close_timeout`.
                        TimerEvent::PeerSilent | TimerEvent::MessageTimedOut => {
                            let code = event.close_code().unwrap_or(CloseCode::GOING_AWAY);
                            let _ = ws.close_with(code, event.reason());
                            return;
                        }
                        TimerEvent::HandshakeTimedOut | TimerEvent::CloseTimedOut => return,
                    }
                }
                let next = read_timeout(&timers, now);
                if next != timeout {
                    if ws.set_read_timeout(next).is_err() {
                        return;
                    }
                    timeout = next;
                }
                // Messages moved the deadlines later since it was set; a
                // receive stopped by an earlier one comes back here.
                ws.set_receive_deadline(timers.deadline(now));
            }
            Err(Error::Io(err))
                if err.kind() == io::ErrorKind::UnexpectedEof
                    && shared.stopped.load(Ordering::SeqCst) =>
            {
                going_away_after_wake(ws);
                return;
            }
            Err(_) => return,
        }
    }
}

/// The core's timers as an echo connection runs them: the idle ping and
/// its pong deadline, and the message timeout (or, when it is unset,
/// [`Config::read_timeout`]) as the longest time between messages. The
/// handshake is over and `close_with` waits out the close deadline (the
/// core timers' too, taken when its close frame goes out), so
/// those two are not run.
fn timer_config(config: &Config) -> TimerConfig {
    let timers = config.session.timers;
    timers
        .handshake(None)
        .close(None)
        .message(timers.message.or(config.read_timeout))
}

/// How long the next read may wait at `now` (time since the connection's
/// origin): until the earliest deadline, at least [`MIN_WAIT`], or for
/// ever (`None`) when there is none.
fn read_timeout(timers: &Timers, now: Duration) -> Option<Duration> {
    let deadline = timers.deadline(now)?;
    Some(deadline.remaining(now).unwrap_or(MIN_WAIT).max(MIN_WAIT))
}

/// `stop` shut the socket's read side to wake this connection, and `recv`
/// saw the end of the stream, after which the connection counts itself
/// closed: write the 1001 close frame directly, then close the socket.
/// The write side is whole (a read is only made once everything queued
/// was written); the peer's close reply can no longer be read.
fn going_away_after_wake(ws: &mut WebSocket<MaybeTlsStream<EchoSocket>>) {
    if let Ok(frame) = Frame::close_with_reason(CloseCode::GOING_AWAY, "server shutting down") {
        let mut out = [0u8; 2 + 125];
        if let Some(len) = frame.encode(&mut out, None) {
            let socket = ws.get_mut();
            let _ = socket.set_write_timeout(Some(STOP_GRACE));
            let _ = socket.write_all(&out[..len]);
        }
    }
    let _ = ws.get_mut().shutdown();
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

    fn config(idle_ping: Option<u64>, pong_timeout: u64, read_timeout: Option<u64>) -> Config {
        Config::default()
            .idle_ping(idle_ping.map(Duration::from_secs))
            .pong_timeout(Some(Duration::from_secs(pong_timeout)))
            .read_timeout(read_timeout.map(Duration::from_secs))
    }

    fn open(config: &Config) -> Timers {
        Timers::new_open(timer_config(config), Duration::ZERO)
    }

    #[test]
    fn an_idle_connection_sleeps_until_its_ping_then_until_the_pong_deadline() {
        let secs = Duration::from_secs;
        let mut timers = open(&config(Some(60), 10, None));
        // One wait of 60 s, not a poll.
        assert_eq!(read_timeout(&timers, secs(0)), Some(secs(60)));
        assert_eq!(timers.handle_timeout(secs(60)), Some(TimerEvent::SendPing));
        assert_eq!(read_timeout(&timers, secs(60)), Some(secs(10)));
        assert_eq!(
            timers.handle_timeout(secs(70)),
            Some(TimerEvent::PeerSilent)
        );
        assert_eq!(
            TimerEvent::PeerSilent.close_code(),
            Some(CloseCode::GOING_AWAY)
        );
    }

    #[test]
    fn a_connection_without_deadlines_sleeps_until_something_arrives() {
        let timers = open(&config(None, 10, None));
        assert_eq!(read_timeout(&timers, Duration::ZERO), None);
    }

    #[test]
    fn the_read_timeout_is_the_longest_time_between_messages() {
        let secs = Duration::from_secs;
        let mut timers = open(&config(Some(60), 10, Some(30)));
        assert_eq!(read_timeout(&timers, secs(0)), Some(secs(30)));
        timers.on_message(secs(20));
        assert_eq!(read_timeout(&timers, secs(20)), Some(secs(30)));
        assert_eq!(
            timers.handle_timeout(secs(50)),
            Some(TimerEvent::MessageTimedOut)
        );
    }

    #[test]
    fn the_echo_loop_does_not_run_the_handshake_or_close_deadlines() {
        let timers = timer_config(&Config::default());
        assert_eq!(timers.handshake, None);
        assert_eq!(timers.close, None);
        assert_eq!(timers.idle_ping, Some(Duration::from_secs(60)));
        assert_eq!(timers.pong, Some(Duration::from_secs(10)));
    }

    #[test]
    fn a_deadline_just_missed_still_waits_a_little() {
        let timers = open(&config(Some(1), 10, None));
        assert_eq!(
            read_timeout(&timers, Duration::from_secs(2)),
            Some(MIN_WAIT)
        );
    }
}
