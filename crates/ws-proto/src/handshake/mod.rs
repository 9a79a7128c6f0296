//! The opening handshake of RFC 6455 section 4: an HTTP/1.1 upgrade request
//! and its `101 Switching Protocols` answer.
//!
//! Both sides are sans-IO. A parser is fed the bytes received so far (the
//! same buffer, growing) and answers `Ok(None)` until the header block is
//! complete; writers fill a caller's buffer and return how many bytes they
//! wrote. The header block is capped ([`WS_HEADER_BUFFER`] bytes by default)
//! and the search for its end remembers where it stopped, so feeding a
//! request one byte at a time costs linear work and one HTTP parse.
//!
//! - The [`server`] module parses requests with
//!   [`RequestParser`](server::RequestParser) and answers with
//!   [`write_response`](server::write_response),
//!   [`write_refusal`](server::write_refusal) (a request that breaks RFC
//!   6455) or [`write_rejection`](server::write_rejection) (the
//!   application's own refusal: a 401, 403, 404 with headers and a body).
//! - The [`client`] module writes a
//!   [`ClientRequest`](client::ClientRequest) and checks the answer with
//!   [`ResponseParser`](client::ResponseParser).
//! - The [`session`] module puts both sides together as owned state
//!   machines a transport keeps across reads, in the manner of
//!   `httparse::Status`: [`ClientHandshake`] (owns its key, subprotocols
//!   and deflate offer; writes the request, checks the answer) and
//!   [`ServerHandshake`] (gives the request to the application as an
//!   [`Incoming`] to [`accept`](Incoming::accept) or
//!   [`reject`](Incoming::reject)). Each ends in [`Status::Complete`] with
//!   the subprotocol, the negotiated permessage-deflate parameters and
//!   where the frames start. The transports (ws-std, ws-mio) and the
//!   ws-bench load client drive these.

use core::fmt;

use base64ct::{Base64, Encoding};
use sha1_smol::Sha1;

use crate::constants::WS_HEADER_BUFFER;

#[cfg(feature = "alloc")]
mod acceptance;
pub mod client;
#[cfg(feature = "alloc")]
mod refusal;
pub mod server;
pub mod session;

#[cfg(feature = "alloc")]
pub use acceptance::Acceptance;
#[cfg(feature = "alloc")]
pub use refusal::Refusal;

pub use session::{
    Accept, ClientDone, ClientHandshake, Incoming, Reject, ServerDone, ServerHandshake, Status,
};

/// Owned `(name, value)` header pairs as the writers take them, and the
/// room their lines take (`name: value\r\n` each).
#[cfg(feature = "alloc")]
fn borrowed_headers(
    headers: &[(alloc::string::String, alloc::string::String)],
) -> (alloc::vec::Vec<(&str, &str)>, usize) {
    let borrowed: alloc::vec::Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let room = borrowed.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
    (borrowed, room)
}

/// The GUID that RFC 6455 appends to the client's key before hashing.
const WEBSOCKET_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The only protocol version RFC 6455 defines, as sent on the wire.
const WEBSOCKET_VERSION: &str = "13";

/// How many header lines a request or response may carry. Browsers send
/// about 15; more than this is refused with
/// [`HandshakeError::TooManyHeaders`].
pub const MAX_HEADERS: usize = 32;

/// Computes `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: the base64 of
/// the SHA-1 of the key followed by the RFC 6455 GUID.
///
/// `key` is the header value as sent (the base64 text, not the decoded
/// bytes). The result is 28 ASCII bytes.
pub fn accept_key(key: &[u8]) -> [u8; 28] {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(WEBSOCKET_GUID);
    let digest = sha1.digest().bytes();
    let mut encoded = [0u8; 28];
    // 20 bytes always encode to exactly 28 base64 characters, so this
    // cannot fail; the RFC test vector pins it.
    let _ = Base64::encode(&digest, &mut encoded);
    encoded
}

/// Why an opening handshake failed, on either side, or why a handshake
/// message could not be written.
///
/// A server answers a refused request with
/// [`write_refusal`](server::write_refusal), whose status is
/// [`status_code`](Self::status_code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The header block did not end within the parser's size cap.
    HeaderTooLarge,
    /// The header block is not valid HTTP/1.x syntax.
    MalformedHttp,
    /// The header block has more than [`MAX_HEADERS`] header lines.
    TooManyHeaders,
    /// A header handed out as text (`Host`, `Origin`,
    /// `Sec-WebSocket-Protocol`, `Sec-WebSocket-Extensions`) is not UTF-8.
    HeaderNotUtf8,
    /// The request method is not `GET`.
    NotGet,
    /// The message is not HTTP/1.1.
    NotHttp11,
    /// The request has no `Host` header.
    MissingHost,
    /// The request declares a body (any `Transfer-Encoding`, or a
    /// `Content-Length` other than a single `0`): a proxy and the server
    /// could disagree on where the frames start.
    RequestHasBody,
    /// A header that may appear only once (the name given) is repeated.
    /// Reading the first copy while a proxy reads another would let the two
    /// disagree on, say, the host.
    DuplicateHeader(&'static str),
    /// The request target is neither origin-form (`/chat`) nor
    /// absolute-form with a `ws`, `wss`, `http` or `https` scheme and a
    /// host (`ws://example.com/chat`).
    InvalidTarget,
    /// There is no `Upgrade` header.
    MissingUpgrade,
    /// The `Upgrade` header does not list `websocket`.
    UpgradeNotWebsocket,
    /// No `Connection` header lists `upgrade`.
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Version` is missing or is not `13`.
    UnsupportedVersion,
    /// The request has no `Sec-WebSocket-Key` header.
    MissingKey,
    /// `Sec-WebSocket-Key` is repeated or does not base64-decode to exactly
    /// 16 bytes.
    InvalidKey,
    /// Client side: the server answered with this status instead of 101.
    BadStatus(u16),
    /// Client side: the response has no `Sec-WebSocket-Accept` header.
    MissingAccept,
    /// Client side: `Sec-WebSocket-Accept` does not match the key sent.
    AcceptMismatch,
    /// Client side: the server chose a subprotocol the client did not offer.
    ProtocolNotOffered,
    /// Client side: the server named more than one subprotocol.
    MultipleProtocols,
    /// Client side: the server answered with an extension the client did
    /// not offer.
    ExtensionNotOffered,
    /// Writing: a header name to write is not an HTTP token.
    InvalidHeaderName,
    /// Writing: a header value contains CR, LF or another control
    /// character (header injection), or a subprotocol name is not a token.
    InvalidHeaderValue,
    /// Writing: the request path does not start with `/`, or contains a
    /// space or a control character.
    InvalidPath,
    /// Writing: the output buffer is too small for the message.
    BufferTooSmall,
    /// Writing: a refusal's status is not a client or server error (400 to
    /// 599).
    InvalidStatus,
    /// A [`ClientHandshake`] value does not fit
    /// its fixed-size storage; the name says which (`Host`, the request
    /// target or `Sec-WebSocket-Protocol`), the limits are
    /// [`MAX_HOST_LEN`](session::MAX_HOST_LEN),
    /// [`MAX_TARGET_LEN`](session::MAX_TARGET_LEN),
    /// [`MAX_SUBPROTOCOL_LEN`](session::MAX_SUBPROTOCOL_LEN) and
    /// [`MAX_SUBPROTOCOLS`](session::MAX_SUBPROTOCOLS).
    TooLong(&'static str),
    /// Client side: the server's permessage-deflate answer does not fit
    /// the offer.
    Deflate(crate::deflate::NegotiationError),
}

impl HandshakeError {
    /// The HTTP status a server sends to refuse a request that failed this
    /// way: 426 for [`UnsupportedVersion`](Self::UnsupportedVersion), 431 for
    /// [`HeaderTooLarge`](Self::HeaderTooLarge) and
    /// [`TooManyHeaders`](Self::TooManyHeaders), 400 for everything else.
    ///
    /// Client-side and writing errors are never sent to a peer; they also
    /// return 400.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::UnsupportedVersion => 426,
            Self::HeaderTooLarge | Self::TooManyHeaders => 431,
            _ => 400,
        }
    }

    fn description(&self) -> &'static str {
        match self {
            Self::HeaderTooLarge => "header block too large",
            Self::MalformedHttp => "malformed HTTP",
            Self::TooManyHeaders => "too many header lines",
            Self::HeaderNotUtf8 => "header value is not UTF-8",
            Self::NotGet => "method is not GET",
            Self::NotHttp11 => "not HTTP/1.1",
            Self::MissingHost => "missing Host header",
            Self::RequestHasBody => "upgrade request declares a body",
            Self::DuplicateHeader(_) => "header must appear once",
            Self::InvalidTarget => "request target is neither a path nor a ws or http URI",
            Self::MissingUpgrade => "missing Upgrade header",
            Self::UpgradeNotWebsocket => "Upgrade header does not list websocket",
            Self::MissingConnectionUpgrade => "Connection header does not list upgrade",
            Self::UnsupportedVersion => "Sec-WebSocket-Version must be 13",
            Self::MissingKey => "missing Sec-WebSocket-Key header",
            Self::InvalidKey => "Sec-WebSocket-Key is not 16 bytes of base64",
            Self::BadStatus(_) => "status is not 101",
            Self::MissingAccept => "missing Sec-WebSocket-Accept header",
            Self::AcceptMismatch => "Sec-WebSocket-Accept does not match the key",
            Self::ProtocolNotOffered => "server chose a subprotocol that was not offered",
            Self::MultipleProtocols => "server chose more than one subprotocol",
            Self::ExtensionNotOffered => "server chose an extension that was not offered",
            Self::InvalidHeaderName => "header name is not an HTTP token",
            Self::InvalidHeaderValue => "header value contains a control character",
            Self::InvalidPath => {
                "request path does not start with / or contains a space or control character"
            }
            Self::BufferTooSmall => "output buffer too small",
            Self::InvalidStatus => "refusal status is not from 400 to 599",
            Self::TooLong(_) => "value too long for the handshake's storage",
            Self::Deflate(_) => "bad permessage-deflate answer",
        }
    }
}

impl HandshakeError {
    /// Writes the one-line message ([`Display`](fmt::Display)'s text)
    /// without `core::fmt`: what a refusal's body says.
    pub(crate) fn write_message(&self, out: &mut MessageWriter<'_>) -> Result<(), HandshakeError> {
        out.push(self.description().as_bytes())?;
        match self {
            Self::BadStatus(code) => {
                out.push(b" (got ")?;
                out.push(server::decimal((*code).into()).digits())?;
                out.push(b")")
            }
            Self::DuplicateHeader(name) | Self::TooLong(name) => {
                out.push(b": ")?;
                out.push(name.as_bytes())
            }
            Self::Deflate(err) => {
                out.push(b": ")?;
                out.push(err.reason().as_bytes())
            }
            _ => Ok(()),
        }
    }
}

/// Room for the longest message [`HandshakeError::write_message`] writes.
pub(crate) const MESSAGE_CAPACITY: usize = 192;

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; MESSAGE_CAPACITY];
        let mut message = MessageWriter::new(&mut buf);
        self.write_message(&mut message).map_err(|_| fmt::Error)?;
        let len = message.written();
        f.write_str(core::str::from_utf8(&buf[..len]).map_err(|_| fmt::Error)?)
    }
}

/// Whether a comma-separated header value lists `token`, ignoring ASCII
/// case and the whitespace around each element (`keep-alive, Upgrade`
/// lists `upgrade`).
pub(crate) fn lists_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|element| element.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// The non-empty elements of a comma-separated header value, trimmed.
pub(crate) fn list_elements(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|e| !e.is_empty())
}

/// Whether `bytes` is an HTTP token (RFC 9110 `tchar`s, non-empty): what a
/// header name or a subprotocol name must be.
pub(crate) fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether `bytes` may stand as a header value: no control characters other
/// than tab, so a caller's value can never end the line and inject headers.
pub(crate) fn is_field_value(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// The header lines of a parsed request or response, copied out of the
/// parser so the result borrows only the caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeaderList<'b> {
    entries: [httparse::Header<'b>; MAX_HEADERS],
    len: usize,
}

impl<'b> HeaderList<'b> {
    fn new() -> Self {
        Self {
            entries: [httparse::EMPTY_HEADER; MAX_HEADERS],
            len: 0,
        }
    }

    /// Every header line as (name, value), in the order received.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&'b str, &'b [u8])> + '_ {
        self.entries[..self.len].iter().map(|h| (h.name, h.value))
    }

    /// The values of every line named `name` (ASCII case-insensitive).
    pub(crate) fn all(&self, name: &'static str) -> impl Iterator<Item = &'b [u8]> + '_ {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The value of the first line named `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&'b [u8]> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Fails with [`HandshakeError::DuplicateHeader`] if any of `names`
    /// has more than one line. Which names each side passes, and why, is
    /// written beside its list (`REQUEST_SINGLETONS` in the server module,
    /// `RESPONSE_SINGLETONS` in the client module).
    fn require_single(&self, names: &[&'static str]) -> Result<(), HandshakeError> {
        match names.iter().find(|&&name| self.all(name).nth(1).is_some()) {
            Some(&name) => Err(HandshakeError::DuplicateHeader(name)),
            None => Ok(()),
        }
    }

    /// The first line named `name` as text, trimmed.
    fn text(&self, name: &'static str) -> Result<Option<&'b str>, HandshakeError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => utf8(value).map(|s| Some(s.trim())),
        }
    }

    /// Fails unless every line named `name` is UTF-8, so that
    /// [`all_text`](Self::all_text) hands out every value.
    fn require_utf8(&self, name: &'static str) -> Result<(), HandshakeError> {
        self.all(name).try_for_each(|v| utf8(v).map(drop))
    }

    /// The values of every line named `name` that are UTF-8 (all of them,
    /// after [`require_utf8`](Self::require_utf8)).
    pub(crate) fn all_text(&self, name: &'static str) -> impl Iterator<Item = &'b str> + '_ {
        self.all(name).filter_map(|v| core::str::from_utf8(v).ok())
    }

    /// Whether any line named `name` lists `token`.
    fn lists(&self, name: &'static str, token: &str) -> bool {
        self.all(name).any(|v| lists_token(v, token))
    }

    /// The checks both sides make: `Upgrade` lists `websocket` and
    /// `Connection` lists `upgrade`.
    fn check_upgrade(&self) -> Result<(), HandshakeError> {
        if self.get("Upgrade").is_none() {
            return Err(HandshakeError::MissingUpgrade);
        }
        if !self.lists("Upgrade", "websocket") {
            return Err(HandshakeError::UpgradeNotWebsocket);
        }
        if !self.lists("Connection", "upgrade") {
            return Err(HandshakeError::MissingConnectionUpgrade);
        }
        Ok(())
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, HandshakeError> {
    core::str::from_utf8(bytes).map_err(|_| HandshakeError::HeaderNotUtf8)
}

fn map_httparse_error(err: httparse::Error) -> HandshakeError {
    match err {
        httparse::Error::TooManyHeaders => HandshakeError::TooManyHeaders,
        _ => HandshakeError::MalformedHttp,
    }
}

/// Where the search for the blank line ending a header block stands after
/// the bytes scanned so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineState {
    /// Inside a line (or at the very start).
    InLine,
    /// Just after a `\n`: a new line starts here.
    LineStart,
    /// After `\n\r`: one more `\n` ends the block.
    LineStartCr,
}

/// Finds the end of a header block in a buffer that grows between calls,
/// looking at every byte once: the state carries over, so a terminator
/// split across two calls is still found and nothing is scanned twice.
///
/// Quadratic re-scanning of a slowly growing header was CVE-2023-43669 in
/// tungstenite; [`bytes_scanned`](Self::bytes_scanned) lets tests and
/// fuzzers check the work stays linear.
///
/// The block ends at the first empty line, `\r\n\r\n` or (as HTTP parsers
/// tolerate) a bare `\n\n`.
#[derive(Clone, Debug)]
pub(crate) struct HeadScanner {
    max_len: usize,
    scanned: usize,
    state: LineState,
    end: Option<usize>,
    bytes_scanned: usize,
    parse_passes: usize,
}

impl HeadScanner {
    pub(crate) fn new(max_len: usize) -> Self {
        Self {
            max_len,
            scanned: 0,
            state: LineState::InLine,
            end: None,
            bytes_scanned: 0,
            parse_passes: 0,
        }
    }

    /// The length of the header block in `buf` (up to and including the
    /// blank line), `None` if it has not ended yet, or
    /// [`HeaderTooLarge`](HandshakeError::HeaderTooLarge) once more than the
    /// cap has arrived without an end.
    ///
    /// `buf` must start where the previous call's did; a buffer shorter
    /// than what was already scanned is taken as a new message.
    pub(crate) fn find_end(&mut self, buf: &[u8]) -> Result<Option<usize>, HandshakeError> {
        if buf.len() < self.scanned {
            self.restart();
        }
        if self.end.is_none() {
            self.scan(buf);
        }
        match self.end {
            Some(end) => {
                self.parse_passes += 1;
                Ok(Some(end))
            }
            None if buf.len() > self.max_len => Err(HandshakeError::HeaderTooLarge),
            None => Ok(None),
        }
    }

    /// Scans the new bytes of `buf`, never past the cap.
    fn scan(&mut self, buf: &[u8]) {
        let limit = buf.len().min(self.max_len);
        let fresh = buf.get(self.scanned..limit).unwrap_or(&[]);
        for (offset, &byte) in fresh.iter().enumerate() {
            self.state = match (self.state, byte) {
                (LineState::LineStart | LineState::LineStartCr, b'\n') => {
                    let end = self.scanned + offset + 1;
                    self.end = Some(end);
                    self.bytes_scanned += offset + 1;
                    self.scanned = end;
                    return;
                }
                (_, b'\n') => LineState::LineStart,
                (LineState::LineStart, b'\r') => LineState::LineStartCr,
                _ => LineState::InLine,
            };
        }
        self.bytes_scanned += fresh.len();
        self.scanned = limit;
    }

    fn restart(&mut self) {
        self.scanned = 0;
        self.state = LineState::InLine;
        self.end = None;
    }

    /// How many times a complete header block was handed to the HTTP
    /// parser.
    pub(crate) fn parse_passes(&self) -> usize {
        self.parse_passes
    }

    /// How many bytes the end-of-block search has examined in total.
    pub(crate) fn bytes_scanned(&self) -> usize {
        self.bytes_scanned
    }
}

impl Default for HeadScanner {
    fn default() -> Self {
        Self::new(WS_HEADER_BUFFER)
    }
}

/// Writes an HTTP message into a caller's buffer, refusing to overflow it
/// and refusing header values that would break the message's framing.
pub(crate) struct MessageWriter<'o> {
    out: &'o mut [u8],
    len: usize,
}

impl<'o> MessageWriter<'o> {
    pub(crate) fn new(out: &'o mut [u8]) -> Self {
        Self { out, len: 0 }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<(), HandshakeError> {
        let end = self.len + bytes.len();
        let dest = self
            .out
            .get_mut(self.len..end)
            .ok_or(HandshakeError::BufferTooSmall)?;
        dest.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// Writes `name: value\r\n` after checking both.
    pub(crate) fn header(&mut self, name: &str, value: &[u8]) -> Result<(), HandshakeError> {
        if !is_token(name.as_bytes()) {
            return Err(HandshakeError::InvalidHeaderName);
        }
        if !is_field_value(value) {
            return Err(HandshakeError::InvalidHeaderValue);
        }
        self.push(name.as_bytes())?;
        self.push(b": ")?;
        self.push(value)?;
        self.push(b"\r\n")
    }

    /// Writes `name: a, b, c\r\n` for a list of tokens (subprotocols).
    pub(crate) fn token_list(&mut self, name: &str, tokens: &[&str]) -> Result<(), HandshakeError> {
        if tokens.iter().any(|t| !is_token(t.as_bytes())) {
            return Err(HandshakeError::InvalidHeaderValue);
        }
        self.push(name.as_bytes())?;
        self.push(b": ")?;
        for (index, token) in tokens.iter().enumerate() {
            if index > 0 {
                self.push(b", ")?;
            }
            self.push(token.as_bytes())?;
        }
        self.push(b"\r\n")
    }

    /// Writes each of the caller's extra headers.
    pub(crate) fn headers(&mut self, headers: &[(&str, &str)]) -> Result<(), HandshakeError> {
        headers
            .iter()
            .try_for_each(|(name, value)| self.header(name, value.as_bytes()))
    }

    /// How many bytes have been written so far.
    pub(crate) fn written(&self) -> usize {
        self.len
    }

    /// Ends the header block and returns the message length.
    pub(crate) fn finish(mut self) -> Result<usize, HandshakeError> {
        self.push(b"\r\n")?;
        Ok(self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc_6455_example() {
        assert_eq!(
            &accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn token_list_ignores_case_and_whitespace() {
        assert!(lists_token(b"keep-alive, Upgrade", "upgrade"));
        assert!(lists_token(b" UPGRADE ", "upgrade"));
        assert!(lists_token(b"a,\tupgrade\t,b", "upgrade"));
        assert!(!lists_token(b"keep-alive", "upgrade"));
        assert!(!lists_token(b"upgrades", "upgrade"));
        assert!(!lists_token(b"", "upgrade"));
    }

    #[test]
    fn status_codes_follow_the_refusal_rules() {
        assert_eq!(HandshakeError::UnsupportedVersion.status_code(), 426);
        assert_eq!(HandshakeError::HeaderTooLarge.status_code(), 431);
        assert_eq!(HandshakeError::TooManyHeaders.status_code(), 431);
        assert_eq!(HandshakeError::MissingKey.status_code(), 400);
        assert_eq!(HandshakeError::BadStatus(200).status_code(), 400);
        assert_eq!(HandshakeError::RequestHasBody.status_code(), 400);
        assert_eq!(HandshakeError::DuplicateHeader("Host").status_code(), 400);
        assert_eq!(HandshakeError::InvalidTarget.status_code(), 400);
    }

    #[test]
    fn duplicate_header_error_names_the_header() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(
            HandshakeError::DuplicateHeader("Host").to_string(),
            "header must appear once: Host"
        );
    }

    #[test]
    fn scanner_finds_crlf_and_bare_lf_block_ends() {
        assert_eq!(HeadScanner::new(100).find_end(b"A\r\n\r\nxx"), Ok(Some(5)));
        assert_eq!(HeadScanner::new(100).find_end(b"A\n\nxx"), Ok(Some(3)));
        assert_eq!(HeadScanner::new(100).find_end(b"A\r\nB\r\n"), Ok(None));
    }

    #[test]
    fn scanner_finds_a_terminator_split_across_calls() {
        let message = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        let mut scanner = HeadScanner::new(100);
        for len in 0..message.len() {
            assert_eq!(scanner.find_end(&message[..len]), Ok(None));
        }
        assert_eq!(scanner.find_end(message), Ok(Some(message.len())));
        assert_eq!(scanner.bytes_scanned(), message.len());
    }

    #[test]
    fn scanner_refuses_a_block_past_its_cap() {
        let mut scanner = HeadScanner::new(4);
        assert_eq!(scanner.find_end(b"abcd"), Ok(None));
        assert_eq!(
            scanner.find_end(b"abcde"),
            Err(HandshakeError::HeaderTooLarge)
        );
        assert_eq!(HeadScanner::new(4).find_end(b"a\n\n"), Ok(Some(3)));
    }

    #[test]
    fn writer_refuses_to_overflow() {
        let mut out = [0u8; 4];
        let mut writer = MessageWriter::new(&mut out);
        assert_eq!(writer.push(b"abc"), Ok(()));
        assert_eq!(writer.push(b"de"), Err(HandshakeError::BufferTooSmall));
    }

    #[test]
    fn writer_refuses_header_injection() {
        let mut out = [0u8; 64];
        let mut writer = MessageWriter::new(&mut out);
        assert_eq!(
            writer.header("X", b"a\r\nEvil: 1"),
            Err(HandshakeError::InvalidHeaderValue)
        );
        assert_eq!(
            writer.header("X: y", b"a"),
            Err(HandshakeError::InvalidHeaderName)
        );
        assert_eq!(
            writer.token_list("P", &["a,b"]),
            Err(HandshakeError::InvalidHeaderValue)
        );
    }
}
