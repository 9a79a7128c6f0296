//! Helpers of the hostile-input tests: both echo servers behind one
//! [`TestServer`] trait (127.0.0.1 port 0, in a thread, stopped and joined
//! with a deadline), raw TCP clients that speak the handshake and frames by
//! hand with bounded reads and writes, memory readings of this process
//! (the servers run in it), and a lock that runs the tests one at a time so
//! that those readings belong to one test.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ws_proto::{FrameHeader, OpCode};

/// The longest a single blocking read or write of a test client waits.
pub const IO_TIMEOUT: Duration = Duration::from_secs(3);

/// The longest a test waits for a server thread after asking it to stop.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The key of RFC 6455 section 1.3.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The masking key of the raw clients.
pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Bytes in a mebibyte, for readable figures.
pub const MIB: u64 = 1 << 20;

// ---------------------------------------------------------------------
// One test at a time.
// ---------------------------------------------------------------------

static SERIAL: Mutex<()> = Mutex::new(());

/// Hold this for the whole test: memory figures are per process, and a
/// flood or a 5,000-connection burst would disturb a test running beside
/// it on two cores.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------
// Panics on the server side.
// ---------------------------------------------------------------------

/// The names of the threads that serve: the servers' own (spawned here)
/// and the per-connection threads of `run_echo` (named by ws-std).
const SERVER_THREADS: [&str; 3] = ["ws-std-echo", "ws-mio-echo", "ws-echo"];

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
    ws_std::Config {
        handshake_timeout: Some(Duration::from_secs(1)),
        close_timeout: Duration::from_millis(500),
        write_timeout: Some(Duration::from_secs(2)),
        ..ws_std::Config::default()
    }
}

/// ws-mio settings: 1 s handshake and stall timeouts, a short close
/// timeout, and no idle ping within a test's lifetime.
pub fn mio_config() -> ws_mio::Config {
    ws_mio::Config {
        handshake_timeout: Duration::from_secs(1),
        close_timeout: Duration::from_millis(500),
        stall_timeout: Duration::from_secs(1),
        idle_timeout: Some(Duration::from_secs(3600)),
        ..ws_mio::Config::default()
    }
}

/// Wait for `handle` at most `limit`; panics if it is still running or
/// if it panicked.
pub fn join_within<T>(handle: JoinHandle<T>, limit: Duration, what: &str) -> T {
    let deadline = Instant::now() + limit;
    while !handle.is_finished() {
        assert!(
            Instant::now() < deadline,
            "{what}: thread still running after {limit:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
    match handle.join() {
        Ok(value) => value,
        Err(_) => panic!("{what}: the thread panicked"),
    }
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
        limits.apply(&mut config.memory_budget, &mut config.protocol);
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
        limits.apply(&mut config.memory_budget, &mut config.protocol);
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

/// ws-std client settings for the well-behaved clients: bounded waits.
pub fn client_config() -> ws_std::Config {
    ws_std::Config {
        handshake_timeout: Some(IO_TIMEOUT),
        read_timeout: Some(IO_TIMEOUT),
        write_timeout: Some(IO_TIMEOUT),
        close_timeout: Duration::from_millis(500),
        ..ws_std::Config::default()
    }
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
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("TCP connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// A valid upgrade request (no extensions offered) with `extra` header
/// lines, each ending in CRLF.
pub fn upgrade_request(addr: SocketAddr, extra: &str) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n\
         Sec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// Read an HTTP head byte by byte (nothing after it is consumed), up to
/// the blank line, the end of the stream, a reset or 16 KiB.
pub fn read_http_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut byte) {
            Ok(0) | Err(_) => break,
            Ok(_) => head.push(byte[0]),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Connect and upgrade by hand; panics unless the answer is 101 with the
/// accept value of [`KEY`].
pub fn raw_upgrade(addr: SocketAddr) -> TcpStream {
    let mut stream = tcp(addr);
    stream
        .write_all(upgrade_request(addr, "").as_bytes())
        .expect("write the upgrade request");
    let head = read_http_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 101"), "not upgraded: {head:?}");
    let accept = ws_proto::handshake::accept_key(KEY.as_bytes());
    let accept = std::str::from_utf8(&accept).unwrap();
    assert!(head.contains(accept), "wrong accept value: {head:?}");
    stream
}

/// A hand-made server for one client, on 127.0.0.1: accepts it (within
/// [`IO_TIMEOUT`]), reads its upgrade request, answers with a 101 that
/// carries the right `Sec-WebSocket-Accept` followed by the header lines
/// `extra` (each ending in CRLF), then hands the stream and the request
/// head to `then`. Returns the URL to connect to and the server's thread.
pub fn one_client_server<T: Send + 'static>(
    extra: &'static str,
    then: impl FnOnce(&mut TcpStream, String) -> io::Result<T> + Send + 'static,
) -> (String, JoinHandle<io::Result<T>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the fake server");
    let addr: SocketAddr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        listener.set_nonblocking(true)?;
        let deadline = Instant::now() + IO_TIMEOUT;
        let mut stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(err) if is_timeout(&err) && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(5));
                }
                Err(err) => return Err(err),
            }
        };
        stream.set_nonblocking(false)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        let head = read_http_head(&mut stream);
        let key = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("sec-websocket-key")
                    .then(|| value.trim().to_owned())
            })
            .ok_or_else(|| io::Error::other(format!("no key in {head:?}")))?;
        let accept = ws_proto::handshake::accept_key(key.as_bytes());
        let accept = String::from_utf8_lossy(&accept).into_owned();
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
        );
        stream.write_all(response.as_bytes())?;
        then(&mut stream, head)
    });
    (format!("ws://{addr}/"), handle)
}

/// A frame header as bytes, announcing any length, masked with `mask`.
pub fn header(opcode: OpCode, fin: bool, len: u64, mask: Option<[u8; 4]>) -> Vec<u8> {
    let header = FrameHeader {
        fin,
        rsv: 0,
        opcode,
        mask,
        payload_len: len,
    };
    let mut out = vec![0u8; header.encoded_len()];
    let written = header.encode(&mut out).expect("room for the header");
    out.truncate(written);
    out
}

/// A whole frame, masked with `mask` (or not).
pub fn frame(opcode: OpCode, fin: bool, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = header(opcode, fin, payload.len() as u64, mask);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        ws_proto::apply_mask(&mut out[start..], key, 0);
    }
    out
}

/// A masked client frame.
pub fn client_frame(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    frame(opcode, fin, payload, Some(MASK))
}

/// A frame as a raw peer reads it (payload unmasked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// FIN bit.
    pub fin: bool,
    /// The opcode nibble.
    pub opcode: u8,
    /// Whether the frame was masked on the wire.
    pub masked: bool,
    /// The unmasked payload.
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// The close code of a close frame (1005 when the payload has none).
    pub fn close_code(&self) -> u16 {
        match self.payload.as_slice() {
            [a, b, ..] => u16::from_be_bytes([*a, *b]),
            _ => 1005,
        }
    }
}

/// Read one frame, within the stream's read timeout; payloads over
/// 64 MiB are refused rather than allocated.
pub fn read_frame(stream: &mut TcpStream) -> io::Result<RawFrame> {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head)?;
    let len = match head[1] & 0x7f {
        126 => {
            let mut ext = [0u8; 2];
            stream.read_exact(&mut ext)?;
            u64::from(u16::from_be_bytes(ext))
        }
        127 => {
            let mut ext = [0u8; 8];
            stream.read_exact(&mut ext)?;
            u64::from_be_bytes(ext)
        }
        short => u64::from(short),
    };
    if len > 64 * MIB {
        return Err(io::Error::other(format!("a frame of {len} bytes")));
    }
    let masked = head[1] & 0x80 != 0;
    let mut key = [0u8; 4];
    if masked {
        stream.read_exact(&mut key)?;
    }
    let mut payload = vec![0u8; len as usize];
    stream.read_exact(&mut payload)?;
    if masked {
        ws_proto::apply_mask(&mut payload, key, 0);
    }
    Ok(RawFrame {
        fin: head[0] & 0x80 != 0,
        opcode: head[0] & 0x0f,
        masked,
        payload,
    })
}

/// Read frames until a close frame (at most 64 frames) and return it.
pub fn read_close(stream: &mut TcpStream) -> RawFrame {
    for _ in 0..64 {
        let frame = read_frame(stream).expect("reading frames up to the close frame");
        if frame.opcode == 0x8 {
            return frame;
        }
    }
    panic!("no close frame among the first 64 frames");
}

/// Whether the peer closed the stream (a read returns 0 or fails with
/// something other than a timeout) within `limit`; what arrives on the
/// way is discarded.
pub fn sees_end_of_stream(stream: &mut TcpStream, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut sink = [0u8; 16 * 1024];
    loop {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return false;
        };
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match stream.read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(err) if is_timeout(&err) => return false,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}

/// A read or write timeout (`WouldBlock` on Unix, `TimedOut` elsewhere).
pub fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Drop `stream` with SO_LINGER 0: the kernel sends a reset instead of a
/// FIN.
pub fn reset(stream: TcpStream) {
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER 0");
    drop(stream);
}

// ---------------------------------------------------------------------
// Memory of this process.
// ---------------------------------------------------------------------

/// A `kB` field of `/proc/self/status`, in bytes.
pub fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    field_bytes(&status, field).unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// A `kB` field of a `/proc/PID/status` text, in bytes.
fn field_bytes(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib * 1024)
}

/// Resident set size and virtual size now.
pub fn rss_and_size() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let rss = field_bytes(&status, "VmRSS").expect("VmRSS");
    let size = field_bytes(&status, "VmSize").expect("VmSize");
    (rss, size)
}

/// Watches this process's memory during an attack: a thread samples
/// VmRSS and VmSize every few milliseconds, and VmHWM (the kernel's peak
/// RSS) is reset at the start when the kernel allows it. VmSize catches
/// a large allocation that is reserved but not (yet) touched, which RSS
/// does not show.
pub struct MemWatch {
    label: String,
    baseline: (u64, u64),
    hwm_reset: bool,
    /// Highest VmRSS and VmSize sampled.
    peak: Arc<(AtomicU64, AtomicU64)>,
    done: Arc<AtomicBool>,
    sampler: Option<JoinHandle<()>>,
}

/// What a [`MemWatch`] saw.
#[derive(Debug, Clone, Copy)]
pub struct MemReport {
    /// VmRSS when the watch started.
    pub baseline: u64,
    /// The highest VmRSS seen, or VmHWM if it was reset and is higher.
    pub peak: u64,
    /// VmHWM at the end (peak since the reset, or since the process
    /// started if the reset was refused).
    pub hwm: u64,
    /// Whether VmHWM was reset at the start.
    pub hwm_reset: bool,
    /// VmSize when the watch started.
    pub virtual_baseline: u64,
    /// The highest VmSize sampled.
    pub virtual_peak: u64,
}

impl MemReport {
    /// How far the resident peak rose above the baseline.
    pub fn growth(&self) -> u64 {
        self.peak.saturating_sub(self.baseline)
    }

    /// How far the sampled virtual size rose above its baseline (new
    /// threads add their stacks and malloc arenas to it).
    pub fn virtual_growth(&self) -> u64 {
        self.virtual_peak.saturating_sub(self.virtual_baseline)
    }
}

impl MemWatch {
    /// Start watching; `label` names the figures in the test output.
    pub fn start(label: impl Into<String>) -> MemWatch {
        // "5" resets VmHWM to the current RSS (Linux 4.0 and later).
        let hwm_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        let baseline = rss_and_size();
        let peak = Arc::new((AtomicU64::new(baseline.0), AtomicU64::new(baseline.1)));
        let done = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (peak, done) = (Arc::clone(&peak), Arc::clone(&done));
            thread::Builder::new()
                .name("mem-sampler".into())
                .spawn(move || {
                    // Bounded: at most 60 s of 2 ms samples.
                    for _ in 0..30_000 {
                        if done.load(Ordering::SeqCst) {
                            break;
                        }
                        let (rss, size) = rss_and_size();
                        peak.0.fetch_max(rss, Ordering::SeqCst);
                        peak.1.fetch_max(size, Ordering::SeqCst);
                        thread::sleep(Duration::from_millis(2));
                    }
                })
                .expect("spawn the sampler")
        };
        MemWatch {
            label: label.into(),
            baseline,
            hwm_reset,
            peak,
            done,
            sampler: Some(sampler),
        }
    }

    /// Stop watching, print the figures, and return them.
    pub fn finish(mut self) -> MemReport {
        self.done.store(true, Ordering::SeqCst);
        if let Some(sampler) = self.sampler.take() {
            join_within(sampler, JOIN_TIMEOUT, "memory sampler");
        }
        let hwm = status_bytes("VmHWM");
        let (rss, size) = rss_and_size();
        let sampled = self.peak.0.load(Ordering::SeqCst).max(rss);
        let peak = if self.hwm_reset {
            sampled.max(hwm)
        } else {
            sampled
        };
        let report = MemReport {
            baseline: self.baseline.0,
            peak,
            hwm,
            hwm_reset: self.hwm_reset,
            virtual_baseline: self.baseline.1,
            virtual_peak: self.peak.1.load(Ordering::SeqCst).max(size),
        };
        eprintln!(
            "[memory] {}: VmRSS baseline {:.1} MiB, peak {:.1} MiB, growth {:.1} MiB; \
             VmHWM {:.1} MiB ({}); VmSize growth {:.1} MiB",
            self.label,
            mib(report.baseline),
            mib(report.peak),
            mib(report.growth()),
            mib(report.hwm),
            if report.hwm_reset {
                "reset at start"
            } else {
                "since process start"
            },
            mib(report.virtual_growth()),
        );
        report
    }
}

impl Drop for MemWatch {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
    }
}

/// Bytes as MiB, for messages.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

/// `len` bytes of a fixed pseudo-random pattern (xorshift).
pub fn pattern(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x2545_f491;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}
