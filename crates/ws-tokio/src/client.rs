//! Connecting to a server.

use tokio::net::TcpStream;
use ws_proto::url::WsUrl;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::handshake::client_handshake;
use crate::websocket::WebSocket;

/// Connect to a `ws://host[:port]/path` URL with the default [`Config`]:
/// TCP connect (each resolved address in turn), `TCP_NODELAY`, then the
/// client handshake, offering permessage-deflate.
///
/// `wss://` is not supported yet: it fails with [`Error::Url`]. Connect
/// a TLS stream yourself and run [`client_handshake`] over it.
pub async fn connect(url: &str) -> Result<WebSocket<TcpStream>> {
    connect_with_config(url, &Config::default()).await
}

/// [`connect`] with a configuration (subprotocols to offer, extra
/// headers, limits, timers). The TCP connect counts against the
/// handshake timeout.
pub async fn connect_with_config(url: &str, config: &Config) -> Result<WebSocket<TcpStream>> {
    let parsed = WsUrl::parse(url).map_err(|err| Error::Url(err.0))?;
    if parsed.secure {
        return Err(Error::Url(format!(
            "{url}: wss:// (TLS) is not supported by ws-tokio yet; connect a TLS stream \
             and call client_handshake over it"
        )));
    }
    let url = parsed;
    let connecting = TcpStream::connect((url.host.as_str(), url.port));
    let stream = match config.session.timers.handshake {
        Some(timeout) => tokio::time::timeout(timeout, connecting)
            .await
            .map_err(|_| Error::TimedOut("opening"))??,
        None => connecting.await?,
    };
    stream.set_nodelay(true)?;
    client_handshake(stream, &url.host_header(), &url.path, config).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wss_is_refused_with_a_clear_error() {
        let err = connect("wss://example.com/").await.unwrap_err();
        assert!(
            matches!(&err, Error::Url(why) if why.contains("not supported")),
            "{err}"
        );
        let err = connect("http://example.com/").await.unwrap_err();
        assert!(matches!(err, Error::Url(_)), "{err}");
    }
}
