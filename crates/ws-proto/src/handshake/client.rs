//! Client side of the opening handshake: write the upgrade request, then
//! check the server's `101 Switching Protocols` answer.
//!
//! ```
//! use ws_proto::handshake::client::{ClientRequest, ResponseParser};
//!
//! // The key must be 16 fresh random bytes; the core has no RNG.
//! let request = ClientRequest::new("example.com:8080", "/chat", *b"the sample nonce");
//! let mut out = [0u8; 256];
//! let len = request.write(&mut out).unwrap();
//! assert!(out[..len].starts_with(b"GET /chat HTTP/1.1\r\n"));
//!
//! let answer = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
//!     Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
//! let response = ResponseParser::new(&request).parse(answer).unwrap().unwrap();
//! assert_eq!(response.subprotocol(), None);
//! ```

use base64ct::{Base64, Encoding};

use super::{
    accept_key, list_elements, map_httparse_error, HandshakeError, HeadScanner, HeaderList,
    MessageWriter,
};
use crate::constants::WS_HEADER_BUFFER;
use crate::extension::parse_extensions;

/// The upgrade request a client sends. Build it with [`new`](Self::new)
/// and set the optional fields with struct update syntax:
///
/// ```
/// # use ws_proto::handshake::client::ClientRequest;
/// let request = ClientRequest {
///     subprotocols: &["chat"],
///     ..ClientRequest::new("example.com", "/", [7; 16])
/// };
/// # let _ = request;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientRequest<'a> {
    /// The `Host` header: the host, with `:port` if the caller wants it
    /// sent.
    pub host: &'a str,
    /// The request target: path and query (`/chat?room=1`).
    pub path: &'a str,
    /// 16 random bytes, fresh for each connection, sent base64-encoded as
    /// `Sec-WebSocket-Key`.
    pub key: [u8; 16],
    /// The `Origin` header, if any.
    pub origin: Option<&'a str>,
    /// The subprotocols offered, most preferred first; none if empty.
    pub subprotocols: &'a [&'a str],
    /// The raw `Sec-WebSocket-Extensions` value to offer, if any.
    pub extensions: Option<&'a str>,
    /// Headers written as given after the WebSocket ones.
    pub extra_headers: &'a [(&'a str, &'a str)],
}

impl<'a> ClientRequest<'a> {
    /// A request for `path` on `host` with no origin, subprotocol,
    /// extension or extra header.
    pub fn new(host: &'a str, path: &'a str, key: [u8; 16]) -> Self {
        Self {
            host,
            path,
            key,
            origin: None,
            subprotocols: &[],
            extensions: None,
            extra_headers: &[],
        }
    }

    /// Writes the request into `out` and returns its length.
    ///
    /// Fails with [`HandshakeError::InvalidPath`] for a path that does not
    /// start with `/` or has a space or control character,
    /// [`HandshakeError::InvalidHeaderValue`] if a value contains CR, LF or
    /// another control character or a subprotocol is not a token,
    /// [`HandshakeError::InvalidHeaderName`] if an extra header's name is
    /// not a token, and [`HandshakeError::BufferTooSmall`] if `out` is too
    /// short.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, HandshakeError> {
        if !is_request_target(self.path.as_bytes()) {
            return Err(HandshakeError::InvalidPath);
        }
        let mut request = MessageWriter::new(out);
        request.push(b"GET ")?;
        request.push(self.path.as_bytes())?;
        request.push(b" HTTP/1.1\r\n")?;
        request.header("Host", self.host.as_bytes())?;
        request.push(b"Upgrade: websocket\r\nConnection: Upgrade\r\n")?;
        request.header("Sec-WebSocket-Key", &self.encoded_key())?;
        request.push(b"Sec-WebSocket-Version: 13\r\n")?;
        if let Some(origin) = self.origin {
            request.header("Origin", origin.as_bytes())?;
        }
        if !self.subprotocols.is_empty() {
            request.token_list("Sec-WebSocket-Protocol", self.subprotocols)?;
        }
        if let Some(extensions) = self.extensions {
            request.header("Sec-WebSocket-Extensions", extensions.as_bytes())?;
        }
        request.headers(self.extra_headers)?;
        request.finish()
    }

    /// The `Sec-WebSocket-Key` value: the key in base64.
    pub fn encoded_key(&self) -> [u8; 24] {
        let mut encoded = [0u8; 24];
        // 16 bytes always encode to exactly 24 base64 characters.
        let _ = Base64::encode(&self.key, &mut encoded);
        encoded
    }

    /// The `Sec-WebSocket-Accept` value a server must answer with.
    pub fn expected_accept(&self) -> [u8; 28] {
        accept_key(&self.encoded_key())
    }
}

/// Whether `path` can stand in a request line as the origin-form a client
/// sends (RFC 6455 section 4.1, the "/resource name/"; RFC 9112 section
/// 3.2.1): it starts with `/` and has no space or control character.
/// Anything else a server refuses (ours with `InvalidTarget`), or reads as
/// another request.
pub(crate) fn is_request_target(path: &[u8]) -> bool {
    path.first() == Some(&b'/') && path.iter().all(|&b| b > b' ' && b != 0x7f)
}

/// Parses and checks the server's answer to a [`ClientRequest`] as it
/// arrives, the same way [`RequestParser`](super::server::RequestParser)
/// does on the server: feed it the growing buffer until it returns the
/// response.
#[derive(Clone, Debug)]
pub struct ResponseParser<'a> {
    scanner: HeadScanner,
    expected_accept: [u8; 28],
    offered_protocols: &'a [&'a str],
    offered_extensions: Option<&'a str>,
}

impl<'a> ResponseParser<'a> {
    /// A parser for the answer to `request`, refusing header blocks longer
    /// than [`WS_HEADER_BUFFER`] (8192) bytes.
    pub fn new(request: &ClientRequest<'a>) -> Self {
        Self::with_max_header_len(request, WS_HEADER_BUFFER)
    }

    /// A parser for the answer to `request`, refusing header blocks longer
    /// than `max_len` bytes with [`HandshakeError::HeaderTooLarge`].
    pub fn with_max_header_len(request: &ClientRequest<'a>, max_len: usize) -> Self {
        Self {
            scanner: HeadScanner::new(max_len),
            expected_accept: request.expected_accept(),
            offered_protocols: request.subprotocols,
            offered_extensions: request.extensions,
        }
    }

    /// Looks for a complete, valid 101 response at the start of `buf`.
    ///
    /// Returns `Ok(None)` while the header block is incomplete: append the
    /// next bytes received and call again with the longer buffer. Returns
    /// the response once the block is complete and: the status is 101,
    /// `Upgrade` lists `websocket`, `Connection` lists `upgrade`,
    /// `Sec-WebSocket-Accept` matches the key sent, at most one subprotocol
    /// was chosen and it was offered, and every extension named was
    /// offered. Frames after the block start at [`Response::consumed`].
    ///
    /// Extension names are compared only; whether their parameters are
    /// acceptable is for the extension's own code to decide.
    pub fn parse<'b>(&mut self, buf: &'b [u8]) -> Result<Option<Response<'b>>, HandshakeError> {
        let Some(end) = self.scanner.find_end(buf)? else {
            return Ok(None);
        };
        let offered = self.offered_protocols;
        check_response(
            &buf[..end],
            &self.expected_accept,
            |chosen| offered.contains(&chosen),
            self.offered_extensions,
        )
        .map(Some)
    }

    /// How many times a complete header block went through the HTTP parser:
    /// one per response, however it was split.
    pub fn parse_passes(&self) -> usize {
        self.scanner.parse_passes()
    }

    /// How many bytes the search for the end of the header block has
    /// examined in total.
    pub fn bytes_scanned(&self) -> usize {
        self.scanner.bytes_scanned()
    }
}

/// Parses the complete header block `head` and checks it answers a request
/// whose accept value is `expected_accept`, which offered the subprotocols
/// `was_offered` says yes to and the extensions in `offered_extensions`.
///
/// Extension names are compared only; whether their parameters are
/// acceptable is for the extension's own code to decide.
pub(super) fn check_response<'b>(
    head: &'b [u8],
    expected_accept: &[u8; 28],
    was_offered: impl Fn(&str) -> bool,
    offered_extensions: Option<&str>,
) -> Result<Response<'b>, HandshakeError> {
    let response = Response::parse(head)?;
    if response.accept() != Some(&expected_accept[..]) {
        return Err(HandshakeError::AcceptMismatch);
    }
    if response
        .subprotocol
        .is_some_and(|chosen| !was_offered(chosen))
    {
        return Err(HandshakeError::ProtocolNotOffered);
    }
    check_extensions(&response, offered_extensions.unwrap_or(""))?;
    Ok(response)
}

fn check_extensions(response: &Response<'_>, offered: &str) -> Result<(), HandshakeError> {
    let was_offered =
        |name: &str| parse_extensions(offered).any(|offer| offer.is_ok_and(|o| o.is(name)));
    // Every element must parse (a malformed answer cannot be checked
    // against the offer) and name an extension we offered. The header
    // grammar's parser, not a split on commas: a quoted parameter
    // value may hold a comma.
    let all_offered = response.extensions().all(|value| {
        parse_extensions(value).all(|element| element.is_ok_and(|e| was_offered(e.name())))
    });
    if all_offered {
        Ok(())
    } else {
        Err(HandshakeError::ExtensionNotOffered)
    }
}

/// A server's valid `101 Switching Protocols` answer, borrowing the
/// caller's buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response<'b> {
    subprotocol: Option<&'b str>,
    headers: HeaderList<'b>,
    consumed: usize,
}

impl<'b> Response<'b> {
    /// Parses a complete header block and checks the rules that do not
    /// depend on the request.
    fn parse(head: &'b [u8]) -> Result<Self, HandshakeError> {
        let mut headers = HeaderList::new();
        let mut response = httparse::Response::new(&mut headers.entries);
        if response
            .parse(head)
            .map_err(map_httparse_error)?
            .is_partial()
        {
            return Err(HandshakeError::MalformedHttp);
        }
        let (version, status) = (response.version, response.code);
        headers.len = response.headers.len();

        match status {
            Some(101) => {}
            other => return Err(HandshakeError::BadStatus(other.unwrap_or(0))),
        }
        if version != Some(1) {
            return Err(HandshakeError::NotHttp11);
        }
        headers.check_upgrade()?;
        headers.require_single(RESPONSE_SINGLETONS)?;
        if headers.get("Sec-WebSocket-Accept").is_none() {
            return Err(HandshakeError::MissingAccept);
        }
        headers.require_utf8("Sec-WebSocket-Extensions")?;
        let subprotocol = single_subprotocol(&headers)?;
        Ok(Self {
            subprotocol,
            headers,
            consumed: head.len(),
        })
    }

    /// The status code: always 101.
    pub fn status(&self) -> u16 {
        101
    }

    /// The subprotocol the server chose, one of those offered.
    pub fn subprotocol(&self) -> Option<&'b str> {
        self.subprotocol
    }

    /// The raw value of each `Sec-WebSocket-Extensions` line, unparsed.
    pub fn extensions(&self) -> impl Iterator<Item = &'b str> + '_ {
        self.headers.all_text("Sec-WebSocket-Extensions")
    }

    /// The value of the first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        self.headers.get(name)
    }

    /// Every header as (name, value), in the order received.
    pub fn headers(&self) -> impl Iterator<Item = (&'b str, &'b [u8])> + '_ {
        self.headers.iter()
    }

    /// How many bytes of the buffer the header block used; frames the
    /// server sent right after the response start here.
    pub fn consumed(&self) -> usize {
        self.consumed
    }

    fn accept(&self) -> Option<&'b [u8]> {
        self.header("Sec-WebSocket-Accept").map(<[u8]>::trim_ascii)
    }
}

/// The response headers that must appear at most once, so that the value
/// checked is the only one there is:
///
/// - `Sec-WebSocket-Accept`: RFC 6455 section 11.3.3. A right first copy
///   must not vouch for a second one that a proxy or another reader might
///   take.
/// - `Sec-WebSocket-Protocol`: section 11.3.4, at most once in a response;
///   a second line, even an empty one, is refused before
///   [`single_subprotocol`] counts the names.
///
/// `Sec-WebSocket-Extensions` may repeat in a response (erratum 3433 to
/// section 11.3.2, after section 4.2.2 which splits extensions across
/// lines), and `Upgrade` and `Connection` are lists (RFC 9110 sections 7.8
/// and 7.6.1) only searched for a token.
const RESPONSE_SINGLETONS: &[&str] = &["Sec-WebSocket-Accept", "Sec-WebSocket-Protocol"];

/// The subprotocol named across all `Sec-WebSocket-Protocol` lines, if
/// any; a server may choose only one.
fn single_subprotocol<'b>(headers: &HeaderList<'b>) -> Result<Option<&'b str>, HandshakeError> {
    headers.require_utf8("Sec-WebSocket-Protocol")?;
    let mut chosen = headers
        .all_text("Sec-WebSocket-Protocol")
        .flat_map(list_elements);
    let first = chosen.next();
    if chosen.next().is_some() {
        return Err(HandshakeError::MultipleProtocols);
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::string::String;
    use std::vec::Vec;
    use std::{format, vec};

    use super::*;
    use crate::handshake::server::{write_response, RequestParser};

    const KEY: [u8; 16] = *b"the sample nonce";
    const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    fn chat_request() -> ClientRequest<'static> {
        ClientRequest {
            subprotocols: &["chat", "superchat"],
            extensions: Some("permessage-deflate; client_max_window_bits"),
            ..ClientRequest::new("server.example.com", "/chat", KEY)
        }
    }

    /// A 101 response with the RFC example's accept key and `extra` lines.
    fn response_with(extra: &str) -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: {RFC_ACCEPT}\r\n{extra}\r\n"
        )
    }

    fn refusal_of(request: &ClientRequest<'_>, response: &str) -> HandshakeError {
        ResponseParser::new(request)
            .parse(response.as_bytes())
            .expect_err("response should be refused")
    }

    fn written(request: &ClientRequest<'_>) -> Vec<u8> {
        let mut out = vec![0u8; 1024];
        let len = request.write(&mut out).unwrap();
        out.truncate(len);
        out
    }

    #[test]
    fn request_has_the_websocket_headers() {
        let request = ClientRequest::new("example.com:8080", "/chat?room=1", KEY);
        assert_eq!(
            written(&request),
            b"GET /chat?room=1 HTTP/1.1\r\n\
              Host: example.com:8080\r\n\
              Upgrade: websocket\r\n\
              Connection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
              Sec-WebSocket-Version: 13\r\n\r\n"
        );
        assert_eq!(&request.expected_accept(), RFC_ACCEPT.as_bytes());
    }

    #[test]
    fn request_and_response_round_trip_through_both_parsers() {
        let request = ClientRequest {
            origin: Some("http://example.com"),
            extra_headers: &[("User-Agent", "ws-proto-test")],
            ..chat_request()
        };
        let request_bytes = written(&request);
        let received = RequestParser::new().parse(&request_bytes).unwrap().unwrap();
        assert_eq!(received.path(), "/chat");
        assert_eq!(received.host(), "server.example.com");
        assert_eq!(received.origin(), Some("http://example.com"));
        assert_eq!(received.header("user-agent"), Some(&b"ws-proto-test"[..]));
        let protocol = received.choose_subprotocol(&["superchat"]);
        let extensions = received.extensions().next();

        let mut out = [0u8; 512];
        let len = write_response(received.key(), protocol, extensions, &[], &mut out).unwrap();
        let response = ResponseParser::new(&request)
            .parse(&out[..len])
            .unwrap()
            .unwrap();
        assert_eq!(response.status(), 101);
        assert_eq!(response.subprotocol(), Some("superchat"));
        assert_eq!(
            response.extensions().collect::<Vec<_>>(),
            ["permessage-deflate; client_max_window_bits"]
        );
        assert_eq!(response.consumed(), len);
    }

    #[test]
    fn refuses_wrong_accept_key() {
        let response = response_with("").replace(RFC_ACCEPT, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        assert_eq!(
            refusal_of(&chat_request(), &response),
            HandshakeError::AcceptMismatch
        );
    }

    #[test]
    fn refuses_missing_accept_key() {
        let response = response_with("").replace("Sec-WebSocket-Accept", "X-Accept");
        assert_eq!(
            refusal_of(&chat_request(), &response),
            HandshakeError::MissingAccept
        );
    }

    #[test]
    fn refuses_status_200() {
        let response = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            refusal_of(&chat_request(), response),
            HandshakeError::BadStatus(200)
        );
    }

    #[test]
    fn refuses_missing_upgrade_and_connection() {
        let no_upgrade = response_with("").replace("Upgrade: websocket\r\n", "");
        assert_eq!(
            refusal_of(&chat_request(), &no_upgrade),
            HandshakeError::MissingUpgrade
        );
        let no_connection = response_with("").replace("Connection: Upgrade\r\n", "");
        assert_eq!(
            refusal_of(&chat_request(), &no_connection),
            HandshakeError::MissingConnectionUpgrade
        );
    }

    #[test]
    fn refuses_a_subprotocol_that_was_not_offered() {
        let response = response_with("Sec-WebSocket-Protocol: mqtt\r\n");
        assert_eq!(
            refusal_of(&chat_request(), &response),
            HandshakeError::ProtocolNotOffered
        );
        let plain = ClientRequest::new("h", "/", KEY);
        assert_eq!(
            refusal_of(&plain, &response),
            HandshakeError::ProtocolNotOffered
        );
    }

    #[test]
    fn refuses_more_than_one_subprotocol() {
        let response = response_with("Sec-WebSocket-Protocol: chat, superchat\r\n");
        assert_eq!(
            refusal_of(&chat_request(), &response),
            HandshakeError::MultipleProtocols
        );
    }

    #[test]
    fn client_refuses_two_accept_headers() {
        for second in [
            "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n",
            "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n",
        ] {
            let response = response_with(second);
            let error = refusal_of(&chat_request(), &response);
            assert_eq!(
                error,
                HandshakeError::DuplicateHeader("Sec-WebSocket-Accept")
            );
        }
    }

    #[test]
    fn client_refuses_two_protocol_lines() {
        for lines in [
            "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n",
            "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol:\r\n",
        ] {
            let response = response_with(lines);
            assert_eq!(
                refusal_of(&chat_request(), &response),
                HandshakeError::DuplicateHeader("Sec-WebSocket-Protocol")
            );
        }
    }

    #[test]
    fn client_accepts_extensions_split_across_lines() {
        let request = ClientRequest {
            extensions: Some("permessage-deflate, x-other"),
            ..ClientRequest::new("h", "/", KEY)
        };
        let response = response_with(
            "Sec-WebSocket-Extensions: permessage-deflate\r\n\
             Sec-WebSocket-Extensions: x-other\r\n",
        );
        let mut parser = ResponseParser::new(&request);
        let parsed = parser.parse(response.as_bytes()).unwrap().unwrap();
        assert_eq!(parsed.extensions().count(), 2);
    }

    #[test]
    fn returns_the_chosen_subprotocol() {
        let response = response_with("Sec-WebSocket-Protocol:  chat \r\n");
        let request = chat_request();
        let mut parser = ResponseParser::new(&request);
        let parsed = parser.parse(response.as_bytes()).unwrap().unwrap();
        assert_eq!(parsed.subprotocol(), Some("chat"));
    }

    #[test]
    fn refuses_an_extension_that_was_not_offered() {
        let response = response_with("Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n");
        assert_eq!(
            refusal_of(&chat_request(), &response),
            HandshakeError::ExtensionNotOffered
        );
        let plain = ClientRequest::new("h", "/", KEY);
        let deflate = response_with("Sec-WebSocket-Extensions: permessage-deflate\r\n");
        assert_eq!(
            refusal_of(&plain, &deflate),
            HandshakeError::ExtensionNotOffered
        );
    }

    #[test]
    fn accepts_an_offered_extension_with_other_parameters() {
        let response = response_with(
            "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n",
        );
        let request = chat_request();
        assert!(ResponseParser::new(&request)
            .parse(response.as_bytes())
            .unwrap()
            .is_some());
    }

    #[test]
    fn accepts_an_offered_extension_whose_quoted_parameter_holds_a_comma() {
        let request = ClientRequest {
            extensions: Some("x-foo; a=1, permessage-deflate"),
            ..ClientRequest::new("h", "/", KEY)
        };
        let response = response_with("Sec-WebSocket-Extensions: x-foo; b=\"1,permessage-x\"\r\n");
        assert!(ResponseParser::new(&request)
            .parse(response.as_bytes())
            .unwrap()
            .is_some());
    }

    #[test]
    fn refuses_a_malformed_extension_answer() {
        let response = response_with("Sec-WebSocket-Extensions: permessage-deflate; =1\r\n");
        assert_eq!(
            refusal_of(&chat_request(), &response),
            HandshakeError::ExtensionNotOffered
        );
    }

    #[test]
    fn incomplete_response_needs_more_bytes_at_every_prefix() {
        let response = response_with("");
        let bytes = response.as_bytes();
        let request = chat_request();
        let mut parser = ResponseParser::new(&request);
        for len in 0..bytes.len() {
            assert!(parser.parse(&bytes[..len]).unwrap().is_none());
        }
        assert!(parser.parse(bytes).unwrap().is_some());
        assert_eq!(parser.parse_passes(), 1);
        assert!(parser.bytes_scanned() <= bytes.len());
    }

    #[test]
    fn consumed_points_at_frame_bytes_after_the_response() {
        let mut buf = response_with("").into_bytes();
        let frame = [0x81, 0x02, b'h', b'i'];
        buf.extend_from_slice(&frame);
        let request = chat_request();
        let response = ResponseParser::new(&request).parse(&buf).unwrap().unwrap();
        assert_eq!(&buf[response.consumed()..], &frame);
    }

    #[test]
    fn refuses_a_response_over_a_custom_cap() {
        let request = chat_request();
        let response = response_with("");
        let mut parser = ResponseParser::with_max_header_len(&request, 64);
        assert_eq!(
            parser.parse(response.as_bytes()).unwrap_err(),
            HandshakeError::HeaderTooLarge
        );
    }

    #[test]
    fn request_refuses_crlf_in_header_values() {
        let injected = "x\r\nEvil: 1";
        let base = ClientRequest::new("h", "/", KEY);
        let cases = [
            ClientRequest {
                host: injected,
                ..base
            },
            ClientRequest {
                origin: Some(injected),
                ..base
            },
            ClientRequest {
                extensions: Some(injected),
                ..base
            },
            ClientRequest {
                subprotocols: &["chat", injected],
                ..base
            },
            ClientRequest {
                extra_headers: &[("X-A", injected)],
                ..base
            },
        ];
        for request in cases {
            assert_eq!(
                request.write(&mut [0u8; 512]),
                Err(HandshakeError::InvalidHeaderValue)
            );
        }
    }

    #[test]
    fn request_refuses_a_path_with_spaces_or_newlines_or_not_starting_with_a_slash() {
        for path in ["", "/a b", "/a\r\nEvil: 1", "chat", "*", "ws://h/chat"] {
            let request = ClientRequest::new("h", path, KEY);
            assert_eq!(
                request.write(&mut [0u8; 512]),
                Err(HandshakeError::InvalidPath)
            );
        }
    }

    #[test]
    fn request_into_a_short_buffer_fails_without_panicking() {
        let request = chat_request();
        let full = written(&request).len();
        let mut out = [0u8; 512];
        for size in 0..full {
            assert_eq!(
                request.write(&mut out[..size]),
                Err(HandshakeError::BufferTooSmall)
            );
        }
    }
}
