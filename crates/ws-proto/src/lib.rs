//! `ws-proto`: the WebSocket protocol (RFC 6455) as a `no_std`, sans-IO,
//! allocation-free state machine.
//!
//! Bytes from the network go in as slices the caller owns; events, and bytes
//! to send back, come out. The crate never touches a socket, a clock, a
//! thread or an allocator, so the same code runs on a microcontroller, under
//! a blocking std program and inside an event loop.
//!
//! ```
//! use ws_proto::{CloseCode, Config, Connection, Event, MessageKind};
//!
//! // A server-side connection, once the opening handshake is done
//! // (see the `handshake` module).
//! let mut conn = Connection::server(Config::default());
//!
//! // A masked "Hello" from a client, then a ping, as one read delivered them.
//! let mut input = [
//!     0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58, // text
//!     0x89, 0x80, 1, 2, 3, 4, // ping, empty payload
//! ];
//! let mut start = 0;
//! let mut texts = Vec::new();
//! loop {
//!     let (consumed, event) = conn.receive(&mut input[start..]).unwrap();
//!     start += consumed;
//!     match event {
//!         Some(Event::Data(chunk)) => {
//!             assert_eq!(chunk.kind, MessageKind::Text);
//!             assert!(chunk.message_end);
//!             texts.push(chunk.payload.to_vec());
//!         }
//!         Some(Event::Ping(_)) => {}
//!         Some(other) => panic!("unexpected {other:?}"),
//!         None => break, // need more bytes from the network
//!     }
//! }
//! assert_eq!(texts, [b"Hello".to_vec()]);
//!
//! // The pong the ping asked for is queued; write it out with the echo.
//! let mut out = [0u8; 256];
//! let mut len = conn.poll_transmit(&mut out);
//! assert_eq!(&out[..len], [0x8a, 0x00]);
//! len += conn.encode_text("Hello", &mut out[len..]).unwrap();
//! assert_eq!(&out[2..len], b"\x81\x05Hello");
//!
//! // Closing: queue our close, transmit it, and we are closing.
//! conn.close(CloseCode::NORMAL, "bye").unwrap();
//! assert!(conn.poll_transmit(&mut out) > 0);
//! assert_eq!(conn.state(), ws_proto::State::Closing);
//! ```
//!
//! # Map of the crate
//! - [`frame`]: opcodes, frame header codec, the Vais `WsFrame` as [`Frame`].
//! - [`mask`]: word-at-a-time payload masking and mask-key sources.
//! - [`utf8`]: streaming UTF-8 validation for text.
//! - [`close`]: close codes and close payloads.
//! - [`handshake`]: the HTTP/1.1 upgrade, server and client side.
//! - [`extension`]: the `Sec-WebSocket-Extensions` header's grammar
//!   (RFC 6455 section 9.1), for any extension.
//! - [`deflate`]: permessage-deflate (RFC 7692): its negotiation, and with
//!   the feature `deflate` its codec.
//! - [`connection`]: the state machine that ties them together.
//! - [`config`]: [`SessionConfig`], the one configuration every transport
//!   embeds (limits, timers, compression, subprotocols, budget).
//! - `session` (feature `alloc`): whole messages over a [`Connection`],
//!   gathered, inflated, compressed and framed, with one error type.
//! - [`timer`]: the endpoint's deadlines (opening handshake, idle ping,
//!   pong, close handshake) on time the caller passes in.
//! - [`constants`]: the buffer constants of the Vais `std/websocket` API.
//!
//! # What bad input produces
//! Every violation of RFC 6455 fails the connection: [`Connection::receive`]
//! returns a [`ProtocolError`] and queues a close frame with its code
//! ([`ProtocolError::close_code`]): 1007 for invalid UTF-8 in text or in a
//! close reason, 1009 for a frame or message over the configured limit,
//! 1002 for everything else. A bad handshake yields a [`HandshakeError`]
//! whose [`status_code`](HandshakeError::status_code) is the HTTP status to
//! refuse with (400, 426 or 431).
//!
//! # Features
//! (Names only, not links: each exists only with its feature.)
//! - `alloc`: `message::MessageAssembler`, which gathers chunks into
//!   whole `String`/`Vec<u8>` messages under a size limit;
//!   `budget::MemoryBudget`, which caps what many connections' unfinished
//!   messages hold together (needs atomics: `target_has_atomic = "ptr"`);
//!   `url::WsUrl`, the parser of `ws://` and `wss://` URLs; `session::Messages`, the
//!   message layer both transports use (compression too with `deflate`);
//!   the `subprotocols` and `memory_budget` of [`SessionConfig`].
//! - `getrandom`: `mask::OsMask`, masking keys from the operating system's
//!   entropy source, for clients.
//! - `std`: `alloc`, plus run-time CPU detection for the SIMD UTF-8 validator.
//! - `deflate`: `std`, plus `deflate::PerMessageDeflate`, the
//!   permessage-deflate codec (on the pure-Rust `zlib-rs`). Its negotiation,
//!   the rest of [`deflate`], needs no feature.
//! - `rustls`: `std`, plus `tls`, the rustls configuration both
//!   transports use for `wss://` (crypto provider, ALPN, trusted roots,
//!   server certificates from PEM, `TlsConfigError`).
//! - `webpki-roots`: `rustls`, and `tls::default_client_config` trusts
//!   Mozilla's roots built into the program instead of the machine's.
//!
//! # The Vais `std/websocket` API
//! The workspace implements the API of the Vais language's `std/websocket`
//! module; a copy of its reference is `docs/vais-std-websocket.md` at the
//! root of the workspace's repository, and the workspace README maps each
//! of its items to Rust. This crate holds the parts that need no I/O: the
//! constants ([`OpCode`] for `WS_OPCODE_*`, [`CloseCode`] for
//! `WS_CLOSE_*`, [`State`] for `WS_STATE_*`, the buffer sizes in
//! [`constants`]) and the frame, `WsFrame`, as [`Frame`]. `WsConnection`,
//! `WsServer`, `ws_server` and `ws_upgrade` live in the transports,
//! `ws-std` and `ws-mio`.
//!
//! # Examples
//! - `deflate_figures`: compression ratio, throughput and memory per
//!   connection of permessage-deflate:
//!   `cargo run --release -p ws-proto --features deflate --example deflate_figures`
//!
//! The transports' examples (servers, clients) are in `ws-std` and `ws-mio`.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(feature = "alloc")]
pub mod budget;
pub mod close;
pub mod config;
pub mod connection;
pub mod constants;
pub mod deflate;
pub mod error;
pub mod extension;
pub mod frame;
pub mod handshake;
pub mod mask;
#[cfg(feature = "alloc")]
pub mod message;
#[cfg(feature = "alloc")]
pub mod session;
pub mod timer;
#[cfg(feature = "rustls")]
pub mod tls;
#[cfg(feature = "alloc")]
pub mod url;
pub mod utf8;

pub use close::{CloseCode, CloseFrame, ClosePayload};
pub use config::SessionConfig;
pub use connection::{
    Config, Connection, DataChunk, EncodedHeader, Event, MessageKind, Role, State,
};
pub use error::{ProtocolError, SendError};
pub use frame::{Frame, FrameHeader, OpCode};
pub use handshake::HandshakeError;
pub use mask::{apply_mask, MaskSource, NoMask};
pub use timer::{Deadline, TimerConfig, TimerEvent, TimerState, Timers};
pub use utf8::Utf8Validator;

/// What the exported macros name from `alloc`, whatever the caller calls
/// its crates. Not part of the API.
#[cfg(feature = "alloc")]
#[doc(hidden)]
pub mod __private {
    pub use alloc::string::String;
}
