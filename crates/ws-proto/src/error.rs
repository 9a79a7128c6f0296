//! Errors of the protocol core and the close code each one maps to.

use crate::close::{CloseCode, ClosePayloadError};

/// A violation of RFC 6455 by the peer. Each maps to the close code that
/// [`close_code`](Self::close_code) returns, and a
/// [`Connection`](crate::Connection) that meets one queues that close frame
/// for the caller to send.
///
/// | error | close code |
/// |---|---|
/// | [`InvalidUtf8`](Self::InvalidUtf8), a close reason that is not UTF-8, [`InvalidCompressedData`](Self::InvalidCompressedData) | 1007 |
/// | [`FrameTooLarge`](Self::FrameTooLarge), [`MessageTooLarge`](Self::MessageTooLarge), [`BudgetExhausted`](Self::BudgetExhausted) | 1009 |
/// | everything else | 1002 |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An RSV bit is set that no negotiated extension defines.
    ReservedBits,
    /// Opcode 3-7 or 11-15.
    ReservedOpcode(u8),
    /// A control frame with more than 125 bytes of payload.
    ControlFrameTooLong,
    /// A control frame without the FIN bit.
    FragmentedControlFrame,
    /// A 64-bit payload length with the most significant bit set.
    LengthTopBitSet,
    /// A client sent an unmasked frame to a server.
    UnmaskedFrame,
    /// A server sent a masked frame to a client.
    MaskedFrame,
    /// A continuation frame arrived with no fragmented message open.
    UnexpectedContinuation,
    /// A new text or binary frame arrived while a fragmented message was open.
    ExpectedContinuation,
    /// A text message (or a close reason) is not valid UTF-8.
    InvalidUtf8,
    /// A frame payload is longer than the configured maximum.
    FrameTooLarge,
    /// A message is longer than the configured maximum.
    MessageTooLarge,
    /// A malformed close frame payload.
    InvalidClosePayload(ClosePayloadError),
    /// A compressed message (permessage-deflate) that does not inflate.
    InvalidCompressedData,
    /// Holding more of an unfinished message would pass the memory budget
    /// that the connections of a server share
    /// (`budget::MemoryBudget`, feature `alloc`): other connections hold
    /// it. Not a fault of this peer's framing, but it is failed like an
    /// oversized message, with 1009.
    BudgetExhausted,
}

impl ProtocolError {
    /// The close code to fail the connection with.
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8
            | ProtocolError::InvalidCompressedData
            | ProtocolError::InvalidClosePayload(ClosePayloadError::InvalidReason) => {
                CloseCode::INVALID_DATA
            }
            ProtocolError::FrameTooLarge
            | ProtocolError::MessageTooLarge
            | ProtocolError::BudgetExhausted => CloseCode::TOO_LARGE,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// A short reason, fit for the close frame (well under 123 bytes).
    pub fn reason(&self) -> &'static str {
        match self {
            ProtocolError::ReservedBits => "reserved bits set",
            ProtocolError::ReservedOpcode(_) => "reserved opcode",
            ProtocolError::ControlFrameTooLong => "control frame too long",
            ProtocolError::FragmentedControlFrame => "fragmented control frame",
            ProtocolError::LengthTopBitSet => "invalid payload length",
            ProtocolError::UnmaskedFrame => "client frame not masked",
            ProtocolError::MaskedFrame => "server frame masked",
            ProtocolError::UnexpectedContinuation => "continuation without a message",
            ProtocolError::ExpectedContinuation => "message interrupted by a new message",
            ProtocolError::InvalidUtf8 => "invalid UTF-8 in text",
            ProtocolError::FrameTooLarge => "frame too large",
            ProtocolError::MessageTooLarge => "message too large",
            ProtocolError::InvalidClosePayload(ClosePayloadError::Truncated) => {
                "close payload of one byte"
            }
            ProtocolError::InvalidClosePayload(ClosePayloadError::InvalidCode(_)) => {
                "invalid close code"
            }
            ProtocolError::InvalidClosePayload(ClosePayloadError::InvalidReason) => {
                "close reason not UTF-8"
            }
            ProtocolError::InvalidClosePayload(ClosePayloadError::TooLong) => {
                "close payload too long"
            }
            ProtocolError::InvalidCompressedData => "compressed data does not inflate",
            ProtocolError::BudgetExhausted => "server busy: no memory for the message",
        }
    }
}

impl core::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} (close code {})", self.reason(), self.close_code())
    }
}

impl core::error::Error for ProtocolError {}

/// Why the caller's request to send was refused.
///
/// `#[non_exhaustive]`: new reasons may be added, so a `match` needs a
/// wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// A close frame has been sent or queued: no more frames may follow.
    Closed,
    /// `out` is too small; `needed` bytes would do.
    BufferTooSmall {
        /// The size of buffer the frame needs.
        needed: usize,
    },
    /// A control payload over 125 bytes, or a control frame without FIN.
    InvalidControlFrame,
    /// A continuation frame with no fragmented message being sent.
    NoMessageToContinue,
    /// A new text or binary frame while a fragmented message is unfinished.
    MessageUnfinished,
    /// A close frame with a code not allowed on the wire, or a bad reason.
    InvalidClose(ClosePayloadError),
    /// RSV1 (compression) on a frame where it is not allowed.
    CompressionNotNegotiated,
    /// The permessage-deflate compressor failed (a broken zlib state, or no
    /// memory): nothing was sent, and the connection is closed with 1011
    /// ([`CloseCode::UNEXPECTED`]), since its compression context is lost.
    CompressionFailed,
}

impl core::fmt::Display for SendError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SendError::Closed => {
                f.write_str("connection is closing: no frames may be sent after close")
            }
            SendError::BufferTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
            SendError::InvalidControlFrame => {
                f.write_str("control frames must be final and at most 125 bytes")
            }
            SendError::NoMessageToContinue => {
                f.write_str("continuation frame with no message being sent")
            }
            SendError::MessageUnfinished => f.write_str("a fragmented message is still being sent"),
            SendError::InvalidClose(err) => write!(f, "invalid close frame: {err:?}"),
            SendError::CompressionNotNegotiated => {
                f.write_str("compressed frame without permessage-deflate")
            }
            SendError::CompressionFailed => f.write_str("permessage-deflate compression failed"),
        }
    }
}

impl core::error::Error for SendError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_their_close_codes() {
        assert_eq!(
            ProtocolError::InvalidUtf8.close_code(),
            CloseCode::INVALID_DATA
        );
        assert_eq!(
            ProtocolError::InvalidClosePayload(ClosePayloadError::InvalidReason).close_code(),
            CloseCode::INVALID_DATA
        );
        assert_eq!(
            ProtocolError::MessageTooLarge.close_code(),
            CloseCode::TOO_LARGE
        );
        assert_eq!(
            ProtocolError::FrameTooLarge.close_code(),
            CloseCode::TOO_LARGE
        );
        assert_eq!(
            ProtocolError::ReservedOpcode(3).close_code(),
            CloseCode::PROTOCOL_ERROR
        );
        assert_eq!(
            ProtocolError::InvalidClosePayload(ClosePayloadError::Truncated).close_code(),
            CloseCode::PROTOCOL_ERROR
        );
    }
}
