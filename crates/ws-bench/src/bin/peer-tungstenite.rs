//! `peer-tungstenite ADDR`: echo server on blocking `tungstenite`, one
//! thread per connection, written the way the crate's own server example
//! is: `tungstenite::accept`, then a `read`/`send` loop that echoes text
//! and binary messages. TCP_NODELAY is set, as in our servers. Masking,
//! close and ping replies are tungstenite's defaults.

use std::net::TcpStream;
use std::thread;

use tungstenite::{accept, Message};
use ws_bench::server_args::{ServerArgs, MAX_ACCEPTS};

const NAME: &str = "peer-tungstenite";

fn main() {
    let args = ServerArgs::from_env(NAME);
    args.start_watchdog(NAME);
    let listener = args.bind_blocking(NAME);
    for stream in listener.incoming().take(MAX_ACCEPTS) {
        let Ok(stream) = stream else { continue };
        thread::spawn(move || serve(stream));
    }
}

fn serve(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok(mut ws) = accept(stream) else { return };
    // Ends when the peer closes (read returns ConnectionClosed) or fails.
    while let Ok(message) = ws.read() {
        if matches!(message, Message::Text(_) | Message::Binary(_)) && ws.send(message).is_err() {
            return;
        }
    }
}
