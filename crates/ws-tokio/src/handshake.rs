//! The opening handshake over an async stream, both sides, driving the
//! state machines of `ws_proto::handshake` ([`ServerHandshake`],
//! [`ClientHandshake`]) over the stream's reads and writes, within the
//! handshake deadline of the core's timers.

use std::future::Future;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use ws_proto::handshake::server::{write_refusal, Request};
use ws_proto::handshake::{Acceptance, ClientHandshake, Refusal, ServerHandshake, Status};
use ws_proto::mask::os_entropy;
use ws_proto::timer::Timers;
use ws_proto::Role;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::websocket::WebSocket;

/// Perform the server side of the handshake on an accepted stream, with
/// the default [`Config`], and return the connection.
///
/// A request that breaks RFC 6455 is answered with the matching HTTP
/// refusal (400, 426 with `Sec-WebSocket-Version: 13`, 431), the stream
/// is shut down and the result is [`Error::Handshake`]. To look at the
/// request and accept or refuse it, use [`accept_with`].
pub async fn accept<S>(stream: S) -> Result<WebSocket<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_with_config(stream, &Config::default(), |_| Ok(Acceptance::new())).await
}

/// [`accept`], with the application's say: once the request has passed
/// every RFC 6455 check, `decide` sees it (path and query, host, origin,
/// headers, offered subprotocols) and returns `Ok(`[`Accept`](crate::Accept)`)`
/// to answer `101 Switching Protocols` (with a subprotocol and extra
/// headers if it chose them) or `Err(`[`Refusal`]`)` to answer with an
/// HTTP error (status, headers, body).
///
/// - Refused: the refusal is written, the stream shut down, and the
///   result is [`Error::Refused`] with its status.
/// - An answer that cannot be written as given (a reserved header, a
///   value with CR or LF, a status outside 400 to 599, a subprotocol the
///   client did not offer): the client gets a bare `500`, and the result
///   is [`Error::Handshake`] saying what was wrong.
///
/// ```no_run
/// use ws_tokio::{accept_with, Accept, Refusal};
///
/// # async fn run() -> ws_tokio::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:9004").await?;
/// let (stream, _) = listener.accept().await?;
/// let mut ws = accept_with(stream, |request| match request.path() {
///     "/chat" => Ok(Accept::new().header("X-Served-By", "ws-tokio")),
///     _ => Err(Refusal::not_found().body("no such socket\n")),
/// })
/// .await?;
/// # let _ = ws.recv().await;
/// # Ok(())
/// # }
/// ```
pub async fn accept_with<S, F>(stream: S, decide: F) -> Result<WebSocket<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request<'_>) -> std::result::Result<Acceptance, Refusal>,
{
    accept_with_config(stream, &Config::default(), decide).await
}

/// [`accept_with`] with a configuration (limits, timers, compression,
/// the subprotocols the server supports).
pub async fn accept_with_config<S, F>(stream: S, config: &Config, decide: F) -> Result<WebSocket<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request<'_>) -> std::result::Result<Acceptance, Refusal>,
{
    within_handshake_deadline(config, server_handshake(stream, config, decide)).await
}

async fn server_handshake<S, F>(mut stream: S, config: &Config, decide: F) -> Result<WebSocket<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request<'_>) -> std::result::Result<Acceptance, Refusal>,
{
    let mut handshake = ServerHandshake::with_max_header_len(config.session.max_handshake_header);
    if let Some(compression) = config.session.compression {
        handshake.negotiate_deflate(compression.negotiation);
    }
    let mut received = Vec::new();
    loop {
        let incoming = match handshake.feed(&received) {
            Ok(Status::Complete(incoming)) => incoming,
            Ok(Status::Partial) => {
                read_more(&mut stream, &mut received).await?;
                continue;
            }
            Err(err) => {
                let mut response = [0u8; 512];
                let len = write_refusal(&err, &mut response).unwrap_or(0);
                send_and_close(&mut stream, &response[..len]).await;
                return Err(Error::Handshake(err));
            }
        };
        let mut response = Vec::new();
        let acceptance = match decide(incoming.request()) {
            Ok(acceptance) => acceptance,
            Err(refusal) => {
                let written = refusal.write(&mut response);
                send_and_close(&mut stream, &response).await;
                return Err(match written {
                    Ok(()) => Error::Refused {
                        status: refusal.status(),
                    },
                    Err(err) => Error::Handshake(err),
                });
            }
        };
        let supported = &config.session.subprotocols;
        let done = match acceptance.write_response(&incoming, supported, &mut response) {
            Ok(done) => done,
            Err(err) => {
                let _ = Refusal::new(500).write(&mut response);
                send_and_close(&mut stream, &response).await;
                return Err(Error::Handshake(err));
            }
        };
        stream.write_all(&response).await?;
        stream.flush().await?;
        let rest = &received[done.consumed..];
        let opened = (rest, done.subprotocol, done.deflate);
        return Ok(WebSocket::from_parts(stream, Role::Server, config, opened));
    }
}

/// Perform the client side of the handshake on a connected stream (a TCP
/// stream, a TLS stream over it): `host` is the `Host` header value (with
/// the port when it is not the default) and `target` the request target
/// (path and query). A fresh random key is drawn from the OS; the
/// subprotocols, permessage-deflate offer and extra headers come from
/// `config`.
pub async fn client_handshake<S>(
    stream: S,
    host: &str,
    target: &str,
    config: &Config,
) -> Result<WebSocket<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut key = [0u8; 16];
    os_entropy(&mut key);
    let handshake = config.session.client_handshake(host, target, key)?;
    within_handshake_deadline(config, run_client(stream, handshake, config)).await
}

async fn run_client<S>(
    mut stream: S,
    mut handshake: ClientHandshake,
    config: &Config,
) -> Result<WebSocket<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let request = handshake.request_bytes(&config.extra_headers)?;
    stream.write_all(&request).await?;
    stream.flush().await?;
    let mut received = Vec::new();
    loop {
        if let Status::Complete(done) = handshake.feed(&received)? {
            let opened = (&received[done.consumed..], done.subprotocol, done.deflate);
            return Ok(WebSocket::from_parts(stream, Role::Client, config, opened));
        }
        read_more(&mut stream, &mut received).await?;
    }
}

/// Run a handshake within the handshake deadline of the core's timers
/// ([`TimerConfig::handshake`](ws_proto::TimerConfig::handshake)); past
/// it the stream is dropped and the result is [`Error::TimedOut`].
async fn within_handshake_deadline<T>(
    config: &Config,
    handshake: impl Future<Output = Result<T>>,
) -> Result<T> {
    match Timers::new(config.session.timers, Duration::ZERO).poll_timeout() {
        Some(deadline) => tokio::time::timeout(deadline, handshake)
            .await
            .unwrap_or(Err(Error::TimedOut("opening"))),
        None => handshake.await,
    }
}

/// Read what has arrived onto `received`.
async fn read_more<S: AsyncRead + Unpin>(stream: &mut S, received: &mut Vec<u8>) -> Result<()> {
    let mut chunk = [0u8; 1024];
    match stream.read(&mut chunk).await? {
        0 => Err(Error::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed during the handshake",
        ))),
        n => {
            received.extend_from_slice(&chunk[..n]);
            Ok(())
        }
    }
}

/// Write a last answer and shut the stream down; errors do not matter
/// any more.
async fn send_and_close<S: AsyncWrite + Unpin>(stream: &mut S, response: &[u8]) {
    let _ = stream.write_all(response).await;
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
}
