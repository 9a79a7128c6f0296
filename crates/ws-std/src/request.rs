//! What a server sees of an upgrade request before it answers, what it
//! answers with, and what a connection keeps of its handshake.

use std::net::SocketAddr;

use ws_proto::handshake::server::Request;

/// The upgrade request as the application's decision sees it: handed to
/// the callback of [`accept_with`](crate::accept_with),
/// [`upgrade_with`](crate::upgrade_with),
/// [`WsServer::accept_with`](crate::WsServer::accept_with) and
/// [`WsServer::incoming_with`](crate::WsServer::incoming_with), after the
/// request passed every RFC 6455 check and before anything is answered.
///
/// It borrows the bytes received; copy out what must outlive the callback
/// (the connection keeps its own copy, see [`OpenedWith`]).
///
/// The callback answers with an [`Accept`](crate::Accept) or a [`Refusal`](crate::Refusal) (an HTTP error
/// response with a status, extra headers and a body, after which the
/// connection is closed and the caller of the accept function gets
/// [`Error::Refused`](crate::Error::Refused)); as a `Result`, so `?` works:
///
/// ```
/// use ws_std::{Accept, Refusal, RequestView};
///
/// fn check(request: &RequestView<'_>) -> Result<Accept, Refusal> {
///     if request.origin() != Some("https://example.com") {
///         return Err(Refusal::forbidden().body("origin not allowed\n"));
///     }
///     request
///         .header_str("Authorization")
///         .filter(|value| *value == "Bearer secret")
///         .ok_or_else(|| Refusal::unauthorized("Bearer realm=\"chat\""))?;
///     Ok(Accept::new())
/// }
/// # let _ = check;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    request: &'a Request<'a>,
    peer_addr: Option<SocketAddr>,
}

impl<'a> RequestView<'a> {
    pub(crate) fn new(request: &'a Request<'a>, peer_addr: Option<SocketAddr>) -> Self {
        RequestView { request, peer_addr }
    }

    /// The request target's path and query, as sent (`/chat?room=1`);
    /// for an absolute-form target (`ws://example.com/chat`), the part
    /// after the authority.
    pub fn path(&self) -> &'a str {
        self.request.path()
    }

    /// The query of the request target, after the `?` (`room=1`), if it
    /// has one. It is not decoded.
    pub fn query(&self) -> Option<&'a str> {
        self.request.path().split_once('?').map(|(_, query)| query)
    }

    /// The `Host` header (with the port if the client sent one), or the
    /// authority of an absolute-form target.
    pub fn host(&self) -> &'a str {
        self.request.host()
    }

    /// The `Origin` header, which browsers send: compare it with the
    /// origins allowed to open a connection (a page on another site can
    /// open one too, with the user's cookies).
    pub fn origin(&self) -> Option<&'a str> {
        self.request.origin()
    }

    /// The value of the first header named `name`, compared without regard
    /// to ASCII case (`"authorization"` finds `Authorization`).
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.request.header(name)
    }

    /// [`header`](Self::header) as text: `None` if it is missing or is
    /// not UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&'a str> {
        self.header(name)
            .and_then(|value| std::str::from_utf8(value).ok())
    }

    /// Every header line as (name, value), in the order received; a
    /// repeated header comes once per line.
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + '_ {
        self.request.headers()
    }

    /// The subprotocols the client offered, in its order of preference
    /// (every `Sec-WebSocket-Protocol` line, split at commas).
    pub fn subprotocols(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.request.subprotocols()
    }

    /// The address of the peer, when the stream knows it
    /// ([`Stream::peer_addr`](crate::Stream::peer_addr): a `TcpStream`
    /// does). Behind a proxy this is the proxy's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer_addr
    }
}

/// What a connection keeps of its opening handshake:
/// [`WebSocket::opened_with`](crate::WebSocket::opened_with).
///
/// Owned copies made once, when the handshake completed; they take no more
/// than the header block did, which is capped by
/// [`Config::max_handshake_header`](crate::Config::max_handshake_header).
///
/// - On a server: the client's request (its path, host, origin and
///   headers) and the client's address.
/// - On a client: the path and host it asked for, the `Origin` it sent if
///   any, the server's `101` response headers in [`headers`](Self::headers),
///   and the server's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedWith {
    pub(crate) path: String,
    pub(crate) host: String,
    pub(crate) origin: Option<String>,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) peer_addr: Option<SocketAddr>,
}

impl OpenedWith {
    /// A server's copy of the request it accepted.
    pub(crate) fn from_request(request: &Request<'_>, peer_addr: Option<SocketAddr>) -> Self {
        OpenedWith {
            path: request.path().to_owned(),
            host: request.host().to_owned(),
            origin: request.origin().map(str::to_owned),
            headers: copy_headers(request.headers()),
            peer_addr,
        }
    }

    /// The request target's path and query (`/chat?room=1`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query of the path, after the `?`, if there is one.
    pub fn query(&self) -> Option<&str> {
        self.path.split_once('?').map(|(_, query)| query)
    }

    /// The `Host` of the request (with the port if one was sent).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The request's `Origin` header.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The value of the first header named `name` (ASCII
    /// case-insensitive) that the peer sent: a request header on a server,
    /// a response header on a client.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_slice())
    }

    /// [`header`](Self::header) as text: `None` if missing or not UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name)
            .and_then(|value| std::str::from_utf8(value).ok())
    }

    /// Every header line the peer sent, as (name, value), in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_slice()))
    }

    /// The peer's address, when the stream knew it.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer_addr
    }
}

/// Owned copies of header lines.
pub(crate) fn copy_headers<'h>(
    headers: impl Iterator<Item = (&'h str, &'h [u8])>,
) -> Vec<(String, Vec<u8>)> {
    headers
        .map(|(name, value)| (name.to_owned(), value.to_vec()))
        .collect()
}
