//! `ws-std`: blocking WebSockets (RFC 6455) over any `Read + Write` stream,
//! driven by the `ws-proto` core.
//!
//! One thread per connection and `let msg = ws.recv()?`:
//!
//! ```
//! use ws_std::{connect, Message, WsServer};
//!
//! // An echo server on a free port of the loopback interface...
//! let server = WsServer::bind("127.0.0.1:0")?;
//! let url = format!("ws://{}/", server.local_addr()?);
//! let stop = server.stop_handle();
//! let serving = std::thread::spawn(move || server.run_echo());
//!
//! // ...and a client.
//! let mut ws = connect(&url)?;
//! ws.send_text("hello")?;
//! assert_eq!(ws.recv()?, Message::Text("hello".into()));
//! ws.close()?;
//!
//! stop.stop();
//! serving.join().unwrap()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Examples
//! Run them from the workspace root:
//! - `blocking_echo_server`: an echo server on 127.0.0.1:9001, a thread per
//!   connection: `cargo run --release -p ws-std --example blocking_echo_server`
//! - `client`: sends one text message and prints the echo (default URL
//!   `ws://127.0.0.1:9002`, ws-mio's `echo_server`):
//!   `cargo run --release -p ws-std --example client -- ws://127.0.0.1:9002 hello`
//! - `http_upgrade`: an existing HTTP server that upgrades one route with
//!   [`ws_upgrade`]: `cargo run --release -p ws-std --example http_upgrade`
//! - `auth_server`: an echo server on 127.0.0.1:9003 that refuses requests
//!   without a token with 401 and `WWW-Authenticate`, and pages of another
//!   origin with 403 ([`WsServer::incoming_with`]):
//!   `cargo run --release -p ws-std --example auth_server`
//! - `tls_certs`: writes a local CA and a certificate for localhost and
//!   127.0.0.1 into `tls-demo/`, for `blocking_echo_server -- ADDR
//!   --tls-cert tls-demo/cert.pem --tls-key tls-demo/key.pem` and
//!   `client -- wss://localhost:PORT/ hello --ca tls-demo/ca.pem`:
//!   `cargo run -p ws-std --example tls_certs`
//! - `autobahn_client`: runs every case of a running Autobahn
//!   `wstest -m fuzzingserver` (`bash tests/autobahn/run.sh client` starts
//!   both): `cargo run --release -p ws-std --example autobahn_client -- URL AGENT`
//!
//! # TLS
//! With the feature `tls` (on by default), [`connect`] takes `wss://`
//! URLs and `WsServer::with_tls` serves them; see the module `tls` for
//! whom a client trusts and how to build configurations from PEM files.
//! Both give a [`WebSocket<MaybeTlsStream>`](MaybeTlsStream).
//!
//! # Accepting or refusing an upgrade request
//! The application can look at each request before it is answered: its
//! path and query, host, origin, headers, offered subprotocols and the
//! peer's address ([`RequestView`]). Its callback returns
//! `Ok(`[`Accept`]`)`, optionally choosing a subprotocol and adding
//! headers to the `101`, or `Err(`[`Refusal`]`)`: an HTTP error with a
//! status, headers and a body (401 with `WWW-Authenticate`, 403 for an
//! origin, 404 for a path), after which the connection is closed and the
//! caller gets [`Error::Refused`].
//!
//! - [`WsServer::accept_with`] and [`WsServer::incoming_with`] on a server;
//! - [`accept_with`] on any accepted [`Stream`];
//! - [`upgrade_with`] in an existing HTTP server that has read the request.
//!
//! ```no_run
//! use ws_std::{Accept, Refusal, WsServer};
//!
//! let server = WsServer::bind("127.0.0.1:9001")?;
//! let mut ws = server.accept_with(|request| {
//!     if request.path() != "/chat" {
//!         return Err(Refusal::not_found());
//!     }
//!     match request.header_str("Authorization") {
//!         Some("Bearer secret") => Ok(Accept::new()),
//!         _ => Err(Refusal::unauthorized("Bearer realm=\"chat\"")),
//!     }
//! })?;
//! // The connection keeps what it was opened with.
//! let path = ws.opened_with().map(|request| request.path().to_owned());
//! # let _ = (path, ws.recv());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! An answer that cannot be written as given (a header value with CR or LF,
//! a status that is not an error) is never sent: the client gets a bare 500
//! and the caller [`Error::Handshake`]. Every connection keeps a copy of
//! its handshake, [`WebSocket::opened_with`]: the request on a server, the
//! response headers on a client.
//!
//! # Pings and pongs
//! [`WebSocket::recv`] answers pings and skips pongs;
//! [`WebSocket::recv_event`] answers pings too, and hands back messages,
//! pings and pongs alike ([`Incoming`]), so a client that sent a ping can
//! wait for its pong. See the section on pings and pongs of [`WebSocket`].
//!
//! # The Vais `std/websocket` API, in Rust
//! The workspace implements the API of the Vais language's `std/websocket`
//! module; a copy of its reference is `docs/vais-std-websocket.md` at the
//! root of the workspace's repository. Its constants and `WsFrame` are in
//! `ws-proto` (re-exported here: [`OpCode`], [`CloseCode`], [`State`],
//! [`Frame`]); the rest is here:
//!
//! | Vais | here |
//! |---|---|
//! | `WsConnection` | [`WebSocket`] (alias [`WsConnection`]) |
//! | `from_server`, `from_client` | [`WebSocket::from_server`], [`WebSocket::from_client`] |
//! | `send_frame`, `send_text`, `send_binary`, `send_ping`, `send_pong`, `send_close` | the `WebSocket` methods of those names |
//! | `recv_frame` | [`WebSocket::recv_frame`]; whole messages: [`WebSocket::recv`]; messages, pings and pongs: [`WebSocket::recv_event`] |
//! | `close`, `force_close`, `drop` | [`WebSocket::close`], [`WebSocket::force_close`], `Drop` |
//! | `is_open`, `state` | [`WebSocket::is_open`], [`WebSocket::state`] |
//! | `WsServer::bind`, `is_valid` | [`WsServer::bind`] (an `Err` is "not valid") |
//! | `accept`, `run_echo`, `stop`, `close` | [`WsServer::accept`], [`WsServer::run_echo`], [`WsServer::stop`] / [`StopHandle`], [`WsServer::close`] |
//! | `ws_server(port)` | [`ws_server`] |
//! | `ws_upgrade(fd, buffer, len)` | [`ws_upgrade`] |
//!
//! # Errors
//! Every call returns [`Result`] with one [`Error`] type: I/O (including
//! timeouts, see [`Error::is_timeout`]), protocol violations by the peer
//! (the close frame with [`Error::close_code`] was sent), handshake
//! refusals, send-side misuse, and the peer's close.
//!
//! # Limits
//! All limits and timeouts live in [`Config`], with safe defaults. Those
//! that every transport shares (frame and message limits, timers,
//! compression, subprotocols, the memory budget) are its
//! [`session`](Config::session), a [`ws_proto::SessionConfig`]; `Config`
//! has setters for them as for its own:
//!
//! ```
//! use std::time::Duration;
//!
//! let config = ws_std::Config::default()
//!     .max_message_size(1 << 20)
//!     .close_timeout(Some(Duration::from_secs(2)))
//!     .read_timeout(Some(Duration::from_secs(30)));
//! assert_eq!(config.session.timers.close, Some(Duration::from_secs(2)));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod clock;
mod config;
mod error;
mod handshake;
mod request;
mod server;
mod stream;
#[cfg(feature = "tls")]
pub mod tls;
mod websocket;

pub use client::{connect, connect_with_config};
pub use config::Config;
pub use error::{Error, Result};
pub use handshake::{
    accept, accept_with, client_handshake, upgrade_with, upgrade_with_config, ws_upgrade,
};
pub use request::{OpenedWith, RequestView};
pub use server::{ws_server, StopHandle, WsServer};
pub use stream::{MaybeTlsStream, Stream};
pub use websocket::{Incoming, OwnedFrame, WebSocket};
pub use ws_proto::budget::MemoryBudget;
pub use ws_proto::deflate::{CompressionConfig, DeflateConfig, DeflateParams};
pub use ws_proto::handshake::Acceptance as Accept;
pub use ws_proto::handshake::Refusal;
pub use ws_proto::message::{Message, MessageRef};
pub use ws_proto::url::WsUrl;
pub use ws_proto::{
    CloseCode, Frame, HandshakeError, MessageKind, OpCode, Role, SessionConfig, State, TimerConfig,
};

/// The Vais `std/websocket` name for a connection.
pub type WsConnection<S = std::net::TcpStream> = WebSocket<S>;
