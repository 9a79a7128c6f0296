//! One thread's loop over `mio::Poll`: accepts, reads, dispatches to the
//! handler, writes, and keeps time.

use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use ws_proto::handshake::ServerHandshake;
use ws_proto::CloseCode;

use crate::config::Config;
use crate::conn::Phase;
use crate::core::{Core, HEADROOM};
use crate::dispatch::dispatch;
use crate::error::Error;
use crate::handler::Handler;
use crate::id::ConnectionId;
use crate::mailbox::PostOffice;

const WAKER: Token = Token(usize::MAX);
/// Listener `i` has token `LISTENER_BASE - i`.
const LISTENER_BASE: usize = usize::MAX - 1;
/// Reads from one connection per readiness event before the others get
/// their turn (the connection is queued to continue).
const READS_PER_TURN: usize = 16;
/// How soon an accept that failed for want of descriptors or memory is
/// tried again if no connection of this loop closes first (see
/// [`EventLoop::accept_all`]).
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// Accepts that may fail (other than for want of resources) in one round
/// of a listener before it waits for [`ACCEPT_RETRY`]: an error that is
/// not transient after all must not spin the loop.
const ACCEPT_ERRORS_PER_TURN: usize = 64;

/// A listening socket of the loop.
struct Listener {
    socket: TcpListener,
    /// Connections may be waiting that the last accept could not take
    /// (see [`EventLoop::accept_all`]): accept again when a connection of
    /// this loop closes, or at `EventLoop::accept_retry_at`.
    owed: bool,
}

/// Stops one or more event loops from any thread.
#[derive(Debug, Clone, Default)]
pub struct ShutdownHandle {
    inner: Arc<ShutdownInner>,
}

#[derive(Debug, Default)]
struct ShutdownInner {
    requested: AtomicBool,
    wakers: Mutex<Vec<Arc<Waker>>>,
}

impl ShutdownHandle {
    /// A handle not yet attached to a loop.
    pub fn new() -> Self {
        Self::default()
    }

    /// Ask every attached loop to shut down: each sends 1001 (going away)
    /// to its open connections, behind every message already queued for
    /// them (and the mail other loops posted to it), waits for them to
    /// close, and returns from `run`; see
    /// [`Config::close_timeout`](crate::Config::close_timeout) for how long.
    pub fn shutdown(&self) {
        self.inner.requested.store(true, Ordering::SeqCst);
        let wakers = self
            .inner
            .wakers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for waker in wakers.iter() {
            // A loop that already exited has no one to wake.
            let _ = waker.wake();
        }
    }

    /// True once `shutdown` was called.
    pub fn is_shutdown(&self) -> bool {
        self.inner.requested.load(Ordering::SeqCst)
    }

    fn attach(&self, waker: Arc<Waker>) {
        self.inner
            .wakers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(waker);
    }
}

/// A single-threaded event loop serving listeners and client connections
/// with one [`Handler`].
///
/// ```no_run
/// use ws_mio::{Config, Echo, EventLoop};
/// let mut event_loop = EventLoop::new(Config::default(), Echo)?;
/// event_loop.listen("127.0.0.1:9002".parse().unwrap())?;
/// event_loop.run()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct EventLoop<H: Handler> {
    poll: Poll,
    events: Events,
    /// The one receive buffer of the loop, with headroom at the front.
    rbuf: Box<[u8]>,
    handler: H,
    core: Core<H::Data>,
    listeners: Vec<Listener>,
    /// When to retry the accepts owed by listeners (see
    /// [`accept_all`](Self::accept_all)); `None` if none is owed.
    accept_retry_at: Option<Instant>,
    shutdown: ShutdownHandle,
    waker: Arc<Waker>,
    ready: Vec<(usize, bool, bool)>,
    /// Connections to read again this round (swapped with `core.again`).
    again: Vec<usize>,
    /// Set once shutdown began: the time the loop exits regardless.
    stop_deadline: Option<Instant>,
}

impl<H: Handler> EventLoop<H> {
    /// A loop with no listener yet.
    pub fn new(config: Config, handler: H) -> io::Result<Self> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let shutdown = ShutdownHandle::new();
        shutdown.attach(Arc::clone(&waker));
        let rbuf = vec![0u8; HEADROOM + config.read_buffer_size.max(4096)].into_boxed_slice();
        Ok(EventLoop {
            poll,
            events: Events::with_capacity(1024),
            rbuf,
            handler,
            core: Core::new(config, registry),
            listeners: Vec::new(),
            accept_retry_at: None,
            shutdown,
            waker,
            ready: Vec::new(),
            again: Vec::new(),
            stop_deadline: None,
        })
    }

    /// Attach this loop to a shared shutdown handle (as [`Server`](crate::Server)
    /// does for its loops).
    pub fn with_shutdown(self, handle: &ShutdownHandle) -> io::Result<Self> {
        // mio allows one waker per poll: the handle gets the loop's own.
        handle.attach(Arc::clone(&self.waker));
        Ok(EventLoop {
            shutdown: handle.clone(),
            ..self
        })
    }

    /// Be loop `home` of a server whose loops post to each other through
    /// `office`.
    pub(crate) fn join_office(&mut self, office: Arc<PostOffice>, home: u16) {
        office.attach(usize::from(home), Arc::clone(&self.waker));
        self.core.join_office(office, home);
    }

    /// A handle that stops this loop from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Listen on `addr`; returns the bound address (useful with port 0).
    pub fn listen(&mut self, addr: SocketAddr) -> io::Result<SocketAddr> {
        self.add_listener(crate::listener::reuseport_listener(addr)?)
    }

    /// Serve connections from a listener made elsewhere (for example with
    /// `SO_REUSEPORT`).
    pub fn add_listener(&mut self, listener: std::net::TcpListener) -> io::Result<SocketAddr> {
        listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(listener);
        let token = Token(LISTENER_BASE - self.listeners.len());
        self.poll
            .registry()
            .register(&mut listener, token, Interest::READABLE)?;
        let addr = listener.local_addr()?;
        self.listeners.push(Listener {
            socket: listener,
            owed: false,
        });
        Ok(addr)
    }

    /// Open a client connection to a `ws://` URL; the handler's `on_open`
    /// follows when the handshake completes, or exactly one `on_error` if
    /// it does not (see [`Handler::on_error`]). An error returned here is
    /// the only report of that attempt.
    pub fn connect(&mut self, url: &str) -> Result<ConnectionId, Error> {
        self.core.connect(url)
    }

    /// The handler.
    pub fn handler(&mut self) -> &mut H {
        &mut self.handler
    }

    /// Connections currently held (any phase).
    pub fn connection_count(&self) -> usize {
        self.core.conns.len()
    }

    /// Run until shut down (by a [`ShutdownHandle`] or a handler's
    /// [`Context::shutdown`](crate::Context::shutdown)).
    pub fn run(&mut self) -> io::Result<()> {
        while !self.is_finished() {
            self.turn(None)?;
        }
        self.drop_all();
        Ok(())
    }

    /// True once a shutdown has run its course: every connection closed,
    /// or `stall_timeout + close_timeout` passed since it began (see
    /// [`Config::close_timeout`](crate::Config::close_timeout)).
    /// [`run`](Self::run) returns then.
    pub fn is_finished(&self) -> bool {
        self.stop_deadline
            .is_some_and(|deadline| self.core.conns.is_empty() || Instant::now() >= deadline)
    }

    /// One round: wait for events (at most `timeout`, and never past the
    /// next timer check), handle them all, run the timers that are due,
    /// flush what was queued, and start a shutdown if one was asked for.
    /// For programs that drive the loop themselves instead of calling
    /// [`run`](Self::run).
    pub fn turn(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if self.core.stop_requested && !self.shutdown.is_shutdown() {
            // A handler's `Context::shutdown`: every loop of the server
            // stops, not only this one.
            self.shutdown.shutdown();
        }
        if self.stop_deadline.is_none() && (self.shutdown.is_shutdown() || self.core.stop_requested)
        {
            self.stop_deadline = Some(self.begin_shutdown());
        }
        if self.is_finished() {
            // Nothing left to wait for (and no deadline might wake the
            // poll).
            return Ok(());
        }
        let mut timeout = self.poll_timeout(timeout);
        if !self.core.again.is_empty() || self.core.has_mail() {
            timeout = Some(Duration::ZERO);
        }
        match self.poll.poll(&mut self.events, timeout) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => return Ok(()),
            other => other?,
        }
        self.core.turn_started = Instant::now();
        self.ready.clear();
        for event in self.events.iter() {
            let closed = event.is_read_closed() || event.is_error();
            let token = event.token().0;
            if closed {
                if let Some(conn) = self.core.conns.get_mut(token) {
                    conn.read_closed = true;
                }
            }
            let readable = event.is_readable() || closed;
            self.ready.push((token, readable, event.is_writable()));
        }
        for i in 0..self.ready.len() {
            let (token, readable, writable) = self.ready[i];
            match token {
                t if t == WAKER.0 => {}
                t if t > LISTENER_BASE - self.listeners.len() && t <= LISTENER_BASE => {
                    self.accept_all(LISTENER_BASE - t)
                }
                index => {
                    if writable {
                        self.core.flush(index);
                        self.dispatch();
                    }
                    if readable {
                        self.read(index);
                    }
                }
            }
        }
        // Swap rather than take, so neither list loses its capacity.
        std::mem::swap(&mut self.again, &mut self.core.again);
        for i in 0..self.again.len() {
            let index = self.again[i];
            self.read(index);
        }
        self.again.clear();
        // Sends and broadcasts from the server's other loops.
        self.core.deliver_mail();
        self.settle();
        // Only the connections (and handler timers) that are due.
        self.core.run_timers(Instant::now());
        self.settle();
        self.retry_owed_accepts();
        Ok(())
    }

    /// How long the poll may wait: until `timeout` at most, and never
    /// past the earliest deadline, an owed accept's retry or the end of a
    /// shutdown (`None`: until an event or a wake).
    fn poll_timeout(&mut self, timeout: Option<Duration>) -> Option<Duration> {
        let wake_at = [
            self.core.next_deadline(),
            self.accept_retry_at,
            self.stop_deadline,
        ]
        .into_iter()
        .flatten()
        .min();
        let until = wake_at.map(|at| at.saturating_duration_since(Instant::now()));
        match (timeout, until) {
            (Some(timeout), Some(until)) => Some(timeout.min(until)),
            (timeout, until) => timeout.or(until),
        }
    }

    /// Hand the handler what the last operation on the core queued for it.
    fn dispatch(&mut self) {
        dispatch(&mut self.handler, &mut self.core, &mut self.rbuf);
    }

    /// Deliver the queued events and write what they (and the operation
    /// before) queued, until neither has more: sends made by callbacks
    /// leave in the turn they were made.
    fn settle(&mut self) {
        loop {
            self.dispatch();
            if self.core.dirty.is_empty() {
                return;
            }
            self.core.flush_dirty();
        }
    }

    /// Accept every connection waiting on `listener`, until it would
    /// block.
    ///
    /// The listener is edge-triggered: its readiness is reported once for
    /// the connections waiting, and again only when another connects. So
    /// an accept that fails must not end the round with connections still
    /// waiting and nothing to come back for them:
    /// - Out of descriptors (`EMFILE`, `ENFILE`) or kernel memory
    ///   (`ENOBUFS`, `ENOMEM`): the waiting connections stay in the
    ///   kernel's backlog, and the listener is owed an accept. It is tried
    ///   again at the end of any turn in which a connection of this loop
    ///   closed (its descriptor is free now), and after [`ACCEPT_RETRY`]
    ///   in any case (a descriptor freed elsewhere in the process, by
    ///   another loop for one). They are not accepted only to be closed,
    ///   as a reserve descriptor would allow: they are served as soon as a
    ///   descriptor frees up, and the backlog bounds how many wait.
    /// - A connection that failed before it was accepted (`ECONNABORTED`,
    ///   `EPROTO`, `EPERM` and the network errors Linux passes on from
    ///   accept), or a signal (`EINTR`): only that attempt failed; accept
    ///   the next one at once.
    /// - More such failures in one round than [`ACCEPT_ERRORS_PER_TURN`]:
    ///   maybe an error that does not go away; the listener is owed an
    ///   accept, retried as above, rather than spinning the loop.
    fn accept_all(&mut self, listener: usize) {
        self.listeners[listener].owed = false;
        let mut failures = 0;
        loop {
            let stream = match self.listeners[listener].socket.accept() {
                Ok((stream, _)) => stream,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if out_of_resources(&err) => return self.owe_accept(listener),
                Err(_) if failures < ACCEPT_ERRORS_PER_TURN => {
                    failures += 1;
                    continue;
                }
                Err(_) => return self.owe_accept(listener),
            };
            if self.core.stop_requested || !self.core.take_slot() {
                drop(stream);
                continue;
            }
            let mut handshake =
                ServerHandshake::with_max_header_len(self.core.config.max_handshake_header);
            if let Some(compression) = self.core.config.compression {
                handshake.negotiate_deflate(compression.negotiation);
            }
            // A socket that cannot be registered is dropped (closed).
            let _ = self
                .core
                .insert_accepted(stream, Phase::ServerHandshake(handshake));
        }
    }

    /// The socket is readable: read until it would block (or its turn is
    /// over), feeding the handshake or the protocol core.
    fn read(&mut self, index: usize) {
        for _ in 0..READS_PER_TURN {
            let Some(conn) = self.core.conns.get_mut(index) else {
                return;
            };
            if conn.queued() >= self.core.config.high_water() {
                // Backpressure: resume when the queue drains.
                conn.read_paused = true;
                return;
            }
            let step = match conn.phase {
                Phase::ServerHandshake(_) | Phase::ClientHandshake(_) => self.read_handshake(index),
                Phase::Open => self.read_frames(index),
                Phase::Refused => self.discard(index),
            };
            // The handler hears of this read before the next one reuses
            // the read buffer its messages are in.
            self.dispatch();
            match step {
                Ok(more) => {
                    // Echoes of this read leave now, together (see
                    // `Core::flush_if_dirty`).
                    self.core.flush_if_dirty(index);
                    self.dispatch();
                    if !more {
                        return;
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => {
                    self.core.lost(index, err);
                    self.dispatch();
                    return;
                }
            }
        }
        // Turn over with data maybe left: continue after the others.
        self.core.again.push(index);
    }

    /// Read frames into the shared buffer after the unconsumed start of a
    /// frame kept from the last read. Ok(true): keep reading; Ok(false):
    /// the socket is drained (see [`may_have_more`]) or the connection is
    /// gone.
    fn read_frames(&mut self, index: usize) -> io::Result<bool> {
        let conn = &mut self.core.conns[index];
        let kept = conn.inbuf.len();
        if kept > HEADROOM {
            // Cannot happen: the core consumes all but a header or a
            // control frame. Treat it as a broken connection, not a panic.
            return Err(io::Error::other(
                "unconsumed input larger than a control frame",
            ));
        }
        let read = conn.stream.read(&mut self.rbuf[HEADROOM..])?;
        if read == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let start = HEADROOM - kept;
        self.rbuf[start..HEADROOM].copy_from_slice(&conn.inbuf);
        conn.inbuf.clear();
        let inbuf = std::mem::take(&mut conn.inbuf);
        self.core.pool.give(inbuf);
        let more = conn.read_closed || may_have_more(read, self.rbuf.len() - HEADROOM);
        self.core.heard_from(index);
        self.core
            .process(&mut self.rbuf, index, start, HEADROOM + read);
        Ok(more)
    }

    /// Read handshake bytes; once the head is complete, open the
    /// connection and pass on any frames that came with it.
    fn read_handshake(&mut self, index: usize) -> io::Result<bool> {
        let read = self
            .core
            .read_handshake_bytes(index, &mut self.rbuf[HEADROOM..])?;
        if read == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.core.heard_from(index);
        // A complete head queues `on_open`, which handles the frames that
        // came with it (see `dispatch`).
        match self.core.conns[index].phase {
            Phase::ServerHandshake(_) => self.core.finish_server_handshake(index),
            _ => self.core.finish_client_handshake(index),
        }
        Ok(true)
    }

    /// After a refusal, read and drop whatever the client still sends.
    fn discard(&mut self, index: usize) -> io::Result<bool> {
        let read = self.core.conns[index]
            .stream
            .read(&mut self.rbuf[HEADROOM..])?;
        Ok(read > 0)
    }

    /// Remember that `listener` has connections waiting that it could not
    /// accept, and when to try again at the latest.
    fn owe_accept(&mut self, listener: usize) {
        self.listeners[listener].owed = true;
        let retry_at = Instant::now() + ACCEPT_RETRY;
        self.accept_retry_at = Some(self.accept_retry_at.map_or(retry_at, |at| at.min(retry_at)));
    }

    /// Accept again on the listeners that are owed an accept, if a
    /// connection of this loop closed this turn or the retry time came.
    fn retry_owed_accepts(&mut self) {
        let freed = std::mem::take(&mut self.core.descriptor_freed);
        let Some(retry_at) = self.accept_retry_at else {
            return;
        };
        if !freed && Instant::now() < retry_at {
            return;
        }
        self.accept_retry_at = None;
        for listener in 0..self.listeners.len() {
            if self.listeners[listener].owed {
                self.accept_all(listener);
            }
        }
    }

    /// Stop accepting and say goodbye (1001) to every open connection.
    /// Returns the time by which the loop exits regardless.
    fn begin_shutdown(&mut self) -> Instant {
        self.core.stop_requested = true;
        // What other loops posted before the shutdown goes ahead of the
        // 1001.
        self.core.deliver_mail();
        self.dispatch();
        self.core.shutting_down = true;
        self.accept_retry_at = None;
        for mut listener in self.listeners.drain(..) {
            let _ = self.poll.registry().deregister(&mut listener.socket);
        }
        let indices: Vec<usize> = self.core.conns.iter().map(|(index, _)| index).collect();
        for index in indices {
            let conn = &self.core.conns[index];
            match conn.phase {
                Phase::Open if conn.proto.is_open() => {
                    // Already closing or failed otherwise: nothing to add.
                    let _ = self.core.start_close_after_queue(
                        index,
                        CloseCode::GOING_AWAY,
                        "server shutting down",
                    );
                }
                Phase::Open => {}
                _ => {
                    // A client still in its handshake hears why it ends.
                    let aborted = io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "the event loop shut down during the opening handshake",
                    );
                    self.core.report_failed_connect(index, Error::Io(aborted));
                    self.core.remove(index);
                }
            }
        }
        self.settle();
        let config = &self.core.config;
        Instant::now() + config.stall_timeout + config.close_timeout
    }

    fn drop_all(&mut self) {
        let indices: Vec<usize> = self.core.conns.iter().map(|(index, _)| index).collect();
        for index in indices {
            self.core.remove(index);
        }
        self.dispatch();
    }
}

/// Whether an accept failed for want of descriptors or kernel memory:
/// waiting helps, retrying at once does not.
#[cfg(unix)]
fn out_of_resources(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Whether an accept failed for want of descriptors or kernel memory
/// (elsewhere, other such errors take the [`ACCEPT_ERRORS_PER_TURN`] path).
#[cfg(not(unix))]
fn out_of_resources(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::OutOfMemory
}

/// Whether a socket that gave `read` bytes to a read of `asked` bytes may
/// hold more data. On Linux a short read from a stream socket means its
/// receive queue was emptied, and data arriving later raises a new
/// edge-triggered event (epoll(7) says so for stream sockets), so the read
/// that would only return `WouldBlock` is skipped: one system call less
/// per message at one message in flight. An end of stream already
/// signalled raises no new event, so the caller keeps reading when the
/// event said so (`Conn::read_closed`). Elsewhere mio's rule holds: read
/// until `WouldBlock`.
fn may_have_more(read: usize, asked: usize) -> bool {
    !cfg!(target_os = "linux") || read == asked
}
