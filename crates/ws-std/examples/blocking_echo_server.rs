//! A blocking echo server: every text and binary message comes back as it
//! came.
//!
//! ```text
//! cargo run --release -p ws-std --example blocking_echo_server -- [ADDR]
//! ```
//! ADDR defaults to 127.0.0.1:9001. One thread per connection; Ctrl-C stops it.
//! (The event-loop echo server, on 127.0.0.1:9002, is ws-mio's `echo_server`
//! example; the two names differ because cargo puts every example of the
//! workspace in one directory.)

use ws_std::{Config, WsServer};

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    let server = match WsServer::bind_with_config(addr.as_str(), Config::default()) {
        Ok(server) => server,
        Err(err) => {
            eprintln!("blocking_echo_server: cannot listen on {addr}: {err}");
            std::process::exit(1);
        }
    };
    let local = server.local_addr().map_or(addr, |a| a.to_string());
    println!("listening on ws://{local}");
    if let Err(err) = server.run_echo() {
        eprintln!("blocking_echo_server: {err}");
        std::process::exit(1);
    }
}
