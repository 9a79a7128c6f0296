//! Frames: opcodes, the header codec (RFC 6455 section 5.2) and the frame
//! type of the Vais `std/websocket` API (`WsFrame`).

use crate::close::{CloseCode, CloseFrame, ClosePayload, ClosePayloadError};
use crate::constants::{MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
use crate::error::ProtocolError;
use crate::mask::apply_mask;

/// A frame opcode (Vais `WS_OPCODE_*`), with the same values as
/// discriminants. Reserved opcodes (3-7, 11-15) have no variant: decoding
/// one is a protocol error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OpCode {
    /// 0, Vais `WS_OPCODE_CONTINUATION`: a later fragment of a message.
    Continuation = 0,
    /// 1, Vais `WS_OPCODE_TEXT`: the first frame of a UTF-8 text message.
    Text = 1,
    /// 2, Vais `WS_OPCODE_BINARY`: the first frame of a binary message.
    Binary = 2,
    /// 8, Vais `WS_OPCODE_CLOSE`: the close handshake.
    Close = 8,
    /// 9, Vais `WS_OPCODE_PING`: asks the peer for a pong.
    Ping = 9,
    /// 10, Vais `WS_OPCODE_PONG`: answers a ping, or a unidirectional heartbeat.
    Pong = 10,
}

impl OpCode {
    /// Decode the 4-bit opcode; `None` for a reserved value.
    pub const fn from_u8(value: u8) -> Option<OpCode> {
        match value {
            0 => Some(OpCode::Continuation),
            1 => Some(OpCode::Text),
            2 => Some(OpCode::Binary),
            8 => Some(OpCode::Close),
            9 => Some(OpCode::Ping),
            10 => Some(OpCode::Pong),
            _ => None,
        }
    }

    /// Close, ping and pong are control frames (opcode 8 and up).
    pub const fn is_control(self) -> bool {
        self as u8 >= 8
    }
}

/// The RSV1 bit: "compressed" under permessage-deflate (RFC 7692).
pub const RSV1: u8 = 0b100;

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: this is the last frame of its message.
    pub fin: bool,
    /// RSV1, RSV2, RSV3 as the low three bits (RSV1 = `0b100`).
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, if the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

impl FrameHeader {
    /// Decode a header from the start of `buf`.
    ///
    /// Returns `Ok(None)` when `buf` is a prefix of a header (at most 14
    /// bytes are ever needed), and `Ok(Some((header, header_len)))` once it
    /// is whole. Rejects what is wrong whatever the connection's state:
    /// reserved opcodes, control frames that are fragmented or longer than
    /// 125 bytes, and 64-bit lengths with the top bit set. Lengths need not
    /// use the shortest encoding (the RFC only asks senders for that).
    pub fn decode(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let [b0, b1, rest @ ..] = buf else {
            return Ok(None);
        };
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 0b111;
        let opcode = OpCode::from_u8(b0 & 0x0f).ok_or(ProtocolError::ReservedOpcode(b0 & 0x0f))?;
        let masked = b1 & 0x80 != 0;
        let (payload_len, len_bytes) = match b1 & 0x7f {
            126 => match rest {
                [a, b, ..] => (u64::from(u16::from_be_bytes([*a, *b])), 2),
                _ => return Ok(None),
            },
            127 => match rest.get(..8) {
                Some(bytes) => {
                    let mut be = [0; 8];
                    be.copy_from_slice(bytes);
                    (u64::from_be_bytes(be), 8)
                }
                None => return Ok(None),
            },
            short => (u64::from(short), 0),
        };
        if payload_len >> 63 != 0 {
            return Err(ProtocolError::LengthTopBitSet);
        }
        if opcode.is_control() {
            if !fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            if payload_len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(ProtocolError::ControlFrameTooLong);
            }
        }
        let mut header_len = 2 + len_bytes;
        let mask = if masked {
            let Some(key) = rest.get(len_bytes..len_bytes + 4) else {
                return Ok(None);
            };
            header_len += 4;
            Some([key[0], key[1], key[2], key[3]])
        } else {
            None
        };
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len,
        };
        Ok(Some((header, header_len)))
    }

    /// The number of bytes [`encode`](Self::encode) writes: 2 to 14.
    pub const fn encoded_len(&self) -> usize {
        let len_bytes = match self.payload_len {
            0..=125 => 0,
            126..=0xffff => 2,
            _ => 8,
        };
        2 + len_bytes + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Encode the header into `out`, with the shortest length encoding.
    /// Returns the number of bytes written, or `None` if `out` is shorter
    /// than [`encoded_len`](Self::encoded_len).
    pub fn encode(&self, out: &mut [u8]) -> Option<usize> {
        let len = self.encoded_len();
        let out = out.get_mut(..len)?;
        out[0] = (u8::from(self.fin) << 7) | ((self.rsv & 0b111) << 4) | self.opcode as u8;
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let key_at = match self.payload_len {
            short @ 0..=125 => {
                out[1] = mask_bit | short as u8;
                2
            }
            medium @ 126..=0xffff => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(medium as u16).to_be_bytes());
                4
            }
            long => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&long.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            out[key_at..key_at + 4].copy_from_slice(&key);
        }
        Some(len)
    }
}

/// The payload of a [`Frame`]: borrowed, or a close payload held inline so
/// that `Frame::close(code)` needs no buffer from the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FramePayload<'a> {
    Borrowed(&'a [u8]),
    Close(ClosePayload),
}

/// One frame, as the Vais `WsFrame`: an opcode, a borrowed payload, the
/// FIN bit and whether it was masked on the wire.
///
/// Build frames to send with the Vais constructors; received frames come
/// from a transport's `recv_frame`. The payload is always the plain
/// (unmasked) bytes.
///
/// ```
/// use ws_proto::{CloseCode, Frame, OpCode};
/// let frame = Frame::text("hello");
/// assert!(frame.is_text() && frame.is_final());
/// assert_eq!(frame.payload_text(), Some("hello"));
///
/// let close = Frame::close(CloseCode::NORMAL).unwrap();
/// assert_eq!(close.close_code(), CloseCode::NORMAL);
/// assert_eq!(Frame::ping().close_code(), CloseCode::NO_STATUS);
///
/// // Encode it for the wire (a client would pass a masking key).
/// let mut out = [0u8; 16];
/// let n = frame.encode(&mut out, None).unwrap();
/// assert_eq!(&out[..n], b"\x81\x05hello");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    opcode: OpCode,
    fin: bool,
    masked: bool,
    payload: FramePayload<'a>,
}

impl<'a> Frame<'a> {
    /// A final frame with any opcode and payload (Vais `WsFrame::new`).
    pub const fn new(opcode: OpCode, payload: &'a [u8]) -> Self {
        Frame {
            opcode,
            fin: true,
            masked: false,
            payload: FramePayload::Borrowed(payload),
        }
    }

    /// The same frame with the FIN bit set to `fin` (false for every
    /// fragment of a message but the last).
    pub const fn with_fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }

    /// Mark the frame as having been masked on the wire (for received frames).
    pub const fn with_masked(mut self, masked: bool) -> Self {
        self.masked = masked;
        self
    }

    /// A text frame (Vais `WsFrame::text`).
    pub const fn text(text: &'a str) -> Self {
        Frame::new(OpCode::Text, text.as_bytes())
    }

    /// A binary frame (Vais `WsFrame::binary`).
    pub const fn binary(data: &'a [u8]) -> Self {
        Frame::new(OpCode::Binary, data)
    }

    /// A ping with no payload (Vais `WsFrame::ping`).
    pub const fn ping() -> Self {
        Frame::new(OpCode::Ping, &[])
    }

    /// A pong with no payload (Vais `WsFrame::pong`).
    pub const fn pong() -> Self {
        Frame::new(OpCode::Pong, &[])
    }

    /// A close frame with a status code and no reason (Vais
    /// `WsFrame::close`). [`CloseCode::NO_STATUS`] gives an empty payload;
    /// codes that must not appear on the wire (such as 1006) are refused.
    pub fn close(code: CloseCode) -> Result<Frame<'static>, ClosePayloadError> {
        Frame::close_with_reason(code, "")
    }

    /// A close frame with a status code and a reason (cut to 123 bytes at a
    /// character boundary).
    pub fn close_with_reason(
        code: CloseCode,
        reason: &str,
    ) -> Result<Frame<'static>, ClosePayloadError> {
        Ok(Frame {
            opcode: OpCode::Close,
            fin: true,
            masked: false,
            payload: FramePayload::Close(ClosePayload::new(code, reason)?),
        })
    }

    /// The opcode.
    pub const fn opcode(&self) -> OpCode {
        self.opcode
    }

    /// The FIN bit (Vais `is_final`).
    pub const fn is_final(&self) -> bool {
        self.fin
    }

    /// Whether the frame was masked on the wire (Vais `is_masked`).
    pub const fn is_masked(&self) -> bool {
        self.masked
    }

    /// The unmasked payload.
    pub fn payload(&self) -> &[u8] {
        match &self.payload {
            FramePayload::Borrowed(bytes) => bytes,
            FramePayload::Close(close) => close.as_bytes(),
        }
    }

    /// Close, ping or pong (Vais `is_control`).
    pub const fn is_control(&self) -> bool {
        self.opcode.is_control()
    }

    /// A text frame (Vais `is_text`).
    pub fn is_text(&self) -> bool {
        self.opcode == OpCode::Text
    }

    /// A binary frame (Vais `is_binary`).
    pub fn is_binary(&self) -> bool {
        self.opcode == OpCode::Binary
    }

    /// A close frame (Vais `is_close`).
    pub fn is_close(&self) -> bool {
        self.opcode == OpCode::Close
    }

    /// A ping frame (Vais `is_ping`).
    pub fn is_ping(&self) -> bool {
        self.opcode == OpCode::Ping
    }

    /// A pong frame (Vais `is_pong`).
    pub fn is_pong(&self) -> bool {
        self.opcode == OpCode::Pong
    }

    /// The payload as text (Vais `payload_text`): `Some("")` for an empty
    /// payload, `None` if the bytes are not valid UTF-8. For a fragment of
    /// a text message this may be `None` because a code point is split.
    pub fn payload_text(&self) -> Option<&str> {
        core::str::from_utf8(self.payload()).ok()
    }

    /// The close code of a close frame (Vais `close_code`):
    /// [`CloseCode::NO_STATUS`] for any other frame and for a close frame
    /// without a code.
    pub fn close_code(&self) -> CloseCode {
        self.parse_close()
            .map_or(CloseCode::NO_STATUS, |close| close.code)
    }

    /// The reason of a close frame; empty for other frames.
    pub fn close_reason(&self) -> &str {
        self.parse_close().map_or("", |close| close.reason)
    }

    fn parse_close(&self) -> Option<CloseFrame<'_>> {
        if self.is_close() {
            CloseFrame::parse(self.payload()).ok()
        } else {
            None
        }
    }

    /// The header this frame goes on the wire with, masked with `mask` if given.
    pub fn header(&self, mask: Option<[u8; 4]>) -> FrameHeader {
        FrameHeader {
            fin: self.fin,
            rsv: 0,
            opcode: self.opcode,
            mask,
            payload_len: self.payload().len() as u64,
        }
    }

    /// The number of bytes [`encode`](Self::encode) writes.
    pub fn encoded_len(&self, masked: bool) -> usize {
        self.header(masked.then_some([0; 4])).encoded_len() + self.payload().len()
    }

    /// Write header and payload into `out`, masking the copy of the
    /// payload with `mask` if given (clients must pass a fresh random key).
    /// Returns the bytes written, or `None` if `out` is too small.
    ///
    /// This checks nothing about the connection's state; a
    /// [`Connection`](crate::Connection) enforces the rules of sending.
    pub fn encode(&self, out: &mut [u8], mask: Option<[u8; 4]>) -> Option<usize> {
        let header_len = self.header(mask).encode(out)?;
        let payload = self.payload();
        let total = header_len + payload.len();
        let body = out.get_mut(header_len..total)?;
        body.copy_from_slice(payload);
        if let Some(key) = mask {
            apply_mask(body, key, 0);
        }
        Some(total)
    }
}

/// The longest encoded control frame: a masked header with a 7-bit length
/// (6 bytes) and 125 bytes of payload.
pub const MAX_CONTROL_FRAME_LEN: usize = 6 + MAX_CONTROL_PAYLOAD;

const _: () = assert!(MAX_CONTROL_FRAME_LEN <= MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD);

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_whole(bytes: &[u8]) -> (FrameHeader, usize) {
        FrameHeader::decode(bytes).unwrap().unwrap()
    }

    #[test]
    fn rfc_single_frame_unmasked_hello() {
        let wire = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        let (header, len) = decode_whole(&wire);
        assert_eq!(
            (header.fin, header.opcode, header.mask, header.payload_len),
            (true, OpCode::Text, None, 5)
        );
        assert_eq!(&wire[len..], b"Hello");
        let mut out = [0u8; 16];
        let n = Frame::text("Hello").encode(&mut out, None).unwrap();
        assert_eq!(&out[..n], &wire);
    }

    #[test]
    fn rfc_single_frame_masked_hello() {
        let wire = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let (header, len) = decode_whole(&wire);
        assert_eq!(header.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(len, 6);
        let mut out = [0u8; 16];
        let n = Frame::text("Hello")
            .encode(&mut out, Some([0x37, 0xfa, 0x21, 0x3d]))
            .unwrap();
        assert_eq!(&out[..n], &wire);
    }

    #[test]
    fn rfc_fragmented_unmasked_hello() {
        let first = [0x01, 0x03, 0x48, 0x65, 0x6c];
        let second = [0x80, 0x02, 0x6c, 0x6f];
        let (h1, _) = decode_whole(&first);
        let (h2, _) = decode_whole(&second);
        assert_eq!(
            (h1.fin, h1.opcode, h1.payload_len),
            (false, OpCode::Text, 3)
        );
        assert_eq!(
            (h2.fin, h2.opcode, h2.payload_len),
            (true, OpCode::Continuation, 2)
        );
        let mut out = [0u8; 8];
        let n = Frame::text("Hel")
            .with_fin(false)
            .encode(&mut out, None)
            .unwrap();
        assert_eq!(&out[..n], &first);
        let n = Frame::new(OpCode::Continuation, b"lo")
            .encode(&mut out, None)
            .unwrap();
        assert_eq!(&out[..n], &second);
    }

    #[test]
    fn rfc_unmasked_ping_and_masked_pong() {
        let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        let mut out = [0u8; 16];
        let n = Frame::new(OpCode::Ping, b"Hello")
            .encode(&mut out, None)
            .unwrap();
        assert_eq!(&out[..n], &ping);
        let pong = [
            0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let n = Frame::new(OpCode::Pong, b"Hello")
            .encode(&mut out, Some([0x37, 0xfa, 0x21, 0x3d]))
            .unwrap();
        assert_eq!(&out[..n], &pong);
        assert_eq!(decode_whole(&pong).0.opcode, OpCode::Pong);
    }

    #[test]
    fn rfc_256_byte_binary_uses_16_bit_length() {
        let header = [0x82, 0x7E, 0x01, 0x00];
        let (decoded, len) = decode_whole(&header);
        assert_eq!((decoded.payload_len, len), (256, 4));
        let mut out = [0u8; 4];
        assert_eq!(decoded.encode(&mut out), Some(4));
        assert_eq!(out, header);
    }

    #[test]
    fn rfc_64_kib_binary_uses_64_bit_length() {
        let header = [0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00];
        let (decoded, len) = decode_whole(&header);
        assert_eq!((decoded.payload_len, len), (65536, 10));
        let mut out = [0u8; 10];
        assert_eq!(decoded.encode(&mut out), Some(10));
        assert_eq!(out, header);
    }

    #[test]
    fn every_prefix_of_a_header_needs_more() {
        let header = [0x82, 0xFF, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00, 1, 2, 3, 4];
        for end in 0..header.len() {
            assert_eq!(
                FrameHeader::decode(&header[..end]),
                Ok(None),
                "prefix {end}"
            );
        }
        assert_eq!(decode_whole(&header).1, 14);
    }

    #[test]
    fn non_minimal_length_encoding_is_accepted() {
        let (header, len) = decode_whole(&[0x82, 0x7E, 0x00, 0x05]);
        assert_eq!((header.payload_len, len), (5, 4));
    }

    #[test]
    fn reserved_opcodes_are_rejected() {
        for opcode in [3u8, 4, 5, 6, 7, 11, 12, 13, 14, 15] {
            assert_eq!(
                FrameHeader::decode(&[0x80 | opcode, 0]),
                Err(ProtocolError::ReservedOpcode(opcode))
            );
        }
    }

    #[test]
    fn control_frame_over_125_bytes_is_rejected() {
        assert_eq!(
            FrameHeader::decode(&[0x89, 126, 0, 126]),
            Err(ProtocolError::ControlFrameTooLong)
        );
    }

    #[test]
    fn fragmented_control_frame_is_rejected() {
        assert_eq!(
            FrameHeader::decode(&[0x09, 0]),
            Err(ProtocolError::FragmentedControlFrame)
        );
    }

    #[test]
    fn length_with_top_bit_set_is_rejected() {
        let header = [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            FrameHeader::decode(&header),
            Err(ProtocolError::LengthTopBitSet)
        );
    }

    #[test]
    fn encode_into_a_short_buffer_fails_cleanly() {
        let mut out = [0u8; 4];
        assert_eq!(Frame::text("Hello").encode(&mut out, None), None);
        assert_eq!(
            Frame::text("Hello").header(None).encode(&mut out[..1]),
            None
        );
    }

    #[test]
    fn vais_queries_answer_for_each_kind() {
        assert!(Frame::binary(&[1, 2]).is_binary());
        assert!(Frame::ping().is_ping() && Frame::ping().is_control());
        assert!(Frame::pong().is_pong());
        assert!(!Frame::text("x").is_control());
        let close = Frame::close_with_reason(CloseCode::GOING_AWAY, "bye").unwrap();
        assert!(close.is_close());
        assert_eq!(close.close_code(), CloseCode::GOING_AWAY);
        assert_eq!(close.close_reason(), "bye");
        assert_eq!(Frame::close(CloseCode::NO_STATUS).unwrap().payload(), b"");
        assert_eq!(Frame::binary(&[0xff]).payload_text(), None);
        assert_eq!(Frame::binary(&[]).payload_text(), Some(""));
    }
}
