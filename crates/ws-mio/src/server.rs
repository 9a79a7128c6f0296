//! A server on one or more threads, and the echo handler.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::thread;

use ws_proto::message::MessageRef;

use crate::config::Config;
use crate::event_loop::EventLoop;
use crate::handler::{Context, Handler, Opening};
use crate::id::ConnectionId;
use crate::listener::reuseport_listener;
use crate::mailbox::PostOffice;
use crate::shutdown::ShutdownHandle;
use crate::tls::ServerTls;
use ws_proto::handshake::Refusal;

/// A WebSocket server: `threads` event loops, each with its own listener
/// on the same address (`SO_REUSEPORT`: the kernel spreads connections
/// over them). A handler on any loop can send to, close and broadcast to
/// the connections of every loop (see
/// [`Context`](crate::Context#connections-of-other-loops)).
///
/// ```no_run
/// use ws_mio::{Echo, Server};
/// let server = Server::bind("127.0.0.1:9002")?.threads(2);
/// let shutdown = server.shutdown_handle();
/// std::thread::spawn(move || {
///     std::thread::sleep(std::time::Duration::from_secs(60));
///     shutdown.shutdown();
/// });
/// server.run(|| Echo)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Server {
    /// The address from `bind` first, then those from
    /// [`listen_tls`](Self::listen_tls); every loop listens on each.
    listeners: Vec<Listening>,
    config: Config,
    threads: usize,
    shutdown: ShutdownHandle,
}

/// One address the server listens on: the first loop's socket, and the
/// TLS configuration for `wss://` (`None`: `ws://`).
#[derive(Debug)]
struct Listening {
    addr: SocketAddr,
    socket: std::net::TcpListener,
    tls: Option<ServerTls>,
}

impl Listening {
    /// Listen on `addr` (port 0 picks a free port).
    fn bind(addr: impl ToSocketAddrs, tls: Option<ServerTls>) -> io::Result<Listening> {
        let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "address resolves to nothing")
        })?;
        let socket = reuseport_listener(addr)?;
        let addr = socket.local_addr()?;
        Ok(Listening { addr, socket, tls })
    }
}

impl Server {
    /// Bind to `addr` (port 0 picks a free port) with the default
    /// [`Config`] and one loop per core.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<Server> {
        let threads = thread::available_parallelism().map_or(1, usize::from);
        Ok(Server {
            listeners: vec![Listening::bind(addr, None)?],
            config: Config::default(),
            threads,
            shutdown: ShutdownHandle::new(),
        })
    }

    /// Use this configuration for every loop.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Run `n` loops (at least one, at most 65,536); the default is one
    /// per core.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n.clamp(1, usize::from(u16::MAX) + 1);
        self
    }

    /// Serve `wss://` with this TLS configuration (see
    /// [`tls::server_config`](crate::tls::server_config)) on the address
    /// of [`bind`](Self::bind), instead of `ws://`. Feature `tls`. (To
    /// serve both, add a `wss://` address with
    /// [`listen_tls`](Self::listen_tls).)
    ///
    /// ```no_run
    /// use ws_mio::{Echo, Server};
    /// let cert = std::fs::read("cert.pem")?;
    /// let key = std::fs::read("key.pem")?;
    /// let tls = ws_mio::tls::server_config(&cert, &key)?;
    /// Server::bind("127.0.0.1:9443")?.tls(tls).run(|| Echo)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: Arc<crate::tls::rustls::ServerConfig>) -> Self {
        self.listeners[0].tls = Some(config);
        self
    }

    /// Also serve `wss://` on `addr` (port 0 picks a free port) with this
    /// TLS configuration, beside the address of [`bind`](Self::bind):
    /// every loop serves both. Returns the bound address. Feature `tls`.
    ///
    /// ```no_run
    /// use ws_mio::{Echo, Server};
    /// let tls = ws_mio::tls::server_config(&std::fs::read("cert.pem")?, &std::fs::read("key.pem")?)?;
    /// let mut server = Server::bind("127.0.0.1:9002")?; // ws://
    /// server.listen_tls("127.0.0.1:9443", tls)?; // wss://
    /// server.run(|| Echo)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "tls")]
    pub fn listen_tls(
        &mut self,
        addr: impl ToSocketAddrs,
        config: Arc<crate::tls::rustls::ServerConfig>,
    ) -> io::Result<SocketAddr> {
        let listening = Listening::bind(addr, Some(config))?;
        let addr = listening.addr;
        self.listeners.push(listening);
        Ok(addr)
    }

    /// The address the server listens on (the one of
    /// [`bind`](Self::bind)).
    pub fn local_addr(&self) -> SocketAddr {
        self.listeners[0].addr
    }

    /// A handle that shuts every loop down from any thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Serve until shut down; each loop gets its own handler from
    /// `new_handler` (called on the loop's thread). Returns the first
    /// error of any loop.
    pub fn run<H, F>(self, new_handler: F) -> io::Result<()>
    where
        H: Handler,
        F: Fn() -> H + Send + Sync + 'static,
    {
        let new_handler = Arc::new(new_handler);
        // One loop needs no mailboxes: its sends stay on the fast path.
        let office = (self.threads > 1)
            .then(|| Arc::new(PostOffice::new(self.threads, self.config.max_mailbox)));
        let mut workers = Vec::new();
        for home in 1..self.threads {
            // Each loop its own socket on every address (SO_REUSEPORT).
            let listeners = self
                .listeners
                .iter()
                .map(|listening| Ok((reuseport_listener(listening.addr)?, listening.tls.clone())))
                .collect::<io::Result<Vec<_>>>()?;
            let config = self.config.clone();
            let shutdown = self.shutdown.clone();
            let new_handler = Arc::clone(&new_handler);
            let office = office.clone();
            workers.push(
                thread::Builder::new()
                    .name("ws-mio".into())
                    .spawn(move || {
                        let office = office.map(|office| (office, home));
                        serve(listeners, config, &shutdown, office, new_handler())
                    })?,
            );
        }
        let office = office.map(|office| (office, 0));
        let listeners = self
            .listeners
            .into_iter()
            .map(|listening| (listening.socket, listening.tls))
            .collect();
        let result = serve(
            listeners,
            self.config,
            &self.shutdown,
            office,
            new_handler(),
        );
        if result.is_err() {
            // One loop failed: take the others down too.
            self.shutdown.shutdown();
        }
        workers.into_iter().fold(result, |result, worker| {
            let joined = worker
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("event loop thread panicked")));
            result.and(joined)
        })
    }
}

/// Run one loop of a server: loop `home` of those sharing `office`, if
/// there are several.
fn serve<H: Handler>(
    listeners: Vec<(std::net::TcpListener, Option<ServerTls>)>,
    config: Config,
    shutdown: &ShutdownHandle,
    office: Option<(Arc<PostOffice>, usize)>,
    handler: H,
) -> io::Result<()> {
    let mut event_loop = EventLoop::new(config, handler)?.with_shutdown(shutdown)?;
    if let Some((office, home)) = office {
        // `threads` caps the number of loops at u16::MAX + 1.
        let home = u16::try_from(home).map_err(io::Error::other)?;
        event_loop.join_office(office, home);
    }
    for (listener, tls) in listeners {
        event_loop.add(listener, tls)?;
    }
    event_loop.run()
}

/// The echo handler: every text and binary message goes back as it came
/// (Vais `run_echo`). A message that does not fit the outgoing queue
/// closes the connection with 1008 rather than being dropped silently.
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo;

impl Handler for Echo {
    type Data = ();

    fn on_open(
        &mut self,
        _: &mut Context<'_, ()>,
        _: ConnectionId,
        _: &Opening<'_>,
    ) -> Result<(), Refusal> {
        Ok(())
    }

    fn on_message(&mut self, ctx: &mut Context<'_, ()>, id: ConnectionId, message: MessageRef<'_>) {
        if ctx.send(id, message).is_err() {
            let _ = ctx.close(id, ws_proto::CloseCode::POLICY, "outgoing queue full");
        }
    }
}

/// Serve the echo handler on `addr` with default settings, one loop per
/// core, until the process ends (Vais `run_echo`; see [`Server`] to stop
/// it from another thread).
pub fn run_echo(addr: impl ToSocketAddrs) -> io::Result<()> {
    Server::bind(addr)?.run(|| Echo)
}
