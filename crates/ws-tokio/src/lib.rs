//! `ws-tokio`: async WebSockets (RFC 6455) over any tokio
//! `AsyncRead + AsyncWrite` stream, driven by the `ws-proto` core, with
//! permessage-deflate (RFC 7692) on by default.
//!
//! ```
//! use ws_tokio::{accept, connect, CloseCode, Message};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), ws_tokio::Error> {
//!     // An echo server on a free port of the loopback interface...
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let url = format!("ws://{}/", listener.local_addr()?);
//!     tokio::spawn(async move {
//!         let (stream, _) = listener.accept().await?;
//!         let mut ws = accept(stream).await?;
//!         while let Some(message) = ws.recv().await {
//!             ws.send(message?).await?;
//!         }
//!         Ok::<(), ws_tokio::Error>(())
//!     });
//!
//!     // ...and a client.
//!     let mut ws = connect(&url).await?;
//!     ws.send(Message::Text("hello".into())).await?;
//!     let echo = ws.recv().await.transpose()?;
//!     assert_eq!(echo, Some(Message::Text("hello".into())));
//!     ws.close(CloseCode::NORMAL, "done").await?;
//!     Ok(())
//! }
//! ```
//!
//! A [`WebSocket`] is also a `futures` [`Stream`](futures_core::Stream)
//! of `Result<Message>` and a [`Sink`](futures_sink::Sink) of
//! [`Message`], for code written against `StreamExt`/`SinkExt`.
//!
//! # What it does for you
//! - Whole messages in and out: fragments joined, compressed messages
//!   inflated (and long ones compressed on the way out), text checked
//!   UTF-8, every limit of [`Config`] enforced with the right close code.
//! - While a receive waits, pings are answered, the peer's close is
//!   replied to, an idle peer is pinged and a silent one closed (the
//!   timers of [`Config`], on tokio's timer). See [`WebSocket`].
//! - [`WebSocket::recv`] is cancel-safe, for `tokio::select!` loops.
//! - A bounded write buffer: the `Sink`'s `poll_ready` waits while more
//!   than [`Config::write_buffer_limit`] bytes wait for a slow peer.
//! - [`WebSocket::split`] into a [`WsReader`] and a [`WsWriter`] for two
//!   tasks; pings are answered while only the reader runs.
//!
//! # Accepting or refusing an upgrade request
//! [`accept_with`] shows the application the request (path and query,
//! host, origin, headers, offered subprotocols: a [`Request`]) before it
//! is answered; the callback returns `Ok(`[`Accept`]`)`, optionally with a
//! subprotocol and headers for the `101`, or `Err(`[`Refusal`]`)`: an HTTP
//! error with a status, headers and a body, after which the stream is
//! shut down and the caller gets [`Error::Refused`].
//!
//! ```no_run
//! use ws_tokio::{accept_with, Accept, Refusal};
//!
//! # async fn run(stream: tokio::net::TcpStream) -> ws_tokio::Result<()> {
//! let ws = accept_with(stream, |request| {
//!     if request.path() != "/chat" {
//!         return Err(Refusal::not_found());
//!     }
//!     match request.header("Authorization") {
//!         Some(b"Bearer secret") => Ok(Accept::new()),
//!         _ => Err(Refusal::unauthorized("Bearer realm=\"chat\"")),
//!     }
//! })
//! .await?;
//! # let _ = ws;
//! # Ok(())
//! # }
//! ```
//!
//! # Examples
//! Run them from the workspace root:
//! - `async_echo_server`: an echo server, `[ADDR]` (default
//!   127.0.0.1:9004), on the multi-thread runtime:
//!   `cargo run --release -p ws-tokio --example async_echo_server`
//! - `async_client`: sends one text message and prints the echo (default
//!   URL `ws://127.0.0.1:9004`, the echo server above):
//!   `cargo run --release -p ws-tokio --example async_client -- ws://127.0.0.1:9004 hello`
//! - `async_chat`: a chat server on 127.0.0.1:9006; each connection is
//!   [split](WebSocket::split), and every text message goes to every other
//!   client through a bounded queue per client (a client that does not
//!   read misses messages rather than growing the server's memory):
//!   `cargo run --release -p ws-tokio --example async_chat`
//! - `async_autobahn_client`: runs every case of a running Autobahn
//!   `wstest -m fuzzingserver` (`bash tests/autobahn/run.sh client ws-tokio`
//!   starts both): `cargo run --release -p ws-tokio --example async_autobahn_client -- URL AGENT`
//!
//! # Not yet
//! `wss://` in [`connect`] (use [`client_handshake`] over a TLS stream),
//! and negotiating permessage-deflate for a connection upgraded by another
//! HTTP server ([`WebSocket::from_upgraded`] sends and receives
//! uncompressed).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod config;
mod error;
mod handshake;
mod split;
mod websocket;

pub use client::{connect, connect_with_config};
pub use config::Config;
pub use error::{Error, Result};
pub use handshake::{accept, accept_with, accept_with_config, client_handshake};
pub use split::{WsReader, WsWriter};
pub use websocket::WebSocket;
pub use ws_proto::budget::MemoryBudget;
pub use ws_proto::deflate::{CompressionConfig, DeflateConfig, DeflateParams};
pub use ws_proto::handshake::server::Request;
pub use ws_proto::handshake::{Acceptance as Accept, Refusal};
pub use ws_proto::message::Message;
pub use ws_proto::{
    CloseCode, HandshakeError, ProtocolError, Role, SessionConfig, State, TimerConfig,
};
