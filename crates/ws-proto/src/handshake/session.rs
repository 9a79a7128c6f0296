//! Both sides of the opening handshake as owned state machines, for a
//! transport that reads a few bytes at a time and keeps the handshake
//! between reads.
//!
//! Each machine is fed the bytes received so far (the same buffer, grown
//! by each read, from the first byte of the message) and answers
//! [`Status::Partial`] until the header block is complete, then
//! [`Status::Complete`]. It remembers where its search for the end of the
//! header block stopped, so feeding a message one byte at a time costs
//! linear work and one HTTP parse. Nothing here allocates or formats with
//! `core::fmt`.
//!
//! - [`ClientHandshake`] owns what the client must check the answer
//!   against (the key, the offered subprotocols, the permessage-deflate
//!   offer) in fixed-size storage, writes the request, and on completion
//!   gives [`ClientDone`]: the chosen subprotocol, the negotiated
//!   [`DeflateParams`] and where the first frame starts.
//! - [`ServerHandshake`] gives the complete, valid request as an
//!   [`Incoming`], which the application looks at ([`Incoming::request`]:
//!   path, host, origin, headers) and answers with [`Incoming::accept`]
//!   (the 101, with a subprotocol, extra headers and the negotiated
//!   extension) or [`Incoming::reject`] (a 401, 403, 404 with headers and
//!   a body). A request that breaks RFC 6455 fails [`ServerHandshake::feed`];
//!   answer it with [`write_refusal`](super::server::write_refusal).
//!
//! ```
//! use ws_proto::handshake::{Accept, ClientHandshake, ServerHandshake, Status};
//!
//! let mut client = ClientHandshake::new("example.com", "/chat", [7; 16])?;
//! client.offer_subprotocol("chat")?;
//! let mut request = [0u8; 512];
//! let request_len = client.write_request(&[], &mut request)?;
//!
//! let mut server = ServerHandshake::new();
//! let Status::Complete(incoming) = server.feed(&request[..request_len])? else {
//!     unreachable!("the whole request is there");
//! };
//! assert_eq!(incoming.request().path(), "/chat");
//! let mut response = [0u8; 512];
//! let accept = Accept { subprotocol: Some("chat"), headers: &[] };
//! let accepted = incoming.accept(&accept, &mut response)?;
//!
//! let Status::Complete(done) = client.feed(&response[..accepted.response_len])? else {
//!     unreachable!("the whole response is there");
//! };
//! assert_eq!(done.subprotocol, Some("chat"));
//! assert_eq!(done.consumed, accepted.response_len);
//! # Ok::<(), ws_proto::HandshakeError>(())
//! ```

use heapless::{String, Vec};

use super::client::{check_response, is_request_target, ClientRequest, Response};
use super::server::{write_rejection, write_response, Request, RequestParser};
use super::{accept_key, is_token, HandshakeError, HeadScanner};
use crate::constants::WS_HEADER_BUFFER;
use crate::deflate::{self, DeflateConfig, DeflateParams};

/// How far a handshake has got, in the manner of `httparse::Status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status<T> {
    /// The header block is not complete: read more, append it to the
    /// buffer, and feed the longer buffer.
    Partial,
    /// The header block is complete and valid.
    Complete(T),
}

impl<T> Status<T> {
    /// Whether more bytes are needed.
    pub fn is_partial(&self) -> bool {
        matches!(self, Status::Partial)
    }

    /// The result, if complete.
    pub fn complete(self) -> Option<T> {
        match self {
            Status::Partial => None,
            Status::Complete(done) => Some(done),
        }
    }
}

/// The longest `Host` value a [`ClientHandshake`] stores: a DNS name (253)
/// with brackets and a port to spare.
pub const MAX_HOST_LEN: usize = 264;
/// The longest request target (path and query) a [`ClientHandshake`]
/// stores: room for a token in the query.
pub const MAX_TARGET_LEN: usize = 2048;
/// The longest subprotocol name a [`ClientHandshake`] offers.
pub const MAX_SUBPROTOCOL_LEN: usize = 64;
/// How many subprotocols a [`ClientHandshake`] offers at most.
pub const MAX_SUBPROTOCOLS: usize = 8;

/// The client side of one opening handshake: what was offered, and the
/// progress of reading the answer.
///
/// It owns everything it checks the answer against, so a transport can
/// keep it across reads without keeping a request borrowed.
#[derive(Clone, Debug)]
pub struct ClientHandshake {
    key: [u8; 16],
    host: String<MAX_HOST_LEN>,
    target: String<MAX_TARGET_LEN>,
    subprotocols: Vec<String<MAX_SUBPROTOCOL_LEN>, MAX_SUBPROTOCOLS>,
    deflate: Option<DeflateConfig>,
    scanner: HeadScanner,
}

impl ClientHandshake {
    /// A handshake for `target` (path and query, `/chat?room=1`) on `host`
    /// (the `Host` value, with `:port` if it should be sent). `key` must be
    /// 16 fresh random bytes; the core has no RNG.
    ///
    /// Fails with [`HandshakeError::TooLong`] past [`MAX_HOST_LEN`] or
    /// [`MAX_TARGET_LEN`], and with [`HandshakeError::InvalidPath`] for a
    /// target that does not start with `/` or has a space or control
    /// character.
    pub fn new(host: &str, target: &str, key: [u8; 16]) -> Result<Self, HandshakeError> {
        if !is_request_target(target.as_bytes()) {
            return Err(HandshakeError::InvalidPath);
        }
        Ok(Self {
            key,
            host: String::try_from(host).map_err(|_| HandshakeError::TooLong("Host"))?,
            target: String::try_from(target)
                .map_err(|_| HandshakeError::TooLong("request target"))?,
            subprotocols: Vec::new(),
            deflate: None,
            scanner: HeadScanner::new(WS_HEADER_BUFFER),
        })
    }

    /// Offers `name` as a subprotocol, after those offered before (most
    /// preferred first).
    ///
    /// Fails with [`HandshakeError::InvalidHeaderValue`] if `name` is not an
    /// HTTP token, and with [`HandshakeError::TooLong`] past
    /// [`MAX_SUBPROTOCOL_LEN`] bytes or [`MAX_SUBPROTOCOLS`] names.
    pub fn offer_subprotocol(&mut self, name: &str) -> Result<(), HandshakeError> {
        if !is_token(name.as_bytes()) {
            return Err(HandshakeError::InvalidHeaderValue);
        }
        let too_long = HandshakeError::TooLong("Sec-WebSocket-Protocol");
        let name = String::try_from(name).map_err(|_| too_long)?;
        self.subprotocols.push(name).map_err(|_| too_long)
    }

    /// Offers permessage-deflate with `offer`
    /// ([`offer_header`](deflate::offer_header)); the answer is checked
    /// against it ([`accept_response`](deflate::accept_response)).
    pub fn offer_deflate(&mut self, offer: DeflateConfig) {
        self.deflate = Some(offer);
    }

    /// Refuses response header blocks longer than `max_len` bytes with
    /// [`HandshakeError::HeaderTooLarge`] (default [`WS_HEADER_BUFFER`]).
    pub fn set_max_header_len(&mut self, max_len: usize) {
        self.scanner = HeadScanner::new(max_len);
    }

    /// The `Host` value sent.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The request target sent.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// A buffer this long always holds [`write_request`](Self::write_request)'s
    /// output with `extra_headers`.
    pub fn request_capacity(&self, extra_headers: &[(&str, &str)]) -> usize {
        let protocols: usize = self.subprotocols.iter().map(|p| p.len() + 2).sum();
        let extra: usize = extra_headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum();
        let deflate = if self.deflate.is_some() {
            deflate::HEADER_CAPACITY + 32
        } else {
            0
        };
        256 + self.host.len() + self.target.len() + protocols + extra + deflate
    }

    /// Writes the upgrade request into `out` and returns its length:
    /// `Host`, the WebSocket headers, the subprotocols and the deflate
    /// offer, then `extra_headers` as given (an `Origin`, say).
    ///
    /// Fails as [`ClientRequest::write`] does: with
    /// [`HandshakeError::InvalidHeaderValue`] or
    /// [`HandshakeError::InvalidHeaderName`] for a header that would break
    /// the message, and with [`HandshakeError::BufferTooSmall`] (see
    /// [`request_capacity`](Self::request_capacity)).
    pub fn write_request(
        &self,
        extra_headers: &[(&str, &str)],
        out: &mut [u8],
    ) -> Result<usize, HandshakeError> {
        let mut names = [""; MAX_SUBPROTOCOLS];
        for (slot, name) in names.iter_mut().zip(&self.subprotocols) {
            *slot = name;
        }
        let offer = self.deflate.as_ref().map(deflate::offer_header);
        ClientRequest {
            subprotocols: &names[..self.subprotocols.len()],
            extensions: offer.as_deref(),
            extra_headers,
            ..ClientRequest::new(&self.host, &self.target, self.key)
        }
        .write(out)
    }

    /// Looks for the server's complete, valid answer at the start of `buf`:
    /// every byte received since the request went out.
    ///
    /// [`Status::Partial`] until the header block is complete. Then the
    /// answer must be a 101 whose `Sec-WebSocket-Accept` matches the key,
    /// choosing at most one subprotocol, one that was offered, and at most
    /// the permessage-deflate that was offered, on parameters that fit the
    /// offer ([`HandshakeError::Deflate`] otherwise). Bytes from
    /// [`ClientDone::consumed`] on are frames.
    pub fn feed<'b>(&mut self, buf: &'b [u8]) -> Result<Status<ClientDone<'b>>, HandshakeError> {
        let Some(end) = self.scanner.find_end(buf)? else {
            return Ok(Status::Partial);
        };
        let offer = self.deflate.as_ref().map(deflate::offer_header);
        let encoded = ClientRequest::new("", "/", self.key).encoded_key();
        let response = check_response(
            &buf[..end],
            &accept_key(&encoded),
            |chosen| self.subprotocols.iter().any(|p| p == chosen),
            offer.as_deref(),
        )?;
        let negotiated = match &self.deflate {
            Some(offered) => deflate::accept_response(response.extensions(), offered)
                .map_err(HandshakeError::Deflate)?,
            None => None,
        };
        Ok(Status::Complete(ClientDone {
            subprotocol: response.subprotocol(),
            deflate: negotiated,
            consumed: end,
            response,
        }))
    }

    /// How many times a complete header block went through the HTTP
    /// parser.
    pub fn parse_passes(&self) -> usize {
        self.scanner.parse_passes()
    }

    /// How many bytes the search for the end of the header block has
    /// examined in total.
    pub fn bytes_scanned(&self) -> usize {
        self.scanner.bytes_scanned()
    }
}

#[cfg(feature = "alloc")]
impl ClientHandshake {
    /// [`write_request`](Self::write_request) into a new buffer, with
    /// owned `(name, value)` extra headers. A transport makes the
    /// handshake with [`SessionConfig::client_handshake`](crate::SessionConfig::client_handshake):
    ///
    /// ```
    /// use ws_proto::SessionConfig;
    ///
    /// let config = SessionConfig::default().subprotocols(["chat"]);
    /// let client = config.client_handshake("example.com", "/", [7; 16])?;
    /// let request = client.request_bytes(&[("Origin".into(), "http://example.com".into())])?;
    /// let request = std::str::from_utf8(&request).unwrap();
    /// assert!(request.contains("\r\nSec-WebSocket-Protocol: chat\r\n"));
    /// assert!(request.contains("\r\nSec-WebSocket-Extensions: permessage-deflate"));
    /// assert!(request.ends_with("\r\nOrigin: http://example.com\r\n\r\n"));
    /// # Ok::<(), ws_proto::HandshakeError>(())
    /// ```
    pub fn request_bytes(
        &self,
        extra_headers: &[(alloc::string::String, alloc::string::String)],
    ) -> Result<alloc::vec::Vec<u8>, HandshakeError> {
        let (extra, _) = super::borrowed_headers(extra_headers);
        let mut out = alloc::vec![0; self.request_capacity(&extra)];
        let len = self.write_request(&extra, &mut out)?;
        out.truncate(len);
        Ok(out)
    }
}

/// What a completed client handshake agreed on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientDone<'b> {
    /// The subprotocol the server chose, one of those offered.
    pub subprotocol: Option<&'b str>,
    /// The permessage-deflate parameters agreed, if the server accepted
    /// the offer.
    pub deflate: Option<DeflateParams>,
    /// The length of the response: frames start here in the buffer fed.
    pub consumed: usize,
    /// The whole response, for its other headers.
    pub response: Response<'b>,
}

/// The server side of one opening handshake: reads the request, then hands
/// it to the application as an [`Incoming`].
#[derive(Clone, Debug, Default)]
pub struct ServerHandshake {
    parser: RequestParser,
    deflate: Option<DeflateConfig>,
}

impl ServerHandshake {
    /// A handshake refusing header blocks longer than
    /// [`WS_HEADER_BUFFER`] (8192) bytes, not negotiating any extension.
    pub fn new() -> Self {
        Self::with_max_header_len(WS_HEADER_BUFFER)
    }

    /// A handshake refusing header blocks longer than `max_len` bytes with
    /// [`HandshakeError::HeaderTooLarge`] (answered 431).
    pub fn with_max_header_len(max_len: usize) -> Self {
        Self {
            parser: RequestParser::with_max_header_len(max_len),
            deflate: None,
        }
    }

    /// Accepts a permessage-deflate offer under `policy`
    /// ([`negotiate`](deflate::negotiate)).
    pub fn negotiate_deflate(&mut self, policy: DeflateConfig) {
        self.deflate = Some(policy);
    }

    /// Looks for a complete, valid upgrade request at the start of `buf`:
    /// every byte received so far.
    ///
    /// [`Status::Partial`] until the header block is complete. An `Err`
    /// is a request that breaks RFC 6455 (or a header block past the cap):
    /// answer it with [`write_refusal`](super::server::write_refusal),
    /// whose status is [`HandshakeError::status_code`] (431 for an
    /// oversized header).
    pub fn feed<'b>(&mut self, buf: &'b [u8]) -> Result<Status<Incoming<'b>>, HandshakeError> {
        let Some(request) = self.parser.parse(buf)? else {
            return Ok(Status::Partial);
        };
        let deflate = self
            .deflate
            .as_ref()
            .and_then(|policy| deflate::negotiate(request.extensions(), policy));
        Ok(Status::Complete(Incoming { request, deflate }))
    }

    /// How many times a complete header block went through the HTTP
    /// parser.
    pub fn parse_passes(&self) -> usize {
        self.parser.parse_passes()
    }

    /// How many bytes the search for the end of the header block has
    /// examined in total.
    pub fn bytes_scanned(&self) -> usize {
        self.parser.bytes_scanned()
    }
}

/// A complete, valid upgrade request waiting for the application's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming<'b> {
    request: Request<'b>,
    deflate: Option<DeflateParams>,
}

/// The application's yes: the subprotocol chosen (one the client offered)
/// and headers to add to the 101.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accept<'a> {
    /// The subprotocol, one of [`Request::subprotocols`].
    pub subprotocol: Option<&'a str>,
    /// Written as given after the WebSocket headers; none may be one the
    /// handshake writes itself ([`RESERVED_HEADERS`]).
    pub headers: &'a [(&'a str, &'a str)],
}

/// The application's no: a status from 400 to 599, headers (a
/// `WWW-Authenticate` challenge with a 401, say) and a body, written by
/// [`write_rejection`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reject<'a> {
    /// The status: 401, 403 for a bad `Origin`, 404 for a bad path.
    pub status: u16,
    /// Written as given; not `Content-Length`, `Transfer-Encoding` or
    /// `Connection`.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub body: &'a [u8],
}

/// What an accepted server handshake agreed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerDone<'a> {
    /// The length of the 101 response written into the caller's buffer.
    pub response_len: usize,
    /// The subprotocol agreed.
    pub subprotocol: Option<&'a str>,
    /// The permessage-deflate parameters agreed, if any.
    pub deflate: Option<DeflateParams>,
    /// The length of the request: frames the client sent at once start
    /// here in the buffer fed.
    pub consumed: usize,
}

/// Headers a 101 carries that the handshake writes itself or that would
/// reframe it: an application's [`Accept::headers`] may not name them.
pub const RESERVED_HEADERS: &[&str] = &[
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Accept",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Content-Length",
    "Transfer-Encoding",
];

impl<'b> Incoming<'b> {
    /// The request: path, host, origin, headers, offered subprotocols.
    pub fn request(&self) -> &Request<'b> {
        &self.request
    }

    /// The permessage-deflate parameters the 101 will agree to, if the
    /// server negotiates it and the client offered it acceptably.
    pub fn deflate(&self) -> Option<DeflateParams> {
        self.deflate
    }

    /// The length of the request; frames start here in the buffer fed.
    pub fn consumed(&self) -> usize {
        self.request.consumed()
    }

    /// Writes the `101 Switching Protocols` answer into `out`: the accept
    /// key, `answer`'s subprotocol, the negotiated permessage-deflate
    /// parameters, then `answer`'s headers.
    ///
    /// Fails, leaving `out` unfit to send, with
    /// [`HandshakeError::ProtocolNotOffered`] for a subprotocol the client
    /// did not offer, [`HandshakeError::InvalidHeaderName`] for a header
    /// name that is not a token or is one of [`RESERVED_HEADERS`],
    /// [`HandshakeError::InvalidHeaderValue`] for a value with a control
    /// character, and [`HandshakeError::BufferTooSmall`].
    pub fn accept<'a>(
        &self,
        answer: &Accept<'a>,
        out: &mut [u8],
    ) -> Result<ServerDone<'a>, HandshakeError> {
        if let Some(chosen) = answer.subprotocol {
            if !self.request.subprotocols().any(|offered| offered == chosen) {
                return Err(HandshakeError::ProtocolNotOffered);
            }
        }
        let reserved = answer.headers.iter().any(|(name, _)| {
            RESERVED_HEADERS
                .iter()
                .any(|r| r.eq_ignore_ascii_case(name))
        });
        if reserved {
            return Err(HandshakeError::InvalidHeaderName);
        }
        let extension = self.deflate.as_ref().map(deflate::response_header);
        let response_len = write_response(
            self.request.key(),
            answer.subprotocol,
            extension.as_deref(),
            answer.headers,
            out,
        )?;
        Ok(ServerDone {
            response_len,
            subprotocol: answer.subprotocol,
            deflate: self.deflate,
            consumed: self.request.consumed(),
        })
    }

    /// Writes the application's refusal into `out` and returns its length;
    /// fails as [`write_rejection`] does.
    pub fn reject(&self, answer: &Reject<'_>, out: &mut [u8]) -> Result<usize, HandshakeError> {
        write_rejection(answer.status, answer.headers, answer.body, out)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::vec::Vec;

    use super::*;
    use crate::handshake::server::write_refusal;

    const KEY: [u8; 16] = *b"the sample nonce";
    const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n\
        Upgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";

    fn client() -> ClientHandshake {
        let mut client = ClientHandshake::new("server.example.com", "/chat", KEY).unwrap();
        client.offer_subprotocol("chat").unwrap();
        client.offer_subprotocol("superchat").unwrap();
        client
    }

    fn request_of(client: &ClientHandshake) -> Vec<u8> {
        let mut out = std::vec![0u8; client.request_capacity(&[])];
        let len = client.write_request(&[], &mut out).unwrap();
        out.truncate(len);
        out
    }

    /// The server's 101 to `request` with `answer`, and what it agreed.
    fn answer(server: &mut ServerHandshake, request: &[u8], answer: &Accept<'_>) -> Vec<u8> {
        let incoming = server.feed(request).unwrap().complete().unwrap();
        let mut out = std::vec![0u8; 512];
        let done = incoming.accept(answer, &mut out).unwrap();
        out.truncate(done.response_len);
        out
    }

    #[test]
    fn client_writes_the_request_with_its_offers() {
        assert_eq!(request_of(&client()), REQUEST);
    }

    #[test]
    fn server_fed_byte_at_a_time_completes_once_with_linear_work() {
        let mut wire = REQUEST.to_vec();
        wire.extend_from_slice(b"\x81\x80");
        let mut server = ServerHandshake::new();
        for len in 0..REQUEST.len() {
            assert!(server.feed(&wire[..len]).unwrap().is_partial(), "at {len}");
        }
        let incoming = server.feed(&wire).unwrap().complete().unwrap();
        assert_eq!(incoming.consumed(), REQUEST.len());
        assert_eq!(incoming.request().path(), "/chat");
        assert_eq!(incoming.request().host(), "server.example.com");
        assert_eq!(server.parse_passes(), 1);
        assert_eq!(server.bytes_scanned(), REQUEST.len());
    }

    #[test]
    fn client_fed_byte_at_a_time_then_frames() {
        let mut client = client();
        let mut wire = answer(
            &mut ServerHandshake::new(),
            &request_of(&client),
            &Accept {
                subprotocol: Some("superchat"),
                headers: &[("X-Served-By", "test")],
            },
        );
        let response_len = wire.len();
        wire.extend_from_slice(b"\x82\x03abc");
        for len in 0..response_len {
            assert_eq!(client.feed(&wire[..len]), Ok(Status::Partial), "at {len}");
        }
        let done = client.feed(&wire).unwrap().complete().unwrap();
        assert_eq!(done.consumed, response_len);
        assert_eq!(&wire[done.consumed..], b"\x82\x03abc");
        assert_eq!(done.subprotocol, Some("superchat"));
        assert_eq!(done.deflate, None);
        assert_eq!(done.response.header("x-served-by"), Some(&b"test"[..]));
        assert_eq!(client.parse_passes(), 1);
        assert_eq!(client.bytes_scanned(), response_len);
    }

    #[test]
    fn partial_then_complete() {
        let mut server = ServerHandshake::new();
        assert_eq!(server.feed(&REQUEST[..40]), Ok(Status::Partial));
        let incoming = server.feed(REQUEST).unwrap().complete().unwrap();
        assert_eq!(
            incoming.request().subprotocols().collect::<Vec<_>>(),
            ["chat", "superchat"]
        );
    }

    #[test]
    fn oversized_header_is_refused_with_431() {
        let mut server = ServerHandshake::with_max_header_len(64);
        let err = server.feed(REQUEST).unwrap_err();
        assert_eq!(err, HandshakeError::HeaderTooLarge);
        assert_eq!(err.status_code(), 431);
        let mut out = [0u8; 256];
        let len = write_refusal(&err, &mut out).unwrap();
        assert!(out[..len].starts_with(b"HTTP/1.1 431 "));

        let mut client = client();
        client.set_max_header_len(16);
        assert_eq!(
            client.feed(&[b'x'; 17]),
            Err(HandshakeError::HeaderTooLarge)
        );
    }

    #[test]
    fn bad_key_is_refused_on_both_sides() {
        let bad = std::string::String::from_utf8(REQUEST.to_vec())
            .unwrap()
            .replace("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=");
        assert_eq!(
            ServerHandshake::new().feed(bad.as_bytes()),
            Err(HandshakeError::InvalidKey)
        );
        // A 101 answering another key.
        let other = ClientHandshake::new("server.example.com", "/chat", [1; 16]).unwrap();
        let wire = answer(
            &mut ServerHandshake::new(),
            &request_of(&other),
            &Accept::default(),
        );
        assert_eq!(client().feed(&wire), Err(HandshakeError::AcceptMismatch));
    }

    #[test]
    fn rejection_bytes_are_exact() {
        let incoming = ServerHandshake::new()
            .feed(REQUEST)
            .unwrap()
            .complete()
            .unwrap();
        let mut out = [0u8; 256];
        let len = incoming
            .reject(
                &Reject {
                    status: 401,
                    headers: &[("WWW-Authenticate", "Bearer realm=\"chat\"")],
                    body: b"token required\n",
                },
                &mut out,
            )
            .unwrap();
        assert_eq!(
            &out[..len],
            b"HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 15\r\n\
              WWW-Authenticate: Bearer realm=\"chat\"\r\n\
              Content-Type: text/plain; charset=utf-8\r\n\r\ntoken required\n"
        );
        let len = incoming
            .reject(
                &Reject {
                    status: 404,
                    headers: &[],
                    body: b"",
                },
                &mut out,
            )
            .unwrap();
        assert_eq!(
            &out[..len],
            b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn bare_lf_response_is_accepted() {
        let mut client = client();
        let wire = std::format!(
            "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\n\
             Sec-WebSocket-Accept: {RFC_ACCEPT}\nSec-WebSocket-Protocol: chat\n\n\x01\x00"
        );
        let done = client.feed(wire.as_bytes()).unwrap().complete().unwrap();
        assert_eq!(done.subprotocol, Some("chat"));
        assert_eq!(&wire.as_bytes()[done.consumed..], b"\x01\x00");
    }

    #[test]
    fn deflate_is_negotiated_both_ways() {
        let mut client = client();
        client.offer_deflate(DeflateConfig {
            client_max_window_bits: 12,
            ..DeflateConfig::default()
        });
        let request = request_of(&client);
        let mut server = ServerHandshake::new();
        server.negotiate_deflate(DeflateConfig {
            server_no_context_takeover: true,
            ..DeflateConfig::default()
        });
        let incoming = server.feed(&request).unwrap().complete().unwrap();
        let agreed = incoming.deflate().expect("offer accepted");
        assert!(agreed.server_no_context_takeover);
        assert_eq!(agreed.client_max_window_bits, 12);
        let mut out = [0u8; 512];
        let done = incoming.accept(&Accept::default(), &mut out).unwrap();
        assert_eq!(done.deflate, Some(agreed));
        let response = &out[..done.response_len];
        let text = core::str::from_utf8(response).unwrap();
        assert!(text.contains(
            "\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; \
             client_max_window_bits=12\r\n"
        ));
        let finished = client.feed(response).unwrap().complete().unwrap();
        assert_eq!(finished.deflate, Some(agreed));
        assert_eq!(finished.subprotocol, None);
    }

    #[test]
    fn deflate_not_offered_is_not_answered_and_a_bad_answer_fails() {
        // A server with a policy, a client without an offer: no extension.
        let mut server = ServerHandshake::new();
        server.negotiate_deflate(DeflateConfig::default());
        let incoming = server.feed(REQUEST).unwrap().complete().unwrap();
        assert_eq!(incoming.deflate(), None);

        let mut client = client();
        client.offer_deflate(DeflateConfig {
            server_max_window_bits: 10,
            ..DeflateConfig::default()
        });
        let wire = std::format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {RFC_ACCEPT}\r\n\
             Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
        );
        assert_eq!(
            client.feed(wire.as_bytes()),
            Err(HandshakeError::Deflate(
                deflate::NegotiationError::MissingServerMaxWindowBits
            ))
        );
    }

    #[test]
    fn subprotocol_must_be_one_offered() {
        let incoming = ServerHandshake::new()
            .feed(REQUEST)
            .unwrap()
            .complete()
            .unwrap();
        let mut out = [0u8; 512];
        let chosen = incoming
            .accept(
                &Accept {
                    subprotocol: Some("chat"),
                    headers: &[],
                },
                &mut out,
            )
            .unwrap();
        assert_eq!(chosen.subprotocol, Some("chat"));
        assert!(core::str::from_utf8(&out[..chosen.response_len])
            .unwrap()
            .contains("\r\nSec-WebSocket-Protocol: chat\r\n"));
        let refused = incoming.accept(
            &Accept {
                subprotocol: Some("mqtt"),
                headers: &[],
            },
            &mut out,
        );
        assert_eq!(refused, Err(HandshakeError::ProtocolNotOffered));
        let reserved = incoming.accept(
            &Accept {
                subprotocol: None,
                headers: &[("sec-websocket-accept", "x")],
            },
            &mut out,
        );
        assert_eq!(reserved, Err(HandshakeError::InvalidHeaderName));

        let mut client = ClientHandshake::new("h", "/", KEY).unwrap();
        client.offer_subprotocol("chat").unwrap();
        let wire = std::format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {RFC_ACCEPT}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
        );
        assert_eq!(
            client.feed(wire.as_bytes()),
            Err(HandshakeError::ProtocolNotOffered)
        );
    }

    #[test]
    fn oversized_client_fields_fail_with_their_names() {
        let long = "a".repeat(MAX_TARGET_LEN + 1);
        assert_eq!(
            ClientHandshake::new(&long, "/", KEY).unwrap_err(),
            HandshakeError::TooLong("Host")
        );
        let target = std::format!("/{long}");
        assert_eq!(
            ClientHandshake::new("h", &target, KEY).unwrap_err(),
            HandshakeError::TooLong("request target")
        );
        for target in ["/a b", "chat", ""] {
            assert_eq!(
                ClientHandshake::new("h", target, KEY).unwrap_err(),
                HandshakeError::InvalidPath
            );
        }
        let mut client = ClientHandshake::new("h", "/", KEY).unwrap();
        assert_eq!(
            client.offer_subprotocol(&long[..MAX_SUBPROTOCOL_LEN + 1]),
            Err(HandshakeError::TooLong("Sec-WebSocket-Protocol"))
        );
        assert_eq!(
            client.offer_subprotocol("a,b"),
            Err(HandshakeError::InvalidHeaderValue)
        );
        for _ in 0..MAX_SUBPROTOCOLS {
            client.offer_subprotocol("p").unwrap();
        }
        assert_eq!(
            client.offer_subprotocol("p"),
            Err(HandshakeError::TooLong("Sec-WebSocket-Protocol"))
        );
    }
}
