//! Close codes and close frame payloads (RFC 6455 sections 5.5.1 and 7.4).

use crate::constants::MAX_CONTROL_PAYLOAD;

/// A close status code.
///
/// A plain newtype over the wire value rather than an enum, because peers
/// may send any registered or private code (3000-4999) and we must carry it
/// through. The Vais `WS_CLOSE_*` constants are associated constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000, Vais `WS_CLOSE_NORMAL`: normal closure.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001, Vais `WS_CLOSE_GOING_AWAY`: the endpoint is going away.
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002, Vais `WS_CLOSE_PROTOCOL_ERROR`: protocol error.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003, Vais `WS_CLOSE_UNSUPPORTED`: a data type the endpoint cannot accept.
    pub const UNSUPPORTED: CloseCode = CloseCode(1003);
    /// 1005, Vais `WS_CLOSE_NO_STATUS`: the close frame carried no code.
    /// Never sent on the wire.
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006, Vais `WS_CLOSE_ABNORMAL`: the connection dropped without a
    /// close frame. Never sent on the wire.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007, Vais `WS_CLOSE_INVALID_DATA`: payload inconsistent with the
    /// message type (invalid UTF-8 in text).
    pub const INVALID_DATA: CloseCode = CloseCode(1007);
    /// 1008, Vais `WS_CLOSE_POLICY`: policy violation.
    pub const POLICY: CloseCode = CloseCode(1008);
    /// 1009, Vais `WS_CLOSE_TOO_LARGE`: message too big to process.
    pub const TOO_LARGE: CloseCode = CloseCode(1009);
    /// 1010, Vais `WS_CLOSE_EXTENSION`: the client expected an extension
    /// the server did not negotiate.
    pub const EXTENSION: CloseCode = CloseCode(1010);
    /// 1011, Vais `WS_CLOSE_UNEXPECTED`: the server met an unexpected condition.
    pub const UNEXPECTED: CloseCode = CloseCode(1011);

    /// May this code appear in a close frame on the wire?
    ///
    /// Allowed: 1000-1003, 1007-1014 (registered by IANA) and 3000-4999
    /// (libraries and private use). Everything else, notably 1004-1006,
    /// 1015 and anything below 1000 or from 5000 on, is a protocol error.
    pub fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl core::fmt::Display for CloseCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The longest close reason: a control payload minus the 2-byte code.
pub const MAX_CLOSE_REASON: usize = MAX_CONTROL_PAYLOAD - 2;

/// Why a close payload was rejected.
///
/// `#[non_exhaustive]`: new reasons may be added, so a `match` needs a
/// wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClosePayloadError {
    /// A 1-byte payload: a code needs two (close code 1002).
    Truncated,
    /// A code that must not appear on the wire (close code 1002).
    InvalidCode(u16),
    /// The reason is not valid UTF-8 (close code 1007).
    InvalidReason,
    /// More than 125 bytes (close code 1002).
    TooLong,
}

/// A parsed close frame payload: the code and the reason, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseFrame<'a> {
    /// The status code; [`CloseCode::NO_STATUS`] when the payload was empty.
    pub code: CloseCode,
    /// The reason, valid UTF-8, possibly empty.
    pub reason: &'a str,
}

impl<'a> CloseFrame<'a> {
    /// Parse an (already unmasked) close payload.
    ///
    /// An empty payload means "no status" (1005). A 1-byte payload, a code
    /// not allowed on the wire, a payload over 125 bytes, or a reason that
    /// is not UTF-8 is rejected.
    pub fn parse(payload: &'a [u8]) -> Result<Self, ClosePayloadError> {
        match payload {
            [] => Ok(CloseFrame {
                code: CloseCode::NO_STATUS,
                reason: "",
            }),
            [_] => Err(ClosePayloadError::Truncated),
            _ if payload.len() > MAX_CONTROL_PAYLOAD => Err(ClosePayloadError::TooLong),
            [hi, lo, reason @ ..] => {
                let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
                if !code.is_valid_on_wire() {
                    return Err(ClosePayloadError::InvalidCode(code.0));
                }
                let reason =
                    core::str::from_utf8(reason).map_err(|_| ClosePayloadError::InvalidReason)?;
                Ok(CloseFrame { code, reason })
            }
        }
    }
}

/// A close payload in fixed storage: what a connection keeps queued until
/// the caller transmits it. Building one validates the code and cuts an
/// overlong reason at a character boundary.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ClosePayload {
    bytes: [u8; MAX_CONTROL_PAYLOAD],
    len: u8,
}

impl ClosePayload {
    /// The empty payload ("no status").
    pub const fn empty() -> Self {
        ClosePayload {
            bytes: [0; MAX_CONTROL_PAYLOAD],
            len: 0,
        }
    }

    /// Build a payload from a code and a reason.
    ///
    /// [`CloseCode::NO_STATUS`] gives the empty payload (and the reason is
    /// dropped, as the RFC has no way to send a reason without a code).
    /// Other codes must be valid on the wire. A reason longer than 123
    /// bytes is truncated at the last character boundary that fits.
    pub fn new(code: CloseCode, reason: &str) -> Result<Self, ClosePayloadError> {
        if code == CloseCode::NO_STATUS {
            return Ok(Self::empty());
        }
        if !code.is_valid_on_wire() {
            return Err(ClosePayloadError::InvalidCode(code.0));
        }
        let reason = truncate_at_char_boundary(reason, MAX_CLOSE_REASON);
        let mut payload = Self::empty();
        payload.bytes[..2].copy_from_slice(&code.0.to_be_bytes());
        payload.bytes[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
        payload.len = (2 + reason.len()) as u8;
        Ok(payload)
    }

    /// The payload bytes as they go on the wire (before masking).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The code in this payload ([`CloseCode::NO_STATUS`] if empty).
    pub fn code(&self) -> CloseCode {
        match self.as_bytes() {
            [hi, lo, ..] => CloseCode(u16::from_be_bytes([*hi, *lo])),
            _ => CloseCode::NO_STATUS,
        }
    }
}

impl core::fmt::Debug for ClosePayload {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let reason = self.as_bytes().get(2..).unwrap_or(&[]);
        f.debug_struct("ClosePayload")
            .field("code", &self.code())
            .field(
                "reason",
                &core::str::from_utf8(reason).unwrap_or("<invalid>"),
            )
            .finish()
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a
/// character boundary.
fn truncate_at_char_boundary(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_payload_means_no_status() {
        let frame = CloseFrame::parse(&[]).unwrap();
        assert_eq!(frame.code, CloseCode::NO_STATUS);
        assert_eq!(frame.reason, "");
    }

    #[test]
    fn code_and_reason_are_parsed() {
        let frame = CloseFrame::parse(b"\x03\xe8bye").unwrap();
        assert_eq!(frame.code, CloseCode::NORMAL);
        assert_eq!(frame.reason, "bye");
    }

    #[test]
    fn one_byte_payload_is_rejected() {
        assert_eq!(
            CloseFrame::parse(&[0x03]),
            Err(ClosePayloadError::Truncated)
        );
    }

    #[test]
    fn codes_forbidden_on_the_wire_are_rejected() {
        for code in [
            0u16, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535,
        ] {
            let payload = code.to_be_bytes();
            assert_eq!(
                CloseFrame::parse(&payload),
                Err(ClosePayloadError::InvalidCode(code)),
                "code {code}"
            );
        }
    }

    #[test]
    fn registered_and_private_codes_are_accepted() {
        for code in [
            1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999,
        ] {
            assert!(
                CloseFrame::parse(&code.to_be_bytes()).is_ok(),
                "code {code}"
            );
        }
    }

    #[test]
    fn reason_that_is_not_utf8_is_rejected() {
        assert_eq!(
            CloseFrame::parse(b"\x03\xe8\xce\xba\xe1\xbd"),
            Err(ClosePayloadError::InvalidReason)
        );
    }

    #[test]
    fn overlong_payload_is_rejected() {
        let mut payload = [b'a'; 126];
        payload[..2].copy_from_slice(&1000u16.to_be_bytes());
        assert_eq!(CloseFrame::parse(&payload), Err(ClosePayloadError::TooLong));
    }

    #[test]
    fn built_payload_round_trips() {
        let payload = ClosePayload::new(CloseCode::GOING_AWAY, "restart").unwrap();
        assert_eq!(payload.as_bytes(), b"\x03\xe9restart");
        let frame = CloseFrame::parse(payload.as_bytes()).unwrap();
        assert_eq!(frame.code, CloseCode::GOING_AWAY);
        assert_eq!(frame.reason, "restart");
    }

    #[test]
    fn building_with_a_forbidden_code_fails() {
        assert_eq!(
            ClosePayload::new(CloseCode::ABNORMAL, ""),
            Err(ClosePayloadError::InvalidCode(1006))
        );
    }

    #[test]
    fn no_status_builds_the_empty_payload() {
        assert_eq!(
            ClosePayload::new(CloseCode::NO_STATUS, "x")
                .unwrap()
                .as_bytes(),
            b""
        );
    }

    #[test]
    fn long_reason_is_cut_at_a_character_boundary() {
        let reason = "é".repeat(100); // 200 bytes
        let payload = ClosePayload::new(CloseCode::NORMAL, &reason).unwrap();
        assert!(payload.as_bytes().len() <= MAX_CONTROL_PAYLOAD);
        assert!(CloseFrame::parse(payload.as_bytes()).is_ok());
        assert_eq!(payload.as_bytes().len(), 2 + 122);
    }
}
