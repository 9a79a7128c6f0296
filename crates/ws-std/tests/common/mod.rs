//! Helpers for the socket tests: servers on 127.0.0.1 with port 0 run in
//! threads that are joined with a deadline, raw TCP clients that speak the
//! handshake and frames by hand, and bounded reads, so that a hang fails a
//! test instead of blocking it.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ws_std::{connect_with_config, Config, Frame, StopHandle, WebSocket, WsServer};

/// The longest any single blocking read in these tests may wait.
pub const IO_TIMEOUT: Duration = Duration::from_secs(3);

/// The longest a test waits for one of its threads to finish.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(4);

/// The key of RFC 6455 section 1.3 and the accept value it must produce.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// Short timeouts everywhere waiting is involved; reads that would block
/// longer than [`IO_TIMEOUT`] fail.
pub fn config() -> Config {
    Config {
        close_timeout: Duration::from_millis(500),
        handshake_timeout: Some(Duration::from_secs(1)),
        read_timeout: Some(IO_TIMEOUT),
        ..Config::default()
    }
}

/// Wait for `handle` at most `limit`, polling; panic if it is still
/// running, re-raise its panic if it panicked.
pub fn join_within<T>(handle: JoinHandle<T>, limit: Duration) -> T {
    let deadline = Instant::now() + limit;
    while !handle.is_finished() {
        assert!(
            Instant::now() < deadline,
            "thread still running after {limit:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
    match handle.join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
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
    body: impl FnOnce(WebSocket<TcpStream>) -> T + Send + 'static,
) -> ServerThread<T> {
    with_server(config, |server| {
        let ws = server.accept().expect("server handshake");
        body(ws)
    })
}

/// A client with [`config`].
pub fn client(url: &str) -> WebSocket<TcpStream> {
    connect_with_config(url, &config()).expect("connect")
}

/// A TCP connection whose reads and writes fail after [`IO_TIMEOUT`].
pub fn raw_connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("tcp connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// A valid upgrade request with `extra` header lines (each ending in
/// `\r\n`) and the given version.
pub fn upgrade_request(addr: SocketAddr, version: &str, extra: &str) -> String {
    format!(
        "GET /raw HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n\
         Sec-WebSocket-Version: {version}\r\n{extra}\r\n"
    )
}

/// Read an HTTP response head byte by byte, so that nothing after it is
/// consumed.
pub fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert!(head.len() < 16 * 1024, "response head too long");
        stream
            .read_exact(&mut byte)
            .expect("reading the response head");
        head.push(byte[0]);
    }
    String::from_utf8(head).expect("ASCII response head")
}

/// Connect and upgrade by hand: the server's 101 is read and checked.
pub fn raw_upgrade(addr: SocketAddr) -> TcpStream {
    let mut stream = raw_connect(addr);
    stream
        .write_all(upgrade_request(addr, "13", "").as_bytes())
        .unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(
        head.contains(&format!("Sec-WebSocket-Accept: {ACCEPT}\r\n")),
        "{head}"
    );
    stream
}

/// Read until the server closes the connection (end of stream, or a reset
/// when it closed with our bytes unread): everything it sent.
pub fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    for _ in 0..1024 {
        match stream.read(&mut chunk) {
            Ok(0) => return received,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(err) if err.kind() == io::ErrorKind::ConnectionReset => return received,
            Err(err) => panic!("the server did not close the connection: {err}"),
        }
    }
    panic!("the server kept sending");
}

/// Read one unmasked frame sent by a server: (first header byte, payload).
pub fn read_server_frame(stream: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut header = [0u8; 2];
    stream.read_exact(&mut header).expect("frame header");
    assert_eq!(header[1] & 0x80, 0, "server frames are not masked");
    let len = match header[1] & 0x7f {
        126 => {
            let mut ext = [0u8; 2];
            stream.read_exact(&mut ext).unwrap();
            u64::from(u16::from_be_bytes(ext))
        }
        127 => {
            let mut ext = [0u8; 8];
            stream.read_exact(&mut ext).unwrap();
            u64::from_be_bytes(ext)
        }
        len => u64::from(len),
    };
    let mut payload = vec![0; usize::try_from(len).unwrap()];
    stream.read_exact(&mut payload).expect("frame payload");
    (header[0], payload)
}

/// `frame` encoded as a client sends it, masked with a fixed key.
pub fn masked(frame: &Frame<'_>) -> Vec<u8> {
    let mut out = vec![0; frame.encoded_len(true)];
    let len = frame.encode(&mut out, Some([1, 2, 3, 4])).expect("encode");
    out.truncate(len);
    out
}

/// `len` bytes of a fixed pseudo-random pattern (no period that lines up
/// with buffer or frame sizes).
pub fn pattern(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

/// Linux: the ids of this process's threads whose name is `name` (as
/// `thread::Builder::name` sets it, cut to 15 bytes).
#[cfg(target_os = "linux")]
#[allow(dead_code)] // hardening.rs only
pub fn threads_named(name: &str) -> Vec<u32> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let Ok(entry) = entry else { continue };
        let Some(id) = entry.file_name().to_str().and_then(|id| id.parse().ok()) else {
            continue;
        };
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim_end() == name {
            ids.push(id);
        }
    }
    ids
}

/// Linux: how many times thread `id` of this process was switched out,
/// woken or preempted (`None` once it has ended).
#[cfg(target_os = "linux")]
#[allow(dead_code)] // hardening.rs only
pub fn context_switches(id: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/self/task/{id}/status")).ok()?;
    let count = |key: &str| -> Option<u64> {
        let line = status.lines().find(|line| line.starts_with(key))?;
        line[key.len()..].trim().parse().ok()
    };
    Some(count("voluntary_ctxt_switches:")? + count("nonvoluntary_ctxt_switches:")?)
}
