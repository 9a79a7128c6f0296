//! Helpers for the event-loop tests: a ws-mio server on 127.0.0.1 port 0
//! in a thread that is stopped with its shutdown handle and joined with a
//! deadline, an echo handler that records what it sees, ws-std client
//! settings with short timeouts, and (from `ws-test-support`) raw TCP
//! clients that speak the handshake and frames by hand with bounded reads.

#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use ws_mio::{
    CloseCode, Config, ConnectionId, Context, Error, EventLoop, Handler, Message, MessageRef,
    Opening, Refusal, SendError, Server, ShutdownHandle,
};
// Each test binary uses some of these.
#[allow(unused_imports)]
pub use ws_test_support::{
    client_frame, join_within, raw_upgrade, read_frame, read_http_head, sees_end_of_stream, tcp,
    wait_until, RawFrame, IO_TIMEOUT,
};

/// The longest a test waits for a server thread to return after shutdown.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(4);

/// Loop settings with short timeouts, and no idle pings unless a test
/// asks for them.
pub fn config() -> Config {
    Config::default()
        .close_timeout(Some(Duration::from_millis(500)))
        .handshake_timeout(Some(Duration::from_secs(1)))
        .idle_ping(None)
        .pong_timeout(Some(Duration::from_millis(200)))
}

/// ws-std client settings: short close and handshake timeouts, and reads
/// that fail after [`IO_TIMEOUT`] instead of hanging.
pub fn client_config() -> ws_std::Config {
    ws_std::Config::default()
        .close_timeout(Some(Duration::from_millis(500)))
        .handshake_timeout(Some(Duration::from_secs(1)))
        .read_timeout(Some(IO_TIMEOUT))
        .write_timeout(Some(IO_TIMEOUT))
}

/// Connect a ws-std client with [`client_config`].
pub fn ws_client(url: &str) -> ws_std::WebSocket<ws_std::MaybeTlsStream> {
    ws_std::connect_with_config(url, &client_config()).expect("ws-std client connects")
}

/// Whether [`Running::start`] goes through [`Server`] (as users do) or
/// builds the one [`EventLoop`] itself (kept to test that path too).
pub const THROUGH_SERVER: bool = true;

/// A listener on 127.0.0.1:0 with room for `backlog` connections waiting
/// to be accepted, as `Server` makes them (`EventLoop::listen` binds with
/// the standard library's backlog of 128: a burst of 1,000 connects then
/// waits a second for SYN retransmissions).
pub fn listener(backlog: i32) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

/// A ws-mio server with one loop, running in a thread.
pub struct Running {
    pub addr: SocketAddr,
    shutdown: ShutdownHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Running {
    /// Serve `new_handler()` on one loop with `config` at 127.0.0.1:0.
    pub fn start<H, F>(config: Config, new_handler: F) -> Running
    where
        H: Handler,
        F: Fn() -> H + Send + Sync + 'static,
    {
        if THROUGH_SERVER {
            Running::with_server(config, new_handler)
        } else {
            Running::with_event_loop(config, new_handler)
        }
    }

    /// `Server::bind("127.0.0.1:0")?.threads(1).config(config)`, run in a
    /// thread.
    pub fn with_server<H, F>(config: Config, new_handler: F) -> Running
    where
        H: Handler,
        F: Fn() -> H + Send + Sync + 'static,
    {
        Running::with_threads(config, 1, new_handler)
    }

    /// `Server::bind("127.0.0.1:0")?.threads(threads).config(config)`, run
    /// in a thread.
    pub fn with_threads<H, F>(config: Config, threads: usize, new_handler: F) -> Running
    where
        H: Handler,
        F: Fn() -> H + Send + Sync + 'static,
    {
        let server = Server::bind("127.0.0.1:0")
            .expect("bind 127.0.0.1:0")
            .threads(threads)
            .config(config);
        let addr = server.local_addr();
        let shutdown = server.shutdown_handle();
        let thread = thread::Builder::new()
            .name("ws-mio-server".into())
            .spawn(move || server.run(new_handler))
            .expect("spawn the server thread");
        Running {
            addr,
            shutdown,
            thread: Some(thread),
        }
    }

    /// An [`EventLoop`] listening on 127.0.0.1:0, run in a thread.
    pub fn with_event_loop<H, F>(config: Config, new_handler: F) -> Running
    where
        H: Handler,
        F: FnOnce() -> H + Send + 'static,
    {
        let (ready, started) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("ws-mio-loop".into())
            .spawn(move || {
                let mut event_loop = EventLoop::new(config, new_handler())?;
                let addr = event_loop.add_listener(listener(1024)?)?;
                let _ = ready.send((addr, event_loop.shutdown_handle()));
                event_loop.run()
            })
            .expect("spawn the server thread");
        let (addr, shutdown) = match started.recv_timeout(JOIN_TIMEOUT) {
            Ok(started) => started,
            Err(_) => panic!(
                "the loop did not start: {:?}",
                join_within(thread, JOIN_TIMEOUT)
            ),
        };
        Running {
            addr,
            shutdown,
            thread: Some(thread),
        }
    }

    /// `ws://addr` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Whether `run` has returned.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Shut down and join within [`JOIN_TIMEOUT`]; returns what `run`
    /// returned.
    pub fn stop(mut self) -> io::Result<()> {
        self.shutdown.shutdown();
        let thread = self.thread.take().expect("server thread");
        join_within(thread, JOIN_TIMEOUT)
    }

    /// Shut down, join, and require that `run` returned `Ok`.
    pub fn stop_ok(self) {
        self.stop()
            .expect("the server loop returns Ok after shutdown");
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }
}

impl Drop for Running {
    /// A test that failed before `stop` still takes its server down (not
    /// joined: the panic is already on its way).
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.shutdown.shutdown();
        }
    }
}

/// What a [`Recorder`] saw.
#[derive(Debug, Default)]
pub struct Log {
    pub opens: Vec<Opened>,
    pub messages: usize,
    pub closes: Vec<(ConnectionId, CloseCode, String)>,
    pub errors: Vec<(ConnectionId, String)>,
    /// `ctx.connections().count()` at the last message.
    pub open_at_last_message: usize,
}

impl Log {
    pub fn closes_with(&self, code: CloseCode) -> usize {
        self.closes.iter().filter(|(_, c, _)| *c == code).count()
    }
}

/// One `on_open` as the handler saw it.
#[derive(Debug, Clone)]
pub struct Opened {
    pub id: ConnectionId,
    pub path: String,
    pub subprotocol: Option<String>,
}

/// Shared view of a [`Log`].
pub type SharedLog = Arc<Mutex<Log>>;

pub fn lock(log: &SharedLog) -> MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An echo handler that records opens, closes and errors. The text
/// message "close CODE REASON" makes it start the close handshake instead.
pub struct Recorder {
    pub log: SharedLog,
}

impl Recorder {
    /// A factory for `Server::run` and the log every handler it makes
    /// writes to.
    pub fn factory() -> (impl Fn() -> Recorder + Send + Sync + 'static, SharedLog) {
        let log = SharedLog::default();
        let shared = Arc::clone(&log);
        (
            move || Recorder {
                log: Arc::clone(&shared),
            },
            log,
        )
    }
}

impl Handler for Recorder {
    type Data = ();

    fn on_open(
        &mut self,
        _: &mut Context<'_, ()>,
        id: ConnectionId,
        opening: &Opening<'_>,
    ) -> Result<(), Refusal> {
        lock(&self.log).opens.push(Opened {
            id,
            path: opening.path().to_owned(),
            subprotocol: opening.subprotocol().map(str::to_owned),
        });
        Ok(())
    }

    fn on_message(&mut self, ctx: &mut Context<'_, ()>, id: ConnectionId, message: MessageRef<'_>) {
        let open = ctx.connections().count();
        {
            let mut log = lock(&self.log);
            log.messages += 1;
            log.open_at_last_message = open;
        }
        if let MessageRef::Text(text) = message {
            if let Some(rest) = text.strip_prefix("close ") {
                let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
                let code = CloseCode(code.parse().unwrap_or(1000));
                if let Err(err) = ctx.close(id, code, reason) {
                    lock(&self.log)
                        .errors
                        .push((id, format!("close refused: {err}")));
                }
                return;
            }
        }
        if let Err(err) = ctx.send(id, message) {
            lock(&self.log)
                .errors
                .push((id, format!("echo refused: {err}")));
        }
    }

    fn on_close(
        &mut self,
        _: &mut Context<'_, ()>,
        id: ConnectionId,
        code: CloseCode,
        reason: &str,
    ) {
        lock(&self.log).closes.push((id, code, reason.to_owned()));
    }

    fn on_error(&mut self, _: &mut Context<'_, ()>, id: ConnectionId, error: &Error) {
        lock(&self.log).errors.push((id, error.to_string()));
    }
}

/// An upgrade request for `path` with the key of RFC 6455 section 1.3
/// and `extra` header lines (each ending in CRLF).
pub fn upgrade_request(addr: SocketAddr, path: &str, extra: &str) -> String {
    ws_test_support::upgrade_request(addr, path, "13", extra)
}

/// A client with a small receive buffer (4 KiB), upgraded by hand: a peer
/// that reads slowly, so that a server's queue for it fills.
pub fn slow_client(addr: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket
        .connect_timeout(&addr.into(), IO_TIMEOUT)
        .expect("TCP connect");
    let mut stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream
        .write_all(ws_test_support::raw::upgrade_request(addr, "/", "13", "").as_bytes())
        .unwrap();
    let head = read_http_head(&mut stream).expect("read the upgrade response");
    assert!(head.starts_with("HTTP/1.1 101 "), "not upgraded: {head:?}");
    stream
}

/// A client: says hello on open, records the
/// echo and the errors.
#[derive(Default)]
pub struct Hello {
    pub echo: Option<String>,
    pub errors: Vec<String>,
}

impl Handler for Hello {
    type Data = ();

    fn on_open(
        &mut self,
        ctx: &mut Context<'_, ()>,
        id: ConnectionId,
        _: &Opening<'_>,
    ) -> Result<(), Refusal> {
        if let Err(err) = ctx.send(id, Message::Text("hello".into()).as_ref()) {
            self.errors.push(format!("send: {err}"));
        }
        Ok(())
    }

    fn on_message(&mut self, _: &mut Context<'_, ()>, _: ConnectionId, message: MessageRef<'_>) {
        self.echo = Some(String::from_utf8_lossy(message.as_bytes()).into_owned());
    }

    fn on_error(&mut self, _: &mut Context<'_, ()>, _: ConnectionId, error: &Error) {
        self.errors.push(error.to_string());
    }
}

/// Turn `event_loop` until `done` or `limit` passes.
pub fn turn_until<H: Handler>(
    event_loop: &mut EventLoop<H>,
    limit: Duration,
    mut done: impl FnMut(&mut EventLoop<H>) -> bool,
) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        event_loop
            .turn(Some(Duration::from_millis(10)))
            .expect("turn");
        if done(event_loop) {
            return true;
        }
    }
    false
}

/// Size of each queued message (its first four bytes number it).
pub const MESSAGE: usize = 4000;

/// On the client's first message, queue numbered messages until the
/// queue is full; record how many, then shut down from the handler or
/// leave that to the test.
pub struct Filler {
    pub queued: Arc<AtomicUsize>,
    pub shutdown_here: bool,
}

impl Handler for Filler {
    type Data = ();

    fn on_open(
        &mut self,
        _: &mut Context<'_, ()>,
        _: ConnectionId,
        _: &Opening<'_>,
    ) -> Result<(), Refusal> {
        Ok(())
    }

    fn on_message(&mut self, ctx: &mut Context<'_, ()>, id: ConnectionId, _: MessageRef<'_>) {
        let mut payload = vec![0u8; MESSAGE];
        // Bounded: the queue refuses after `max_outgoing` bytes.
        for n in 0u32..100_000 {
            payload[..4].copy_from_slice(&n.to_be_bytes());
            match ctx.send(id, MessageRef::Binary(&payload)) {
                Ok(()) => {}
                Err(SendError::QueueFull) => {
                    self.queued.store(n as usize, Ordering::SeqCst);
                    break;
                }
                Err(err) => panic!("send {n}: {err}"),
            }
        }
        if self.shutdown_here {
            ctx.shutdown();
        }
    }

    fn on_close(&mut self, _: &mut Context<'_, ()>, _: ConnectionId, _: CloseCode, _: &str) {}
}

/// A close timeout far shorter than the time the client takes to read
/// the queue.
pub fn shutdown_config() -> Config {
    config()
        .max_outgoing(8 << 20)
        .close_timeout(Some(Duration::from_millis(300)))
        .stall_timeout(Duration::from_secs(5))
        .compression(None)
}

/// Read slowly (pausing well under the close timeout, taking several
/// close timeouts in all): every queued message arrives, in order, and
/// then the 1001.
pub fn reads_all_then_going_away<S: Read>(stream: &mut S, queued: &AtomicUsize) {
    assert!(wait_until(IO_TIMEOUT, || queued.load(Ordering::SeqCst) > 0));
    let started = Instant::now();
    let expected = queued.load(Ordering::SeqCst);
    assert!(expected > 100, "only {expected} messages filled the queue");
    for n in 0..expected {
        if n % 64 == 0 {
            thread::sleep(Duration::from_millis(40));
        }
        let frame = read_frame(stream).unwrap_or_else(|err| panic!("message {n}: {err}"));
        assert_eq!(frame.opcode, 0x2, "message {n} is not binary");
        assert_eq!(frame.payload.len(), MESSAGE);
        assert_eq!(frame.payload[..4], (n as u32).to_be_bytes(), "out of order");
    }
    let close = read_frame(stream).expect("the close after the messages");
    assert_eq!(close.opcode, 0x8, "a close follows the {expected} messages");
    assert_eq!(close.close_code(), 1001);
    assert!(
        started.elapsed() > 2 * shutdown_config().session.timers.close.unwrap(),
        "the client read faster than the test means it to"
    );
}
