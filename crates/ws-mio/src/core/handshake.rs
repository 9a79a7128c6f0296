//! Driving opening handshakes over the loop's sockets: the request of a
//! client connection, the answer to an upgrade request, and opening the
//! connection once the handler's `on_open` agreed. Parsing and checking
//! the HTTP is `ws_proto::handshake`'s job.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Instant;

use mio::net::TcpStream;
use ws_proto::deflate::{self, CompressionConfig, DeflateParams};
use ws_proto::handshake::server::write_refusal;
use ws_proto::handshake::Refusal;
use ws_proto::handshake::{Accept, Incoming, Status};
use ws_proto::mask::os_entropy;
use ws_proto::url::WsUrl;
use ws_proto::{HandshakeError, Role};

use super::{Core, Event, PendingOpen, Side, HEADROOM};
use crate::conn::{ClientHandshake, Phase};
use crate::error::Error;
use crate::id::ConnectionId;
use crate::tls::TlsLayer;

/// A `ws://` or `wss://` URL to connect to; without the feature `tls`,
/// `wss://` is refused (before any name is resolved) rather than dialled
/// in plain text.
fn parse_url(url: &str) -> Result<WsUrl, Error> {
    let url = WsUrl::parse(url).map_err(|err| Error::Url(err.0))?;
    if url.secure && !cfg!(feature = "tls") {
        return Err(Error::Url(
            "wss:// needs ws-mio's feature \"tls\" (on by default)".into(),
        ));
    }
    Ok(url)
}

impl<D> Core<D> {
    /// Start a client connection: non-blocking connect, request queued.
    /// A host name is resolved here, which blocks (an IP address is not).
    pub(crate) fn connect(&mut self, url: &str) -> Result<ConnectionId, Error> {
        let url = parse_url(url)?;
        let addr = (url.host.as_str(), url.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| Error::Url(format!("{} resolves to no address", url.host)))?;
        self.connect_url_at(addr, &url)
    }

    /// Start a client connection to `addr` for `url` (its host and path
    /// go into the request; its host is not resolved).
    pub(crate) fn connect_to(
        &mut self,
        addr: SocketAddr,
        url: &str,
    ) -> Result<ConnectionId, Error> {
        let url = parse_url(url)?;
        self.connect_url_at(addr, &url)
    }

    fn connect_url_at(&mut self, addr: SocketAddr, url: &WsUrl) -> Result<ConnectionId, Error> {
        let mut key = [0u8; 16];
        os_entropy(&mut key);
        let handshake = self
            .config
            .session
            .client_handshake(&url.host_header(), &url.path, key)
            .map_err(Error::Handshake)?;
        let mut bytes = vec![0; handshake.request_capacity(&[])];
        let len = handshake
            .write_request(&[], &mut bytes)
            .map_err(Error::Handshake)?;
        bytes.truncate(len);
        let tls = if url.secure {
            Some(self.client_tls(&url.host)?)
        } else {
            None
        };
        let stream = TcpStream::connect(addr)?;
        let handshake = ClientHandshake {
            handshake,
            reported: false,
        };
        let phase = Phase::ClientHandshake(Box::new(handshake));
        let index = self.insert(stream, tls, phase, Role::Client)?;
        if let Some(office) = &self.office {
            // Counted, not capped: the cap is on what the server accepts.
            office.add_connection();
        }
        self.conns[index].out = bytes;
        self.mark_dirty(index);
        Ok(self.id_of(index))
    }

    /// The TLS layer of a `wss://` client to `host`, trusting what
    /// `Config::tls` says (the default: the machine's roots).
    #[cfg(feature = "tls")]
    fn client_tls(&self, host: &str) -> Result<Box<TlsLayer>, Error> {
        let config = match &self.config.tls {
            Some(tls) => std::sync::Arc::clone(&tls.0),
            None => crate::tls::default_client_config()?,
        };
        TlsLayer::client(&config, host)
    }

    /// Without the feature `tls`, `parse_url` refused `wss://` already.
    #[cfg(not(feature = "tls"))]
    fn client_tls(&self, _: &str) -> Result<Box<TlsLayer>, Error> {
        Err(Error::Url("wss:// needs ws-mio's feature \"tls\"".into()))
    }

    /// Answer a bad request or one the handler refused (`Err`; a refusal
    /// that cannot be sent as given becomes a bare 500) and close once the
    /// answer is out.
    pub(crate) fn refuse(&mut self, index: usize, answer: Result<HandshakeError, Refusal>) {
        let now = self.clock(Instant::now());
        let conn = &mut self.conns[index];
        conn.phase = Phase::Refused;
        conn.out.clear();
        conn.out_pos = 0;
        match answer {
            Err(refusal) => {
                // What was wrong with it cannot be told to anyone here:
                // the handler is done with it; the peer gets the 500.
                let _ = refusal.write(&mut conn.out);
            }
            Ok(error) => {
                conn.out.resize(512, 0);
                let written = write_refusal(&error, &mut conn.out).unwrap_or(0);
                conn.out.truncate(written);
            }
        }
        // The refusal has the close timeout to go out.
        conn.timers.on_close_sent(now);
        self.mark_dirty(index);
        self.arm(index);
    }

    /// Server side: feed the request read so far to the handshake. Once
    /// it is complete and valid the 101 is written (not sent yet) and
    /// [`Event::Open`] queued for the handler to decide; a bad request,
    /// or an origin not allowed, is refused.
    pub(crate) fn finish_server_handshake(&mut self, index: usize) {
        let conn = &mut self.conns[index];
        let head = std::mem::take(&mut conn.inbuf);
        let Phase::ServerHandshake(handshake) = &mut conn.phase else {
            return;
        };
        let incoming = match handshake.feed(&head) {
            Ok(Status::Complete(incoming)) => incoming,
            Ok(Status::Partial) => {
                conn.inbuf = head;
                return;
            }
            Err(error) => {
                self.pool.give(head);
                return self.refuse(index, Ok(error));
            }
        };
        let request = incoming.request();
        if !origin_allowed(
            self.config.allowed_origins.as_deref(),
            request.header("origin"),
        ) {
            self.pool.give(head);
            return self.refuse(index, Err(Refusal::forbidden()));
        }
        let chosen = self
            .config
            .session
            .choose_subprotocol(request)
            .map(str::to_owned);
        write_101(&mut conn.out, &incoming, chosen.as_deref());
        let consumed = incoming.consumed();
        let agreed = incoming.deflate().zip(self.config.session.compression);
        let side = match std::mem::replace(&mut conn.phase, Phase::Open) {
            Phase::ServerHandshake(handshake) => Side::Server { handshake, chosen },
            // Matched above.
            _ => return,
        };
        self.handshake_done(index, Role::Server, agreed, head, consumed, side);
    }

    /// Client side: feed the response read so far to the connection's
    /// ws-proto `ClientHandshake`; once it has checked a complete
    /// response, queue [`Event::Open`]. A bad response ends the
    /// connection (with `on_error`).
    pub(crate) fn finish_client_handshake(&mut self, index: usize) {
        let conn = &mut self.conns[index];
        let Phase::ClientHandshake(state) = &mut conn.phase else {
            return;
        };
        let head = std::mem::take(&mut conn.inbuf);
        let done = match state.handshake.feed(&head) {
            Ok(Status::Complete(done)) => done,
            Ok(Status::Partial) => {
                conn.inbuf = head;
                return;
            }
            Err(err) => {
                let error = match err {
                    HandshakeError::BadStatus(status) => Error::HttpStatus(status),
                    HandshakeError::Deflate(err) => Error::Extension(err),
                    err => Error::Handshake(err),
                };
                self.report_failed_connect(index, error);
                self.pool.give(head);
                return self.remove(index);
            }
        };
        let agreed = done.deflate.zip(self.config.session.compression);
        let consumed = done.consumed;
        let side = match std::mem::replace(&mut conn.phase, Phase::Open) {
            Phase::ClientHandshake(state) => Side::Client(state),
            // Matched above.
            _ => return,
        };
        self.handshake_done(index, Role::Client, agreed, head, consumed, side);
    }

    /// The handshake agreed: the connection is open for the protocol core
    /// (its timers too), and the handler is to decide.
    fn handshake_done(
        &mut self,
        index: usize,
        role: Role,
        deflate: Option<(DeflateParams, CompressionConfig)>,
        head: Vec<u8>,
        consumed: usize,
        side: Side,
    ) {
        let heard = self.clock(self.conns[index].last_read);
        let conn = &mut self.conns[index];
        conn.timers.on_open(heard);
        if let Some((params, compression)) = deflate {
            debug_assert_eq!(conn.proto.role(), role);
            conn.messages
                .enable_deflate(&mut conn.proto, params, compression);
        }
        let id = self.id_of(index);
        let opening = self.openings.insert(PendingOpen {
            head,
            consumed,
            side,
        });
        self.events.push_back(Event::Open { index, id, opening });
    }

    /// The handler's `on_open` answered for a connection whose handshake
    /// completed: keep it with its data, or refuse it (a server sends the
    /// status; a client just closes). Returns whether it is open.
    pub(crate) fn settle_open(&mut self, index: usize, answer: Result<D, Refusal>) -> bool {
        let conn = &mut self.conns[index];
        match answer {
            Ok(data) => {
                conn.data = Some(data);
                conn.opened = true;
                self.count_opened(true);
                // The 101 (a server's) and what on_open sent go out.
                self.mark_dirty(index);
                // The idle deadline may come before the handshake's.
                self.arm(index);
                true
            }
            Err(refusal) if conn.proto.role() == Role::Server => {
                self.refuse(index, Err(refusal));
                false
            }
            Err(_) => {
                self.remove(index);
                false
            }
        }
    }
}

/// Write the 101 that accepts `incoming` (with subprotocol `chosen`) to
/// `out`. It waits there until the handler's `on_open` agreed.
fn write_101(out: &mut Vec<u8>, incoming: &Incoming<'_>, chosen: Option<&str>) {
    let answer = Accept {
        subprotocol: chosen,
        headers: &[],
    };
    out.resize(
        384 + chosen.map_or(0, str::len) + deflate::HEADER_CAPACITY,
        0,
    );
    let written = incoming
        .accept(&answer, out)
        .map_or(0, |done| done.response_len);
    out.truncate(written);
}

/// Whether a request with this `Origin` header may upgrade (`allowed`:
/// the configured list, `None` for any).
fn origin_allowed(allowed: Option<&[String]>, origin: Option<&[u8]>) -> bool {
    let Some(allowed) = allowed else {
        return true;
    };
    origin
        .and_then(|origin| std::str::from_utf8(origin).ok())
        .is_some_and(|origin| {
            let origin = origin.trim();
            allowed.iter().any(|ok| ok.eq_ignore_ascii_case(origin))
        })
}

/// Copy the bytes that came after a handshake head (frames sent at once)
/// into `buf` after the headroom; returns how many.
pub(crate) fn pass_on_early_bytes(buf: &mut [u8], rest: &[u8]) -> usize {
    let early = rest.len().min(buf.len() - HEADROOM);
    buf[HEADROOM..HEADROOM + early].copy_from_slice(&rest[..early]);
    early
}
