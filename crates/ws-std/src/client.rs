//! Connecting to a server.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::clock;
use crate::config::Config;
use crate::error::{timed_out, Error, Result};
use crate::handshake::{client_handshake_within, handshake_deadline};
use crate::stream::{at_least_a_microsecond, MaybeTlsStream};
use crate::websocket::WebSocket;
use ws_proto::timer::Deadline;
use ws_proto::url::WsUrl;

/// Connect to a `ws://host:port/path` or `wss://host:port/path` URL with
/// the default [`Config`]: TCP connect (each resolved address in turn),
/// `TCP_NODELAY`, for `wss://` the TLS handshake (feature `tls`: see
/// the module `tls` for whom it trusts), then the WebSocket handshake
/// with a fresh random key, all within the handshake timeout.
pub fn connect(url: &str) -> Result<WebSocket<MaybeTlsStream>> {
    connect_with_config(url, &Config::default())
}

/// [`connect`] with a configuration (subprotocols to offer, extra headers,
/// limits, timeouts, TLS).
pub fn connect_with_config(url: &str, config: &Config) -> Result<WebSocket<MaybeTlsStream>> {
    let url = WsUrl::parse(url).map_err(|err| Error::Url(err.0))?;
    // One deadline for the TCP connect, TLS and the upgrade together.
    let deadline = handshake_deadline(config);
    let tcp = connect_tcp(&url, left(deadline)?.unwrap_or(Duration::from_secs(30)))?;
    tcp.set_nodelay(true)?;
    let stream = if url.secure {
        secure(tcp, &url, config, deadline)?
    } else {
        MaybeTlsStream::Plain(tcp)
    };
    client_handshake_within(stream, &url.host_header(), &url.path, config, deadline)
}

/// What is left of the handshake deadline for the TCP connect.
fn left(deadline: Option<Deadline>) -> Result<Option<Duration>> {
    let Some(deadline) = deadline else {
        return Ok(None);
    };
    match deadline.remaining(clock::now()) {
        Some(left) => Ok(Some(at_least_a_microsecond(left))),
        None => Err(Error::Io(timed_out("connect", deadline.allowed()))),
    }
}

#[cfg(feature = "tls")]
fn secure(
    tcp: TcpStream,
    url: &WsUrl,
    config: &Config,
    deadline: Option<Deadline>,
) -> Result<MaybeTlsStream> {
    let tls = match &config.tls {
        Some(tls) => std::sync::Arc::clone(&tls.0),
        None => crate::tls::default_client_config()?,
    };
    let stream = crate::tls::connect_within(tcp, &url.host, tls, deadline)?;
    Ok(MaybeTlsStream::Tls(Box::new(stream)))
}

#[cfg(not(feature = "tls"))]
fn secure(_: TcpStream, _: &WsUrl, _: &Config, _: Option<Deadline>) -> Result<MaybeTlsStream> {
    Err(Error::Url(
        "wss:// needs ws-std's feature \"tls\" (on by default)".into(),
    ))
}

fn connect_tcp(url: &WsUrl, timeout: Duration) -> Result<TcpStream> {
    let mut last_error = None;
    for addr in (url.host.as_str(), url.port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => return Ok(stream),
            Err(err) => last_error = Some(err),
        }
    }
    let err = last_error
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "host resolved to no address"));
    Err(Error::Io(err))
}
