//! `ws-mio`: WebSockets (RFC 6455) for servers with many connections, on a
//! `mio` event loop per thread, driven by the `ws-proto` core.
//!
//! You write a [`Handler`]; the loop calls it when a connection opens
//! (`on_open`), a message arrives (`on_message`), a ping or pong arrives
//! (`on_ping`, `on_pong`), a full outgoing queue has drained after a
//! refused send (`on_writable`), a timer it set is due (`on_timer`), a
//! connection closes (`on_close`) or something fails (`on_error`), with a
//! [`Context`] that can send to any connection, close it, broadcast, or
//! set a timer.
//!
//! ```
//! use ws_mio::{ConnectionId, Context, Handler, MessageRef, Opening, Refusal, Server};
//!
//! /// Answers every text message with its length.
//! struct Counter;
//!
//! impl Handler for Counter {
//!     type Data = u64; // messages seen per connection
//!
//!     fn on_open(&mut self, _: &mut Context<'_, u64>, _: ConnectionId, opening: &Opening<'_>) -> Result<u64, Refusal> {
//!         if opening.path() == "/count" { Ok(0) } else { Err(Refusal::not_found()) }
//!     }
//!
//!     fn on_message(&mut self, ctx: &mut Context<'_, u64>, id: ConnectionId, message: MessageRef<'_>) {
//!         if let Some(seen) = ctx.data(id) {
//!             *seen += 1;
//!         }
//!         let reply = message.as_bytes().len().to_string();
//!         let _ = ctx.send_text(id, &reply);
//!     }
//! }
//!
//! let server = Server::bind("127.0.0.1:0")?.threads(1);
//! let url = format!("ws://{}/count", server.local_addr());
//! let shutdown = server.shutdown_handle();
//! let serving = std::thread::spawn(move || server.run(|| Counter));
//!
//! let mut client = ws_std::connect(&url)?;
//! client.send_text("four")?;
//! assert_eq!(client.recv()?, ws_std::Message::Text("4".into()));
//! client.close()?;
//!
//! shutdown.shutdown();
//! serving.join().unwrap()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What the loop does for you
//! - Backpressure: each connection's outgoing queue is bounded
//!   ([`Config::max_outgoing`]); reading from a connection pauses while its
//!   queue is high and a peer that never reads is dropped
//!   ([`Config::stall_timeout`]).
//! - Timers without threads: handshake timeout, idle ping and pong timeout,
//!   message timeout, close timeout, all checked from the poll timeout.
//! - Memory: one receive buffer per loop; per-connection buffers come from
//!   a pool only while they hold bytes, so idle connections cost little.
//! - Cores: [`Server::threads`] runs loops that share the address with
//!   `SO_REUSEPORT`; a handler's sends, closes and broadcasts reach the
//!   connections of every loop (through bounded mailboxes,
//!   [`Config::max_mailbox`]).
//! - Backpressure the handler can act on: a send refused with
//!   [`SendError::QueueFull`] is followed by [`Handler::on_writable`] once
//!   the queue has drained to half of [`Config::max_outgoing`].
//! - Shutdown: [`ShutdownHandle::shutdown`] sends 1001 to every peer
//!   behind what is already queued for it, waits for the peers' closes
//!   (see [Shutting down](Config#shutting-down)), and returns from `run`.
//! - Out of descriptors: connections that cannot be accepted wait in the
//!   listen backlog and are accepted when a connection closes or within
//!   100 ms of descriptors freeing up (see
//!   [`Config`](Config#accepting-and-running-out-of-descriptors)).
//! - Client connections: each one asked for with `connect` ends in
//!   exactly one `on_open` or one `on_error` (see [`Handler::on_error`]).
//! - `wss://` (feature `tls`, on by default): rustls inside the loop, for
//!   listeners ([`EventLoop::listen_tls`], `Server::tls`) beside plain
//!   ones and for clients (`Config::tls`); see the module [`tls`].
//!
//! # Configuration
//! [`Config`] holds the settings every transport shares (limits, timers,
//! compression, subprotocols, the memory budget) in one field, `session`
//! (a [`SessionConfig`], the same as `ws-std`'s), and the loop's own
//! (queues, caps, buffers, socket options) beside it. It is
//! `#[non_exhaustive]`: start from `Config::default()` and chain the
//! setters, shared ones included:
//!
//! ```
//! use std::time::Duration;
//! use ws_mio::{Config, Server};
//!
//! let config = Config::default()
//!     .max_message_size(1 << 20)
//!     .idle_ping(Some(Duration::from_secs(30)))
//!     .allowed_origins(["https://example.com"])
//!     .max_outgoing(256 * 1024);
//! let server = Server::bind("127.0.0.1:0")?.config(config);
//! # drop(server);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Examples
//! Run them from the workspace root:
//! - `echo_server`: the event-loop echo server on 127.0.0.1:9002, one loop
//!   per core (`--threads N` to choose; `--tls-cert FILE --tls-key FILE`
//!   for `wss://`); Ctrl-C closes every connection with 1001:
//!   `cargo run --release -p ws-mio --example echo_server`
//! - `tls_idle_memory`: the server's memory per idle `wss://` connection
//!   next to `ws://`:
//!   `cargo run --release -p ws-mio --example tls_idle_memory -- [N]`
//! - `chat`: a chat server on 127.0.0.1:9003 that sends every message to
//!   every other client, whichever loop serves it:
//!   `cargo run --release -p ws-mio --example chat`
//! - `deflate_echo`: echo throughput with permessage-deflate on and off,
//!   server and client loops in one process:
//!   `cargo run --release -p ws-mio --example deflate_echo`
//! - `fanout`: chat fan-out (1 sender to 1,000 receivers, 100 to 100)
//!   across one or two loops, messages delivered per second:
//!   `cargo run --release -p ws-mio --example fanout`
//! - `mio_autobahn_client`: a client loop that runs every case of a
//!   running Autobahn TestSuite fuzzing server (`wstest -m fuzzingserver`)
//!   one after the other, echoing each message:
//!   `cargo run --release -p ws-mio --example mio_autobahn_client -- URL AGENT`
//!   (`tests/autobahn/run.sh client ws-mio` starts the suite and runs it)
//!
//! # The Vais `std/websocket` API here
//! The workspace implements the API of the Vais language's `std/websocket`
//! module; a copy of its reference is `docs/vais-std-websocket.md` at the
//! root of the workspace's repository. Its `run_echo` is [`run_echo`] (and
//! the [`Echo`] handler); its connection, server and `ws_upgrade` are in
//! `ws-std`, its constants and frame in `ws-proto` (the buffer constants
//! in `ws_proto::constants`). The loop's sizes are the [`Config`] fields
//! `read_buffer_size` (one per loop, in place of `WS_RECV_BUFFER`),
//! `max_outgoing` (in place of `WS_SEND_BUFFER`) and
//! `session.max_handshake_header` (`WS_HEADER_BUFFER`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod conn;
mod core;
mod dispatch;
mod error;
mod event_loop;
mod handler;
mod id;
mod listener;
mod mailbox;
mod pool;
mod server;
mod shutdown;
pub mod tls;

pub use config::Config;
pub use error::{Error, SendError};
pub use event_loop::EventLoop;
pub use handler::{Context, Handler, Opening};
pub use id::ConnectionId;
pub use server::{run_echo, Echo, Server};
pub use shutdown::ShutdownHandle;
pub use ws_proto::budget::MemoryBudget;
pub use ws_proto::deflate::CompressionConfig;
pub use ws_proto::handshake::Refusal;
pub use ws_proto::message::{Message, MessageRef};
pub use ws_proto::{CloseCode, SessionConfig, TimerConfig};
