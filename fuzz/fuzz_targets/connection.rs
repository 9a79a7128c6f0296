//! A whole connection, server or client (the first input byte decides),
//! driven by the input: each step may send something (`encode_*`, `close`,
//! `encode_header`), then hands the next read of the peer's bytes to
//! `receive` (transmitting whenever it stops with something to transmit,
//! as a ping waits for the previous ping's pong), then drains
//! `poll_transmit` into a 256-byte buffer.
//!
//! A small model of the rules of RFC 6455 runs alongside and is compared
//! with the connection after every step. Checks: no panic; text handed out
//! is always a valid UTF-8 prefix and valid UTF-8 once the message ends;
//! everything transmitted decodes as whole frames (unmasked from a server,
//! masked from a client) that are a pong echoing each ping, in order, or a
//! single close frame with a valid payload (our code and reason, the
//! peer's code echoed, or the code and reason of the error that failed the
//! connection), and nothing follows the close; the state only moves
//! forward (Open, Closing, Closed) and is what the model expects; sends
//! succeed or fail as the rules say, and after a close every send fails
//! with `SendError::Closed`; what a send writes decodes to the frame sent.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ws_proto::close::ClosePayloadError;
use ws_proto::constants::{MAX_CONTROL_PAYLOAD, MIN_RECV_BUFFER};
use ws_proto::{
    apply_mask, CloseCode, CloseFrame, Config, Connection, Event, Frame, FrameHeader, MaskSource,
    MessageKind, OpCode, ProtocolError, SendError, State,
};
use ws_proto_fuzz::{is_utf8_prefix, truncate_at_char_boundary};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// Bit 0: client (else server); bit 1: auto-pong off; bit 2:
    /// compression negotiated; bits 3-4: message size limit; bits 5-6:
    /// receive buffer size.
    flags: u8,
    /// One per step, used in turn: `[what, parameter]`. The low nibble of
    /// `what` is the size of the step's read, the high nibble what to send.
    steps: [[u8; 2]; 16],
    /// The bytes from the peer.
    wire: &'a [u8],
}

const MESSAGE_LIMITS: [u64; 4] = [64, 1024, 1 << 20, u64::MAX];
const BUFFER_SIZES: [usize; 4] = [MIN_RECV_BUFFER, MIN_RECV_BUFFER + 1, 256, 1024];
const READ_SIZES: [usize; 16] = [
    0,
    1,
    1,
    2,
    3,
    4,
    5,
    7,
    11,
    16,
    31,
    64,
    125,
    139,
    256,
    usize::MAX,
];
const TRANSMIT_BUFFER: usize = 256;

const TEXTS: [&str; 4] = [
    "",
    "Hello",
    "h\u{e9}llo w\u{f6}rld \u{20ac}\u{1d11e}",
    "\u{1d11e}",
];
const CODES: [u16; 8] = [1000, 1001, 1005, 1006, 1011, 3000, 4999, 999];
const REASONS: [&str; 4] = ["", "bye", "\u{e9}t\u{e9} \u{20ac}", LONG_REASON];
/// 124 bytes whose 123-byte cut falls inside a code point.
const LONG_REASON: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\u{e9}";

/// Masking keys for the client: distinct, never all zero.
struct Keys(u32);

impl MaskSource for Keys {
    fn next_key(&mut self) -> [u8; 4] {
        self.0 = self.0.wrapping_add(0x9e37_79b9);
        (self.0 | 1).to_be_bytes()
    }
}

/// What the rules say the connection's sending and closing state is.
#[derive(Debug, Default)]
struct Model {
    client: bool,
    auto_pong: bool,
    compression: bool,
    close_queued: bool,
    close_sent: bool,
    peer_closed: bool,
    failed: Option<ProtocolError>,
    sending_fragmented: bool,
    /// The payload of the pong waiting to be transmitted.
    pending_pong: Option<Vec<u8>>,
    /// The payload of the close frame waiting to be transmitted.
    pending_close: Option<Vec<u8>>,
    /// The text message being received, so far.
    text: Option<Vec<u8>>,
    /// A data frame is being received (no control event may come).
    in_frame: bool,
    last_state: Option<State>,
}

fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    if code == 1005 {
        return Vec::new();
    }
    let mut payload = code.to_be_bytes().to_vec();
    payload
        .extend_from_slice(truncate_at_char_boundary(reason, MAX_CONTROL_PAYLOAD - 2).as_bytes());
    payload
}

impl Model {
    fn expected_state(&self) -> State {
        let peer_done = self.peer_closed || self.failed.is_some();
        if self.close_sent && peer_done {
            State::Closed
        } else if self.close_queued || peer_done {
            State::Closing
        } else {
            State::Open
        }
    }

    fn queue_close(&mut self, payload: Vec<u8>) {
        if !self.close_queued {
            self.close_queued = true;
            self.pending_close = Some(payload);
            self.pending_pong = None;
        }
    }

    /// Compare the connection's state with the model's; it never goes back.
    fn check_state<M: MaskSource>(&mut self, conn: &Connection<M>, when: &str) {
        let state = conn.state();
        assert_eq!(state, self.expected_state(), "state {when}: {self:?}");
        if let Some(last) = self.last_state {
            assert!(
                state >= last,
                "state went back from {last:?} to {state:?} {when}"
            );
        }
        self.last_state = Some(state);
        assert_eq!(conn.failure(), self.failed);
        assert_eq!(conn.close_sent(), self.close_sent);
        assert_eq!(
            conn.wants_transmit(),
            self.pending_pong.is_some() || self.pending_close.is_some(),
            "wants_transmit {when}"
        );
    }

    /// Account for one event handed out by `receive`.
    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::Data(chunk) => {
                assert_eq!(chunk.frame_start, !self.in_frame, "{chunk:?}");
                self.in_frame = !chunk.frame_end;
                if chunk.kind != MessageKind::Text || chunk.compressed {
                    return;
                }
                let text = self.text.get_or_insert_with(Vec::new);
                if chunk.message_start {
                    assert!(text.is_empty(), "a text message started inside another");
                }
                text.extend_from_slice(chunk.payload);
                assert!(
                    is_utf8_prefix(text),
                    "text handed out that is not UTF-8 so far: {text:02x?}"
                );
                if chunk.message_end {
                    assert!(
                        core::str::from_utf8(text).is_ok(),
                        "complete text message is not UTF-8: {text:02x?}"
                    );
                    self.text = None;
                }
            }
            Event::Ping(payload) => {
                assert!(!self.in_frame, "ping inside a data frame");
                assert_eq!(
                    self.pending_pong, None,
                    "a ping handed out before the last ping's pong was transmitted"
                );
                if self.auto_pong && !self.close_queued {
                    self.pending_pong = Some(payload.to_vec());
                }
            }
            Event::Pong(_) => assert!(!self.in_frame, "pong inside a data frame"),
            Event::Close(close) => {
                assert!(!self.in_frame, "close inside a data frame");
                self.peer_closed = true;
                self.queue_close(close_payload(close.code.0, ""));
            }
        }
    }

    fn error(&mut self, err: ProtocolError) {
        self.failed = Some(err);
        self.queue_close(close_payload(err.close_code().0, err.reason()));
    }

    /// Decode what `poll_transmit` wrote: whole frames, the pong or the
    /// close the model expects, nothing after a close.
    fn transmitted(&mut self, mut out: &[u8]) {
        while !out.is_empty() {
            let (payload, header) = self.decode_frame(&mut out, "poll_transmit");
            assert!(
                !self.close_sent,
                "{:?} transmitted after the close",
                header.opcode
            );
            match header.opcode {
                OpCode::Pong => assert_eq!(
                    Some(payload),
                    self.pending_pong.take(),
                    "pong transmitted that echoes no pending ping"
                ),
                OpCode::Close => {
                    if let Err(err) = CloseFrame::parse(&payload) {
                        panic!(
                            "close frame transmitted with a bad payload: {err:?} {payload:02x?}"
                        );
                    }
                    assert_eq!(
                        Some(payload),
                        self.pending_close.take(),
                        "unexpected close frame transmitted"
                    );
                    self.close_sent = true;
                }
                other => panic!("poll_transmit wrote a {other:?} frame"),
            }
        }
        assert_eq!(
            self.pending_pong, None,
            "a pong did not fit in {TRANSMIT_BUFFER} bytes"
        );
        assert_eq!(
            self.pending_close, None,
            "a close did not fit in {TRANSMIT_BUFFER} bytes"
        );
    }

    /// Take one whole frame off the front of `out`: its unmasked payload.
    fn decode_frame(&self, out: &mut &[u8], what: &str) -> (Vec<u8>, FrameHeader) {
        let (header, header_len) = match FrameHeader::decode(out) {
            Ok(Some(decoded)) => decoded,
            other => panic!("{what} wrote bytes that are not a frame: {other:?} {out:02x?}"),
        };
        assert_eq!(header.rsv, 0, "{what}: RSV bits set");
        assert_eq!(
            header.mask.is_some(),
            self.client,
            "{what}: a {} frame {} masked",
            if self.client { "client" } else { "server" },
            if self.client { "not" } else { "was" }
        );
        let len = usize::try_from(header.payload_len).expect("small frame");
        let mut payload = out
            .get(header_len..header_len + len)
            .unwrap_or_else(|| panic!("{what} wrote a frame cut short"))
            .to_vec();
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        *out = &out[header_len + len..];
        (payload, header)
    }

    /// What the rules of sending say a send of this frame returns.
    fn rules(&self, opcode: OpCode, payload_len: u64) -> Result<(), SendError> {
        let control = opcode.is_control();
        if self.close_queued {
            Err(SendError::Closed)
        } else if control && payload_len > MAX_CONTROL_PAYLOAD as u64 {
            Err(SendError::InvalidControlFrame)
        } else if opcode == OpCode::Continuation && !self.sending_fragmented {
            Err(SendError::NoMessageToContinue)
        } else if !control && opcode != OpCode::Continuation && self.sending_fragmented {
            Err(SendError::MessageUnfinished)
        } else {
            Ok(())
        }
    }

    /// Account for a frame the connection agreed to send.
    fn admitted(&mut self, opcode: OpCode, fin: bool) {
        if !opcode.is_control() {
            self.sending_fragmented = !fin;
        }
        if opcode == OpCode::Close {
            self.close_queued = true;
            self.close_sent = true;
            self.pending_pong = None;
        }
    }

    /// Check a send's outcome against the rules, and on success that the
    /// bytes are the frame (`fin`, `opcode`, `payload`) and nothing else.
    fn sent(
        &mut self,
        result: Result<usize, SendError>,
        out: &[u8],
        opcode: OpCode,
        fin: bool,
        payload: &[u8],
    ) {
        match (result, self.rules(opcode, payload.len() as u64)) {
            (Ok(len), Ok(())) => {
                let mut written = &out[..len];
                let (sent, header) = self.decode_frame(&mut written, "a send");
                assert!(written.is_empty(), "a send wrote more than one frame");
                assert_eq!((header.opcode, header.fin), (opcode, fin));
                assert_eq!(sent, payload, "the frame sent carries another payload");
                self.admitted(opcode, fin);
            }
            (Err(err), Err(expected)) => assert_eq!(err, expected, "{opcode:?} send"),
            (result, expected) => panic!("{opcode:?} send: {result:?}, the rules say {expected:?}"),
        }
    }
}

/// Run `receive` over `buf` until it needs more bytes (true) or fails
/// (false), then drop the consumed bytes.
fn pump<M: MaskSource>(conn: &mut Connection<M>, buf: &mut Vec<u8>, model: &mut Model) -> bool {
    let mut start = 0;
    let alive = loop {
        let available = buf.len() - start;
        match conn.receive(&mut buf[start..]) {
            Ok((consumed, event)) => {
                assert!(consumed <= available, "consumed {consumed} of {available}");
                let Some(event) = event else {
                    start += consumed;
                    if conn.wants_transmit() {
                        // Perhaps a ping waits for its predecessor's pong:
                        // transmit, as a transport does, and try again.
                        transmit(conn, model);
                        continue;
                    }
                    break true;
                };
                assert!(consumed > 0, "an event that consumed nothing: {event:?}");
                assert!(
                    !model.peer_closed,
                    "event after the peer's close: {event:?}"
                );
                model.event(&event);
                start += consumed;
                model.check_state(conn, "after an event");
            }
            Err(err) => {
                assert!(
                    model.failed.is_none() && !model.peer_closed,
                    "{err:?} after the end"
                );
                model.error(err);
                model.check_state(conn, "after an error");
                break false;
            }
        }
    };
    buf.drain(..start);
    if alive {
        assert!(
            buf.len() < MIN_RECV_BUFFER,
            "receive wants more bytes but {} are waiting",
            buf.len()
        );
    }
    alive
}

/// Drain `poll_transmit` into a buffer of [`TRANSMIT_BUFFER`] bytes and
/// check what it wrote.
fn transmit<M: MaskSource>(conn: &mut Connection<M>, model: &mut Model) {
    let mut out = [0u8; TRANSMIT_BUFFER];
    let len = conn.poll_transmit(&mut out);
    model.transmitted(&out[..len]);
    model.check_state(conn, "after poll_transmit");
}

/// The step's send, chosen by the high nibble of `what`.
fn send<M: MaskSource>(conn: &mut Connection<M>, model: &mut Model, what: u8, param: u8) {
    let mut out = [0u8; 512];
    let fin = param & 0x80 == 0;
    match what >> 4 {
        0..=7 => {}
        8 => {
            let text = TEXTS[usize::from(param % 4)];
            let result = conn.encode_text(text, &mut out);
            model.sent(result, &out, OpCode::Text, true, text.as_bytes());
        }
        9 => {
            let data = vec![param; usize::from(param)];
            let result = conn.encode_binary(&data, &mut out);
            model.sent(result, &out, OpCode::Binary, true, &data);
        }
        10 | 11 => {
            let payload = vec![param ^ 0x5a; usize::from(param % 128)];
            let (opcode, result) = if what >> 4 == 10 {
                (OpCode::Ping, conn.encode_ping(&payload, &mut out))
            } else {
                (OpCode::Pong, conn.encode_pong(&payload, &mut out))
            };
            model.sent(result, &out, opcode, true, &payload);
        }
        12 => {
            let code = CODES[usize::from(param % 8)];
            let reason = REASONS[usize::from((param >> 3) % 4)];
            let result = conn.close(CloseCode(code), reason);
            let valid = CloseCode(code).is_valid_on_wire() || code == 1005;
            let expected = if model.close_queued {
                Err(SendError::Closed)
            } else if !valid {
                Err(SendError::InvalidClose(ClosePayloadError::InvalidCode(
                    code,
                )))
            } else {
                Ok(())
            };
            assert_eq!(result, expected, "close({code}, {reason:?})");
            if result.is_ok() {
                model.queue_close(close_payload(code, reason));
            }
        }
        13 => {
            // One frame of a fragmented message, header only. Bit 6 asks
            // for the wrong opcode on purpose; bit 4 for a compressed header
            // (RSV1, only with compression and on a message's first frame).
            let continuing = model.sending_fragmented != (param & 0x40 != 0);
            let opcode = match (continuing, param & 1) {
                (true, _) => OpCode::Continuation,
                (false, 0) => OpCode::Text,
                (false, _) => OpCode::Binary,
            };
            let len = u64::from(param & 0x3f) << (param & 0x0e);
            let compressed = param & 0x10 != 0;
            let (result, expected) = if compressed {
                let expected = if !model.compression || opcode == OpCode::Continuation {
                    Err(SendError::CompressionNotNegotiated)
                } else {
                    model.rules(opcode, len)
                };
                (
                    conn.encode_compressed_header(opcode, fin, len, &mut out),
                    expected,
                )
            } else {
                (
                    conn.encode_header(opcode, fin, len, &mut out),
                    model.rules(opcode, len),
                )
            };
            match (result, expected) {
                (Ok(header), Ok(())) => {
                    let (decoded, header_len) = FrameHeader::decode(&out[..header.len])
                        .expect("a valid header")
                        .expect("a whole header");
                    assert_eq!(header_len, header.len);
                    assert_eq!(decoded.rsv, if compressed { 0b100 } else { 0 });
                    assert_eq!((decoded.opcode, decoded.fin), (opcode, fin));
                    assert_eq!(decoded.payload_len, len);
                    assert_eq!(decoded.mask, header.mask);
                    assert_eq!(decoded.mask.is_some(), model.client);
                    model.admitted(opcode, fin);
                }
                (Err(err), Err(expected)) => assert_eq!(err, expected, "{opcode:?} header"),
                (result, expected) => {
                    panic!("{opcode:?} header: {result:?}, the rules say {expected:?}")
                }
            }
        }
        14 => {
            // A close frame through encode_frame: counts as our close, sent.
            let code = CODES[usize::from(param % 8)];
            let reason = REASONS[usize::from((param >> 3) % 4)];
            let Ok(frame) = Frame::close_with_reason(CloseCode(code), reason) else {
                assert!(!CloseCode(code).is_valid_on_wire() && code != 1005);
                return;
            };
            let result = conn.encode_frame(&frame, &mut out);
            let payload = close_payload(code, reason);
            model.sent(result, &out, OpCode::Close, true, &payload);
        }
        _ => {
            // Buffers too small: refused first, whatever the state, and
            // nothing changes. A 1-byte buffer holds no frame to transmit.
            let needed = Frame::text("Hello").encoded_len(model.client);
            assert_eq!(
                conn.encode_text("Hello", &mut out[..usize::from(param % 7)]),
                Err(SendError::BufferTooSmall { needed })
            );
            let bad_close = Frame::new(OpCode::Close, b"\x03");
            assert_eq!(
                conn.encode_frame(&bad_close, &mut out),
                Err(SendError::InvalidClose(ClosePayloadError::Truncated))
            );
            assert_eq!(
                conn.encode_header(OpCode::Close, true, 0, &mut out),
                Err(SendError::InvalidControlFrame)
            );
            assert_eq!(conn.poll_transmit(&mut out[..1]), 0);
        }
    }
}

fn run<M: MaskSource>(
    mut conn: Connection<M>,
    mut model: Model,
    input: &Input<'_>,
    capacity: usize,
) {
    model.check_state(&conn, "at the start");
    let wire = input.wire;
    let mut at = 0;
    let mut buf: Vec<u8> = Vec::with_capacity(capacity);
    let mut alive = true;
    let steps = 16 + wire.len();
    for step in 0..=steps {
        let [what, param] = input.steps[step % 16];
        send(&mut conn, &mut model, what, param);
        model.check_state(&conn, "after a send");

        let read = if step == steps {
            usize::MAX // the last step reads whatever is left
        } else {
            READ_SIZES[usize::from(what & 0x0f)]
        };
        let n = read.min(wire.len() - at).min(capacity - buf.len());
        if alive && n > 0 {
            buf.extend_from_slice(&wire[at..at + n]);
            at += n;
            alive = pump(&mut conn, &mut buf, &mut model);
        }

        transmit(&mut conn, &mut model);
        if step >= 16 && (at == wire.len() || !alive) {
            break;
        }
    }
}

fuzz_target!(|input: Input<'_>| {
    let flags = input.flags;
    let mut config = Config::new();
    config.auto_pong = flags & 2 == 0;
    config.compression = flags & 4 != 0;
    config.max_message_size = MESSAGE_LIMITS[usize::from((flags >> 3) & 3)];
    config.max_frame_size = 4096;
    let capacity = BUFFER_SIZES[usize::from((flags >> 5) & 3)];
    let model = Model {
        client: flags & 1 != 0,
        auto_pong: config.auto_pong,
        compression: config.compression,
        ..Model::default()
    };
    if model.client {
        run(Connection::client(config, Keys(0)), model, &input, capacity);
    } else {
        run(Connection::server(config), model, &input, capacity);
    }
});
