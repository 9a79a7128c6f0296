//! Connecting to a server.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::handshake::client_handshake;
use crate::websocket::WebSocket;
use ws_proto::url::WsUrl;

/// Connect to a `ws://host:port/path` URL with the default [`Config`]:
/// TCP connect (each resolved address in turn), `TCP_NODELAY`, then the
/// client handshake with a fresh random key.
pub fn connect(url: &str) -> Result<WebSocket<TcpStream>> {
    connect_with_config(url, &Config::default())
}

/// [`connect`] with a configuration (subprotocols to offer, extra headers,
/// limits, timeouts).
pub fn connect_with_config(url: &str, config: &Config) -> Result<WebSocket<TcpStream>> {
    let url = WsUrl::parse(url).map_err(|err| Error::Url(err.0))?;
    let timeout = config
        .session
        .timers
        .handshake
        .unwrap_or(Duration::from_secs(30));
    let stream = connect_tcp(&url, timeout)?;
    stream.set_nodelay(true)?;
    client_handshake(stream, &url.host_header(), &url.path, config)
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
