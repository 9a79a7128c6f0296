//! `ws-bench`: the project's own WebSocket benchmark tools, built on the
//! `ws-proto` core and a single-threaded `mio` event loop.
//!
//! - `ws-load` ([`load`]): N connections each keep K echo messages of S
//!   bytes in flight against an echo server (the methodology of
//!   uWebSockets' load test); reports messages/s, MB/s, latency
//!   percentiles and, given the server's pid, its CPU time.
//! - `ws-conns` ([`conns`]): opens N idle WebSocket connections and
//!   reports how much the server's resident memory grew per connection.
//!
//! Both talk to loopback addresses only ([`net::Target`] refuses others)
//! and every loop is bounded in iterations and time.
//!
//! # Map of the crate
//! - [`args`]: command-line parsing and help texts.
//! - [`procfs`]: reading a process's CPU time, RSS and fd limit from `/proc`.
//! - [`sys`]: the open-file limit and the clock tick rate (libc).
//! - [`net`]: URL resolution, non-blocking connects, source addresses.
//! - [`upgrade`]: the client side of the opening handshake over a socket.
//! - [`pool`]: the event loop driving many connections.
//! - [`load`], [`conns`]: the two tools.
//! - [`raw_echo`]: the plain TCP echo server (`raw-tcp-echo`), the
//!   physical limit that `ws-load --raw` measures.
//! - [`server_args`]: command line and watchdog shared by the comparison's
//!   echo servers (`raw-tcp-echo`, `raw-tcp-threads` (plain TCP echo, a
//!   thread per connection) and, with the `peers` feature,
//!   `peer-tungstenite`, `peer-tokio-tungstenite`, `peer-fastwebsockets`,
//!   `peer-tokio-websockets`).
//! - [`report`]: the markdown tables of `compare.sh` (`compare-report`).
//! - `tokio_peer` (feature `peers`): the runtime and accept loop of the
//!   tokio-based peer servers.

pub mod args;
pub mod conns;
pub mod load;
pub mod net;
pub mod pool;
pub mod procfs;
pub mod raw_echo;
pub mod report;
pub mod server_args;
pub mod sys;
#[cfg(feature = "peers")]
pub mod tokio_peer;
pub mod upgrade;

mod conn;
