//! Whole messages from streamed chunks (feature `alloc`).
//!
//! [`Connection::receive`](crate::Connection::receive) hands out data in
//! chunks so the core needs no allocator. Transports that want whole
//! messages feed the chunks to a [`MessageAssembler`], written once here so
//! that the blocking and the event-loop transports share it.

use alloc::string::String;
use alloc::vec::Vec;

use crate::budget::{MemoryBudget, Reservation};
use crate::connection::{DataChunk, MessageKind};
use crate::error::ProtocolError;

/// A complete message, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

impl Message {
    /// Borrow as a [`MessageRef`].
    pub fn as_ref(&self) -> MessageRef<'_> {
        match self {
            Message::Text(text) => MessageRef::Text(text),
            Message::Binary(data) => MessageRef::Binary(data),
        }
    }

    /// The bytes, giving up the type (to reuse the buffer).
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Message::Text(text) => text.into_bytes(),
            Message::Binary(data) => data,
        }
    }

    /// The message's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(data) => data,
        }
    }

    /// Text or binary.
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::Text(_) => MessageKind::Text,
            Message::Binary(_) => MessageKind::Binary,
        }
    }
}

/// A complete message, borrowed from the assembler or straight from the
/// receive buffer when it arrived as a single chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageRef<'a> {
    /// A text message.
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
}

impl<'a> MessageRef<'a> {
    /// A whole message of `kind` from its bytes; text is checked to be
    /// UTF-8 ([`ProtocolError::InvalidUtf8`] otherwise).
    pub fn new(kind: MessageKind, bytes: &'a [u8]) -> Result<Self, ProtocolError> {
        whole_message(kind, bytes)
    }

    /// The message's bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        match self {
            MessageRef::Text(text) => text.as_bytes(),
            MessageRef::Binary(data) => data,
        }
    }

    /// Text or binary.
    pub fn kind(&self) -> MessageKind {
        match self {
            MessageRef::Text(_) => MessageKind::Text,
            MessageRef::Binary(_) => MessageKind::Binary,
        }
    }

    /// Copy into an owned [`Message`].
    pub fn to_owned(&self) -> Message {
        match self {
            MessageRef::Text(text) => Message::Text(String::from(*text)),
            MessageRef::Binary(data) => Message::Binary(data.to_vec()),
        }
    }
}

/// Gathers [`DataChunk`]s into whole messages, refusing any message larger
/// than its limit with [`ProtocolError::MessageTooLarge`] (close code 1009)
/// before growing its buffer past it.
///
/// With [`with_budget`](Self::with_budget), the buffer of an unfinished
/// message is also paid for from a [`MemoryBudget`] shared with other
/// connections before it grows ([`ProtocolError::BudgetExhausted`], 1009,
/// when it cannot be); the share is given back when the message is
/// complete or dropped.
#[derive(Debug)]
pub struct MessageAssembler {
    buffer: Vec<u8>,
    max_size: usize,
    /// Capacity kept between messages; a larger buffer is released.
    retained_capacity: usize,
    reservation: Reservation,
}

impl MessageAssembler {
    /// An assembler for messages of at most `max_size` bytes, with no
    /// budget but its own limit.
    pub fn new(max_size: usize) -> Self {
        MessageAssembler {
            buffer: Vec::new(),
            max_size,
            retained_capacity: 64 * 1024,
            reservation: MemoryBudget::unlimited().reservation(),
        }
    }

    /// Pay for unfinished messages from `budget` (shared by the
    /// connections of a server).
    pub fn with_budget(mut self, budget: &MemoryBudget) -> Self {
        self.reservation = budget.reservation();
        self
    }

    /// The size limit.
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// Add a chunk. Returns the message when the chunk completes one.
    ///
    /// A message that arrives as a single chunk is returned without a copy.
    /// Text is checked for UTF-8 once more when it is whole (the core checks
    /// uncompressed text as it streams; compressed text is only checked
    /// here, after the transport decompressed it).
    pub fn push<'a>(
        &'a mut self,
        chunk: &DataChunk<'a>,
    ) -> Result<Option<MessageRef<'a>>, ProtocolError> {
        if chunk.message_start {
            // Keep a modest capacity: a recycled buffer is meant to be used.
            self.reset();
        }
        if chunk.message_start && chunk.message_end {
            return whole_message(chunk.kind, chunk.payload).map(Some);
        }
        if self.buffer.len() + chunk.payload.len() > self.max_size {
            self.reset();
            return Err(ProtocolError::MessageTooLarge);
        }
        let paid = self
            .reservation
            .reserve(&mut self.buffer, chunk.payload.len(), self.max_size);
        if let Err(err) = paid {
            self.reset();
            return Err(err);
        }
        self.buffer.extend_from_slice(chunk.payload);
        if !chunk.message_end {
            return Ok(None);
        }
        // Complete: handed out now, no longer held for the peer.
        self.reservation.release();
        whole_message(chunk.kind, &self.buffer).map(Some)
    }

    /// Like [`push`](Self::push), but hands out an owned message, moving the
    /// assembled buffer out instead of copying it.
    pub fn push_owned(&mut self, chunk: &DataChunk<'_>) -> Result<Option<Message>, ProtocolError> {
        if chunk.message_start && chunk.message_end {
            self.reset();
            return whole_message(chunk.kind, chunk.payload).map(|m| Some(m.to_owned()));
        }
        if self.push(chunk)?.is_none() {
            return Ok(None);
        }
        let bytes = core::mem::take(&mut self.buffer);
        Ok(Some(match chunk.kind {
            MessageKind::Text => {
                Message::Text(String::from_utf8(bytes).map_err(|_| ProtocolError::InvalidUtf8)?)
            }
            MessageKind::Binary => Message::Binary(bytes),
        }))
    }

    /// Hand the assembler an empty buffer to gather the next message in, so
    /// that a transport can reuse buffers ([`push_owned`](Self::push_owned)
    /// moves the finished buffer out) instead of allocating per message.
    pub fn recycle(&mut self, mut buffer: Vec<u8>) {
        if self.buffer.capacity() == 0 {
            buffer.clear();
            self.buffer = buffer;
        }
    }

    /// Move out the buffer (empty, with its capacity), leaving none: for a
    /// transport that returns idle buffers to a pool.
    pub fn take_buffer(&mut self) -> Vec<u8> {
        let mut buffer = core::mem::take(&mut self.buffer);
        buffer.clear();
        self.reservation.release();
        buffer
    }

    /// No buffer is held: [`recycle`](Self::recycle) would take one.
    pub(crate) fn needs_buffer(&self) -> bool {
        self.buffer.capacity() == 0
    }

    /// True while part of a message has been gathered.
    pub fn is_assembling(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// Drop any partial message, keeping a modest buffer for the next one.
    pub fn reset(&mut self) {
        self.buffer.clear();
        if self.buffer.capacity() > self.retained_capacity {
            self.buffer = Vec::new();
        }
        self.reservation.release();
    }
}

fn whole_message(kind: MessageKind, bytes: &[u8]) -> Result<MessageRef<'_>, ProtocolError> {
    match kind {
        MessageKind::Text => core::str::from_utf8(bytes)
            .map(MessageRef::Text)
            .map_err(|_| ProtocolError::InvalidUtf8),
        MessageKind::Binary => Ok(MessageRef::Binary(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: MessageKind, payload: &[u8], start: bool, end: bool) -> DataChunk<'_> {
        DataChunk {
            kind,
            payload,
            message_start: start,
            message_end: end,
            frame_start: true,
            frame_end: true,
            compressed: false,
        }
    }

    #[test]
    fn single_chunk_message_is_returned_without_copy() {
        let mut assembler = MessageAssembler::new(16);
        let payload = b"hello";
        let message = assembler
            .push(&chunk(MessageKind::Text, payload, true, true))
            .unwrap();
        match message {
            Some(MessageRef::Text(text)) => assert_eq!(text.as_ptr(), payload.as_ptr()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fragments_are_joined() {
        let mut assembler = MessageAssembler::new(16);
        assert_eq!(
            assembler.push_owned(&chunk(MessageKind::Binary, b"ab", true, false)),
            Ok(None)
        );
        assert_eq!(
            assembler.push_owned(&chunk(MessageKind::Binary, b"cd", false, false)),
            Ok(None)
        );
        assert_eq!(
            assembler.push_owned(&chunk(MessageKind::Binary, b"e", false, true)),
            Ok(Some(Message::Binary(b"abcde".to_vec())))
        );
    }

    #[test]
    fn message_over_the_limit_is_refused_with_1009() {
        let mut assembler = MessageAssembler::new(4);
        assert_eq!(
            assembler.push_owned(&chunk(MessageKind::Binary, b"abc", true, false)),
            Ok(None)
        );
        let err = assembler
            .push_owned(&chunk(MessageKind::Binary, b"de", false, true))
            .unwrap_err();
        assert_eq!(err, ProtocolError::MessageTooLarge);
        assert_eq!(err.close_code(), crate::CloseCode::TOO_LARGE);
    }

    #[test]
    fn unfinished_messages_of_many_connections_share_one_budget() {
        let budget = MemoryBudget::new(1000);
        let mut first = MessageAssembler::new(800).with_budget(&budget);
        let mut second = MessageAssembler::new(800).with_budget(&budget);
        let part = [0u8; 600];
        assert_eq!(
            first.push_owned(&chunk(MessageKind::Binary, &part, true, false)),
            Ok(None)
        );
        // Within its own limit, but the budget has 400 bytes left.
        let err = second
            .push_owned(&chunk(MessageKind::Binary, &part, true, false))
            .unwrap_err();
        assert_eq!(err, ProtocolError::BudgetExhausted);
        assert_eq!(err.close_code(), crate::CloseCode::TOO_LARGE);
        // The first message completes: its share comes back.
        let message = first
            .push_owned(&chunk(MessageKind::Binary, b"end", false, true))
            .unwrap();
        assert_eq!(message.map(|m| m.as_bytes().len()), Some(603));
        assert_eq!(budget.used(), 0);
        assert_eq!(
            second.push_owned(&chunk(MessageKind::Binary, &part, true, false)),
            Ok(None)
        );
        drop(second);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn single_chunk_messages_cost_no_budget() {
        let budget = MemoryBudget::new(0);
        let mut assembler = MessageAssembler::new(100).with_budget(&budget);
        assert_eq!(
            assembler.push_owned(&chunk(MessageKind::Binary, b"whole", true, true)),
            Ok(Some(Message::Binary(b"whole".to_vec())))
        );
    }

    #[test]
    fn text_split_inside_a_code_point_is_whole_at_the_end() {
        let mut assembler = MessageAssembler::new(16);
        let euro = "€".as_bytes();
        assert_eq!(
            assembler.push_owned(&chunk(MessageKind::Text, &euro[..1], true, false)),
            Ok(None)
        );
        assert_eq!(
            assembler.push_owned(&chunk(MessageKind::Text, &euro[1..], false, true)),
            Ok(Some(Message::Text("€".into())))
        );
    }

    #[test]
    fn invalid_text_is_refused_with_1007() {
        let mut assembler = MessageAssembler::new(16);
        let err = assembler
            .push_owned(&chunk(MessageKind::Text, &[0xff], true, true))
            .unwrap_err();
        assert_eq!(err.close_code(), crate::CloseCode::INVALID_DATA);
    }
}
