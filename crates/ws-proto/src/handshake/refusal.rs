//! An application's refusal of an upgrade request, owned, as every
//! transport takes it from its callback (feature `alloc`).

use alloc::string::String;
use alloc::vec::Vec;

use super::server::write_rejection;
use super::{borrowed_headers, HandshakeError};

/// A server application's "no" to an upgrade request: an HTTP status from
/// 400 to 599, extra headers and a body. The transports (`ws-std`'s
/// `accept_with`, `ws-mio`'s `Handler::on_open`) send it and close.
///
/// ```
/// use ws_proto::handshake::Refusal;
///
/// let refusal = Refusal::unauthorized("Bearer realm=\"chat\"").body("token required\n");
/// let mut out = Vec::new();
/// refusal.write(&mut out)?;
/// let response = std::str::from_utf8(&out).unwrap();
/// assert!(response.starts_with("HTTP/1.1 401 Unauthorized\r\n"));
/// assert!(response.contains("\r\nWWW-Authenticate: Bearer realm=\"chat\"\r\n"));
/// assert!(response.ends_with("\r\n\r\ntoken required\n"));
/// # Ok::<(), ws_proto::HandshakeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a Refusal does nothing unless the callback returns it"]
pub struct Refusal {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Refusal {
    /// A refusal with this status, no extra header and an empty body.
    ///
    /// The status must be from 400 to 599; the response carries its
    /// reason phrase, `Connection: close` and `Content-Length`. Any other
    /// status is not sent: [`write`](Self::write) fails with
    /// [`HandshakeError::InvalidStatus`] and leaves a bare 500 in its place.
    pub fn new(status: u16) -> Self {
        Refusal {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// 401 Unauthorized, with the `WWW-Authenticate` challenge (RFC 9110
    /// section 11.6.1 requires one), such as `Bearer realm="chat"` or
    /// `Basic realm="chat"`.
    pub fn unauthorized(challenge: impl Into<String>) -> Self {
        Refusal::new(401).header("WWW-Authenticate", challenge)
    }

    /// 403 Forbidden: for a request whose `Origin` or credentials are not
    /// allowed.
    pub fn forbidden() -> Self {
        Refusal::new(403)
    }

    /// 404 Not Found: for a path that serves no WebSocket.
    pub fn not_found() -> Self {
        Refusal::new(404)
    }

    /// Add a header to the response. The name must be an HTTP token other
    /// than `Content-Length`, `Transfer-Encoding` and `Connection` (written
    /// by the refusal itself); the value must not contain CR, LF or another
    /// control character but tab. Otherwise [`write`](Self::write) fails
    /// and leaves a bare 500 in its place.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The response body. Unless a `Content-Type` header is added, a
    /// non-empty body is sent as `text/plain; charset=utf-8`.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Replace `out`'s contents with the response to send. When the
    /// refusal cannot be written as given (a status outside 400 to 599, a
    /// header that is not allowed; see
    /// [`write_rejection`](super::server::write_rejection)), `out` holds a
    /// bare `500 Internal Server Error` instead, so there is always an
    /// answer to send, and the error says what was wrong.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), HandshakeError> {
        // The status line, the framing headers and a Content-Type fit in
        // the room beside the headers'.
        let (headers, header_room) = borrowed_headers(&self.headers);
        out.clear();
        out.resize(RESPONSE_ROOM + header_room + self.body.len(), 0);
        match write_rejection(self.status, &headers, &self.body, out) {
            Ok(len) => {
                out.truncate(len);
                Ok(())
            }
            Err(err) => {
                write_bare_500(out);
                Err(err)
            }
        }
    }
}

/// Room for a refusal's status line, `Connection`, `Content-Length` and
/// `Content-Type` lines and the blank line.
const RESPONSE_ROOM: usize = 160;

/// Replace `out`'s contents with a bare 500.
fn write_bare_500(out: &mut Vec<u8>) {
    out.clear();
    out.resize(RESPONSE_ROOM, 0);
    // A fixed, valid status with nothing else fits the room: this does
    // not fail; should it ever, nothing is sent rather than garbage.
    let len = write_rejection(500, &[], b"", out).unwrap_or(0);
    out.truncate(len);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(refusal: &Refusal) -> (String, Result<(), HandshakeError>) {
        let mut out = Vec::new();
        let result = refusal.write(&mut out);
        (String::from_utf8(out).unwrap(), result)
    }

    #[test]
    fn a_refusal_carries_its_status_headers_and_body() {
        let (response, result) = written(
            &Refusal::forbidden()
                .header("X-Reason", "origin")
                .body("no\n"),
        );
        assert_eq!(result, Ok(()));
        assert!(response.starts_with("HTTP/1.1 403 Forbidden\r\n"));
        assert!(response.contains("\r\nX-Reason: origin\r\n"));
        assert!(response.contains("\r\nContent-Length: 3\r\n"));
        assert!(response.ends_with("\r\n\r\nno\n"));
    }

    #[test]
    fn long_headers_and_bodies_fit() {
        let value = "v".repeat(5000);
        let body = alloc::vec![b'b'; 70_000];
        let (response, result) = written(
            &Refusal::new(400)
                .header("X-Long", value.as_str())
                .body(body),
        );
        assert_eq!(result, Ok(()));
        assert!(response.contains(&value));
        assert!(response.ends_with(&"b".repeat(70_000)));
    }

    #[test]
    fn what_cannot_be_sent_becomes_a_bare_500() {
        for (refusal, error) in [
            (Refusal::new(200), HandshakeError::InvalidStatus),
            (Refusal::new(101), HandshakeError::InvalidStatus),
            (
                Refusal::new(400).header("Content-Length", "0"),
                HandshakeError::InvalidHeaderName,
            ),
            (
                Refusal::new(400).header("X-Evil", "a\r\nSet-Cookie: x"),
                HandshakeError::InvalidHeaderValue,
            ),
        ] {
            let (response, result) = written(&refusal);
            assert_eq!(result, Err(error), "{refusal:?}");
            assert!(response.starts_with("HTTP/1.1 500 "), "{response}");
            assert!(!response.contains("Evil") && !response.contains("Set-Cookie"));
        }
    }

    #[test]
    fn the_shortcuts_have_their_statuses() {
        assert_eq!(Refusal::not_found().status(), 404);
        assert_eq!(Refusal::forbidden().status(), 403);
        let (response, _) = written(&Refusal::unauthorized("Basic realm=\"x\""));
        assert!(response.starts_with("HTTP/1.1 401 "));
        assert!(response.contains("\r\nWWW-Authenticate: Basic realm=\"x\"\r\n"));
    }
}
