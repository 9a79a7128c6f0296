//! The opening handshake over a blocking stream, both sides, driving the
//! state machines of `ws_proto::handshake` ([`ClientHandshake`],
//! [`ServerHandshake`]) over the stream's reads and writes, each started
//! from the configuration by `ws_proto::SessionConfig`.
//!
//! [`ClientHandshake`]: ws_proto::handshake::ClientHandshake
//! [`ServerHandshake`]: ws_proto::handshake::ServerHandshake

use std::io;

use ws_proto::handshake::server::write_refusal;
use ws_proto::handshake::{Acceptance as Accept, Status};
use ws_proto::timer::{Deadline, Timers};
use ws_proto::{HandshakeError, Role};

use crate::clock;
use crate::config::Config;
use crate::error::{timed_out, Error, Result};
use crate::request::{copy_headers, OpenedWith, RequestView};
use crate::stream::Stream;
use crate::websocket::WebSocket;
use ws_proto::handshake::Refusal;
use ws_proto::mask::os_entropy;

/// Perform the server side of the handshake on `stream` (Vais
/// `WsServer::accept` after the TCP accept) and return the connection.
///
/// A bad request is answered with the matching HTTP refusal (400, 426 with
/// `Sec-WebSocket-Version: 13`, or 431) and the stream is shut down. To
/// look at the request (path, `Origin`, credentials) and accept or refuse
/// it, use [`accept_with`].
pub fn accept<S: Stream>(stream: S, config: &Config) -> Result<WebSocket<S>> {
    upgrade_with_config(stream, &[], config)
}

/// [`accept`], with the application's say: once the request has passed
/// every RFC 6455 check, `decide` sees it ([`RequestView`]: path, host,
/// origin, headers, offered subprotocols, peer address) and returns
/// `Ok(`[`Accept`]`)` to answer `101 Switching Protocols` (with a chosen
/// subprotocol and extra headers, if any) or `Err(`[`Refusal`]`)` to answer
/// with an HTTP error.
///
/// - Accepted: the connection, which keeps a copy of the request
///   ([`WebSocket::opened_with`]).
/// - Refused: the refusal is written (status line with its reason phrase,
///   `Connection: close`, `Content-Length`, the refusal's headers, its
///   body), the stream is shut down, and the result is
///   [`Error::Refused`] with the status.
/// - An answer that cannot be written as given (a header name that is not
///   a token or that the handshake writes itself, a value with CR or LF, a
///   status outside 400 to 599, a subprotocol the client did not offer):
///   nothing of it is sent; the client gets a bare
///   `500 Internal Server Error`, the stream is shut down, and the result
///   is [`Error::Handshake`] saying what was wrong.
/// - A request that breaks RFC 6455 is refused as by [`accept`], without
///   calling `decide`.
///
/// ```no_run
/// use std::net::TcpListener;
/// use ws_std::{accept_with, Accept, Config, Refusal};
///
/// let listener = TcpListener::bind("127.0.0.1:9001")?;
/// let (stream, _) = listener.accept()?;
/// let mut ws = accept_with(stream, &Config::default(), |request| {
///     match request.path() {
///         "/chat" => Ok(Accept::new().header("X-Served-By", "ws-std")),
///         _ => Err(Refusal::not_found().body("no such socket\n")),
///     }
/// })?;
/// let message = ws.recv()?;
/// # let _ = message;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn accept_with<S, F>(stream: S, config: &Config, decide: F) -> Result<WebSocket<S>>
where
    S: Stream,
    F: FnOnce(&RequestView<'_>) -> std::result::Result<Accept, Refusal>,
{
    upgrade_with(stream, &[], config, decide)
}

/// Upgrade a connection whose HTTP request an existing HTTP server has
/// already read, in part or whole (Vais `ws_upgrade`). `already_read` is
/// every byte read from the stream so far, from the first byte of the
/// request; bytes after the request (frames sent at once) are kept. To
/// accept or refuse the request on its contents, use [`upgrade_with`].
pub fn ws_upgrade<S: Stream>(stream: S, already_read: &[u8]) -> Result<WebSocket<S>> {
    upgrade_with_config(stream, already_read, &Config::default())
}

/// [`ws_upgrade`] with a configuration.
pub fn upgrade_with_config<S: Stream>(
    stream: S,
    already_read: &[u8],
    config: &Config,
) -> Result<WebSocket<S>> {
    upgrade_with(stream, already_read, config, |_| Ok(Accept::new()))
}

/// [`upgrade_with_config`] with the application's say, for an existing
/// HTTP server: `already_read` is every byte read from the stream so far,
/// and `decide` accepts or refuses the request exactly as in
/// [`accept_with`], which describes what is sent and returned.
pub fn upgrade_with<S, F>(
    stream: S,
    already_read: &[u8],
    config: &Config,
    decide: F,
) -> Result<WebSocket<S>>
where
    S: Stream,
    F: FnOnce(&RequestView<'_>) -> std::result::Result<Accept, Refusal>,
{
    upgrade_within(
        stream,
        already_read,
        config,
        decide,
        handshake_deadline(config),
    )
}

/// [`upgrade_with`] within a deadline taken earlier (by a server, before
/// its TLS handshake).
pub(crate) fn upgrade_within<S, F>(
    mut stream: S,
    already_read: &[u8],
    config: &Config,
    decide: F,
    deadline: Option<Deadline>,
) -> Result<WebSocket<S>>
where
    S: Stream,
    F: FnOnce(&RequestView<'_>) -> std::result::Result<Accept, Refusal>,
{
    let mut received = already_read.to_vec();
    let mut handshake = config.session.server_handshake();
    let peer_addr = stream.peer_addr();
    loop {
        match handshake.feed(&received) {
            Ok(Status::Complete(incoming)) => {
                let request = incoming.request();
                let accept = match decide(&RequestView::new(request, peer_addr)) {
                    Ok(accept) => accept,
                    Err(refusal) => return Err(reject(&mut stream, &refusal, config)),
                };
                let mut response = Vec::new();
                let done = match accept.write_response(
                    &incoming,
                    &config.session.subprotocols,
                    &mut response,
                ) {
                    Ok(done) => done,
                    Err(err) => return Err(fail_answer(&mut stream, err, config)),
                };
                stream.set_write_timeout(config.write_timeout)?;
                stream.write_all(&response)?;
                stream.set_read_timeout(config.read_timeout)?;
                let rest = &received[done.consumed..];
                let chosen = done.subprotocol.map(str::to_owned);
                let mut ws =
                    WebSocket::from_parts(stream, Role::Server, config.clone(), rest, chosen);
                ws.set_opened_with(OpenedWith::from_request(request, peer_addr));
                if let (Some(params), Some(compression)) =
                    (done.deflate, config.session.compression)
                {
                    ws.enable_deflate(params, compression);
                }
                return Ok(ws);
            }
            Ok(Status::Partial) => read_more(&mut stream, &mut received, deadline)?,
            Err(refusal) => {
                refuse(&mut stream, &refusal);
                return Err(Error::Handshake(refusal));
            }
        }
    }
}

/// Answer a bad request and close; errors writing the answer do not matter
/// any more.
fn refuse<S: Stream>(stream: &mut S, refusal: &HandshakeError) {
    let mut response = [0u8; 512];
    if let Ok(len) = write_refusal(refusal, &mut response) {
        let _ = stream.write_all(&response[..len]);
    }
    let _ = stream.shutdown();
}

/// Send the application's refusal and close: [`Error::Refused`], or, if
/// the refusal cannot be written as given, a bare 500 and
/// [`Error::Handshake`] saying why.
fn reject<S: Stream>(stream: &mut S, refusal: &Refusal, config: &Config) -> Error {
    let mut response = Vec::new();
    let written = refusal.write(&mut response);
    send_and_close(stream, &response, config);
    match written {
        Ok(()) => Error::Refused {
            status: refusal.status(),
        },
        Err(err) => Error::Handshake(err),
    }
}

/// The application's answer could not be written (`err` says why): send
/// a bare 500 instead, close, and return the error.
fn fail_answer<S: Stream>(stream: &mut S, err: HandshakeError, config: &Config) -> Error {
    let mut response = Vec::new();
    let _ = Refusal::new(500).write(&mut response);
    send_and_close(stream, &response, config);
    Error::Handshake(err)
}

/// Write a last answer within the write timeout, then shut the stream
/// down; errors do not matter any more.
fn send_and_close<S: Stream>(stream: &mut S, response: &[u8], config: &Config) {
    let _ = stream.set_write_timeout(config.write_timeout);
    let _ = stream.write_all(response);
    let _ = stream.flush();
    let _ = stream.shutdown();
}

/// The deadline of an opening handshake that begins now, as the core's
/// timers run it ([`TimerConfig::handshake`](ws_proto::TimerConfig::handshake));
/// `None` without a handshake timeout.
pub(crate) fn handshake_deadline(config: &Config) -> Option<Deadline> {
    let now = clock::now();
    Timers::new(config.session.timers, now).deadline(now)
}

/// Read what has arrived, within the handshake deadline: the read timeout
/// is what is left of it, so a request or response trickling in cannot
/// outlast it.
fn read_more<S: Stream>(
    stream: &mut S,
    received: &mut Vec<u8>,
    deadline: Option<Deadline>,
) -> Result<()> {
    if let Some(deadline) = deadline {
        let Some(left) = deadline.remaining(clock::now()) else {
            return Err(Error::Io(timed_out("handshake", deadline.allowed())));
        };
        stream.set_read_timeout(Some(left))?;
    }
    let mut chunk = [0u8; 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => {
                let eof = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed during the handshake",
                );
                return Err(Error::Io(eof));
            }
            Ok(n) => {
                received.extend_from_slice(&chunk[..n]);
                return Ok(());
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            // The socket's read timeout is what is left of the handshake's:
            // say so rather than "Resource temporarily unavailable".
            Err(err) => {
                return Err(Error::Io(match deadline {
                    Some(deadline) if is_timeout(&err) => {
                        timed_out("handshake", deadline.allowed())
                    }
                    _ => err,
                }))
            }
        }
    }
}

fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Perform the client side of the handshake on a connected stream:
/// `host` is the `Host` header value (with the port when it is not the
/// default) and `path` the request target (path and query).
pub fn client_handshake<S: Stream>(
    stream: S,
    host: &str,
    path: &str,
    config: &Config,
) -> Result<WebSocket<S>> {
    client_handshake_within(stream, host, path, config, handshake_deadline(config))
}

/// [`client_handshake`] within a deadline taken earlier (by `connect`,
/// before its TCP connect and TLS handshake).
pub(crate) fn client_handshake_within<S: Stream>(
    mut stream: S,
    host: &str,
    path: &str,
    config: &Config,
    deadline: Option<Deadline>,
) -> Result<WebSocket<S>> {
    let mut key = [0u8; 16];
    os_entropy(&mut key);
    let mut handshake = config.session.client_handshake(host, path, key)?;
    let out = handshake.request_bytes(&config.extra_headers)?;
    stream.set_write_timeout(config.write_timeout)?;
    stream.write_all(&out)?;

    let mut received = Vec::new();
    loop {
        if let Status::Complete(done) = handshake.feed(&received)? {
            let opened_with = OpenedWith {
                path: path.to_owned(),
                host: host.to_owned(),
                origin: config
                    .extra_headers
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case("Origin"))
                    .map(|(_, value)| value.clone()),
                headers: copy_headers(done.response.headers()),
                peer_addr: stream.peer_addr(),
            };
            let rest = &received[done.consumed..];
            let subprotocol = done.subprotocol.map(str::to_owned);
            stream.set_read_timeout(config.read_timeout)?;
            let mut ws =
                WebSocket::from_parts(stream, Role::Client, config.clone(), rest, subprotocol);
            ws.set_opened_with(opened_with);
            if let (Some(params), Some(compression)) = (done.deflate, config.session.compression) {
                ws.enable_deflate(params, compression);
            }
            return Ok(ws);
        }
        read_more(&mut stream, &mut received, deadline)?;
    }
}
