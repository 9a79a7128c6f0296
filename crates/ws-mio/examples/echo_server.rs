//! The event-loop echo server: every text and binary message comes back.
//!
//! ```text
//! cargo run --release -p ws-mio --example echo_server -- [ADDR] [--threads N] [--tls-cert FILE --tls-key FILE]
//! ```
//! ADDR defaults to 127.0.0.1:9002, N to the number of cores. TCP_NODELAY
//! is on. With `--tls-cert` (a PEM certificate chain) and `--tls-key`
//! (its PEM private key) it serves `wss://` and says `listening on
//! wss://ADDR`; ws-std's `tls_certs` example makes a pair for 127.0.0.1
//! and localhost. SIGINT (Ctrl-C) or SIGTERM closes every connection with 1001 and
//! exits.

mod common;

use ws_mio::Echo;

fn main() {
    common::serve_from_args("echo_server", "127.0.0.1:9002", || Echo);
}
