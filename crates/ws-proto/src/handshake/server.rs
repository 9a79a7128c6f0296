//! Server side of the opening handshake: parse and check the client's
//! upgrade request, then answer with `101 Switching Protocols` or a refusal.
//!
//! ```
//! use ws_proto::handshake::server::{write_refusal, write_response, RequestParser};
//!
//! let received = b"GET /chat HTTP/1.1\r\nHost: example.com\r\n\
//!     Upgrade: websocket\r\nConnection: Upgrade\r\n\
//!     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//!     Sec-WebSocket-Version: 13\r\n\r\n";
//! let mut parser = RequestParser::new();
//! let mut out = [0u8; 256];
//! let written = match parser.parse(received) {
//!     Ok(Some(request)) => write_response(request.key(), None, None, &[], &mut out),
//!     Ok(None) => return, // incomplete: read more, append, parse again
//!     Err(refused) => write_refusal(&refused, &mut out),
//! };
//! assert_eq!(written.map(|len| out[..len].starts_with(b"HTTP/1.1 101 ")), Ok(true));
//! ```

use base64ct::{Base64, Encoding};

use super::{
    accept_key, list_elements, map_httparse_error, HandshakeError, HeadScanner, HeaderList,
    MessageWriter, MESSAGE_CAPACITY, WEBSOCKET_VERSION,
};
use crate::constants::WS_HEADER_BUFFER;

/// Parses an upgrade request as it arrives.
///
/// Feed it the whole buffer received so far, from the first byte of the
/// request, each time more bytes arrive. It remembers how far it has looked
/// for the end of the header block, so the total work stays linear however
/// the bytes are split, and it runs the HTTP parser once, when the block is
/// complete.
#[derive(Clone, Debug, Default)]
pub struct RequestParser {
    scanner: HeadScanner,
}

impl RequestParser {
    /// A parser that refuses header blocks longer than
    /// [`WS_HEADER_BUFFER`] (8192) bytes.
    pub fn new() -> Self {
        Self::with_max_header_len(WS_HEADER_BUFFER)
    }

    /// A parser that refuses header blocks longer than `max_len` bytes with
    /// [`HandshakeError::HeaderTooLarge`].
    pub fn with_max_header_len(max_len: usize) -> Self {
        Self {
            scanner: HeadScanner::new(max_len),
        }
    }

    /// Looks for a complete, valid upgrade request at the start of `buf`.
    ///
    /// Returns `Ok(None)` while the header block is incomplete: append the
    /// next bytes received and call again with the longer buffer (starting
    /// at the same place). Returns the request once the block is complete
    /// and every RFC 6455 requirement holds; bytes after the block (early
    /// frames) start at [`Request::consumed`]. On `Err`, answer with
    /// [`write_refusal`].
    pub fn parse<'b>(&mut self, buf: &'b [u8]) -> Result<Option<Request<'b>>, HandshakeError> {
        match self.scanner.find_end(buf)? {
            Some(end) => Request::parse(&buf[..end]).map(Some),
            None => Ok(None),
        }
    }

    /// How many times a complete header block went through the HTTP parser:
    /// one per request, however it was split.
    pub fn parse_passes(&self) -> usize {
        self.scanner.parse_passes()
    }

    /// How many bytes the search for the end of the header block has
    /// examined in total: at most the block length, plus one pass over any
    /// buffer the caller restarted with.
    pub fn bytes_scanned(&self) -> usize {
        self.scanner.bytes_scanned()
    }
}

/// A valid WebSocket upgrade request, borrowing the caller's buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request<'b> {
    path: &'b str,
    host: &'b str,
    origin: Option<&'b str>,
    key: &'b [u8],
    headers: HeaderList<'b>,
    consumed: usize,
}

impl<'b> Request<'b> {
    /// Parses a complete header block and checks the RFC 6455 rules.
    fn parse(head: &'b [u8]) -> Result<Self, HandshakeError> {
        let mut headers = HeaderList::new();
        let mut request = httparse::Request::new(&mut headers.entries);
        if request
            .parse(head)
            .map_err(map_httparse_error)?
            .is_partial()
        {
            // Only leading blank lines, which no client sends, get here.
            return Err(HandshakeError::MalformedHttp);
        }
        let (method, path, version) = (request.method, request.path, request.version);
        headers.len = request.headers.len();

        if method != Some("GET") {
            return Err(HandshakeError::NotGet);
        }
        if version != Some(1) {
            return Err(HandshakeError::NotHttp11);
        }
        check_no_body(&headers)?;
        headers.require_single(REQUEST_SINGLETONS)?;
        let target = Target::parse(path.unwrap_or(""))?;
        let host = headers.text("Host")?.ok_or(HandshakeError::MissingHost)?;
        headers.check_upgrade()?;
        check_version(&headers)?;
        let key = check_key(&headers)?;
        let origin = headers.text("Origin")?;
        headers.require_utf8("Sec-WebSocket-Protocol")?;
        headers.require_utf8("Sec-WebSocket-Extensions")?;
        Ok(Self {
            path: target.path,
            // RFC 9112 section 3.2.2: the authority of an absolute-form
            // target wins over the Host header (which must still be there).
            host: target.authority.unwrap_or(host),
            origin,
            key,
            headers,
            consumed: head.len(),
        })
    }

    /// The request target's path and query, as sent (`/chat?room=1`).
    /// For an absolute-form target (`ws://example.com/chat?room=1`) this is
    /// the part after the authority, `/` if that is empty.
    pub fn path(&self) -> &'b str {
        self.path
    }

    /// The `Host` header, including a port if the client sent one; for an
    /// absolute-form target, the target's authority instead (RFC 9112
    /// section 3.2.2).
    pub fn host(&self) -> &'b str {
        self.host
    }

    /// The `Origin` header, sent by browsers.
    pub fn origin(&self) -> Option<&'b str> {
        self.origin
    }

    /// The `Sec-WebSocket-Key` header as sent (24 base64 characters), to
    /// pass to [`write_response`].
    pub fn key(&self) -> &'b [u8] {
        self.key
    }

    /// The `Sec-WebSocket-Version` the client asked for: always 13, the only
    /// version a request is accepted with.
    pub fn version(&self) -> u8 {
        13
    }

    /// The value of the first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        self.headers.get(name)
    }

    /// Every header as (name, value), in the order received.
    pub fn headers(&self) -> impl Iterator<Item = (&'b str, &'b [u8])> + '_ {
        self.headers.iter()
    }

    /// Every subprotocol the client offered, in its order of preference,
    /// across all `Sec-WebSocket-Protocol` lines.
    pub fn subprotocols(&self) -> impl Iterator<Item = &'b str> + '_ {
        self.headers
            .all_text("Sec-WebSocket-Protocol")
            .flat_map(list_elements)
    }

    /// The raw value of each `Sec-WebSocket-Extensions` line, unparsed.
    pub fn extensions(&self) -> impl Iterator<Item = &'b str> + '_ {
        self.headers.all_text("Sec-WebSocket-Extensions")
    }

    /// The first of `supported` (the server's order of preference) that the
    /// client offered, or `None` if there is none in common.
    pub fn choose_subprotocol<'s>(&self, supported: &[&'s str]) -> Option<&'s str> {
        self.first_offered(supported.iter().copied())
    }

    /// [`choose_subprotocol`](Self::choose_subprotocol) over any list of
    /// names, so a configuration that owns its names as `String`s need
    /// not collect borrowed ones first.
    pub(crate) fn first_offered<'s>(
        &self,
        supported: impl IntoIterator<Item = &'s str>,
    ) -> Option<&'s str> {
        supported
            .into_iter()
            .find(|wanted| self.subprotocols().any(|offered| offered == *wanted))
    }

    /// How many bytes of the buffer the header block used; frames the
    /// client sent right after the request start here.
    pub fn consumed(&self) -> usize {
        self.consumed
    }
}

/// The request headers that must appear at most once, so that no two
/// readers (a proxy taking the last copy, this parser the first) can
/// disagree on their value:
///
/// - `Host`: RFC 9112 section 3.2 requires a 400 for more than one.
/// - `Sec-WebSocket-Version`: RFC 6455 section 11.3.5, at most once in a
///   request.
/// - `Origin`: RFC 6454 section 7.3, at most once; servers make access
///   decisions on it.
///
/// `Sec-WebSocket-Key` is a singleton too (RFC 6455 section 11.3.1), but
/// [`check_key`] refuses a repeated one as
/// [`InvalidKey`](HandshakeError::InvalidKey), as it always has.
/// `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions` may repeat in a
/// request (sections 11.3.2 and 11.3.4: the lines form one list), and so
/// may `Upgrade` and `Connection`, which are lists in RFC 9110 (sections
/// 7.8 and 7.6.1) and are only searched for a token. `Content-Length` is
/// left to [`check_no_body`].
const REQUEST_SINGLETONS: &[&str] = &["Host", "Sec-WebSocket-Version", "Origin"];

/// Refuses a request that declares a body: any `Transfer-Encoding`, or a
/// `Content-Length` other than a single `0`.
///
/// An upgrade request has no use for a body, and the bytes after the
/// header block are parsed as frames. A proxy that honours the declared
/// body would forward those bytes as part of the request while this server
/// reads them as frames (request smuggling), so the two must never
/// disagree: no body is the only framing both read the same way.
fn check_no_body(headers: &HeaderList<'_>) -> Result<(), HandshakeError> {
    if headers.get("Transfer-Encoding").is_some() {
        return Err(HandshakeError::RequestHasBody);
    }
    let mut lengths = headers.all("Content-Length");
    match (lengths.next(), lengths.next()) {
        (None, _) => Ok(()),
        (Some(length), None) if length.trim_ascii() == b"0" => Ok(()),
        _ => Err(HandshakeError::RequestHasBody),
    }
}

/// The request target, split: the path (and query) and, for the
/// absolute-form, the authority.
struct Target<'b> {
    path: &'b str,
    authority: Option<&'b str>,
}

impl<'b> Target<'b> {
    /// Accepts the origin-form (`/chat?room=1`) and the absolute-form with a
    /// WebSocket or HTTP scheme (`ws://example.com/chat`, RFC 6455 section
    /// 3 and RFC 9112 section 3.2.2). The asterisk-form (`*`, for
    /// `OPTIONS`) and the authority-form (for `CONNECT`) name no resource
    /// to upgrade and are refused, as is anything else.
    fn parse(target: &'b str) -> Result<Self, HandshakeError> {
        if target.starts_with('/') {
            return Ok(Self {
                path: target,
                authority: None,
            });
        }
        let rest = strip_scheme(target).ok_or(HandshakeError::InvalidTarget)?;
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        // RFC 9110 section 4.2: an http(s) URI with an empty host is
        // invalid, and userinfo is deprecated and to be treated as an
        // error (it also hides the real host from a reader in a hurry).
        if authority.is_empty() || authority.contains('@') {
            return Err(HandshakeError::InvalidTarget);
        }
        Ok(Self {
            path: absolute_path(path)?,
            authority: Some(authority),
        })
    }
}

/// `target` after `scheme://`, if its scheme (ASCII case-insensitive, RFC
/// 3986 section 3.1) is `ws`, `wss`, `http` or `https`.
fn strip_scheme(target: &str) -> Option<&str> {
    let (scheme, rest) = target.split_once("://")?;
    ["ws", "wss", "http", "https"]
        .iter()
        .any(|s| scheme.eq_ignore_ascii_case(s))
        .then_some(rest)
}

/// The path of an absolute-form target, after its authority: `/` for an
/// empty one. An empty path followed by a query (`ws://h?x`) would need a
/// `/` put in front of it, which cannot be handed out without copying: it
/// is refused rather than returned as a path that does not start with `/`.
fn absolute_path(path: &str) -> Result<&str, HandshakeError> {
    match path.as_bytes().first() {
        None => Ok("/"),
        Some(b'/') => Ok(path),
        Some(_) => Err(HandshakeError::InvalidTarget),
    }
}

fn check_version(headers: &HeaderList<'_>) -> Result<(), HandshakeError> {
    match headers.get("Sec-WebSocket-Version") {
        Some(version) if version.trim_ascii() == WEBSOCKET_VERSION.as_bytes() => Ok(()),
        _ => Err(HandshakeError::UnsupportedVersion),
    }
}

/// The key, trimmed, if there is exactly one and it is 16 bytes of base64.
fn check_key<'b>(headers: &HeaderList<'b>) -> Result<&'b [u8], HandshakeError> {
    let mut keys = headers.all("Sec-WebSocket-Key");
    let key = keys.next().ok_or(HandshakeError::MissingKey)?.trim_ascii();
    if keys.next().is_some() {
        return Err(HandshakeError::InvalidKey);
    }
    // One spare byte, so that a key of 17 or more bytes decodes far enough
    // to be told apart from a good one instead of failing for lack of room.
    let mut decoded = [0u8; 17];
    match Base64::decode(key, &mut decoded) {
        Ok(bytes) if bytes.len() == 16 => Ok(key),
        _ => Err(HandshakeError::InvalidKey),
    }
}

/// Writes the `101 Switching Protocols` response accepting a request whose
/// `Sec-WebSocket-Key` is `request_key` ([`Request::key`]).
///
/// `subprotocol` must be one the client offered (see
/// [`Request::choose_subprotocol`]); `extensions` is the raw
/// `Sec-WebSocket-Extensions` value the server agrees to. `extra_headers`
/// are written as given after the WebSocket headers. Returns the response
/// length; fails with [`HandshakeError::InvalidHeaderValue`] or
/// [`HandshakeError::InvalidHeaderName`] if a value contains CR, LF or
/// another control character (or a name is not a token), and with
/// [`HandshakeError::BufferTooSmall`] if `out` is too short.
pub fn write_response(
    request_key: &[u8],
    subprotocol: Option<&str>,
    extensions: Option<&str>,
    extra_headers: &[(&str, &str)],
    out: &mut [u8],
) -> Result<usize, HandshakeError> {
    let mut response = MessageWriter::new(out);
    response.push(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
    )?;
    response.header("Sec-WebSocket-Accept", &accept_key(request_key))?;
    if let Some(protocol) = subprotocol {
        response.token_list("Sec-WebSocket-Protocol", &[protocol])?;
    }
    if let Some(extensions) = extensions {
        response.header("Sec-WebSocket-Extensions", extensions.as_bytes())?;
    }
    response.headers(extra_headers)?;
    response.finish()
}

/// Writes the response refusing a request that failed with `error`: the
/// status [`HandshakeError::status_code`], `Connection: close`, for 426 the
/// `Sec-WebSocket-Version: 13` the client should retry with, and a one-line
/// plain-text body saying what was wrong.
///
/// Returns the response length, or [`HandshakeError::BufferTooSmall`].
pub fn write_refusal(error: &HandshakeError, out: &mut [u8]) -> Result<usize, HandshakeError> {
    let status = error.status_code();
    let mut body = [0u8; MESSAGE_CAPACITY + 1];
    let mut message = MessageWriter::new(&mut body);
    error.write_message(&mut message)?;
    message.push(b"\n")?;
    let body_len = message.written();

    let mut response = MessageWriter::new(out);
    response.push(b"HTTP/1.1 ")?;
    response.push(decimal(status.into()).digits())?;
    response.push(b" ")?;
    response.push(reason_phrase(status).as_bytes())?;
    response.push(b"\r\n")?;
    if status == 426 {
        response.header("Sec-WebSocket-Version", WEBSOCKET_VERSION.as_bytes())?;
    }
    response.push(b"Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n")?;
    response.push(b"Content-Length: ")?;
    response.push(decimal(body_len).digits())?;
    response.push(b"\r\n\r\n")?;
    response.push(&body[..body_len])?;
    Ok(response.written())
}

/// Writes a response refusing a request for the application's own reason:
/// `HTTP/1.1 {status} {reason}`, `Connection: close`, `Content-Length`,
/// the `extra_headers` as given (a `WWW-Authenticate` challenge with a 401,
/// say), then `body`. When the body is not empty and no extra header is a
/// `Content-Type`, `Content-Type: text/plain; charset=utf-8` is added.
///
/// `status` must be a client or server error (400 to 599); the reason
/// phrase is the RFC 9110 one (`Client Error` or `Server Error` for a code
/// it does not name). Nothing is formatted with `core::fmt` and nothing is
/// allocated.
///
/// Returns the response length. Fails, leaving `out` unfit to send, with
/// [`HandshakeError::InvalidStatus`] for a status outside 400 to 599, with
/// [`HandshakeError::InvalidHeaderName`] for a name that is not a token or
/// that would reframe the response (`Content-Length`, `Transfer-Encoding`,
/// `Connection`), with [`HandshakeError::InvalidHeaderValue`] for a value
/// containing CR, LF or another control character, and with
/// [`HandshakeError::BufferTooSmall`] if `out` is too short.
///
/// ```
/// use ws_proto::handshake::server::write_rejection;
///
/// let mut out = [0u8; 256];
/// let len = write_rejection(
///     401,
///     &[("WWW-Authenticate", "Bearer realm=\"chat\"")],
///     b"token required\n",
///     &mut out,
/// )?;
/// let response = core::str::from_utf8(&out[..len]).unwrap();
/// assert!(response.starts_with("HTTP/1.1 401 Unauthorized\r\n"));
/// assert!(response.contains("\r\nContent-Length: 15\r\n"));
/// assert!(response.ends_with("\r\n\r\ntoken required\n"));
/// # Ok::<(), ws_proto::HandshakeError>(())
/// ```
pub fn write_rejection(
    status: u16,
    extra_headers: &[(&str, &str)],
    body: &[u8],
    out: &mut [u8],
) -> Result<usize, HandshakeError> {
    if !(400..=599).contains(&status) {
        return Err(HandshakeError::InvalidStatus);
    }
    if extra_headers
        .iter()
        .any(|(name, _)| FRAMING_HEADERS.iter().any(|f| f.eq_ignore_ascii_case(name)))
    {
        return Err(HandshakeError::InvalidHeaderName);
    }
    let mut response = MessageWriter::new(out);
    response.push(b"HTTP/1.1 ")?;
    response.push(decimal(status.into()).digits())?;
    response.push(b" ")?;
    response.push(reason_phrase(status).as_bytes())?;
    response.push(b"\r\nConnection: close\r\nContent-Length: ")?;
    response.push(decimal(body.len()).digits())?;
    response.push(b"\r\n")?;
    response.headers(extra_headers)?;
    let typed = extra_headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("Content-Type"));
    if !body.is_empty() && !typed {
        response.push(b"Content-Type: text/plain; charset=utf-8\r\n")?;
    }
    response.push(b"\r\n")?;
    response.push(body)?;
    Ok(response.written())
}

/// The headers that say how a response is framed, which
/// [`write_rejection`] writes itself: one from the caller too would leave
/// the reader two framings to choose from.
const FRAMING_HEADERS: &[&str] = &["Content-Length", "Transfer-Encoding", "Connection"];

/// A number in decimal, without `core::fmt`: up to 20 digits, right-aligned.
pub(super) struct Decimal {
    buf: [u8; 20],
    start: usize,
}

impl Decimal {
    pub(super) fn digits(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

pub(super) fn decimal(mut value: usize) -> Decimal {
    let mut out = Decimal {
        buf: [0; 20],
        start: 20,
    };
    loop {
        out.start -= 1;
        out.buf[out.start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            return out;
        }
    }
}

/// The reason phrase of RFC 9110 section 15 for a status of 400 to 599
/// (with 426, 428, 429, 431 and 451 from their own RFCs), or the class's
/// name for one it does not define.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ if status < 500 => "Client Error",
        _ => "Server Error",
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::string::String;
    use std::vec::Vec;
    use std::{format, vec};

    use super::*;
    use crate::handshake::MAX_HEADERS;

    /// The example request of RFC 6455 section 1.2.
    const RFC_REQUEST: &str = "GET /chat HTTP/1.1\r\n\
        Host: server.example.com\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";

    fn with_replaced(from: &str, to: &str) -> String {
        assert!(RFC_REQUEST.contains(from), "{from:?} not in the request");
        RFC_REQUEST.replacen(from, to, 1)
    }

    fn without_line(start: &str) -> String {
        let line_start = RFC_REQUEST.find(start).expect("line in request");
        let line_end = line_start + RFC_REQUEST[line_start..].find("\r\n").unwrap() + 2;
        format!("{}{}", &RFC_REQUEST[..line_start], &RFC_REQUEST[line_end..])
    }

    fn refusal_of(request: &str) -> HandshakeError {
        RequestParser::new()
            .parse(request.as_bytes())
            .expect_err("request should be refused")
    }

    fn refusal_text(error: &HandshakeError) -> String {
        let mut out = [0u8; 512];
        let len = write_refusal(error, &mut out).unwrap();
        String::from_utf8(out[..len].to_vec()).unwrap()
    }

    #[test]
    fn parses_the_rfc_example_request() {
        let request = RequestParser::new()
            .parse(RFC_REQUEST.as_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(request.path(), "/chat");
        assert_eq!(request.host(), "server.example.com");
        assert_eq!(request.origin(), Some("http://example.com"));
        assert_eq!(request.key(), b"dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(request.version(), 13);
        assert_eq!(request.header("ORIGIN"), Some(&b"http://example.com"[..]));
        assert_eq!(request.headers().count(), 7);
        assert_eq!(
            request.subprotocols().collect::<Vec<_>>(),
            ["chat", "superchat"]
        );
        assert_eq!(request.extensions().count(), 0);
        assert_eq!(request.consumed(), RFC_REQUEST.len());
    }

    #[test]
    fn refuses_post() {
        let request = with_replaced("GET ", "POST ");
        assert_eq!(refusal_of(&request), HandshakeError::NotGet);
    }

    #[test]
    fn refuses_http_1_0() {
        let request = with_replaced("HTTP/1.1", "HTTP/1.0");
        assert_eq!(refusal_of(&request), HandshakeError::NotHttp11);
    }

    #[test]
    fn refuses_missing_host() {
        let request = without_line("Host:");
        assert_eq!(refusal_of(&request), HandshakeError::MissingHost);
    }

    #[test]
    fn refuses_missing_upgrade() {
        let request = without_line("Upgrade:");
        assert_eq!(refusal_of(&request), HandshakeError::MissingUpgrade);
    }

    #[test]
    fn refuses_upgrade_to_another_protocol() {
        let request = with_replaced("Upgrade: websocket", "Upgrade: h2c");
        assert_eq!(refusal_of(&request), HandshakeError::UpgradeNotWebsocket);
    }

    #[test]
    fn refuses_connection_without_upgrade() {
        let request = with_replaced("Connection: Upgrade", "Connection: keep-alive");
        assert_eq!(
            refusal_of(&request),
            HandshakeError::MissingConnectionUpgrade
        );
    }

    #[test]
    fn refuses_version_12_with_426_naming_version_13() {
        let request = with_replaced("Version: 13", "Version: 12");
        let error = refusal_of(&request);
        assert_eq!(error, HandshakeError::UnsupportedVersion);
        assert_eq!(error.status_code(), 426);
        let refusal = refusal_text(&error);
        assert!(refusal.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(refusal.contains("\r\nSec-WebSocket-Version: 13\r\n"));
    }

    #[test]
    fn refuses_missing_version_with_426() {
        let request = without_line("Sec-WebSocket-Version:");
        assert_eq!(refusal_of(&request), HandshakeError::UnsupportedVersion);
    }

    #[test]
    fn refuses_missing_key_with_400() {
        let error = refusal_of(&without_line("Sec-WebSocket-Key:"));
        assert_eq!(error, HandshakeError::MissingKey);
        assert_eq!(error.status_code(), 400);
        assert!(refusal_text(&error).starts_with("HTTP/1.1 400 Bad Request\r\n"));
    }

    #[test]
    fn refuses_key_of_15_bytes() {
        // 20 base64 characters encode 15 bytes.
        let request = with_replaced("dGhlIHNhbXBsZSBub25jZQ==", "AAAAAAAAAAAAAAAAAAAA");
        assert_eq!(refusal_of(&request), HandshakeError::InvalidKey);
    }

    #[test]
    fn refuses_key_of_17_bytes() {
        let request = with_replaced("dGhlIHNhbXBsZSBub25jZQ==", "AAAAAAAAAAAAAAAAAAAAAAA=");
        assert_eq!(refusal_of(&request), HandshakeError::InvalidKey);
    }

    #[test]
    fn refuses_key_that_is_not_base64() {
        let request = with_replaced("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ!!");
        assert_eq!(refusal_of(&request), HandshakeError::InvalidKey);
    }

    #[test]
    fn refuses_repeated_key() {
        let request = with_replaced(
            "Origin:",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin:",
        );
        assert_eq!(refusal_of(&request), HandshakeError::InvalidKey);
    }

    /// The masked text frame "SMUGGLED" (14 bytes), sent as a body.
    const SMUGGLED_FRAME: [u8; 14] = [
        0x81, 0x88, 0x01, 0x02, 0x03, 0x04, 0x52, 0x4f, 0x56, 0x43, 0x46, 0x4e, 0x46, 0x40,
    ];

    fn with_extra_line(line: &str) -> String {
        with_replaced("Origin:", &format!("{line}\r\nOrigin:"))
    }

    fn target_of(target: &str) -> Result<(String, String), HandshakeError> {
        let request = with_replaced("/chat", target);
        let request = RequestParser::new().parse(request.as_bytes())?.unwrap();
        Ok((request.host().into(), request.path().into()))
    }

    #[test]
    fn request_with_a_body_is_refused_with_400() {
        let mut request = with_extra_line("Content-Length: 14").into_bytes();
        request.extend_from_slice(&SMUGGLED_FRAME);
        let error = RequestParser::new().parse(&request).unwrap_err();
        assert_eq!(error, HandshakeError::RequestHasBody);
        assert_eq!(error.status_code(), 400);
        assert!(refusal_text(&error).starts_with("HTTP/1.1 400 Bad Request\r\n"));
    }

    #[test]
    fn chunked_request_is_refused_with_400() {
        for encoding in ["chunked", "gzip, chunked", "identity", ""] {
            let request = with_extra_line(&format!("Transfer-Encoding: {encoding}"));
            assert_eq!(refusal_of(&request), HandshakeError::RequestHasBody);
        }
    }

    #[test]
    fn content_length_other_than_a_single_zero_is_refused() {
        for lines in [
            "Content-Length: 1",
            "Content-Length: 0, 0",
            "Content-Length: 00",
            "Content-Length: -0",
            "Content-Length: 0\r\nContent-Length: 0",
            "Content-Length: 0\r\nContent-Length: 14",
            "Content-Length: 0\r\nTransfer-Encoding: chunked",
        ] {
            let request = with_extra_line(lines);
            assert_eq!(
                refusal_of(&request),
                HandshakeError::RequestHasBody,
                "{lines}"
            );
        }
    }

    #[test]
    fn content_length_0_is_accepted() {
        let request = with_extra_line("content-length:  0 ");
        assert!(RequestParser::new()
            .parse(request.as_bytes())
            .unwrap()
            .is_some());
    }

    #[test]
    fn second_host_header_is_refused() {
        for second in ["Host: evil.example", "host: server.example.com"] {
            let error = refusal_of(&with_extra_line(second));
            assert_eq!(error, HandshakeError::DuplicateHeader("Host"));
            assert_eq!(error.status_code(), 400);
            let refusal = refusal_text(&error);
            assert!(refusal.starts_with("HTTP/1.1 400 Bad Request\r\n"));
            assert!(refusal.ends_with("\r\n\r\nheader must appear once: Host\n"));
        }
    }

    #[test]
    fn second_version_header_is_refused_with_400() {
        for second in ["Sec-WebSocket-Version: 8", "Sec-WebSocket-Version: 13"] {
            let error = refusal_of(&with_extra_line(second));
            assert_eq!(
                error,
                HandshakeError::DuplicateHeader("Sec-WebSocket-Version")
            );
            assert_eq!(error.status_code(), 400);
        }
    }

    #[test]
    fn second_origin_header_is_refused() {
        let request = with_extra_line("Origin: http://evil.example");
        assert_eq!(
            refusal_of(&request),
            HandshakeError::DuplicateHeader("Origin")
        );
    }

    #[test]
    fn absolute_form_target_gives_host_and_path_from_the_target() {
        let cases = [
            ("ws://example.com/chat", "example.com", "/chat"),
            (
                "http://example.com:8080/chat?room=1",
                "example.com:8080",
                "/chat?room=1",
            ),
            ("WSS://[::1]:443/", "[::1]:443", "/"),
            ("https://example.com", "example.com", "/"),
        ];
        for (target, host, path) in cases {
            let expected = (String::from(host), String::from(path));
            assert_eq!(target_of(target), Ok(expected), "{target}");
        }
    }

    #[test]
    fn absolute_form_target_that_names_no_host_or_another_scheme_is_refused() {
        for target in [
            "ws:///chat",
            "ws://?x",
            "ws://user@example.com/chat",
            "ws://example.com?room=1",
            "ftp://example.com/chat",
            "ws:/example.com/chat",
            "wss:example.com/chat",
        ] {
            assert_eq!(
                target_of(target),
                Err(HandshakeError::InvalidTarget),
                "{target}"
            );
        }
    }

    #[test]
    fn asterisk_target_is_refused() {
        assert_eq!(target_of("*"), Err(HandshakeError::InvalidTarget));
        let error = refusal_of(&with_replaced("GET /chat", "GET *"));
        assert_eq!(error.status_code(), 400);
    }

    #[test]
    fn authority_form_and_relative_targets_are_refused() {
        for target in ["example.com:80", "chat", "?room=1"] {
            assert_eq!(
                target_of(target),
                Err(HandshakeError::InvalidTarget),
                "{target}"
            );
        }
    }

    #[test]
    fn refuses_malformed_http() {
        assert_eq!(
            refusal_of("GET /chat HTTP/1.1\r\nbad header\r\n\r\n"),
            HandshakeError::MalformedHttp
        );
    }

    #[test]
    fn refuses_origin_that_is_not_utf8() {
        let mut request = RFC_REQUEST.as_bytes().to_vec();
        let at = RFC_REQUEST.find("example.com\r\nSec").unwrap();
        request[at] = 0xff;
        assert_eq!(
            RequestParser::new().parse(&request).unwrap_err(),
            HandshakeError::HeaderNotUtf8
        );
    }

    #[test]
    fn refuses_header_block_over_the_default_cap_with_431() {
        let mut request = vec![b'a'; WS_HEADER_BUFFER];
        let mut parser = RequestParser::new();
        assert!(parser.parse(&request).unwrap().is_none());
        request.push(b'a');
        let error = parser.parse(&request).unwrap_err();
        assert_eq!(error, HandshakeError::HeaderTooLarge);
        assert_eq!(error.status_code(), 431);
        let refusal = refusal_text(&error);
        assert!(refusal.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
    }

    #[test]
    fn refuses_header_block_over_a_custom_cap() {
        let cap = RFC_REQUEST.len() - 1;
        let mut parser = RequestParser::with_max_header_len(cap);
        assert_eq!(
            parser.parse(RFC_REQUEST.as_bytes()).unwrap_err(),
            HandshakeError::HeaderTooLarge
        );
        assert_eq!(parser.bytes_scanned(), cap);
    }

    #[test]
    fn accepts_header_block_exactly_at_the_cap() {
        let mut parser = RequestParser::with_max_header_len(RFC_REQUEST.len());
        assert!(parser.parse(RFC_REQUEST.as_bytes()).unwrap().is_some());
    }

    #[test]
    fn refuses_too_many_headers_with_431() {
        let extra: String = (0..MAX_HEADERS)
            .map(|i| format!("X-Filler-{i}: x\r\n"))
            .collect();
        let request = with_replaced("Origin:", &format!("{extra}Origin:"));
        let error = refusal_of(&request);
        assert_eq!(error, HandshakeError::TooManyHeaders);
        assert_eq!(error.status_code(), 431);
    }

    #[test]
    fn accepts_case_and_whitespace_variants() {
        let request = "GET / HTTP/1.1\r\n\
            host: h\r\n\
            UPGRADE: WebSocket\r\n\
            connection: keep-alive, Upgrade\r\n\
            sec-websocket-key:   dGhlIHNhbXBsZSBub25jZQ==  \r\n\
            SEC-WEBSOCKET-VERSION: 13\r\n\r\n";
        let request = RequestParser::new()
            .parse(request.as_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(request.key(), b"dGhlIHNhbXBsZSBub25jZQ==");
    }

    #[test]
    fn accepts_upgrade_listed_on_a_second_connection_line() {
        let request = with_replaced(
            "Connection: Upgrade",
            "Connection: keep-alive\r\nConnection: Upgrade",
        );
        assert!(RequestParser::new()
            .parse(request.as_bytes())
            .unwrap()
            .is_some());
    }

    #[test]
    fn incomplete_request_needs_more_bytes_at_every_prefix() {
        let bytes = RFC_REQUEST.as_bytes();
        let mut growing = RequestParser::new();
        for len in 0..bytes.len() {
            assert!(RequestParser::new().parse(&bytes[..len]).unwrap().is_none());
            assert!(growing.parse(&bytes[..len]).unwrap().is_none());
        }
        assert!(growing.parse(bytes).unwrap().is_some());
    }

    #[test]
    fn consumed_points_at_frame_bytes_after_the_request() {
        let mut buf = RFC_REQUEST.as_bytes().to_vec();
        let frame = [0x81, 0x85, 1, 2, 3, 4, b'h', b'e', b'l', b'l', b'o'];
        buf.extend_from_slice(&frame);
        let request = RequestParser::new().parse(&buf).unwrap().unwrap();
        assert_eq!(&buf[request.consumed()..], &frame);
    }

    #[test]
    fn byte_at_a_time_parses_once_with_linear_scanning() {
        let filler: String = (0..24)
            .map(|i| format!("X-Filler-{i:02}: {}\r\n", "v".repeat(300)))
            .collect();
        let request = with_replaced("Origin:", &format!("{filler}Origin:"));
        let bytes = request.as_bytes();
        assert!(bytes.len() > 7000 && bytes.len() <= WS_HEADER_BUFFER);

        let mut parser = RequestParser::new();
        for len in 0..bytes.len() {
            assert!(parser.parse(&bytes[..len]).unwrap().is_none());
        }
        assert!(parser.parse(bytes).unwrap().is_some());
        assert_eq!(parser.parse_passes(), 1);
        assert!(parser.bytes_scanned() <= bytes.len());
    }

    #[test]
    fn subprotocols_span_every_protocol_line() {
        let request = with_replaced(
            "Sec-WebSocket-Protocol: chat, superchat",
            "Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Protocol:  mqtt ,",
        );
        let request = RequestParser::new()
            .parse(request.as_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(
            request.subprotocols().collect::<Vec<_>>(),
            ["chat", "superchat", "mqtt"]
        );
    }

    #[test]
    fn choose_subprotocol_follows_the_server_preference() {
        let request = RequestParser::new()
            .parse(RFC_REQUEST.as_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(
            request.choose_subprotocol(&["mqtt", "superchat", "chat"]),
            Some("superchat")
        );
        assert_eq!(request.choose_subprotocol(&["mqtt"]), None);
    }

    #[test]
    fn extensions_are_handed_out_raw() {
        let request = with_replaced(
            "Origin:",
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
             Sec-WebSocket-Extensions: x-other\r\nOrigin:",
        );
        let request = RequestParser::new()
            .parse(request.as_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(
            request.extensions().collect::<Vec<_>>(),
            ["permessage-deflate; client_max_window_bits", "x-other"]
        );
    }

    #[test]
    fn response_to_the_rfc_example_carries_its_accept_key() {
        let mut out = [0u8; 256];
        let len = write_response(
            b"dGhlIHNhbXBsZSBub25jZQ==",
            Some("chat"),
            None,
            &[],
            &mut out,
        )
        .unwrap();
        assert_eq!(
            &out[..len],
            b"HTTP/1.1 101 Switching Protocols\r\n\
              Upgrade: websocket\r\n\
              Connection: Upgrade\r\n\
              Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
              Sec-WebSocket-Protocol: chat\r\n\r\n"
        );
    }

    #[test]
    fn response_writes_extensions_and_extra_headers() {
        let mut out = [0u8; 256];
        let len = write_response(
            b"dGhlIHNhbXBsZSBub25jZQ==",
            None,
            Some("permessage-deflate"),
            &[("Server", "ws-proto")],
            &mut out,
        )
        .unwrap();
        assert!(out[..len].ends_with(
            b"\r\nSec-WebSocket-Extensions: permessage-deflate\r\nServer: ws-proto\r\n\r\n"
        ));
    }

    #[test]
    fn response_refuses_crlf_in_header_values() {
        let mut out = [0u8; 256];
        let key = b"dGhlIHNhbXBsZSBub25jZQ==";
        let injected = "x\r\nSet-Cookie: a=b";
        assert_eq!(
            write_response(key, None, None, &[("X-A", injected)], &mut out),
            Err(HandshakeError::InvalidHeaderValue)
        );
        assert_eq!(
            write_response(key, None, Some(injected), &[], &mut out),
            Err(HandshakeError::InvalidHeaderValue)
        );
        assert_eq!(
            write_response(key, Some(injected), None, &[], &mut out),
            Err(HandshakeError::InvalidHeaderValue)
        );
        assert_eq!(
            write_response(key, None, None, &[("X-A\r\nB", "c")], &mut out),
            Err(HandshakeError::InvalidHeaderName)
        );
    }

    #[test]
    fn response_into_a_short_buffer_fails_without_panicking() {
        let key = b"dGhlIHNhbXBsZSBub25jZQ==";
        let mut out = [0u8; 256];
        let full = write_response(key, Some("chat"), None, &[], &mut out).unwrap();
        for size in 0..full {
            assert_eq!(
                write_response(key, Some("chat"), None, &[], &mut out[..size]),
                Err(HandshakeError::BufferTooSmall)
            );
        }
    }

    #[test]
    fn refusal_body_length_matches_content_length() {
        let refusal = refusal_text(&HandshakeError::MissingHost);
        let (head, body) = refusal.split_once("\r\n\r\n").unwrap();
        assert!(head.contains("\r\nConnection: close"));
        assert!(head.contains(&format!("\r\nContent-Length: {}", body.len())));
        assert_eq!(body, "missing Host header\n");
    }

    #[test]
    fn refusal_into_a_short_buffer_fails_without_panicking() {
        let error = HandshakeError::UnsupportedVersion;
        let full = refusal_text(&error).len();
        let mut out = [0u8; 512];
        for size in 0..full {
            assert_eq!(
                write_refusal(&error, &mut out[..size]),
                Err(HandshakeError::BufferTooSmall)
            );
        }
    }

    fn rejection_text(
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<String, HandshakeError> {
        let mut out = [0u8; 512];
        let len = write_rejection(status, headers, body, &mut out)?;
        Ok(String::from_utf8(out[..len].to_vec()).unwrap())
    }

    #[test]
    fn rejection_is_a_whole_response_with_headers_and_body() {
        let text = rejection_text(
            401,
            &[("WWW-Authenticate", "Bearer realm=\"chat\"")],
            b"token required\n",
        )
        .unwrap();
        assert_eq!(
            text,
            "HTTP/1.1 401 Unauthorized\r\n\
             Connection: close\r\n\
             Content-Length: 15\r\n\
             WWW-Authenticate: Bearer realm=\"chat\"\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\
             \r\n\
             token required\n"
        );
    }

    #[test]
    fn rejection_without_a_body_has_no_content_type_and_length_0() {
        let text = rejection_text(404, &[], b"").unwrap();
        assert_eq!(
            text,
            "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn rejection_keeps_the_callers_content_type() {
        let text = rejection_text(403, &[("content-type", "text/html")], b"<p>no</p>").unwrap();
        assert!(text.starts_with("HTTP/1.1 403 Forbidden\r\n"));
        assert!(text.contains("\r\ncontent-type: text/html\r\n"));
        assert!(!text.contains("text/plain"));
        assert!(text.ends_with("\r\nContent-Length: 9\r\ncontent-type: text/html\r\n\r\n<p>no</p>"));
    }

    #[test]
    fn rejection_names_every_status_from_400_to_599() {
        for status in 400..=599u16 {
            let text = rejection_text(status, &[], b"").unwrap();
            let line = text.split("\r\n").next().unwrap();
            let (code, reason) = line["HTTP/1.1 ".len()..].split_once(' ').unwrap();
            assert_eq!(code, format!("{status}"));
            assert!(!reason.is_empty(), "{line}");
        }
        assert!(rejection_text(599, &[], b"")
            .unwrap()
            .starts_with("HTTP/1.1 599 Server Error\r\n"));
        assert!(rejection_text(499, &[], b"")
            .unwrap()
            .starts_with("HTTP/1.1 499 Client Error\r\n"));
    }

    #[test]
    fn rejection_refuses_a_status_that_is_not_an_error() {
        for status in [0, 99, 101, 200, 302, 399, 600, 1000, u16::MAX] {
            assert_eq!(
                rejection_text(status, &[], b""),
                Err(HandshakeError::InvalidStatus),
                "{status}"
            );
        }
    }

    #[test]
    fn rejection_refuses_injected_and_reframing_headers() {
        for (name, value, error) in [
            (
                "X-A",
                "a\r\nSet-Cookie: x=1",
                HandshakeError::InvalidHeaderValue,
            ),
            ("X-A", "a\nb", HandshakeError::InvalidHeaderValue),
            ("X-A", "a\rb", HandshakeError::InvalidHeaderValue),
            ("X-A", "a\0b", HandshakeError::InvalidHeaderValue),
            ("X A", "a", HandshakeError::InvalidHeaderName),
            ("X-A\r\n", "a", HandshakeError::InvalidHeaderName),
            ("", "a", HandshakeError::InvalidHeaderName),
            ("Content-Length", "0", HandshakeError::InvalidHeaderName),
            (
                "transfer-encoding",
                "chunked",
                HandshakeError::InvalidHeaderName,
            ),
            (
                "CONNECTION",
                "keep-alive",
                HandshakeError::InvalidHeaderName,
            ),
        ] {
            assert_eq!(
                rejection_text(403, &[(name, value)], b"x"),
                Err(error),
                "{name:?}: {value:?}"
            );
        }
    }

    #[test]
    fn rejection_length_counts_a_large_body() {
        let body = vec![b'x'; 12_345];
        let mut out = vec![0u8; 13_000];
        let len = write_rejection(500, &[], &body, &mut out).unwrap();
        let text = core::str::from_utf8(&out[..len]).unwrap();
        assert!(text.starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
        assert!(text.contains("\r\nContent-Length: 12345\r\n"));
        assert!(text.ends_with(&format!("\r\n\r\n{}", "x".repeat(12_345))));
    }

    #[test]
    fn rejection_into_a_short_buffer_fails_without_panicking() {
        let headers = [("WWW-Authenticate", "Basic")];
        let full = rejection_text(401, &headers, b"no").unwrap().len();
        let mut out = [0u8; 512];
        for size in 0..full {
            assert_eq!(
                write_rejection(401, &headers, b"no", &mut out[..size]),
                Err(HandshakeError::BufferTooSmall)
            );
        }
    }

    #[test]
    fn decimal_writes_every_digit() {
        for value in [0usize, 7, 10, 99, 100, 65_535, usize::MAX] {
            assert_eq!(decimal(value).digits(), format!("{value}").as_bytes());
        }
    }
}
