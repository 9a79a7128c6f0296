//! An application's acceptance of an upgrade request, owned, as every
//! transport takes it from its callback (feature `alloc`), and the 101
//! written from it.

use alloc::string::String;
use alloc::vec::Vec;

use super::session::{Accept, Incoming, ServerDone};
use super::{borrowed_headers, HandshakeError};
use crate::deflate;

/// A server application's "yes" to an upgrade request: the subprotocol it
/// chose, if it chose one, and headers to add to the `101 Switching
/// Protocols`. The transports (`ws-std`'s and `ws-tokio`'s `accept_with`)
/// take it from their callbacks and answer with
/// [`write_response`](Self::write_response).
///
/// ```
/// use ws_proto::handshake::{Acceptance, ServerHandshake, Status};
///
/// let request = b"GET /chat HTTP/1.1\r\nHost: example.com\r\n\
///     Upgrade: websocket\r\nConnection: Upgrade\r\n\
///     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n";
/// let Status::Complete(incoming) = ServerHandshake::new().feed(request)? else {
///     unreachable!("the whole request is there");
/// };
/// let acceptance = Acceptance::new().header("X-Served-By", "doc");
/// let mut out = Vec::new();
/// // The configuration supports "chat": the client offered it.
/// let supported = ["chat".to_owned()];
/// let done = acceptance.write_response(&incoming, &supported, &mut out)?;
/// assert_eq!(done.subprotocol, Some("chat"));
/// let response = std::str::from_utf8(&out).unwrap();
/// assert!(response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
/// assert!(response.contains("\r\nX-Served-By: doc\r\n"));
/// # Ok::<(), ws_proto::HandshakeError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use = "an Acceptance does nothing unless the callback returns it"]
pub struct Acceptance {
    subprotocol: Option<String>,
    headers: Vec<(String, String)>,
}

impl Acceptance {
    /// Accept as it is: the subprotocol is the first of the supported ones
    /// (the configuration's) that the client offered, if any.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answer with this subprotocol instead of the configuration's choice.
    /// It must be one the client offered; otherwise
    /// [`write_response`](Self::write_response) fails with
    /// [`HandshakeError::ProtocolNotOffered`].
    pub fn subprotocol(mut self, name: impl Into<String>) -> Self {
        self.subprotocol = Some(name.into());
        self
    }

    /// Add a header to the 101 answer (`Set-Cookie`, a session id...).
    ///
    /// The name must be an HTTP token and not one the handshake writes
    /// itself ([`RESERVED_HEADERS`](super::session::RESERVED_HEADERS)); the value
    /// must not contain CR, LF or another control character but tab.
    /// Otherwise [`write_response`](Self::write_response) fails.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The subprotocol chosen with [`subprotocol`](Self::subprotocol).
    pub fn chosen_subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The headers added, in order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// Replace `out`'s contents with the `101 Switching Protocols` answer
    /// to `incoming` ([`Incoming::accept`]): the subprotocol chosen, or
    /// else the first of `supported` the client offered, the negotiated
    /// permessage-deflate parameters and the added headers.
    ///
    /// On an error (a subprotocol the client did not offer, a header that
    /// is not allowed) `out` is empty: answer with a bare 500
    /// ([`Refusal::new(500)`](super::Refusal::new)).
    pub fn write_response<'s>(
        &'s self,
        incoming: &Incoming<'_>,
        supported: &'s [String],
        out: &mut Vec<u8>,
    ) -> Result<ServerDone<'s>, HandshakeError> {
        let subprotocol = self.subprotocol.as_deref().or_else(|| {
            incoming
                .request()
                .first_offered(supported.iter().map(String::as_str))
        });
        let (headers, header_room) = borrowed_headers(&self.headers);
        out.clear();
        out.resize(
            RESPONSE_ROOM
                + subprotocol.map_or(0, str::len)
                + deflate::HEADER_CAPACITY
                + header_room,
            0,
        );
        let answer = Accept {
            subprotocol,
            headers: &headers,
        };
        match incoming.accept(&answer, out) {
            Ok(done) => {
                out.truncate(done.response_len);
                Ok(ServerDone {
                    response_len: done.response_len,
                    subprotocol,
                    deflate: done.deflate,
                    consumed: done.consumed,
                })
            }
            Err(err) => {
                out.clear();
                Err(err)
            }
        }
    }
}

/// Room for the status line, `Upgrade`, `Connection`,
/// `Sec-WebSocket-Accept` and the blank line, with the names of the
/// subprotocol and extension headers.
const RESPONSE_ROOM: usize = 512;

#[cfg(test)]
mod tests {
    extern crate std;

    use std::borrow::ToOwned;

    use super::*;
    use crate::handshake::{ServerHandshake, Status};

    const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: example.com\r\n\
        Upgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n";

    fn answer(acceptance: &Acceptance, supported: &[String]) -> Result<Vec<u8>, HandshakeError> {
        let mut server = ServerHandshake::new();
        let Status::Complete(incoming) = server.feed(REQUEST).unwrap() else {
            panic!("partial");
        };
        let mut out = Vec::new();
        let done = acceptance.write_response(&incoming, supported, &mut out)?;
        assert_eq!(done.response_len, out.len());
        assert_eq!(done.consumed, REQUEST.len());
        Ok(out)
    }

    fn text(out: &[u8]) -> &str {
        core::str::from_utf8(out).unwrap()
    }

    #[test]
    fn the_supported_subprotocol_the_client_offered_is_chosen() {
        let supported = ["superchat".to_owned(), "chat".to_owned()];
        let out = answer(&Acceptance::new(), &supported).unwrap();
        assert!(text(&out).contains("\r\nSec-WebSocket-Protocol: superchat\r\n"));
        let out = answer(&Acceptance::new(), &[]).unwrap();
        assert!(!text(&out).contains("Sec-WebSocket-Protocol"));
        assert!(text(&out).contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    }

    #[test]
    fn the_applications_choice_and_headers_win() {
        let acceptance = Acceptance::new()
            .subprotocol("chat")
            .header("Set-Cookie", "a=1");
        let out = answer(&acceptance, &["superchat".to_owned()]).unwrap();
        assert!(text(&out).contains("\r\nSec-WebSocket-Protocol: chat\r\n"));
        assert!(text(&out).ends_with("\r\nSet-Cookie: a=1\r\n\r\n"));
        assert_eq!(acceptance.chosen_subprotocol(), Some("chat"));
        assert_eq!(acceptance.headers().len(), 1);
    }

    #[test]
    fn an_answer_that_cannot_be_written_leaves_nothing() {
        let offered_not = Acceptance::new().subprotocol("other");
        assert_eq!(
            answer(&offered_not, &[]),
            Err(HandshakeError::ProtocolNotOffered)
        );
        let reserved = Acceptance::new().header("Upgrade", "h2c");
        assert_eq!(
            answer(&reserved, &[]),
            Err(HandshakeError::InvalidHeaderName)
        );
        let bad_value = Acceptance::new().header("X-A", "1\r\nX-B: 2");
        assert_eq!(
            answer(&bad_value, &[]),
            Err(HandshakeError::InvalidHeaderValue)
        );
    }

    #[test]
    fn long_headers_fit() {
        let long = "v".repeat(10_000);
        let out = answer(&Acceptance::new().header("X-Long", long.as_str()), &[]).unwrap();
        assert!(text(&out).contains(long.as_str()));
    }
}
