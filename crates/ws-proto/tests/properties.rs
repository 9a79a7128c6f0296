//! Property tests of `ws-proto`, through its public API only:
//!
//! - the frame header codec round-trips every valid header;
//! - what one end sends the other receives, client to server and back;
//! - `Connection::receive` makes the same events of a stream however the
//!   transport splits it, down to one byte per read into the smallest
//!   buffer allowed;
//! - arbitrary bytes never panic, fail the same way under any split, and
//!   leave a well-formed close frame to send;
//! - masking chunk by chunk equals masking in one go.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use ws_proto::constants::{MAX_HEADER_LEN, MIN_RECV_BUFFER};
use ws_proto::{
    apply_mask, CloseCode, CloseFrame, Config, Connection, DataChunk, Event, Frame, FrameHeader,
    MaskSource, MessageKind, OpCode, ProtocolError, Role, SendError, State,
};

// ---------------------------------------------------------------------------
// Normalized events
// ---------------------------------------------------------------------------

/// What a receiver made of a byte stream, in a form that does not depend on
/// how the stream was split: whole messages rather than chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// A complete data message: its payload and the length of each frame.
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
    /// The data of a message still open when the input ran out. Only
    /// recorded without an error: how much of a failing message is handed
    /// out before the error depends on the split.
    Unfinished {
        kind: MessageKind,
        payload: Vec<u8>,
    },
    /// The error that failed the connection; always last.
    Error(ProtocolError),
}

impl Seen {
    fn message(kind: MessageKind, payload: &[u8], frames: Vec<usize>) -> Seen {
        Seen::Message {
            kind,
            compressed: false,
            payload: payload.to_vec(),
            frames,
        }
    }
}

/// The result of feeding a stream to a receiving connection.
#[derive(Debug)]
struct Received {
    seen: Vec<Seen>,
    /// Payload bytes handed out in events (data, control payloads, close
    /// reasons), partial messages included.
    delivered: usize,
}

/// The data message being gathered from chunks.
struct OpenMessage {
    kind: MessageKind,
    compressed: bool,
    payload: Vec<u8>,
    frames: Vec<usize>,
    in_frame: bool,
}

/// Gathers events into [`Seen`] values, checking on the way that the chunk
/// flags tell a consistent story.
#[derive(Default)]
struct Normalizer {
    seen: Vec<Seen>,
    open: Option<OpenMessage>,
    delivered: usize,
}

impl Normalizer {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Data(chunk) => self.chunk(&chunk),
            Event::Ping(payload) => self.control(Seen::Ping(payload.to_vec()), payload.len()),
            Event::Pong(payload) => self.control(Seen::Pong(payload.to_vec()), payload.len()),
            Event::Close(close) => self.control(
                Seen::Close {
                    code: close.code.0,
                    reason: close.reason.to_owned(),
                },
                close.reason.len(),
            ),
        }
    }

    fn control(&mut self, seen: Seen, payload_len: usize) {
        let in_frame = self.open.as_ref().is_some_and(|open| open.in_frame);
        assert!(!in_frame, "control event inside a data frame: {seen:?}");
        self.delivered += payload_len;
        self.seen.push(seen);
    }

    fn chunk(&mut self, chunk: &DataChunk<'_>) {
        assert_eq!(
            chunk.message_start,
            self.open.is_none(),
            "message_start flag of {chunk:?}"
        );
        let open = self.open.get_or_insert_with(|| OpenMessage {
            kind: chunk.kind,
            compressed: chunk.compressed,
            payload: Vec::new(),
            frames: Vec::new(),
            in_frame: false,
        });
        assert_eq!(
            (chunk.kind, chunk.compressed),
            (open.kind, open.compressed),
            "kind changed within a message: {chunk:?}"
        );
        assert_eq!(
            chunk.frame_start, !open.in_frame,
            "frame_start flag of {chunk:?}"
        );
        assert!(
            chunk.frame_end || !chunk.message_end,
            "message ends inside a frame: {chunk:?}"
        );
        if chunk.frame_start {
            open.frames.push(0);
        }
        if let Some(frame_len) = open.frames.last_mut() {
            *frame_len += chunk.payload.len();
        }
        open.payload.extend_from_slice(chunk.payload);
        open.in_frame = !chunk.frame_end;
        self.delivered += chunk.payload.len();
        if chunk.message_end {
            if let Some(done) = self.open.take() {
                self.seen.push(Seen::Message {
                    kind: done.kind,
                    compressed: done.compressed,
                    payload: done.payload,
                    frames: done.frames,
                });
            }
        }
    }

    fn finish(mut self, error: Option<ProtocolError>) -> Received {
        match (error, self.open) {
            (Some(err), _) => self.seen.push(Seen::Error(err)),
            (None, Some(open)) => self.seen.push(Seen::Unfinished {
                kind: open.kind,
                payload: open.payload,
            }),
            (None, None) => {}
        }
        Received {
            seen: self.seen,
            delivered: self.delivered,
        }
    }
}

// ---------------------------------------------------------------------------
// Feeding a receiver
// ---------------------------------------------------------------------------

/// Feed `input` as one buffer, as if a single read had delivered it all.
fn feed_whole<M: MaskSource>(conn: &mut Connection<M>, input: &[u8]) -> Received {
    let mut buf = input.to_vec();
    let mut start = 0;
    let mut events = Normalizer::default();
    loop {
        match conn.receive(&mut buf[start..]) {
            Err(err) => return events.finish(Some(err)),
            Ok((_, None)) => {
                if !pong_blocks_a_ping(conn, &buf[start..]) {
                    return events.finish(None);
                }
            }
            Ok((consumed, Some(event))) => {
                assert!(consumed > 0, "an event that consumed nothing: {event:?}");
                events.event(event);
                start += consumed;
            }
        }
    }
}

/// Feed `input` through a simulated transport: a receive buffer of
/// `capacity` bytes, filled by reads of `reads[0]`, `reads[1]`, ... bytes
/// (cycling; less when the buffer or the input runs short). After each read
/// the connection gets the buffer until it has no event, and the bytes it
/// consumed are dropped from the front.
fn feed_split<M: MaskSource>(
    conn: &mut Connection<M>,
    input: &[u8],
    capacity: usize,
    reads: &[usize],
) -> Received {
    assert!(capacity >= MIN_RECV_BUFFER && !reads.is_empty());
    let mut buf = Vec::with_capacity(capacity);
    let mut rest = input;
    let mut reads = reads.iter().copied().cycle();
    let mut events = Normalizer::default();
    loop {
        let read = reads.next().unwrap_or(1).max(1);
        let n = read.min(capacity - buf.len()).min(rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            let (consumed, more) = match conn.receive(&mut buf) {
                Err(err) => return events.finish(Some(err)),
                Ok((consumed, None)) => (consumed, pong_blocks_a_ping(conn, &buf[consumed..])),
                Ok((consumed, Some(event))) => {
                    assert!(consumed > 0, "an event that consumed nothing: {event:?}");
                    events.event(event);
                    (consumed, true)
                }
            };
            buf.drain(..consumed);
            if !more {
                break;
            }
        }
        if rest.is_empty() {
            return events.finish(None);
        }
        assert!(
            buf.len() < capacity,
            "stuck: {capacity} bytes buffered and no event: {buf:?}"
        );
    }
}

/// After `receive` returned no event, with `unread` left in the buffer: if
/// a queued pong holds back the ping at the front of it (every ping gets
/// its own pong), transmit the pong, as a transport does, and return true
/// to call `receive` again. Only then, so that whole and split feeding
/// transmit the same frames (a client's masking keys are drawn in order);
/// a queued close stays queued for the test to check.
fn pong_blocks_a_ping<M: MaskSource>(conn: &mut Connection<M>, unread: &[u8]) -> bool {
    // `receive` returned no event and no error, so a whole header at the
    // front passed its checks: a ping there waits for the pong.
    let ping_waits = matches!(
        FrameHeader::decode(unread),
        Ok(Some((header, _))) if header.opcode == OpCode::Ping
    );
    if ping_waits && conn.wants_transmit() && conn.state() == ws_proto::State::Open {
        transmitted(conn);
        return true;
    }
    false
}

/// Everything the connection has queued to send.
fn transmitted<M: MaskSource>(conn: &mut Connection<M>) -> Vec<u8> {
    let mut out = [0u8; 512];
    let n = conn.poll_transmit(&mut out);
    out[..n].to_vec()
}

/// Decode `bytes` as exactly one close frame, masked iff `masked`, with a
/// code; return its code and reason.
fn decode_close_frame(bytes: &[u8], masked: bool) -> (u16, String) {
    let (header, header_len) = FrameHeader::decode(bytes)
        .expect("the close frame has a valid header")
        .expect("the close frame header is whole");
    assert_eq!(
        (header.opcode, header.fin, header.rsv, header.mask.is_some()),
        (OpCode::Close, true, 0, masked),
        "close frame header"
    );
    assert_eq!(
        header_len as u64 + header.payload_len,
        bytes.len() as u64,
        "one close frame and nothing else: {bytes:?}"
    );
    let mut payload = bytes[header_len..].to_vec();
    if let Some(key) = header.mask {
        apply_mask(&mut payload, key, 0);
    }
    assert!(
        payload.len() >= 2,
        "close frame without a code: {payload:?}"
    );
    let close = CloseFrame::parse(&payload).expect("the close payload is valid");
    (close.code.0, close.reason.to_owned())
}

// ---------------------------------------------------------------------------
// Endpoints and the streams they send
// ---------------------------------------------------------------------------

/// A connection of `role` whose masking keys come from a counter seeded
/// with `seed`: a new key per frame, and the same keys for two endpoints
/// built with the same seed.
fn endpoint(role: Role, config: Config, seed: u32) -> Connection<impl FnMut() -> [u8; 4]> {
    let mut state = seed;
    let keys = move || {
        state = state.wrapping_mul(0x0019_660D).wrapping_add(0x3C6E_F35F);
        state.to_le_bytes()
    };
    match role {
        Role::Client => Connection::client(config, keys),
        Role::Server => Connection::new(Role::Server, config, keys),
    }
}

fn peer(role: Role) -> Role {
    match role {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    }
}

#[derive(Debug, Clone)]
enum Control {
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

impl Control {
    fn seen(&self) -> Seen {
        match self {
            Control::Ping(payload) => Seen::Ping(payload.clone()),
            Control::Pong(payload) => Seen::Pong(payload.clone()),
        }
    }
}

/// One step of what a sender does.
#[derive(Debug, Clone)]
enum Action {
    Text(String),
    Binary(Vec<u8>),
    /// A message in fragments, cut at the byte positions `cuts` (sorted; a
    /// text fragment may end inside a code point), with a control frame
    /// after fragment `i` where `between[i]` is `Some`.
    Fragmented {
        kind: MessageKind,
        payload: Vec<u8>,
        cuts: Vec<usize>,
        between: Vec<Option<Control>>,
    },
    Control(Control),
}

/// Encode one frame with `encode` and append it to `wire`, checking that
/// the header is what the sender's role asks for.
fn emit<M: MaskSource>(
    wire: &mut Vec<u8>,
    sender: &mut Connection<M>,
    payload_len: usize,
    encode: impl FnOnce(&mut Connection<M>, &mut [u8]) -> Result<usize, SendError>,
) {
    let mut out = vec![0; MAX_HEADER_LEN + payload_len];
    let written = encode(sender, &mut out).expect("a valid frame is accepted for sending");
    let (header, header_len) = FrameHeader::decode(&out[..written])
        .expect("a valid header")
        .expect("a whole header");
    assert_eq!(
        header.mask.is_some(),
        sender.role() == Role::Client,
        "clients mask, servers do not"
    );
    assert_eq!(
        (header.payload_len, header_len + payload_len),
        (payload_len as u64, written)
    );
    wire.extend_from_slice(&out[..written]);
}

fn emit_control<M: MaskSource>(wire: &mut Vec<u8>, sender: &mut Connection<M>, control: &Control) {
    match control {
        Control::Ping(payload) => emit(wire, sender, payload.len(), |conn, out| {
            conn.encode_ping(payload, out)
        }),
        Control::Pong(payload) => emit(wire, sender, payload.len(), |conn, out| {
            conn.encode_pong(payload, out)
        }),
    }
}

/// What `sender` puts on the wire for `actions`, then `close` if given,
/// and the events a receiver should make of it.
fn send_stream<M: MaskSource>(
    sender: &mut Connection<M>,
    actions: &[Action],
    close: Option<(u16, &str)>,
) -> (Vec<u8>, Vec<Seen>) {
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    for action in actions {
        match action {
            Action::Text(text) => {
                emit(&mut wire, sender, text.len(), |conn, out| {
                    conn.encode_text(text, out)
                });
                expected.push(Seen::message(
                    MessageKind::Text,
                    text.as_bytes(),
                    vec![text.len()],
                ));
            }
            Action::Binary(data) => {
                emit(&mut wire, sender, data.len(), |conn, out| {
                    conn.encode_binary(data, out)
                });
                expected.push(Seen::message(MessageKind::Binary, data, vec![data.len()]));
            }
            Action::Control(control) => {
                emit_control(&mut wire, sender, control);
                expected.push(control.seen());
            }
            Action::Fragmented {
                kind,
                payload,
                cuts,
                between,
            } => {
                let ends: Vec<usize> = cuts.iter().copied().chain([payload.len()]).collect();
                let mut start = 0;
                let mut frames = Vec::new();
                for (i, &end) in ends.iter().enumerate() {
                    let piece = &payload[start..end];
                    let opcode = if i == 0 {
                        kind.opcode()
                    } else {
                        OpCode::Continuation
                    };
                    let fin = i + 1 == ends.len();
                    let frame = Frame::new(opcode, piece).with_fin(fin);
                    emit(&mut wire, sender, piece.len(), |conn, out| {
                        conn.encode_frame(&frame, out)
                    });
                    frames.push(piece.len());
                    if let (false, Some(Some(control))) = (fin, between.get(i)) {
                        emit_control(&mut wire, sender, control);
                        expected.push(control.seen());
                    }
                    start = end;
                }
                expected.push(Seen::message(*kind, payload, frames));
            }
        }
    }
    if let Some((code, reason)) = close {
        sender
            .close(CloseCode(code), reason)
            .expect("a valid close code");
        let frame = transmitted(sender);
        assert_eq!(
            decode_close_frame(&frame, sender.role() == Role::Client),
            (code, reason.to_owned())
        );
        wire.extend_from_slice(&frame);
        expected.push(Seen::Close {
            code,
            reason: reason.to_owned(),
        });
    }
    (wire, expected)
}

/// Sorted cut positions in `0..=len`.
fn cut_points(cuts: &[Index], len: usize) -> Vec<usize> {
    let mut points: Vec<usize> = cuts.iter().map(|cut| cut.index(len + 1)).collect();
    points.sort_unstable();
    points
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// Short strings of printable characters, or longer ones of any characters.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        vec(any::<char>(), 0..400).prop_map(|chars| chars.into_iter().collect::<String>()),
    ]
}

/// Binary payloads on both sides of the 7-bit length limit (125).
fn binary() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![vec(any::<u8>(), 0..=125), vec(any::<u8>(), 126..=2048)]
}

fn control() -> impl Strategy<Value = Control> {
    (any::<bool>(), vec(any::<u8>(), 0..=125)).prop_map(|(ping, payload)| {
        if ping {
            Control::Ping(payload)
        } else {
            Control::Pong(payload)
        }
    })
}

fn fragmented() -> impl Strategy<Value = Action> {
    let message = prop_oneof![
        text().prop_map(|text| (MessageKind::Text, text.into_bytes())),
        binary().prop_map(|data| (MessageKind::Binary, data)),
    ];
    (
        message,
        vec(any::<Index>(), 0..5),
        vec(proptest::option::weighted(0.4, control()), 4),
    )
        .prop_map(|((kind, payload), cuts, between)| Action::Fragmented {
            cuts: cut_points(&cuts, payload.len()),
            kind,
            payload,
            between,
        })
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        2 => text().prop_map(Action::Text),
        2 => binary().prop_map(Action::Binary),
        3 => fragmented(),
        1 => control().prop_map(Action::Control),
    ]
}

/// A close code allowed on the wire and a reason that fits (30 characters
/// of at most 4 bytes each stay under the 123-byte limit).
fn close() -> impl Strategy<Value = (u16, String)> {
    (
        prop_oneof![1000u16..=1003, 1007u16..=1014, 3000u16..=4999],
        "\\PC{0,30}",
    )
}

/// What the transport hands over per read: often tiny, sometimes large.
fn reads() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        vec(1usize..=4, 1..16),
        vec(1usize..=64, 1..16),
        vec(1usize..=600, 1..16),
    ]
}

fn any_role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Client), Just(Role::Server)]
}

fn config() -> impl Strategy<Value = Config> {
    prop_oneof![
        Just(Config::new()),
        Just(Config::new().max_frame_size(100).max_message_size(150)),
        Just(Config::new().max_frame_size(200).max_message_size(64)),
        Just(Config::new().compression(true)),
        Just(Config::new().auto_pong(false)),
    ]
}

/// A valid frame header: control frames are final and short.
fn frame_header() -> impl Strategy<Value = FrameHeader> {
    let opcode = select(vec![
        OpCode::Continuation,
        OpCode::Text,
        OpCode::Binary,
        OpCode::Close,
        OpCode::Ping,
        OpCode::Pong,
    ]);
    let data_len = prop_oneof![
        0u64..=125,
        126u64..=0xffff,
        0x1_0000u64..1 << 63,
        select(vec![125u64, 126, 0xffff, 0x1_0000, (1 << 63) - 1]),
    ];
    (
        any::<bool>(),
        0u8..8,
        opcode,
        proptest::option::of(any::<[u8; 4]>()),
        data_len,
        0u64..=125,
    )
        .prop_map(|(fin, rsv, opcode, mask, data_len, control_len)| {
            let control = opcode.is_control();
            FrameHeader {
                fin: fin || control,
                rsv,
                opcode,
                mask,
                payload_len: if control { control_len } else { data_len },
            }
        })
}

/// How a hand-built frame states its payload length.
#[derive(Debug, Clone, Copy)]
enum Length {
    Shortest,
    /// At least 16 bits, even when 7 would do.
    Wide16,
    /// Always 64 bits.
    Wide64,
    /// A length that is not the payload's.
    Wrong(u64),
}

/// A frame built by hand, free to break any rule.
#[derive(Debug, Clone)]
struct RawFrame {
    fin: bool,
    rsv: u8,
    opcode: u8,
    key: Option<[u8; 4]>,
    length: Length,
    payload: Vec<u8>,
}

impl RawFrame {
    fn bytes(&self) -> Vec<u8> {
        let len = match self.length {
            Length::Wrong(len) => len,
            _ => self.payload.len() as u64,
        };
        let mask_bit = if self.key.is_some() { 0x80 } else { 0 };
        let mut out = vec![(u8::from(self.fin) << 7) | (self.rsv << 4) | self.opcode];
        match (self.length, len) {
            (Length::Wide64, _) | (_, 0x1_0000..) => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&len.to_be_bytes());
            }
            (Length::Wide16, _) | (_, 126..) => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => out.push(mask_bit | len as u8),
        }
        if let Some(key) = self.key {
            out.extend_from_slice(&key);
        }
        let key = self.key.unwrap_or_default();
        // The RFC's definition of masking, independent of `apply_mask`.
        out.extend(
            self.payload
                .iter()
                .enumerate()
                .map(|(i, byte)| byte ^ key[i % 4]),
        );
        out
    }
}

/// Payloads for hand-built frames: bytes, text, or close payloads with
/// codes valid or not.
fn raw_payload() -> impl Strategy<Value = Vec<u8>> {
    let code = prop_oneof![
        select(vec![
            999u16, 1000, 1004, 1005, 1006, 1015, 2999, 3000, 4999, 5000
        ]),
        1000u16..=1003,
        any::<u16>(),
    ];
    let reason = prop_oneof![
        "\\PC{0,12}".prop_map(String::into_bytes),
        vec(any::<u8>(), 0..4),
    ];
    prop_oneof![
        vec(any::<u8>(), 0..160),
        text().prop_map(String::into_bytes),
        (code, reason).prop_map(|(code, reason)| {
            let mut payload = code.to_be_bytes().to_vec();
            payload.extend(reason);
            payload
        }),
    ]
}

/// Any frame, mostly masked as a client would when `masked`.
fn raw_frame(masked: bool) -> impl Strategy<Value = RawFrame> {
    let length = prop_oneof![
        12 => Just(Length::Shortest),
        1 => Just(Length::Wide16),
        1 => Just(Length::Wide64),
        1 => (0u64..300).prop_map(Length::Wrong),
        1 => any::<u64>().prop_map(Length::Wrong),
    ];
    (
        proptest::bool::weighted(0.8),
        prop_oneof![9 => Just(0u8), 1 => 0u8..8],
        prop_oneof![6 => select(vec![0u8, 1, 2, 8, 9, 10]), 1 => 0u8..16],
        proptest::option::weighted(if masked { 0.95 } else { 0.05 }, any::<[u8; 4]>()),
        length,
        raw_payload(),
    )
        .prop_map(|(fin, rsv, opcode, key, length, payload)| RawFrame {
            fin,
            rsv,
            opcode,
            key,
            length,
            payload,
        })
}

/// A sequence of hand-built frames for a peer that masks iff `masked`:
/// most are made to follow the rules (header and fragmentation), so that
/// the broken ones come after a few good ones.
fn raw_frames(masked: bool) -> impl Strategy<Value = Vec<RawFrame>> {
    vec((proptest::bool::weighted(0.85), raw_frame(masked)), 0..8).prop_map(move |frames| {
        let mut message_open = false;
        let mut sequence = Vec::new();
        for (sound, mut frame) in frames {
            if sound {
                frame.rsv = 0;
                if OpCode::from_u8(frame.opcode).is_none() {
                    frame.opcode = OpCode::Binary as u8;
                }
                if frame.key.is_some() != masked {
                    frame.key = masked.then_some([0x5A, 0xA5, 0x3C, 0xC3]);
                }
                if let Length::Wrong(_) = frame.length {
                    frame.length = Length::Shortest;
                }
                if frame.opcode >= 8 {
                    frame.fin = true;
                    frame.payload.truncate(125);
                } else if message_open {
                    frame.opcode = OpCode::Continuation as u8;
                } else if frame.opcode == OpCode::Continuation as u8 {
                    frame.opcode = OpCode::Binary as u8;
                }
            }
            if frame.opcode < 8 {
                message_open = !frame.fin;
            }
            sequence.push(frame);
        }
        sequence
    })
}

/// Input a peer should never send: random bytes, hand-built frames, and
/// valid streams with bytes flipped and garbage inserted.
fn hostile_input() -> impl Strategy<Value = Vec<u8>> {
    let frames = any::<bool>()
        .prop_flat_map(raw_frames)
        .prop_map(|frames| frames.iter().flat_map(RawFrame::bytes).collect());
    let damaged = (
        any_role(),
        vec(action(), 0..4),
        vec((any::<Index>(), 1u8..), 0..3),
        any::<Index>(),
        vec(any::<u8>(), 0..32),
    )
        .prop_map(|(role, actions, flips, at, garbage)| {
            let (mut wire, _) = send_stream(&mut endpoint(role, Config::new(), 9), &actions, None);
            if !wire.is_empty() {
                for (i, bits) in flips {
                    let i = i.index(wire.len());
                    wire[i] ^= bits;
                }
            }
            let tail = wire.split_off(at.index(wire.len() + 1));
            wire.extend(garbage);
            wire.extend(tail);
            wire
        });
    prop_oneof![1 => vec(any::<u8>(), 0..400), 3 => frames, 2 => damaged]
}

/// A fixed stream that covers every length encoding, empty frames and
/// fragments, code points split across fragments and control frames
/// between fragments.
fn sample_actions() -> Vec<Action> {
    let mixed = "€𝄞 and more".as_bytes().to_vec();
    vec![
        Action::Text("Hello, wörld €𝄞".into()),
        Action::Fragmented {
            kind: MessageKind::Text,
            cuts: vec![1, 2, 5],
            payload: mixed,
            between: vec![
                Some(Control::Ping(b"between".to_vec())),
                Some(Control::Pong(vec![7; 125])),
                None,
                None,
            ],
        },
        Action::Binary((0..70_000u32).map(|i| (i % 251) as u8).collect()),
        Action::Binary(Vec::new()),
        Action::Control(Control::Ping(Vec::new())),
        Action::Fragmented {
            kind: MessageKind::Binary,
            payload: vec![0xA5; 300],
            cuts: vec![0, 0, 300],
            between: vec![None, Some(Control::Ping(vec![1; 125])), None, None],
        },
        Action::Control(Control::Pong(vec![0xAB; 125])),
        Action::Text(String::new()),
    ]
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn header_encode_decode_round_trip(
        header in frame_header(),
        trailing in vec(any::<u8>(), 0..16),
    ) {
        let mut out = [0u8; MAX_HEADER_LEN];
        let len = header.encode(&mut out).expect("any header fits in 14 bytes");
        prop_assert_eq!(len, header.encoded_len());
        // The shortest length encoding.
        let len_bytes = match header.payload_len {
            0..=125 => 0,
            126..=0xffff => 2,
            _ => 8,
        };
        let key_bytes = if header.mask.is_some() { 4 } else { 0 };
        prop_assert_eq!(len, 2 + len_bytes + key_bytes);
        prop_assert_eq!(FrameHeader::decode(&out[..len]), Ok(Some((header, len))));
        let mut followed = out[..len].to_vec();
        followed.extend(trailing);
        prop_assert_eq!(FrameHeader::decode(&followed), Ok(Some((header, len))));
        for end in 0..len {
            prop_assert_eq!(FrameHeader::decode(&out[..end]), Ok(None), "prefix of {} bytes", end);
        }
        prop_assert_eq!(header.encode(&mut out[..len - 1]), None);
    }
}

/// Send `actions` and a close from a `role` end, receive them at the other
/// end, and complete the close handshake.
fn round_trip(
    role: Role,
    seed: u32,
    actions: &[Action],
    (code, reason): (u16, &str),
) -> Result<(), TestCaseError> {
    let mut sender = endpoint(role, Config::new(), seed);
    let (wire, expected) = send_stream(&mut sender, actions, Some((code, reason)));
    prop_assert_eq!(sender.state(), State::Closing);

    let mut receiver = endpoint(peer(role), Config::new(), seed ^ 1);
    let received = feed_whole(&mut receiver, &wire);
    prop_assert_eq!(&received.seen, &expected);
    prop_assert_eq!(receiver.peer_close_code(), Some(CloseCode(code)));
    prop_assert_eq!(receiver.state(), State::Closing);

    // The close reply is queued (any pong for a ping is dropped by it) and
    // echoes the code.
    prop_assert!(receiver.wants_transmit());
    let reply = transmitted(&mut receiver);
    prop_assert_eq!(
        decode_close_frame(&reply, peer(role) == Role::Client),
        (code, String::new())
    );
    prop_assert_eq!(receiver.state(), State::Closed);

    // The reply completes the sender's close handshake.
    let closed = feed_whole(&mut sender, &reply);
    prop_assert_eq!(
        closed.seen,
        vec![Seen::Close {
            code,
            reason: String::new()
        }]
    );
    prop_assert_eq!(sender.state(), State::Closed);
    prop_assert!(!sender.wants_transmit());
    Ok(())
}

/// Feed the stream `role` sends whole and through the simulated transport
/// to two fresh receivers: same events, same replies queued.
fn split_invariance(
    role: Role,
    seed: u32,
    actions: &[Action],
    close: (u16, &str),
    capacity: usize,
    reads: &[usize],
) -> Result<(), TestCaseError> {
    let (wire, expected) = send_stream(
        &mut endpoint(role, Config::new(), seed),
        actions,
        Some(close),
    );
    let mut whole_conn = endpoint(peer(role), Config::new(), seed);
    let mut split_conn = endpoint(peer(role), Config::new(), seed);
    let whole = feed_whole(&mut whole_conn, &wire);
    let split = feed_split(&mut split_conn, &wire, capacity, reads);
    prop_assert_eq!(&whole.seen, &expected);
    prop_assert_eq!(&split.seen, &whole.seen);
    prop_assert_eq!(split_conn.state(), whole_conn.state());
    prop_assert_eq!(transmitted(&mut split_conn), transmitted(&mut whole_conn));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn frame_round_trip_both_roles(
        actions in vec(action(), 0..8),
        (code, reason) in close(),
        seed in any::<u32>(),
    ) {
        round_trip(Role::Client, seed, &actions, (code, &reason))?;
        round_trip(Role::Server, seed, &actions, (code, &reason))?;
    }

    #[test]
    fn any_split_gives_the_same_events(
        actions in vec(action(), 0..8),
        (code, reason) in close(),
        seed in any::<u32>(),
        capacity in MIN_RECV_BUFFER..=600,
        reads in reads(),
    ) {
        for role in [Role::Client, Role::Server] {
            split_invariance(role, seed, &actions, (code, &reason), capacity, &reads)?;
        }
    }
}

#[test]
fn byte_at_a_time_gives_the_same_events() {
    let actions = sample_actions();
    for role in [Role::Client, Role::Server] {
        let close = Some((1001, "going away: bye"));
        let (wire, expected) = send_stream(&mut endpoint(role, Config::new(), 3), &actions, close);
        let whole = feed_whole(&mut endpoint(peer(role), Config::new(), 4), &wire);
        assert_eq!(whole.seen, expected, "{role:?} sends, whole");
        for capacity in [MIN_RECV_BUFFER, 600] {
            let mut receiver = endpoint(peer(role), Config::new(), 4);
            let split = feed_split(&mut receiver, &wire, capacity, &[1]);
            assert_eq!(split.seen, expected, "{role:?} sends, buffer {capacity}");
        }
    }
}

#[test]
fn largest_control_frame_fits_the_smallest_buffer() {
    // A 125-byte ping with a needless 64-bit length, masked for a server:
    // 14 + 125 bytes, exactly MIN_RECV_BUFFER.
    for role in [Role::Server, Role::Client] {
        let ping = RawFrame {
            fin: true,
            rsv: 0,
            opcode: OpCode::Ping as u8,
            key: (role == Role::Server).then_some([1, 2, 3, 4]),
            length: Length::Wide64,
            payload: vec![0x5A; 125],
        }
        .bytes();
        assert!(ping.len() <= MIN_RECV_BUFFER);
        let mut receiver = endpoint(role, Config::new(), 5);
        let received = feed_split(&mut receiver, &ping, MIN_RECV_BUFFER, &[1]);
        assert_eq!(received.seen, [Seen::Ping(vec![0x5A; 125])], "{role:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic_and_are_split_invariant(
        input in hostile_input(),
        config in config(),
        capacity in MIN_RECV_BUFFER..=600,
        reads in reads(),
    ) {
        for role in [Role::Client, Role::Server] {
            let mut whole_conn = endpoint(role, config, 1);
            let mut split_conn = endpoint(role, config, 1);
            let whole = feed_whole(&mut whole_conn, &input);
            let split = feed_split(&mut split_conn, &input, capacity, &reads);
            prop_assert_eq!(&split.seen, &whole.seen, "{:?} receives", role);
            prop_assert!(whole.delivered <= input.len());
            prop_assert!(split.delivered <= input.len());
            prop_assert_eq!(split_conn.state(), whole_conn.state());
            prop_assert_eq!(split_conn.failure(), whole_conn.failure());
            let reply = transmitted(&mut whole_conn);
            prop_assert_eq!(&transmitted(&mut split_conn), &reply);

            if let Some(&Seen::Error(err)) = whole.seen.last() {
                prop_assert_eq!(whole_conn.failure(), Some(err));
                let (code, reason) = decode_close_frame(&reply, role == Role::Client);
                prop_assert_eq!(code, err.close_code().0);
                prop_assert_eq!(reason.as_str(), err.reason());
                prop_assert_eq!(whole_conn.state(), State::Closed);
                // A failed connection keeps failing.
                prop_assert_eq!(whole_conn.receive(&mut [0x82, 0x00]).err(), Some(err));
            }
        }
    }

    #[test]
    fn masking_in_chunks_equals_masking_whole(
        data in vec(any::<u8>(), 0..300),
        key in any::<[u8; 4]>(),
        offset in 0usize..8,
        cuts in vec(any::<Index>(), 0..8),
    ) {
        let mut whole = data.clone();
        let end_offset = apply_mask(&mut whole, key, offset);
        prop_assert_eq!(end_offset, (offset + data.len()) % 4);
        for (i, (&masked, &plain)) in whole.iter().zip(&data).enumerate() {
            prop_assert_eq!(masked, plain ^ key[(offset + i) % 4]);
        }

        let mut chunked = data.clone();
        let mut next = offset;
        let mut start = 0;
        for end in cut_points(&cuts, data.len()).into_iter().chain([data.len()]) {
            next = apply_mask(&mut chunked[start..end], key, next);
            start = end;
        }
        prop_assert_eq!(next, end_offset);
        prop_assert_eq!(chunked, whole);
    }
}
