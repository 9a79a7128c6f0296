//! Arbitrary bytes as the frames a peer sends, received by a server and by
//! a client connection through a simulated transport buffer.
//!
//! Checks: no panic; `receive` never claims more bytes than it was given
//! and never hands out more payload than it consumed; an event always
//! consumes something; a buffer of `MIN_RECV_BUFFER` bytes never stalls;
//! data chunks are well-formed (message and frame starts and ends in order,
//! text a valid UTF-8 prefix, whole messages valid UTF-8); and the events,
//! normalized to whole messages, are the same whether the bytes arrive cut
//! into arbitrary reads or all at once. The raw bytes also go through
//! `FrameHeader::decode`, whose result must not change as more bytes
//! arrive and must survive an encode/decode round trip.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ws_proto::constants::{MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, MIN_RECV_BUFFER};
use ws_proto::{Config, Connection, Event, FrameHeader, MessageKind, NoMask, ProtocolError, Role};
use ws_proto_fuzz::{is_utf8_prefix, Chunks};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// Bits 0-1: frame size limit; 2-3: message size limit; 4: compression
    /// negotiated (RSV1 allowed); 5: auto-pong off; 6-7: receive buffer size.
    flags: u8,
    /// How the transport cuts the stream into reads.
    chunks: Chunks,
    /// The bytes from the peer.
    wire: &'a [u8],
}

const FRAME_LIMITS: [u64; 4] = [125, 1024, 4096, 1 << 20];
const MESSAGE_LIMITS: [u64; 4] = [256, 4096, 1 << 20, u64::MAX];
const BUFFER_SIZES: [usize; 4] = [MIN_RECV_BUFFER, MIN_RECV_BUFFER + 1, 256, 4096];

fn config(flags: u8) -> Config {
    let mut config = Config::new();
    config.max_frame_size = FRAME_LIMITS[usize::from(flags & 3)];
    config.max_message_size = MESSAGE_LIMITS[usize::from((flags >> 2) & 3)];
    config.compression = flags & 0x10 != 0;
    config.auto_pong = flags & 0x20 == 0;
    config
}

/// What a receiver made of a stream, independent of how it was split.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// A complete data message and the payload length of each frame.
    Message {
        kind: MessageKind,
        compressed: bool,
        payload: Vec<u8>,
        frames: Vec<usize>,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close {
        code: u16,
        reason: String,
    },
    /// The data of a message still open when the input ran out (only
    /// without an error: how much of a failing message is handed out
    /// before the error depends on the split).
    Unfinished {
        kind: MessageKind,
        compressed: bool,
        payload: Vec<u8>,
    },
    /// The error that failed the connection; always last.
    Error(ProtocolError),
}

struct OpenMessage {
    kind: MessageKind,
    compressed: bool,
    payload: Vec<u8>,
    frames: Vec<usize>,
}

#[derive(Default)]
struct Recorder {
    seen: Vec<Seen>,
    message: Option<OpenMessage>,
    /// Payload bytes of the data frame in progress, if one is.
    frame: Option<usize>,
    data_bytes: usize,
    peer_closed: bool,
    error: Option<ProtocolError>,
}

impl Recorder {
    fn event(&mut self, event: Event<'_>, consumed: usize) {
        assert!(!self.peer_closed, "event after the peer's close: {event:?}");
        assert!(self.error.is_none(), "event after an error: {event:?}");
        match event {
            Event::Data(chunk) => {
                assert!(
                    chunk.payload.len() <= consumed,
                    "chunk of {} bytes from {consumed} consumed",
                    chunk.payload.len()
                );
                assert_eq!(chunk.frame_start, self.frame.is_none(), "{chunk:?}");
                assert_eq!(chunk.message_start, self.message.is_none(), "{chunk:?}");
                assert!(chunk.frame_end || !chunk.message_end, "{chunk:?}");
                self.data_bytes += chunk.payload.len();
                let message = self.message.get_or_insert_with(|| OpenMessage {
                    kind: chunk.kind,
                    compressed: chunk.compressed,
                    payload: Vec::new(),
                    frames: Vec::new(),
                });
                assert_eq!(message.kind, chunk.kind, "kind changed mid-message");
                assert_eq!(message.compressed, chunk.compressed);
                message.payload.extend_from_slice(chunk.payload);
                if chunk.kind == MessageKind::Text && !chunk.compressed {
                    assert!(
                        is_utf8_prefix(&message.payload),
                        "text handed out that is not UTF-8 so far: {:02x?}",
                        message.payload
                    );
                    if chunk.message_end {
                        assert!(
                            core::str::from_utf8(&message.payload).is_ok(),
                            "complete text message is not UTF-8: {:02x?}",
                            message.payload
                        );
                    }
                }
                let frame_len = self.frame.unwrap_or(0) + chunk.payload.len();
                if chunk.frame_end {
                    message.frames.push(frame_len);
                    self.frame = None;
                } else {
                    self.frame = Some(frame_len);
                }
                if chunk.message_end {
                    let message = self.message.take().expect("open message");
                    self.seen.push(Seen::Message {
                        kind: message.kind,
                        compressed: message.compressed,
                        payload: message.payload,
                        frames: message.frames,
                    });
                }
            }
            Event::Ping(payload) | Event::Pong(payload) => {
                assert!(self.frame.is_none(), "control frame inside a data frame");
                assert!(payload.len() <= MAX_CONTROL_PAYLOAD && payload.len() < consumed);
                self.seen.push(match event {
                    Event::Ping(_) => Seen::Ping(payload.to_vec()),
                    _ => Seen::Pong(payload.to_vec()),
                });
            }
            Event::Close(close) => {
                assert!(self.frame.is_none(), "control frame inside a data frame");
                assert!(
                    close.code.is_valid_on_wire() || close.code.0 == 1005,
                    "{close:?}"
                );
                assert!(close.reason.len() + 2 <= MAX_CONTROL_PAYLOAD);
                self.peer_closed = true;
                self.seen.push(Seen::Close {
                    code: close.code.0,
                    reason: close.reason.to_owned(),
                });
            }
        }
    }

    fn finish(mut self, wire_len: usize) -> Vec<Seen> {
        assert!(self.data_bytes <= wire_len, "more data than input");
        if let Some(err) = self.error {
            self.seen.push(Seen::Error(err));
        } else if let Some(message) = self.message.take() {
            self.seen.push(Seen::Unfinished {
                kind: message.kind,
                compressed: message.compressed,
                payload: message.payload,
            });
        }
        self.seen
    }
}

/// Run `receive` over `buf` until it needs more bytes (true) or fails
/// (false), transmitting whenever it stops with frames queued (a ping
/// waits for the previous ping's pong), then drop the consumed bytes from
/// the front of `buf`.
fn pump(conn: &mut Connection, buf: &mut Vec<u8>, rec: &mut Recorder) -> bool {
    let mut start = 0;
    let alive = loop {
        let available = buf.len() - start;
        match conn.receive(&mut buf[start..]) {
            Ok((consumed, event)) => {
                assert!(
                    consumed <= available,
                    "consumed {consumed} of {available} bytes"
                );
                let Some(event) = event else {
                    start += consumed;
                    if conn.wants_transmit() {
                        // A ping may wait for the last one's pong: send the
                        // queued frames, as a transport does, and go on.
                        let mut out = [0u8; 512];
                        conn.poll_transmit(&mut out);
                        continue;
                    }
                    break true;
                };
                assert!(consumed > 0, "an event that consumed nothing: {event:?}");
                rec.event(event, consumed);
                start += consumed;
                if rec.peer_closed {
                    assert!(conn.peer_close_code().is_some());
                }
            }
            Err(err) => {
                rec.error = Some(err);
                assert_eq!(conn.failure(), Some(err));
                assert_eq!(
                    conn.receive(&mut []),
                    Err(err),
                    "a failed connection recovered"
                );
                break false;
            }
        }
    };
    buf.drain(..start);
    if alive {
        // What is left is a header or a control frame cut short: never a
        // buffer's worth, or a transport with the minimum buffer stalls.
        assert!(
            buf.len() < MIN_RECV_BUFFER,
            "receive wants more bytes but {} are waiting: {:02x?}",
            buf.len(),
            &buf[..buf.len().min(32)]
        );
        if rec.peer_closed {
            assert!(buf.is_empty(), "bytes after the close frame were kept");
        }
    }
    alive
}

/// The stream cut into the reads `chunks` describes, through a buffer of
/// `capacity` bytes that holds what `receive` has not consumed.
fn run_chunked(
    role: Role,
    config: Config,
    capacity: usize,
    chunks: Chunks,
    wire: &[u8],
) -> Vec<Seen> {
    let mut conn = Connection::new(role, config, NoMask);
    let mut rec = Recorder::default();
    let mut buf: Vec<u8> = Vec::with_capacity(capacity);
    'reads: for mut read in chunks.split(wire) {
        while !read.is_empty() {
            let room = capacity - buf.len();
            assert!(room > 0, "transport buffer full");
            let n = room.min(read.len());
            buf.extend_from_slice(&read[..n]);
            read = &read[n..];
            if !pump(&mut conn, &mut buf, &mut rec) {
                break 'reads;
            }
        }
    }
    rec.finish(wire.len())
}

/// The whole stream in one buffer.
fn run_whole(role: Role, config: Config, wire: &[u8]) -> Vec<Seen> {
    let mut conn = Connection::new(role, config, NoMask);
    let mut rec = Recorder::default();
    let mut buf = wire.to_vec();
    pump(&mut conn, &mut buf, &mut rec);
    rec.finish(wire.len())
}

/// `FrameHeader::decode` on the raw bytes: a decided prefix stays decided
/// the same way, a decoded header round-trips through `encode`.
fn check_header_codec(wire: &[u8]) {
    let full = FrameHeader::decode(wire);
    let mut decided = None;
    for len in 0..=wire.len().min(MAX_HEADER_LEN + 1) {
        let result = FrameHeader::decode(&wire[..len]);
        match decided {
            None if result == Ok(None) => {}
            None => decided = Some(result),
            Some(earlier) => assert_eq!(earlier, result, "decode changed its mind at {len} bytes"),
        }
    }
    if wire.len() >= MAX_HEADER_LEN {
        assert!(
            decided.is_some(),
            "{MAX_HEADER_LEN} bytes and still no header"
        );
    }
    if let Some(decided) = decided {
        assert_eq!(decided, full);
    }
    if let Ok(Some((header, header_len))) = full {
        assert!(
            (2..=MAX_HEADER_LEN).contains(&header_len) && header_len <= wire.len(),
            "header_len {header_len} of {} bytes",
            wire.len()
        );
        assert!(
            header.rsv <= 7 && header.payload_len >> 63 == 0,
            "{header:?}"
        );
        let mut out = [0u8; MAX_HEADER_LEN];
        let len = header.encode(&mut out).expect("a header fits in 14 bytes");
        assert_eq!(len, header.encoded_len());
        assert!(len <= header_len, "re-encoding is longer than the original");
        assert_eq!(
            FrameHeader::decode(&out[..len]),
            Ok(Some((header, len))),
            "re-encoded header decodes differently"
        );
        assert_eq!(FrameHeader::decode(&out[..len - 1]), Ok(None));
        assert_eq!(header.encode(&mut out[..len - 1]), None);
    }
}

fuzz_target!(|input: Input<'_>| {
    let Input {
        flags,
        chunks,
        wire,
    } = input;
    check_header_codec(wire);
    let config = config(flags);
    let capacity = BUFFER_SIZES[usize::from(flags >> 6)];
    for role in [Role::Server, Role::Client] {
        let whole = run_whole(role, config, wire);
        let chunked = run_chunked(role, config, capacity, chunks, wire);
        assert_eq!(
            chunked, whole,
            "{role:?}: the split into reads changed what was received"
        );
    }
});
