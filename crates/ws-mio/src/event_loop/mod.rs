//! One thread's loop over `mio::Poll`: accepts, reads, dispatches to the
//! handler, writes, and keeps time.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use ws_proto::CloseCode;

use crate::config::Config;
use crate::conn::Phase;
use crate::core::{Core, HEADROOM};
use crate::dispatch::dispatch;
use crate::error::Error;
use crate::handler::Handler;
use crate::id::ConnectionId;
use crate::mailbox::PostOffice;
use crate::shutdown::ShutdownHandle;
#[cfg(feature = "tls")]
use crate::tls::rustls;
use accept::Listener;

mod accept;
mod read;

const WAKER: Token = Token(usize::MAX);
/// Listener `i` has token `LISTENER_BASE - i`.
const LISTENER_BASE: usize = usize::MAX - 1;

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
    /// Set once shutdown began.
    stopping: bool,
    /// Once shutdown began, the time the loop exits regardless (none
    /// without a close timeout: it waits for every peer's close).
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
            stopping: false,
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
        self.add(listener, None)
    }

    /// Listen for `wss://` on `addr` with this TLS configuration (see
    /// [`tls::server_config`](crate::tls::server_config)); returns the
    /// bound address. Plain and TLS listeners serve side by side on one
    /// loop. Feature `tls`.
    #[cfg(feature = "tls")]
    pub fn listen_tls(
        &mut self,
        addr: SocketAddr,
        config: Arc<rustls::ServerConfig>,
    ) -> io::Result<SocketAddr> {
        self.add_listener_tls(crate::listener::reuseport_listener(addr)?, config)
    }

    /// Serve `wss://` on a listener made elsewhere, with this TLS
    /// configuration. Feature `tls`.
    #[cfg(feature = "tls")]
    pub fn add_listener_tls(
        &mut self,
        listener: std::net::TcpListener,
        config: Arc<rustls::ServerConfig>,
    ) -> io::Result<SocketAddr> {
        self.add(listener, Some(config))
    }

    /// Serve a listener, with TLS or without.
    pub(crate) fn add(
        &mut self,
        listener: std::net::TcpListener,
        tls: Option<crate::tls::ServerTls>,
    ) -> io::Result<SocketAddr> {
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
            tls,
        });
        Ok(addr)
    }

    /// Open a client connection to a `ws://` or (feature `tls`) `wss://`
    /// URL (TLS trusting what [`Config::tls`] says); the handler's `on_open`
    /// follows when the handshake completes, or exactly one `on_error` if
    /// it does not (see [`Handler::on_error`]). An error returned here is
    /// the only report of that attempt.
    ///
    /// A host name in `url` is resolved here, which blocks until the
    /// resolver answers (see [`Context::connect`](crate::Context::connect));
    /// [`connect_to`](Self::connect_to) takes the address instead.
    pub fn connect(&mut self, url: &str) -> Result<ConnectionId, Error> {
        self.core.connect(url)
    }

    /// Open a client connection to `addr` for the `ws://` or `wss://` URL
    /// `url`, whose host is sent in the `Host` header (and for `wss://`
    /// as SNI, and checked against the certificate) but not resolved;
    /// reported like
    /// [`connect`](Self::connect).
    pub fn connect_to(&mut self, addr: SocketAddr, url: &str) -> Result<ConnectionId, Error> {
        self.core.connect_to(addr, url)
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
    /// or `stall_timeout` plus the close timeout passed since it began
    /// (see [Shutting down](crate::Config#shutting-down)).
    /// [`run`](Self::run) returns then.
    pub fn is_finished(&self) -> bool {
        self.stopping
            && (self.core.conns.is_empty()
                || self
                    .stop_deadline
                    .is_some_and(|deadline| Instant::now() >= deadline))
    }

    /// One round: wait for events (at most `timeout`, and never past the
    /// earliest deadline of a connection or a handler timer), handle them
    /// all, run the timers that are due, flush what was queued, and start
    /// a shutdown if one was asked for.
    /// For programs that drive the loop themselves instead of calling
    /// [`run`](Self::run).
    pub fn turn(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if self.core.stop_requested && !self.shutdown.is_shutdown() {
            // A handler's `Context::shutdown`: every loop of the server
            // stops, not only this one.
            self.shutdown.shutdown();
        }
        if !self.stopping && (self.shutdown.is_shutdown() || self.core.stop_requested) {
            self.stopping = true;
            self.stop_deadline = self.begin_shutdown();
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
        self.handle_ready();
        // Sends and broadcasts from the server's other loops.
        self.core.deliver_mail();
        self.settle();
        // Only the connections (and handler timers) that are due.
        self.core.run_timers(Instant::now());
        self.settle();
        self.retry_owed_accepts();
        Ok(())
    }

    /// Accept, write and read for every readiness event of the poll, then
    /// read again from the connections whose reading was cut short or
    /// resumed.
    fn handle_ready(&mut self) {
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

    /// Stop accepting and say goodbye (1001) to every open connection.
    /// Returns the time by which the loop exits regardless, if there is a
    /// close timeout.
    fn begin_shutdown(&mut self) -> Option<Instant> {
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
        let close = config.session.timers.close?;
        Instant::now().checked_add(config.stall_timeout.checked_add(close)?)
    }

    fn drop_all(&mut self) {
        let indices: Vec<usize> = self.core.conns.iter().map(|(index, _)| index).collect();
        for index in indices {
            self.core.remove(index);
        }
        self.dispatch();
    }
}
