//! The opening handshake over a blocking stream, both sides, driving the
//! parsers and writers of `ws_proto::handshake`.

use std::io;
use std::time::{Duration, Instant};

use ws_proto::handshake::client::{ClientRequest, ResponseParser};
use ws_proto::handshake::server::{write_refusal, write_response, RequestParser};
use ws_proto::{deflate, HandshakeError, Role};

use crate::config::Config;
use crate::error::{timed_out, Error, Result};
use crate::stream::Stream;
use crate::websocket::WebSocket;
use ws_proto::mask::os_entropy;

/// Perform the server side of the handshake on `stream` (Vais
/// `WsServer::accept` after the TCP accept) and return the connection.
///
/// A bad request is answered with the matching HTTP refusal (400, 426 with
/// `Sec-WebSocket-Version: 13`, or 431) and the stream is shut down.
pub fn accept<S: Stream>(stream: S, config: &Config) -> Result<WebSocket<S>> {
    upgrade_with_config(stream, &[], config)
}

/// Upgrade a connection whose HTTP request an existing HTTP server has
/// already read, in part or whole (Vais `ws_upgrade`). `already_read` is
/// every byte read from the stream so far, from the first byte of the
/// request; bytes after the request (frames sent at once) are kept.
pub fn ws_upgrade<S: Stream>(stream: S, already_read: &[u8]) -> Result<WebSocket<S>> {
    upgrade_with_config(stream, already_read, &Config::default())
}

/// [`ws_upgrade`] with a configuration.
pub fn upgrade_with_config<S: Stream>(
    mut stream: S,
    already_read: &[u8],
    config: &Config,
) -> Result<WebSocket<S>> {
    let deadline = config
        .handshake_timeout
        .map(|timeout| (Instant::now() + timeout, timeout));
    let mut received = already_read.to_vec();
    let mut parser = RequestParser::with_max_header_len(config.max_handshake_header);
    loop {
        match parser.parse(&received) {
            Ok(Some(request)) => {
                let supported: Vec<&str> = config.subprotocols.iter().map(String::as_str).collect();
                let chosen = request.choose_subprotocol(&supported).map(str::to_owned);
                let deflate = config.compression.and_then(|compression| {
                    deflate::negotiate(request.extensions(), &compression.negotiation)
                });
                let accepted = deflate.map(|params| deflate::response_header(&params));
                let mut response = vec![0; 384 + chosen.as_ref().map_or(0, String::len)];
                let len = write_response(
                    request.key(),
                    chosen.as_deref(),
                    accepted.as_deref(),
                    &[],
                    &mut response,
                )?;
                let consumed = request.consumed();
                stream.set_write_timeout(config.write_timeout)?;
                stream.write_all(&response[..len])?;
                stream.set_read_timeout(config.read_timeout)?;
                let rest = &received[consumed..];
                let mut ws =
                    WebSocket::from_parts(stream, Role::Server, config.clone(), rest, chosen);
                if let (Some(params), Some(compression)) = (deflate, config.compression) {
                    ws.enable_deflate(params, compression);
                }
                return Ok(ws);
            }
            Ok(None) => read_more(&mut stream, &mut received, deadline)?,
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

/// Read what has arrived, within the handshake deadline (the instant and
/// the configured timeout it came from, for the message).
fn read_more<S: Stream>(
    stream: &mut S,
    received: &mut Vec<u8>,
    deadline: Option<(Instant, Duration)>,
) -> Result<()> {
    if let Some((deadline, timeout)) = deadline {
        let left = deadline.checked_duration_since(Instant::now());
        let Some(left) = left.filter(|left| !left.is_zero()) else {
            return Err(Error::Io(timed_out("handshake", timeout)));
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
                    Some((_, timeout)) if is_timeout(&err) => timed_out("handshake", timeout),
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
    mut stream: S,
    host: &str,
    path: &str,
    config: &Config,
) -> Result<WebSocket<S>> {
    let deadline = config
        .handshake_timeout
        .map(|timeout| (Instant::now() + timeout, timeout));
    let mut key = [0u8; 16];
    os_entropy(&mut key);
    let offered: Vec<&str> = config.subprotocols.iter().map(String::as_str).collect();
    let extra: Vec<(&str, &str)> = config
        .extra_headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let offer = config
        .compression
        .map(|compression| deflate::offer_header(&compression.negotiation));
    let request = ClientRequest {
        subprotocols: &offered,
        extra_headers: &extra,
        extensions: offer.as_deref(),
        ..ClientRequest::new(host, path, key)
    };
    let extra_len: usize = extra.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
    let mut out = vec![
        0;
        512 + host.len()
            + path.len()
            + extra_len
            + offered.iter().map(|p| p.len() + 2).sum::<usize>()
            + offer.as_ref().map_or(0, |offer| offer.len() + 32)
    ];
    let len = request.write(&mut out)?;
    stream.set_write_timeout(config.write_timeout)?;
    stream.write_all(&out[..len])?;

    let mut parser = ResponseParser::with_max_header_len(&request, config.max_handshake_header);
    let mut received = Vec::new();
    loop {
        if let Some(response) = parser.parse(&received)? {
            let subprotocol = response.subprotocol().map(str::to_owned);
            let deflate = match config.compression {
                Some(compression) => {
                    deflate::accept_response(response.extensions(), &compression.negotiation)
                        .map_err(Error::Extension)?
                        .map(|params| (params, compression))
                }
                None => None,
            };
            let rest = &received[response.consumed()..];
            stream.set_read_timeout(config.read_timeout)?;
            let mut ws =
                WebSocket::from_parts(stream, Role::Client, config.clone(), rest, subprotocol);
            if let Some((params, compression)) = deflate {
                ws.enable_deflate(params, compression);
            }
            return Ok(ws);
        }
        read_more(&mut stream, &mut received, deadline)?;
    }
}
