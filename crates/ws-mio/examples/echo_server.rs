//! The event-loop echo server: every text and binary message comes back.
//!
//! ```text
//! cargo run --release -p ws-mio --example echo_server -- [ADDR] [--threads N]
//! ```
//! ADDR defaults to 127.0.0.1:9002, N to the number of cores. TCP_NODELAY
//! is on. SIGINT (Ctrl-C) or SIGTERM closes every connection with 1001 and
//! exits.

mod common;

use ws_mio::Echo;

fn main() {
    common::serve_from_args("echo_server", "127.0.0.1:9002", || Echo);
}
