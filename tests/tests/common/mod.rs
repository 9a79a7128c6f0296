//! Helpers of the hostile-input tests: both echo servers behind one
//! [`TestServer`] trait (127.0.0.1 port 0, in a thread, stopped and joined
//! with a deadline), raw TCP clients that speak the handshake and frames by
//! hand with bounded reads and writes, memory readings of this process
//! (the servers run in it), and a lock that runs the tests one at a time so
//! that those readings belong to one test. What does not depend on a
//! transport comes from `ws-test-support`.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::thread::{self, JoinHandle};
use std::time::Duration;

// Each test binary uses some of these.
#[allow(unused_imports)]
pub use ws_test_support::{
    client_frame, frame, header, is_timeout, join_named as join_within, mib, one_client_server,
    pattern, read_close, read_frame, sees_end_of_stream, serial, MemReport, MemWatch, RawFrame,
    IO_TIMEOUT, KEY, MASK, MIB,
};

/// The longest a test waits for a server thread after asking it to stop.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------
// Panics on the server side.
// ---------------------------------------------------------------------

/// The names of the threads that serve: the servers' own (spawned here)
/// and the per-connection threads of `run_echo` (named by ws-std).
const SERVER_THREADS: [&str; 4] = ["ws-std-echo", "ws-mio-echo", "ws-echo", "ws-tokio-echo"];

static SERVER_PANICS: AtomicUsize = AtomicUsize::new(0);
static PANIC_HOOK: Once = Once::new();

/// How many server threads have panicked in this process so far. The
/// first call installs a panic hook that counts them (and then prints the
/// panic as before): joining `run_echo` alone would miss a panic in one
/// of ws-std's connection threads.
pub fn server_panics() -> usize {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let name = thread::current().name().map(str::to_owned);
            if name.is_some_and(|name| SERVER_THREADS.contains(&name.as_str())) {
                SERVER_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
    SERVER_PANICS.load(Ordering::SeqCst)
}

/// Panics unless no server thread panicked since `before` was read.
fn assert_no_server_panic(server: &str, before: usize) {
    let now = server_panics();
    assert_eq!(
        now,
        before,
        "{server}: {} server thread(s) panicked during the test",
        now - before
    );
}

// ---------------------------------------------------------------------
// The two servers.
// ---------------------------------------------------------------------

/// An echo server under attack, running in a thread of this process.
pub trait TestServer: Sized {
    /// A short name for messages ("ws-std", "ws-mio").
    const NAME: &'static str;

    /// Bind 127.0.0.1:0 with short timeouts and serve the echo handler.
    fn start() -> Self {
        Self::start_with(Limits::default())
    }

    /// The same with other memory limits.
    fn start_with(limits: Limits) -> Self;

    /// The address the server listens on.
    fn addr(&self) -> SocketAddr;

    /// `ws://addr/`.
    fn url(&self) -> String {
        format!("ws://{}/", self.addr())
    }

    /// Stop the server and join its thread within [`JOIN_TIMEOUT`]:
    /// panics if the thread panicked, did not return in time, or returned
    /// an error, or if any server thread panicked since `start`.
    fn stop(self);
}

/// The memory limits of a test server; the default is each transport's
/// own default.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// `memory_budget` in bytes.
    pub memory_budget: Option<usize>,
    /// `protocol.max_message_size`.
    pub max_message_size: Option<u64>,
}

impl Limits {
    fn apply(&self, budget: &mut ws_proto::budget::MemoryBudget, protocol: &mut ws_proto::Config) {
        if let Some(bytes) = self.memory_budget {
            *budget = ws_proto::budget::MemoryBudget::new(bytes);
        }
        if let Some(bytes) = self.max_message_size {
            protocol.max_message_size = bytes;
        }
    }
}

/// ws-std settings: the 1 s handshake timeout of the slowloris test, a
/// short close timeout, and a write timeout short enough that an echo
/// thread blocked on a peer that does not read gives up within the test.
pub fn std_config() -> ws_std::Config {
    ws_std::Config::default()
        .handshake_timeout(Some(Duration::from_secs(1)))
        .close_timeout(Some(Duration::from_millis(500)))
        .write_timeout(Some(Duration::from_secs(2)))
}

/// ws-mio settings: 1 s handshake and stall timeouts, a short close
/// timeout, and no idle ping within a test's lifetime.
pub fn mio_config() -> ws_mio::Config {
    ws_mio::Config::default()
        .handshake_timeout(Some(Duration::from_secs(1)))
        .close_timeout(Some(Duration::from_millis(500)))
        .stall_timeout(Duration::from_secs(1))
        .idle_ping(Some(Duration::from_secs(3600)))
}

/// `ws_std::WsServer::run_echo` in a thread.
pub struct StdServer {
    addr: SocketAddr,
    panics_at_start: usize,
    stop: ws_std::StopHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl TestServer for StdServer {
    const NAME: &'static str = "ws-std";

    fn start_with(limits: Limits) -> Self {
        let panics_at_start = server_panics();
        let mut config = std_config();
        limits.apply(
            &mut config.session.memory_budget,
            &mut config.session.protocol,
        );
        let server =
            ws_std::WsServer::bind_with_config("127.0.0.1:0", config).expect("bind ws-std");
        let addr = server.local_addr().expect("local_addr");
        let stop = server.stop_handle();
        let thread = thread::Builder::new()
            .name("ws-std-echo".into())
            .spawn(move || server.run_echo())
            .expect("spawn the ws-std server");
        StdServer {
            addr,
            panics_at_start,
            stop,
            thread: Some(thread),
        }
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn stop(mut self) {
        self.stop.stop();
        let thread = self.thread.take().expect("joined once");
        join_within(thread, JOIN_TIMEOUT, "ws-std run_echo")
            .expect("run_echo returns Ok after stop");
        assert_no_server_panic(Self::NAME, self.panics_at_start);
    }
}

impl Drop for StdServer {
    /// A test that failed half-way still stops its server.
    fn drop(&mut self) {
        self.stop.stop();
    }
}

/// `ws_mio::Server` with one loop and the `Echo` handler, in a thread.
pub struct MioServer {
    addr: SocketAddr,
    panics_at_start: usize,
    shutdown: ws_mio::ShutdownHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl TestServer for MioServer {
    const NAME: &'static str = "ws-mio";

    fn start_with(limits: Limits) -> Self {
        let panics_at_start = server_panics();
        let mut config = mio_config();
        limits.apply(
            &mut config.session.memory_budget,
            &mut config.session.protocol,
        );
        let server = ws_mio::Server::bind("127.0.0.1:0")
            .expect("bind ws-mio")
            .threads(1)
            .config(config);
        let addr = server.local_addr();
        let shutdown = server.shutdown_handle();
        let thread = thread::Builder::new()
            .name("ws-mio-echo".into())
            .spawn(move || server.run(|| ws_mio::Echo))
            .expect("spawn the ws-mio server");
        MioServer {
            addr,
            panics_at_start,
            shutdown,
            thread: Some(thread),
        }
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn stop(mut self) {
        self.shutdown.shutdown();
        let thread = self.thread.take().expect("joined once");
        join_within(thread, JOIN_TIMEOUT, "ws-mio Server::run")
            .expect("Server::run returns Ok after shutdown");
        assert_no_server_panic(Self::NAME, self.panics_at_start);
    }
}

impl Drop for MioServer {
    /// A test that failed half-way still stops its server.
    fn drop(&mut self) {
        self.shutdown.shutdown();
    }
}

/// ws-tokio settings: the 1 s handshake timeout of the slowloris test and
/// a short close timeout.
pub fn tokio_config() -> ws_tokio::Config {
    ws_tokio::Config::default()
        .handshake_timeout(Some(Duration::from_secs(1)))
        .close_timeout(Some(Duration::from_millis(500)))
}

/// A ws-tokio echo server (a task per connection, `recv` then `send`) on
/// a current-thread runtime in a thread of its own.
pub struct TokioServer {
    addr: SocketAddr,
    panics_at_start: usize,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl TestServer for TokioServer {
    const NAME: &'static str = "ws-tokio";

    fn start_with(limits: Limits) -> Self {
        let panics_at_start = server_panics();
        let mut config = tokio_config();
        limits.apply(
            &mut config.session.memory_budget,
            &mut config.session.protocol,
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind ws-tokio");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local_addr");
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let thread = thread::Builder::new()
            .name("ws-tokio-echo".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                // Dropping the runtime at the end drops every connection.
                runtime.block_on(ws_tests::servers::tokio_echo(listener, config, stopped))
            })
            .expect("spawn the ws-tokio server");
        TokioServer {
            addr,
            panics_at_start,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let thread = self.thread.take().expect("joined once");
        join_within(thread, JOIN_TIMEOUT, "ws-tokio echo server")
            .expect("the accept loop returns Ok after stop");
        assert_no_server_panic(Self::NAME, self.panics_at_start);
    }
}

impl Drop for TokioServer {
    /// A test that failed half-way still stops its server.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// ws-std client settings for the well-behaved clients: bounded waits.
pub fn client_config() -> ws_std::Config {
    ws_std::Config::default()
        .handshake_timeout(Some(IO_TIMEOUT))
        .read_timeout(Some(IO_TIMEOUT))
        .write_timeout(Some(IO_TIMEOUT))
        .close_timeout(Some(Duration::from_millis(500)))
}

/// A fresh ws-std client echoes `text` through the server and closes.
pub fn echo_once<S: TestServer>(server: &S, text: &str) {
    let mut ws = ws_std::connect_with_config(&server.url(), &client_config())
        .unwrap_or_else(|err| panic!("{}: a fresh client cannot connect: {err}", S::NAME));
    ws.send_text(text)
        .unwrap_or_else(|err| panic!("{}: sending {text:?} failed: {err}", S::NAME));
    match ws.recv() {
        Ok(ws_std::Message::Text(echoed)) => assert_eq!(echoed, text, "{}", S::NAME),
        other => panic!("{}: expected the echo of {text:?}, got {other:?}", S::NAME),
    }
    // The close handshake may time out on a loaded server; the echo is
    // what counts.
    let _ = ws.close();
}

/// The end of every test: a fresh, well-behaved client still gets its
/// echo, then the server stops and its thread returns without a panic.
pub fn finish<S: TestServer>(server: S) {
    echo_once(&server, "still alive");
    server.stop();
}

// ---------------------------------------------------------------------
// Raw clients.
// ---------------------------------------------------------------------

/// A TCP connection with bounded reads and writes.
pub fn tcp(addr: SocketAddr) -> TcpStream {
    ws_test_support::tcp(addr)
}

/// A valid upgrade request for `/` (no extensions offered) with `extra`
/// header lines, each ending in CRLF.
pub fn upgrade_request(addr: SocketAddr, extra: &str) -> String {
    ws_test_support::upgrade_request(addr, "/", "13", extra)
}

/// Read an HTTP head byte by byte (nothing after it is consumed), up to
/// the blank line, the end of the stream, a reset or 16 KiB.
pub fn read_http_head<R: Read + ?Sized>(stream: &mut R) -> String {
    ws_test_support::read_http_head_partial(stream).0
}

/// Connect and upgrade by hand (request for `/`); panics unless the
/// answer is 101 with the accept value of [`KEY`].
pub fn raw_upgrade(addr: SocketAddr) -> TcpStream {
    ws_test_support::raw_upgrade(addr, "/")
}

/// Drop `stream` with SO_LINGER 0: the kernel sends a reset instead of a
/// FIN.
pub fn reset(stream: TcpStream) {
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER 0");
    drop(stream);
}
