//! The permessage-deflate codec (RFC 7692), feature `deflate`: written
//! once here and used by both transports.
//!
//! A compressed message is raw DEFLATE data, flushed with a sync flush, with
//! the final `00 00 ff ff` of that flush removed by the sender and put back
//! by the receiver. Each side keeps its LZ77 window between messages
//! ("context takeover") unless the negotiated parameters say otherwise.
//!
//! Memory: a compressor with a 32 KiB window takes about 256 KiB, a
//! decompressor about 40 KiB; both are created on first use. Negotiating
//! `server_no_context_takeover` (and smaller windows) lets a server drop
//! its compressor between messages with [`PerMessageDeflate::release_idle`].

use alloc::vec::Vec;

use zlib_rs::{Deflate, DeflateFlush, Inflate, InflateFlush, Status};

use super::negotiation::DeflateParams;
use super::settings::CompressionConfig;
use crate::budget::{MemoryBudget, Reservation};
use crate::connection::{DataChunk, MessageKind, Role};
use crate::error::ProtocolError;
use crate::message::Message;
use crate::utf8::Utf8Validator;

/// The end of a sync flush, removed from every compressed message.
const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The largest frame a compressed message is sent in. Compressed data can
/// come out slightly larger than its input, so a message at the peer's
/// frame limit would not fit one frame; 1 MiB frames stay far below any
/// sensible limit.
pub const MAX_COMPRESSED_FRAME: usize = 1 << 20;

/// How to send `len` bytes of compressed message: the frames, as
/// `(first, fin, byte range)`. The first frame carries RSV1 and the
/// message's opcode, the others are continuations. At least one frame,
/// even for an empty payload.
pub fn compressed_frames(
    len: usize,
) -> impl Iterator<Item = (bool, bool, core::ops::Range<usize>)> {
    let count = len.div_ceil(MAX_COMPRESSED_FRAME).max(1);
    (0..count).map(move |i| {
        let start = i * MAX_COMPRESSED_FRAME;
        let end = (start + MAX_COMPRESSED_FRAME).min(len);
        (i == 0, i + 1 == count, start..end)
    })
}

/// Why compression failed (only on a broken zlib state or out of memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressError;

impl core::fmt::Display for CompressError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("deflate failed")
    }
}

impl core::error::Error for CompressError {}

/// One connection's permessage-deflate state: a compressor for what it
/// sends, a decompressor for what it receives, and the inflated message in
/// progress.
pub struct PerMessageDeflate {
    role: Role,
    params: DeflateParams,
    config: CompressionConfig,
    compressor: Option<Deflate>,
    decompressor: Option<Inflate>,
    inflated: Vec<u8>,
    /// What `inflated` costs the budget shared with other connections.
    reservation: Reservation,
    utf8: Utf8Validator,
    max_message: usize,
    /// A message is being received: its first chunk came, its last not
    /// yet. The decompressor may hold part of it (a block header, half a
    /// code) even while nothing is inflated, so it must not be released.
    receiving: bool,
}

impl PerMessageDeflate {
    /// The state for `role` under the negotiated `params`; received
    /// messages may inflate to at most `max_message` bytes.
    pub fn new(
        role: Role,
        params: DeflateParams,
        config: CompressionConfig,
        max_message: usize,
    ) -> Self {
        PerMessageDeflate {
            role,
            params,
            config,
            compressor: None,
            decompressor: None,
            inflated: Vec::new(),
            reservation: MemoryBudget::unlimited().reservation(),
            utf8: Utf8Validator::new(),
            max_message,
            receiving: false,
        }
    }

    /// Pay for inflated, unfinished messages from `budget` (shared by the
    /// connections of a server): inflating fails with
    /// [`ProtocolError::BudgetExhausted`] (1009) when the budget cannot pay
    /// for more.
    pub fn with_budget(mut self, budget: &MemoryBudget) -> Self {
        self.reservation = budget.reservation();
        self
    }

    /// The negotiated parameters.
    pub fn params(&self) -> &DeflateParams {
        &self.params
    }

    /// Whether a message of `len` bytes should be sent compressed.
    pub fn should_compress(&self, len: usize) -> bool {
        len >= self.config.threshold
    }

    /// Compress a whole message, appending the payload (tail removed) to `out`.
    pub fn compress(&mut self, message: &[u8], out: &mut Vec<u8>) -> Result<(), CompressError> {
        let bits = self.params.compress_window_bits(self.role);
        // zlib cannot make raw deflate with a 256-byte window; stored blocks
        // use no window at all, so they honour any limit.
        let level = if bits < 9 {
            0
        } else {
            i32::from(self.config.level.min(9))
        };
        let compressor = self
            .compressor
            .get_or_insert_with(|| Deflate::new(level, false, bits.max(9)));
        let start = out.len();
        let mut consumed = 0;
        loop {
            let space = (message.len() - consumed) / 2 + 64;
            let at = out.len();
            out.resize(at + space, 0);
            let (before_in, before_out) = (compressor.total_in(), compressor.total_out());
            let result = compressor.compress(
                &message[consumed..],
                &mut out[at..],
                DeflateFlush::SyncFlush,
            );
            consumed += (compressor.total_in() - before_in) as usize;
            let produced = (compressor.total_out() - before_out) as usize;
            out.truncate(at + produced);
            result.map_err(|_| CompressError)?;
            // A sync flush is complete once it leaves output space unused.
            if consumed == message.len() && produced < space {
                break;
            }
        }
        if out[start..].ends_with(&SYNC_TAIL) {
            out.truncate(out.len() - SYNC_TAIL.len());
        }
        if out.len() == start {
            // An empty message after another one flushes nothing at all:
            // send the empty stored block's first byte instead, which is
            // what an empty message compresses to (RFC 7692 7.2.3.6). An
            // empty payload would leave the receiver mid-block once it
            // appends the tail, corrupting every later message.
            out.push(0x00);
        }
        if self.params.compress_no_context_takeover(self.role) {
            if let Some(compressor) = &mut self.compressor {
                compressor.reset();
            }
        }
        Ok(())
    }

    /// Take a chunk of a compressed message. Returns the whole message,
    /// inflated and (for text) checked UTF-8, with its last chunk.
    ///
    /// Fails with [`ProtocolError::MessageTooLarge`] as soon as the inflated
    /// size passes the limit (a small message that inflates to gigabytes
    /// never gets the memory), with [`ProtocolError::InvalidUtf8`] as soon
    /// as inflated text stops being UTF-8, and with
    /// [`ProtocolError::InvalidCompressedData`] for data that does not
    /// inflate.
    pub fn receive_chunk(
        &mut self,
        chunk: &DataChunk<'_>,
    ) -> Result<Option<Message>, ProtocolError> {
        if chunk.message_start {
            self.inflated.clear();
            self.utf8 = Utf8Validator::new();
        }
        self.receiving = !chunk.message_end;
        let result = self.inflate_chunk(chunk);
        if result.is_err() {
            self.inflated = Vec::new();
            self.receiving = false;
        }
        if result.is_err() || chunk.message_end {
            // Handed out, or dropped: no longer held for the peer.
            self.reservation.release();
        }
        result
    }

    fn inflate_chunk(&mut self, chunk: &DataChunk<'_>) -> Result<Option<Message>, ProtocolError> {
        let checked = self.inflated.len();
        self.inflate(chunk.payload)?;
        if chunk.message_end {
            self.inflate(&SYNC_TAIL)?;
        }
        if chunk.kind == MessageKind::Text {
            self.utf8
                .feed(&self.inflated[checked..])
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        if !chunk.message_end {
            return Ok(None);
        }
        if self.params.decompress_no_context_takeover(self.role) {
            if let Some(decompressor) = &mut self.decompressor {
                decompressor.reset(false);
            }
        }
        let bytes = core::mem::take(&mut self.inflated);
        match chunk.kind {
            MessageKind::Binary => Ok(Some(Message::Binary(bytes))),
            MessageKind::Text => {
                self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
                let text = alloc::string::String::from_utf8(bytes)
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
                Ok(Some(Message::Text(text)))
            }
        }
    }

    /// Inflate `input` onto the message in progress, within the size limit.
    fn inflate(&mut self, input: &[u8]) -> Result<(), ProtocolError> {
        let bits = self.params.decompress_window_bits(self.role).max(9);
        let decompressor = self
            .decompressor
            .get_or_insert_with(|| Inflate::new(false, bits));
        let mut consumed = 0;
        loop {
            // One byte more than the limit allows shows that it was passed.
            let room = self
                .max_message
                .saturating_add(1)
                .saturating_sub(self.inflated.len());
            let space = room.min(
                (input.len() - consumed)
                    .saturating_mul(4)
                    .clamp(1024, 256 * 1024),
            );
            let at = self.inflated.len();
            let cap = self.max_message.saturating_add(1);
            self.reservation.reserve(&mut self.inflated, space, cap)?;
            self.inflated.resize(at + space, 0);
            let (before_in, before_out) = (decompressor.total_in(), decompressor.total_out());
            let status = decompressor.decompress(
                &input[consumed..],
                &mut self.inflated[at..],
                InflateFlush::SyncFlush,
            );
            let used = (decompressor.total_in() - before_in) as usize;
            let produced = (decompressor.total_out() - before_out) as usize;
            consumed += used;
            self.inflated.truncate(at + produced);
            let status = status.map_err(|_| ProtocolError::InvalidCompressedData)?;
            if self.inflated.len() > self.max_message {
                return Err(ProtocolError::MessageTooLarge);
            }
            if status == Status::StreamEnd {
                // A final block ends the stream: the next message starts a
                // new one (the sender cannot refer back past it).
                decompressor.reset(false);
                if consumed == input.len() {
                    return Ok(());
                }
                continue;
            }
            let finished = consumed == input.len() && produced < space;
            if finished || (used == 0 && produced == 0) {
                return Ok(());
            }
        }
    }

    /// Hand over an empty buffer to inflate the next message into, so a
    /// transport can reuse buffers instead of allocating one per message
    /// ([`receive_chunk`](Self::receive_chunk) moves the finished one out).
    pub fn recycle(&mut self, mut buffer: Vec<u8>) {
        if self.inflated.capacity() == 0 {
            buffer.clear();
            self.inflated = buffer;
        }
    }

    /// No inflate buffer is held: [`recycle`](Self::recycle) would take one.
    pub(crate) fn needs_buffer(&self) -> bool {
        self.inflated.capacity() == 0
    }

    /// Free the compressor and decompressor where no context is kept
    /// between messages (they are made again on next use). Call it when a
    /// connection goes idle.
    pub fn release_idle(&mut self) {
        if self.params.compress_no_context_takeover(self.role) {
            self.compressor = None;
        }
        if self.receiving {
            // In the middle of a message: its state is needed.
            return;
        }
        if self.params.decompress_no_context_takeover(self.role) {
            self.decompressor = None;
        }
        self.inflated = Vec::new();
        self.reservation.release();
    }
}

impl core::fmt::Debug for PerMessageDeflate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PerMessageDeflate")
            .field("role", &self.role)
            .field("params", &self.params)
            .field("compressor", &self.compressor.is_some())
            .field("decompressor", &self.decompressor.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;
    use std::vec;

    fn pair(params: DeflateParams) -> (PerMessageDeflate, PerMessageDeflate) {
        let config = CompressionConfig {
            threshold: 0,
            ..CompressionConfig::default()
        };
        (
            PerMessageDeflate::new(Role::Client, params, config, 1 << 20),
            PerMessageDeflate::new(Role::Server, params, config, 1 << 20),
        )
    }

    /// A client that compresses everything, and a server that inflates
    /// messages up to `limit` bytes.
    fn unlimited_sender_and_receiver(limit: usize) -> (PerMessageDeflate, PerMessageDeflate) {
        let config = CompressionConfig {
            threshold: 0,
            ..CompressionConfig::default()
        };
        let params = DeflateParams::default();
        (
            PerMessageDeflate::new(Role::Client, params, config, usize::MAX),
            PerMessageDeflate::new(Role::Server, params, config, limit),
        )
    }

    fn chunk(kind: MessageKind, payload: &[u8], start: bool, end: bool) -> DataChunk<'_> {
        DataChunk {
            kind,
            payload,
            message_start: start,
            message_end: end,
            frame_start: start,
            frame_end: end,
            compressed: true,
        }
    }

    fn round_trip(
        sender: &mut PerMessageDeflate,
        receiver: &mut PerMessageDeflate,
        text: &str,
    ) -> usize {
        let mut wire = Vec::new();
        sender.compress(text.as_bytes(), &mut wire).unwrap();
        let message = receiver
            .receive_chunk(&chunk(MessageKind::Text, &wire, true, true))
            .unwrap();
        assert_eq!(message, Some(Message::Text(String::from(text))));
        wire.len()
    }

    #[test]
    fn rfc_7692_hello_decompresses() {
        // RFC 7692 section 7.2.3.1: "Hello" compressed, tail removed.
        let (_, mut server) = pair(DeflateParams::default());
        let wire = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let message = server
            .receive_chunk(&chunk(MessageKind::Text, &wire, true, true))
            .unwrap();
        assert_eq!(message, Some(Message::Text("Hello".into())));
    }

    #[test]
    fn context_takeover_makes_a_repeated_message_smaller() {
        let (mut client, mut server) = pair(DeflateParams::default());
        let text = "the same JSON-ish message {\"id\": 12345, \"name\": \"value\"} again";
        let first = round_trip(&mut client, &mut server, text);
        let second = round_trip(&mut client, &mut server, text);
        assert!(second < first, "{second} >= {first}");
    }

    #[test]
    fn no_context_takeover_compresses_each_message_alone() {
        let params = DeflateParams {
            client_no_context_takeover: true,
            ..DeflateParams::default()
        };
        let (mut client, mut server) = pair(params);
        let text = "a message that would shrink a lot if the window were kept";
        let first = round_trip(&mut client, &mut server, text);
        let second = round_trip(&mut client, &mut server, text);
        assert_eq!(first, second);
        client.release_idle();
        assert_eq!(round_trip(&mut client, &mut server, text), first);
    }

    #[test]
    fn small_windows_round_trip() {
        for bits in 8..=15 {
            let params = DeflateParams {
                client_max_window_bits: bits,
                server_max_window_bits: bits,
                ..DeflateParams::default()
            };
            let (mut client, mut server) = pair(params);
            let text = "abcdefghij".repeat(500);
            round_trip(&mut client, &mut server, &text);
            round_trip(&mut server, &mut client, &text);
        }
    }

    #[test]
    fn message_split_into_many_chunks_inflates_whole() {
        let (mut client, mut server) = pair(DeflateParams::default());
        let text = "chunked ".repeat(10_000);
        let mut wire = Vec::new();
        client.compress(text.as_bytes(), &mut wire).unwrap();
        let pieces: Vec<&[u8]> = wire.chunks(7).collect();
        let mut result = None;
        for (i, piece) in pieces.iter().enumerate() {
            result = server
                .receive_chunk(&chunk(
                    MessageKind::Text,
                    piece,
                    i == 0,
                    i + 1 == pieces.len(),
                ))
                .unwrap();
        }
        assert_eq!(result, Some(Message::Text(text)));
    }

    #[test]
    fn inflating_past_the_shared_budget_fails_with_1009_and_gives_it_back() {
        let budget = MemoryBudget::new(256 * 1024);
        let (mut sender, receiver) = unlimited_sender_and_receiver(16 << 20);
        let mut receiver = receiver.with_budget(&budget);
        // 4 MiB of zeros: within the message limit, past the budget. The
        // message's first chunk only (FIN=0), as an attacker would send it.
        let mut wire = Vec::new();
        sender.compress(&vec![0u8; 4 << 20], &mut wire).unwrap();
        let first = chunk(MessageKind::Binary, &wire, true, false);
        assert_eq!(
            receiver.receive_chunk(&first),
            Err(ProtocolError::BudgetExhausted)
        );
        assert_eq!(budget.used(), 0);
        assert_eq!(receiver.inflated.capacity(), 0);
    }

    #[test]
    fn an_unfinished_compressed_message_holds_its_share_until_it_ends() {
        let budget = MemoryBudget::new(1 << 20);
        let (mut client, server) = pair(DeflateParams::default());
        let mut server = server.with_budget(&budget);
        let mut wire = Vec::new();
        client.compress(&vec![7u8; 100_000], &mut wire).unwrap();
        let (head, tail) = wire.split_at(wire.len() / 2);
        let first = chunk(MessageKind::Binary, head, true, false);
        assert_eq!(server.receive_chunk(&first), Ok(None));
        assert!(budget.used() > 0);
        let last = DataChunk {
            message_start: false,
            ..chunk(MessageKind::Binary, tail, false, true)
        };
        let message = server.receive_chunk(&last).unwrap().unwrap();
        assert_eq!(message.as_bytes().len(), 100_000);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn inflating_past_the_limit_fails_with_1009_early() {
        let (mut sender, mut receiver) = unlimited_sender_and_receiver(1 << 20);
        // 64 MiB of zeros compresses to about 64 KiB.
        let bomb = vec![0u8; 64 << 20];
        let mut wire = Vec::new();
        sender.compress(&bomb, &mut wire).unwrap();
        assert!(wire.len() < 128 * 1024);
        let err = receiver
            .receive_chunk(&chunk(MessageKind::Binary, &wire, true, true))
            .unwrap_err();
        assert_eq!(err, ProtocolError::MessageTooLarge);
        assert_eq!(err.close_code(), crate::CloseCode::TOO_LARGE);
        assert!(receiver.inflated.capacity() <= 4 << 20);
    }

    #[test]
    fn invalid_utf8_after_inflating_fails_with_1007() {
        let (mut client, mut server) = pair(DeflateParams::default());
        let mut wire = Vec::new();
        client.compress(&[b'o', b'k', 0xff], &mut wire).unwrap();
        let err = server
            .receive_chunk(&chunk(MessageKind::Text, &wire, true, true))
            .unwrap_err();
        assert_eq!(err.close_code(), crate::CloseCode::INVALID_DATA);
    }

    #[test]
    fn garbage_is_invalid_compressed_data() {
        let (_, mut server) = pair(DeflateParams::default());
        let err = server
            .receive_chunk(&chunk(
                MessageKind::Binary,
                &[0xff, 0xff, 0xff, 0xff],
                true,
                true,
            ))
            .unwrap_err();
        assert_eq!(err, ProtocolError::InvalidCompressedData);
    }

    #[test]
    fn compressed_messages_are_cut_into_frames_of_at_most_1_mib() {
        let frames: Vec<_> = compressed_frames(0).collect();
        assert_eq!(frames, [(true, true, 0..0)]);
        let frames: Vec<_> = compressed_frames(2 * MAX_COMPRESSED_FRAME + 1).collect();
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0], (true, false, 0..MAX_COMPRESSED_FRAME));
        assert_eq!(
            frames[2],
            (
                false,
                true,
                2 * MAX_COMPRESSED_FRAME..2 * MAX_COMPRESSED_FRAME + 1
            )
        );
    }

    #[test]
    fn empty_message_round_trips() {
        let (mut client, mut server) = pair(DeflateParams::default());
        assert_eq!(round_trip(&mut client, &mut server, ""), 1);
    }

    /// Found by the deflate fuzz target: with context takeover, an empty
    /// message after another flushed nothing, and the receiver, appending
    /// the tail to nothing, was left in the middle of a stored block.
    #[test]
    fn empty_messages_between_others_keep_the_stream_in_step() {
        let (mut client, mut server) = pair(DeflateParams::default());
        for text in ["Hello", "", "", "Hello again", "", "Hello"] {
            round_trip(&mut client, &mut server, text);
            round_trip(&mut server, &mut client, text);
        }
    }

    /// Found by the deflate fuzz target: the limit `usize::MAX` (what the
    /// transports pass for "no limit") overflowed the room computation.
    #[test]
    fn no_limit_means_no_limit() {
        let mut server = PerMessageDeflate::new(
            Role::Server,
            DeflateParams::default(),
            CompressionConfig::default(),
            usize::MAX,
        );
        let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let message = server
            .receive_chunk(&chunk(MessageKind::Text, &hello, true, true))
            .unwrap();
        assert_eq!(message, Some(Message::Text(String::from("Hello"))));
    }

    /// Found by the deflate fuzz target: releasing the idle codec between
    /// two chunks of one message threw away the decompressor's partial
    /// state when nothing had been inflated yet.
    #[test]
    fn release_idle_in_the_middle_of_a_message_keeps_its_state() {
        let params = DeflateParams {
            client_no_context_takeover: true,
            server_no_context_takeover: true,
            ..DeflateParams::default()
        };
        let (_, mut server) = pair(params);
        let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let first = server.receive_chunk(&DataChunk {
            message_end: false,
            frame_end: false,
            ..chunk(MessageKind::Text, &hello[..1], true, false)
        });
        assert_eq!(first, Ok(None));
        server.release_idle();
        let rest = server.receive_chunk(&DataChunk {
            message_start: false,
            frame_start: false,
            ..chunk(MessageKind::Text, &hello[1..], false, true)
        });
        assert_eq!(rest, Ok(Some(Message::Text(String::from("Hello")))));
        // Idle after the message: released, and the next message inflates.
        server.release_idle();
        let again = server.receive_chunk(&chunk(MessageKind::Text, &hello, true, true));
        assert_eq!(again, Ok(Some(Message::Text(String::from("Hello")))));
    }
}
