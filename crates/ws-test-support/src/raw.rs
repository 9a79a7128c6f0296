//! A raw client: TCP connections with bounded waits, the opening handshake
//! and frames written and read by hand, so that a test can send what no
//! well-behaved peer sends and see exactly what comes back.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ws_proto::{Frame, FrameHeader, OpCode};

use crate::{ACCEPT, IO_TIMEOUT, KEY, MASK, MIB};

/// The longest HTTP head the readers here take.
const MAX_HEAD: usize = 16 * 1024;

/// A TCP connection to `addr` (connected within [`IO_TIMEOUT`]) whose
/// reads and writes fail after [`IO_TIMEOUT`], with Nagle off.
pub fn tcp(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("TCP connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// A valid upgrade request for `path` with [`KEY`], the given
/// `Sec-WebSocket-Version` and `extra` header lines (each ending in
/// CRLF); no extension is offered.
pub fn upgrade_request(host: SocketAddr, path: &str, version: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n\
         Sec-WebSocket-Version: {version}\r\n{extra}\r\n"
    )
}

/// Read an HTTP head byte by byte (so nothing after it is consumed), up to
/// the blank line, the end of the stream, an error or 16 KiB: what was
/// read, and the error that stopped it if one did (`Interrupted` is
/// retried).
pub fn read_http_head_partial<R: Read + ?Sized>(stream: &mut R) -> (String, Option<io::Error>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    let mut error = None;
    while !head.ends_with(b"\r\n\r\n") && head.len() < MAX_HEAD {
        match stream.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => head.push(byte[0]),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => {
                error = Some(err);
                break;
            }
        }
    }
    (String::from_utf8_lossy(&head).into_owned(), error)
}

/// [`read_http_head_partial`], failing if a read failed (the end of the
/// stream is not a failure: the head is then cut short).
pub fn read_http_head<R: Read + ?Sized>(stream: &mut R) -> io::Result<String> {
    match read_http_head_partial(stream) {
        (head, None) => Ok(head),
        (_, Some(err)) => Err(err),
    }
}

/// Connect to `addr` and upgrade by hand with a request for `path`;
/// panics unless the answer is a 101 that carries the accept value of
/// [`KEY`].
pub fn raw_upgrade(addr: SocketAddr, path: &str) -> TcpStream {
    let mut stream = tcp(addr);
    stream
        .write_all(upgrade_request(addr, path, "13", "").as_bytes())
        .expect("write the upgrade request");
    let head = read_http_head(&mut stream).expect("read the upgrade response");
    assert!(head.starts_with("HTTP/1.1 101 "), "not upgraded: {head:?}");
    assert!(
        head.contains(&format!("Sec-WebSocket-Accept: {ACCEPT}\r\n")),
        "wrong accept value: {head:?}"
    );
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
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake server");
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
        let (head, _) = read_http_head_partial(&mut stream);
        let accept = accept_for_request(&head)?;
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
        );
        stream.write_all(response.as_bytes())?;
        then(&mut stream, head)
    });
    (format!("ws://{addr}/"), handle)
}

/// The `Sec-WebSocket-Accept` value that answers the `Sec-WebSocket-Key`
/// of an upgrade request's head (the header name in any case); an error
/// if the head has no key.
pub fn accept_for_request(head: &str) -> io::Result<String> {
    let key = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim())
        })
        .ok_or_else(|| io::Error::other(format!("no key in {head:?}")))?;
    let accept = ws_proto::handshake::accept_key(key.as_bytes());
    Ok(String::from_utf8_lossy(&accept).into_owned())
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

/// A client frame, masked with [`MASK`].
pub fn client_frame(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    frame(opcode, fin, payload, Some(MASK))
}

/// `frame` (its RSV bits included) encoded as a client sends it, masked
/// with [`MASK`].
pub fn masked(frame: &Frame<'_>) -> Vec<u8> {
    let mut out = vec![0; frame.encoded_len(true)];
    let len = frame.encode(&mut out, Some(MASK)).expect("encode");
    out.truncate(len);
    out
}

/// A frame as a raw peer reads it (payload unmasked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// FIN bit.
    pub fin: bool,
    /// The three RSV bits, as the low bits.
    pub rsv: u8,
    /// The opcode nibble.
    pub opcode: u8,
    /// Whether the frame was masked on the wire.
    pub masked: bool,
    /// The unmasked payload.
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// The first byte of the frame's header: FIN, RSV and opcode.
    pub fn first_byte(&self) -> u8 {
        (u8::from(self.fin) << 7) | (self.rsv << 4) | self.opcode
    }

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
pub fn read_frame<R: Read + ?Sized>(stream: &mut R) -> io::Result<RawFrame> {
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
    let len = usize::try_from(len).map_err(|_| io::Error::other("frame too long"))?;
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload)?;
    if masked {
        ws_proto::apply_mask(&mut payload, key, 0);
    }
    Ok(RawFrame {
        fin: head[0] & 0x80 != 0,
        rsv: (head[0] >> 4) & 0x7,
        opcode: head[0] & 0x0f,
        masked,
        payload,
    })
}

/// Read frames until a close frame (at most 64 frames) and return it.
pub fn read_close<R: Read + ?Sized>(stream: &mut R) -> RawFrame {
    for _ in 0..64 {
        let frame = read_frame(stream).expect("reading frames up to the close frame");
        if frame.opcode == 0x8 {
            return frame;
        }
    }
    panic!("no close frame among the first 64 frames");
}

/// Read until the peer closes the connection (end of stream, or a reset
/// when it closed with our bytes unread): everything it sent. Panics on
/// any other error (a timeout: the peer did not close) and after 1,024
/// reads.
pub fn read_until_closed<R: Read + ?Sized>(stream: &mut R) -> Vec<u8> {
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

/// Whether the peer closed the stream (a read returns 0 or fails with
/// something other than a timeout) within `limit`; what arrives on the
/// way is discarded. Leaves the stream's read timeout changed.
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
