//! The permessage-deflate codec (`ws_proto::deflate`, RFC 7692) as the
//! transports drive it, for either role, under parameters the input picks
//! (window bits 8 to 15 each way, either no_context_takeover, the message
//! size limits of both sides, the compression level).
//!
//! Part 1, hostile peer: the input's bytes are the compressed payloads of
//! successive messages, each cut into frames and reads (`DataChunk`s as the
//! connection hands them out), with `recycle` at message starts and
//! `release_idle` between messages or, as ws-mio's idle sweep may, inside
//! one. A reference decoder (`inflate_messages` in src/lib.rs) says what
//! each message is. Checks: no panic; a message handed out is exactly the
//! reference's (no truncation, nothing invented), of the right kind, within
//! the limit; an error is `MessageTooLarge` only past the limit,
//! `InvalidUtf8` only for text that is not UTF-8, `InvalidCompressedData`
//! only for data the reference rejects (or, under a window below 15 bits, a
//! match reaching past it); valid data within the limit is never refused;
//! and no call holds more than twice the limit plus 1 MiB of memory (a
//! decompression bomb hits the limit instead of the allocator).
//!
//! Part 2, round trip: input-chosen messages (text or binary, small to
//! 64 KiB) go both ways between a codec of each role with the same
//! negotiated parameters: `compress`, `compressed_frames`, reads, then
//! `receive_chunk` on the peer, with `release_idle` calls between (or
//! inside) messages. Checks: every message comes back byte for byte, or
//! fails as the limit and UTF-8 rules say; `compress` appends to what the
//! buffer held; frames cover the payload in order, 1 MiB at most each; and
//! the compressed stream of each side, read by the reference decoder, is
//! the messages sent, with no match farther back than the sender's window
//! and, without context takeover, no reference to an earlier message.

#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ws_proto::deflate::{
    compressed_frames, CompressionConfig, DeflateParams, PerMessageDeflate, MAX_COMPRESSED_FRAME,
};
use ws_proto::message::Message;
use ws_proto::{DataChunk, MessageKind, ProtocolError, Role};
use ws_proto_fuzz::{inflate_messages, is_utf8_prefix, Chunks, Inflated};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// Bit 0: our codec is the client (else the server); bit 1:
    /// server_no_context_takeover; bit 2: client_no_context_takeover; bits
    /// 3-5: our message size limit (`LIMITS`); bit 6: `release_idle` may
    /// come inside a message; bit 7: round-trip text may be invalid UTF-8.
    flags: u8,
    /// Bits 0-2: server_max_window_bits - 8; bits 4-6: client_max_window_bits - 8.
    windows: u8,
    /// Bits 0-3: the compression level (10-15 stand for 9); bits 4-6: the
    /// peer's message size limit (`LIMITS`).
    tune: u8,
    /// Part 1: the sizes of the compressed messages cut from `data`.
    messages: Chunks,
    /// The sizes of the reads each frame arrives in (both parts, in turn).
    reads: Chunks,
    /// Part 1, one per message, used in turn: the `STEP_*` bits.
    steps: [u8; 8],
    /// Part 2, one message each: `[what, size]`. `what` bit 0: the peer
    /// sends (else we do); bit 1: text; bits 2-4: how many times the
    /// message repeats its piece of `data` (`REPEATS`); bit 5:
    /// `release_idle` on the sender first; bit 6: on the receiver first;
    /// bit 7: on the receiver after the first chunk (with flags bit 6).
    /// `size`: the piece's length, as a read size code of `Chunks`.
    sends: [[u8; 2]; 8],
    /// Part 1: the compressed payloads. Part 2: what the messages are cut from.
    data: &'a [u8],
}

/// Message size limits (`max_message` of `PerMessageDeflate::new`). The
/// transports pass `max_message_size` (16 MiB by default) as a usize,
/// `usize::MAX` for a limit that does not fit (or `u64::MAX`, no limit).
const LIMITS: [usize; 8] = [0, 1, 5, 100, 4096, 1 << 20, 64 << 20, usize::MAX];
const REPEATS: [usize; 8] = [1, 1, 1, 2, 3, 16, 256, 4096];
/// The most bytes the round-trip messages hold, one or all of them.
const MAX_SENT: usize = 64 << 10;
/// The end of a sync flush that a sender removes and a receiver puts back.
const TAIL: [u8; 4] = [0, 0, 0xff, 0xff];

/// Part 1 step bits.
const STEP_TEXT: u8 = 1;
/// `release_idle` before the message (an idle connection between messages).
const STEP_RELEASE_BEFORE: u8 = 2;
/// `release_idle` after the message's first chunk (with flags bit 6).
const STEP_RELEASE_INSIDE: u8 = 4;
/// Hand over a used buffer with `recycle` first, as ws-mio does.
const STEP_RECYCLE: u8 = 8;
/// Two frames, the first holding the first read.
const STEP_TWO_FRAMES: u8 = 16;
/// A last, empty continuation frame.
const STEP_EMPTY_LAST_FRAME: u8 = 32;
/// An empty message (payload of no bytes) before this one.
const STEP_EMPTY_BEFORE: u8 = 64;

// --- memory -----------------------------------------------------------------

/// The global allocator, counting the bytes held and their peak.
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn held_more(bytes: usize) {
    let held = HELD.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(held, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            held_more(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            held_more(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size >= layout.size() {
                held_more(new_size - layout.size());
            } else {
                HELD.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Run `f`; its result and the most memory it held at once beyond what was
/// held when it started.
fn measured<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = HELD.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let result = f();
    (result, PEAK.load(Ordering::Relaxed).saturating_sub(before))
}

/// The most one `receive_chunk` call may take under `limit`: the inflated
/// message (a Vec may hold twice what it needs) and the zlib state.
fn memory_bound(limit: usize) -> Option<usize> {
    limit.checked_add(1)?.checked_mul(2)?.checked_add(1 << 20)
}

// --- driving the codec as the transports do -----------------------------------

/// The chunks a connection hands out for a compressed message sent in
/// `frames` (ranges of `payload`), each frame arriving in reads cut by
/// `reads` (codes used in turn from `*next`).
fn chunks<'a>(
    kind: MessageKind,
    payload: &'a [u8],
    frames: &[Range<usize>],
    reads: Chunks,
    next: &mut usize,
) -> Vec<DataChunk<'a>> {
    let mut out = Vec::new();
    for (f, range) in frames.iter().enumerate() {
        let mut pieces = Vec::new();
        let mut rest = &payload[range.clone()];
        while !rest.is_empty() {
            let size = Chunks::size(reads.0[*next % 8]).min(rest.len());
            *next += 1;
            pieces.push(&rest[..size]);
            rest = &rest[size..];
        }
        if pieces.is_empty() {
            pieces.push(rest); // an empty frame is one empty chunk
        }
        let last_frame = f + 1 == frames.len();
        for (p, piece) in pieces.iter().enumerate() {
            out.push(DataChunk {
                kind,
                payload: piece,
                message_start: f == 0 && p == 0,
                message_end: last_frame && p + 1 == pieces.len(),
                frame_start: p == 0,
                frame_end: p + 1 == pieces.len(),
                compressed: true,
            });
        }
    }
    out
}

/// Hand one message's `chunks` to `codec`; `release_idle` after the first
/// one if `release_inside`. The message, or the first error.
fn receive(
    codec: &mut PerMessageDeflate,
    chunks: &[DataChunk<'_>],
    limit: usize,
    release_inside: bool,
) -> Result<Message, ProtocolError> {
    for (i, chunk) in chunks.iter().enumerate() {
        let (result, held) = measured(|| codec.receive_chunk(chunk));
        if let Some(bound) = memory_bound(limit) {
            assert!(
                held <= bound,
                "receive_chunk held {held} bytes at once under a limit of {limit} ({result:?})"
            );
        }
        if let Some(message) = result? {
            assert!(
                chunk.message_end,
                "a message handed out before its last chunk"
            );
            let len = message.as_bytes().len();
            assert!(
                len <= limit,
                "a message of {len} bytes over the {limit}-byte limit"
            );
            let kind = match message {
                Message::Text(_) => MessageKind::Text,
                Message::Binary(_) => MessageKind::Binary,
            };
            assert_eq!(kind, chunk.kind, "the message changed kind");
            return Ok(message);
        }
        assert!(!chunk.message_end, "no message after its last chunk");
        if i == 0 && release_inside {
            codec.release_idle();
        }
    }
    unreachable!("the last chunk ends the message")
}

fn role(client: bool) -> Role {
    if client {
        Role::Client
    } else {
        Role::Server
    }
}

fn other(role: Role) -> Role {
    match role {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    }
}

/// The window a receiver's inflater has for `role`'s peer (zlib has no
/// 8-bit raw window; the codec uses 9).
fn inflate_window(params: &DeflateParams, role: Role) -> usize {
    1 << params.decompress_window_bits(role).max(9)
}

// --- part 1: compressed bytes from the peer -----------------------------------

/// Compare what the codec made of message `index` with the reference.
fn check_received(
    got: &Result<Message, ProtocolError>,
    want: &Inflated,
    kind: MessageKind,
    limit: usize,
    window: usize,
    index: usize,
) {
    let text = kind == MessageKind::Text;
    // A match past the window the peer promised: a zlib inflater with that
    // window may refuse it or not (it still has the bytes when they came
    // out in the same call).
    let far = want.max_distance > window;
    let seen = &want.data[..want.data.len().min(limit)];
    let clean = !want.invalid && !want.over_cap;
    match got {
        Ok(message) => {
            assert!(
                clean,
                "message {index}: handed out {} bytes of data the reference finds {}",
                message.as_bytes().len(),
                if want.invalid {
                    "invalid"
                } else {
                    "over the limit"
                }
            );
            assert!(
                message.as_bytes() == want.data,
                "message {index}: inflated to {} bytes, the reference to {}: {:02x?} vs {:02x?}",
                message.as_bytes().len(),
                want.data.len(),
                &message.as_bytes()[..message.as_bytes().len().min(64)],
                &want.data[..want.data.len().min(64)],
            );
        }
        Err(ProtocolError::MessageTooLarge) => assert!(
            want.over_cap,
            "message {index}: MessageTooLarge, but it inflates to {} <= {limit} bytes",
            want.data.len()
        ),
        Err(ProtocolError::InvalidUtf8) => assert!(
            text && (!is_utf8_prefix(seen) || (clean && core::str::from_utf8(&want.data).is_err())),
            "message {index}: InvalidUtf8 for {kind:?} that is UTF-8 so far: {:02x?}",
            &seen[..seen.len().min(64)]
        ),
        Err(ProtocolError::InvalidCompressedData) => assert!(
            !clean || far,
            "message {index}: InvalidCompressedData for {} bytes the reference inflates \
             (longest match {} within the {window}-byte window)",
            want.data.len(),
            want.max_distance
        ),
        Err(err) => panic!("message {index}: {err:?} from the deflate codec"),
    }
    if clean && !far {
        let valid = !text || core::str::from_utf8(&want.data).is_ok();
        let expected = if valid {
            Ok(())
        } else {
            Err(ProtocolError::InvalidUtf8)
        };
        assert_eq!(
            got.as_ref().map(|_| ()).map_err(|err| *err),
            expected,
            "message {index}: {} bytes of valid data within the limit",
            want.data.len()
        );
    }
}

fn part_one(input: &Input<'_>, params: DeflateParams, ours: Role, limit: usize) {
    let steps = input.steps;
    let mut messages: Vec<(u8, &[u8])> = Vec::new();
    for (i, piece) in input.messages.split(input.data).enumerate() {
        let step = steps[i % 8];
        if step & STEP_EMPTY_BEFORE != 0 {
            messages.push((step, &[]));
        }
        messages.push((step, piece));
    }
    if messages.is_empty() {
        messages.push((steps[0], &[]));
    }
    let with_tail: Vec<Vec<u8>> = messages
        .iter()
        .map(|(_, payload)| [payload, &TAIL[..]].concat())
        .collect();
    let streams: Vec<&[u8]> = with_tail.iter().map(Vec::as_slice).collect();
    let reference = inflate_messages(
        &streams,
        params.decompress_no_context_takeover(ours),
        limit.saturating_add(1),
    );

    let config = CompressionConfig::default();
    let mut codec = PerMessageDeflate::new(ours, params, config, limit);
    let window = inflate_window(&params, ours);
    let release_inside = input.flags & 0x40 != 0;
    let mut pool = vec![0xa5u8; 3];
    let mut next_read = 0;
    for (index, &(step, payload)) in messages.iter().enumerate() {
        let want = reference
            .get(index)
            .expect("the codec went on after data the reference stopped at");
        if step & STEP_RELEASE_BEFORE != 0 {
            codec.release_idle();
        }
        if step & STEP_RECYCLE != 0 {
            codec.recycle(std::mem::take(&mut pool));
        }
        let kind = if step & STEP_TEXT != 0 {
            MessageKind::Text
        } else {
            MessageKind::Binary
        };
        let first = Chunks::size(input.reads.0[next_read % 8]).min(payload.len());
        let mut frames = Vec::new();
        if step & STEP_TWO_FRAMES != 0 && first < payload.len() {
            frames.push(0..first);
            frames.push(first..payload.len());
        } else {
            frames.push(0..payload.len());
        }
        if step & STEP_EMPTY_LAST_FRAME != 0 {
            frames.push(payload.len()..payload.len());
        }
        let chunks = chunks(kind, payload, &frames, input.reads, &mut next_read);
        let inside = release_inside && step & STEP_RELEASE_INSIDE != 0;
        let got = receive(&mut codec, &chunks, limit, inside);
        check_received(&got, want, kind, limit, window, index);
        match got {
            Ok(message) => pool = message.into_bytes(),
            Err(_) => return, // the connection fails
        }
    }
}

// --- part 2: round trip ------------------------------------------------------

/// `compressed_frames(len)`: in order, covering `0..len`, at most 1 MiB
/// each, the first marked first and the last fin; one empty frame for 0.
fn check_frames(len: usize) -> Vec<Range<usize>> {
    let frames: Vec<_> = compressed_frames(len).collect();
    assert!(!frames.is_empty(), "no frame for {len} bytes");
    let mut at = 0;
    for (i, (first, fin, range)) in frames.iter().enumerate() {
        assert_eq!(*first, i == 0, "frame {i} of {len} bytes");
        assert_eq!(*fin, i + 1 == frames.len(), "frame {i} of {len} bytes");
        assert_eq!(range.start, at, "frame {i} of {len} bytes");
        assert!(range.len() <= MAX_COMPRESSED_FRAME);
        assert!(
            !range.is_empty() || len == 0,
            "empty frame {i} of {len} bytes"
        );
        at = range.end;
    }
    assert_eq!(at, len, "frames of {len} bytes end at {at}");
    frames.into_iter().map(|(_, _, range)| range).collect()
}

/// What one side sent: its messages and their compressed payloads + tail.
#[derive(Default)]
struct Sent {
    messages: Vec<Vec<u8>>,
    streams: Vec<Vec<u8>>,
}

fn part_two(input: &Input<'_>, params: DeflateParams, ours: Role, limits: [usize; 2]) {
    let config = CompressionConfig::default()
        .level(input.tune & 0x0f)
        .threshold(0);
    let roles = [ours, other(ours)];
    let mut codecs =
        [0, 1].map(|side| PerMessageDeflate::new(roles[side], params, config, limits[side]));
    let mut sent = [Sent::default(), Sent::default()];
    let may_be_invalid = input.flags & 0x80 != 0;
    let release_inside = input.flags & 0x40 != 0;
    let data = input.data;
    let mut at = 0;
    let mut next_read = 0;
    let mut budget = MAX_SENT;
    for (index, [what, size]) in input.sends.into_iter().enumerate() {
        let from = usize::from(what & 1);
        let to = 1 - from;
        let len = Chunks::size(size).min(data.len() - at);
        let piece = &data[at..at + len];
        at = if at + len == data.len() { 0 } else { at + len };
        let repeat = REPEATS[usize::from((what >> 2) & 7)];
        let most = budget;
        let mut message = piece.repeat(repeat.min(most / len.max(1)).max(1));
        message.truncate(most);
        budget -= message.len();
        let kind = if what & 2 != 0 {
            if !may_be_invalid {
                message = String::from_utf8_lossy(&message).into_owned().into_bytes();
            }
            MessageKind::Text
        } else {
            MessageKind::Binary
        };
        if what & 0x20 != 0 {
            codecs[from].release_idle();
        }
        if what & 0x40 != 0 {
            codecs[to].release_idle();
        }

        // Send, as the transports do: compress onto a reused buffer, then
        // cut into frames.
        let mut body = vec![0x5a; index];
        codecs[from]
            .compress(&message, &mut body)
            .expect("compress failed");
        assert!(
            body[..index].iter().all(|&b| b == 0x5a),
            "compress overwrote what the buffer held"
        );
        let payload = &body[index..];
        let frames = check_frames(payload.len());
        check_frames(payload.len() << 12);
        sent[from].messages.push(message.clone());
        sent[from].streams.push([payload, &TAIL[..]].concat());

        // Receive.
        let chunks = chunks(kind, payload, &frames, input.reads, &mut next_read);
        let inside = release_inside && what & 0x80 != 0;
        let limit = limits[to];
        let got = receive(&mut codecs[to], &chunks, limit, inside);
        let text = kind == MessageKind::Text;
        let valid = !text || core::str::from_utf8(&message).is_ok();
        match &got {
            Ok(received) => assert!(
                received.as_bytes() == message,
                "message {index} ({} bytes, {kind:?}) came back as {} bytes",
                message.len(),
                received.as_bytes().len()
            ),
            Err(ProtocolError::MessageTooLarge) if message.len() > limit => {}
            Err(ProtocolError::InvalidUtf8)
                if !valid && (message.len() <= limit || !is_utf8_prefix(&message[..limit])) => {}
            Err(err) => panic!(
                "message {index} ({} bytes, {kind:?}, valid {valid}, limit {limit}): {err:?}",
                message.len()
            ),
        }
        if message.len() > limit || !valid {
            assert!(got.is_err(), "message {index} should have failed");
            break; // the connection fails
        }
    }

    // What each side compressed is DEFLATE that holds its messages, within
    // its window, each message alone without context takeover.
    for (side, sent) in sent.iter().enumerate() {
        let role = roles[side];
        let streams: Vec<&[u8]> = sent.streams.iter().map(Vec::as_slice).collect();
        let alone = params.compress_no_context_takeover(role);
        let found = inflate_messages(&streams, alone, usize::MAX);
        let window = 1 << params.compress_window_bits(role);
        assert_eq!(
            found.len(),
            streams.len(),
            "{role:?} sent invalid data: {found:?}"
        );
        for (i, (found, message)) in found.iter().zip(&sent.messages).enumerate() {
            assert!(!found.invalid, "{role:?} message {i} is not DEFLATE");
            assert!(
                found.data == *message,
                "{role:?} message {i} inflates to {} bytes, not its {}",
                found.data.len(),
                message.len()
            );
            assert!(
                found.max_distance <= window,
                "{role:?} message {i} reaches {} bytes back, past its {window}-byte window",
                found.max_distance
            );
        }
    }
}

fuzz_target!(|input: Input<'_>| {
    let flags = input.flags;
    let params = DeflateParams {
        server_no_context_takeover: flags & 2 != 0,
        client_no_context_takeover: flags & 4 != 0,
        server_max_window_bits: 8 + (input.windows & 7),
        client_max_window_bits: 8 + ((input.windows >> 4) & 7),
    };
    let ours = role(flags & 1 != 0);
    let limit = LIMITS[usize::from((flags >> 3) & 7)];
    let peer_limit = LIMITS[usize::from((input.tune >> 4) & 7)];
    part_one(&input, params, ours, limit);
    part_two(&input, params, ours, [limit, peer_limit]);
});
