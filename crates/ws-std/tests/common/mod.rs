//! Helpers for the socket tests: servers on 127.0.0.1 with port 0 run in
//! threads that are joined with a deadline, raw TCP clients that speak the
//! handshake and frames by hand, and bounded reads, so that a hang fails a
//! test instead of blocking it. What does not depend on ws-std comes from
//! `ws-test-support`.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use ws_std::{connect_with_config, Config, StopHandle, WebSocket, WsServer};

// Each test binary uses some of these.
#[cfg(target_os = "linux")]
#[allow(unused_imports)] // hardening.rs only
pub use ws_test_support::{context_switches, threads_named};
#[allow(unused_imports)]
pub use ws_test_support::{
    join_within, masked, pattern, read_until_closed, tcp as raw_connect, IO_TIMEOUT,
};

/// The longest a test waits for one of its threads to finish.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(4);

/// Short timeouts everywhere waiting is involved; reads that would block
/// longer than [`IO_TIMEOUT`] fail.
pub fn config() -> Config {
    Config::default()
        .close_timeout(Some(Duration::from_millis(500)))
        .handshake_timeout(Some(Duration::from_secs(1)))
        .read_timeout(Some(IO_TIMEOUT))
}

/// `WsServer::run_echo` in a thread.
pub struct EchoServer {
    pub url: String,
    pub addr: SocketAddr,
    stop: StopHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl EchoServer {
    pub fn start(server: WsServer) -> EchoServer {
        let addr = server.local_addr().expect("local_addr");
        let url = format!("ws://{addr}/");
        let stop = server.stop_handle();
        let thread = Some(thread::spawn(move || server.run_echo()));
        EchoServer {
            url,
            addr,
            stop,
            thread,
        }
    }

    /// An echo server with [`config`].
    pub fn with_test_config() -> EchoServer {
        EchoServer::start(WsServer::bind_with_config("127.0.0.1:0", config()).expect("bind"))
    }

    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Whether `run_echo` has returned.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stop the server and join its thread (within [`JOIN_TIMEOUT`]).
    pub fn stop_and_join(mut self) -> io::Result<()> {
        self.stop.stop();
        let thread = self.thread.take().expect("joined once");
        join_within(thread, JOIN_TIMEOUT)
    }
}

impl Drop for EchoServer {
    /// A test that failed half-way still stops its server.
    fn drop(&mut self) {
        self.stop.stop();
    }
}

/// A server whose body runs in a thread.
pub struct ServerThread<T> {
    pub addr: SocketAddr,
    handle: JoinHandle<T>,
}

impl<T> ServerThread<T> {
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// The body's result, within [`JOIN_TIMEOUT`].
    pub fn join(self) -> T {
        join_within(self.handle, JOIN_TIMEOUT)
    }
}

/// Bind a `WsServer` on 127.0.0.1 port 0 with `config` and run `body`
/// with it in a thread.
pub fn with_server<T: Send + 'static>(
    config: Config,
    body: impl FnOnce(WsServer) -> T + Send + 'static,
) -> ServerThread<T> {
    let server = WsServer::bind_with_config("127.0.0.1:0", config).expect("bind");
    let addr = server.local_addr().expect("local_addr");
    let handle = thread::spawn(move || body(server));
    ServerThread { addr, handle }
}

/// Accept one connection (the handshake must succeed) and run `body` with
/// it in a thread.
pub fn with_connection<T: Send + 'static>(
    config: Config,
    body: impl FnOnce(WebSocket<ws_std::MaybeTlsStream>) -> T + Send + 'static,
) -> ServerThread<T> {
    with_server(config, |server| {
        let ws = server.accept().expect("server handshake");
        body(ws)
    })
}

/// A client with [`config`].
pub fn client(url: &str) -> WebSocket<ws_std::MaybeTlsStream> {
    connect_with_config(url, &config()).expect("connect")
}

/// A valid upgrade request for `/raw` with `extra` header lines (each
/// ending in `\r\n`) and the given version.
pub fn upgrade_request(addr: SocketAddr, version: &str, extra: &str) -> String {
    ws_test_support::upgrade_request(addr, "/raw", version, extra)
}

/// Read a whole HTTP response head byte by byte, so that nothing after it
/// is consumed; panics if a read fails or the head ends early.
pub fn read_head<R: Read + ?Sized>(stream: &mut R) -> String {
    let head = ws_test_support::read_http_head(stream).expect("reading the response head");
    assert!(
        head.ends_with("\r\n\r\n"),
        "response head cut short or too long: {head:?}"
    );
    head
}

/// Connect and upgrade by hand (request for `/raw`): the server's 101 is
/// read and checked.
pub fn raw_upgrade(addr: SocketAddr) -> TcpStream {
    ws_test_support::raw_upgrade(addr, "/raw")
}

/// Read one unmasked frame sent by a server: (first header byte, payload).
pub fn read_server_frame<R: Read + ?Sized>(stream: &mut R) -> (u8, Vec<u8>) {
    let frame = ws_test_support::read_frame(stream).expect("server frame");
    assert!(!frame.masked, "server frames are not masked");
    (frame.first_byte(), frame.payload)
}
