//! `peer-tungstenite ADDR`: echo server on blocking `tungstenite`, one
//! thread per connection, written the way the crate's own server example
//! is: `tungstenite::accept`, then a `read`/`send` loop that echoes text
//! and binary messages. TCP_NODELAY is set, as in our servers. Masking,
//! close and ping replies are tungstenite's defaults.

use std::net::{TcpListener, TcpStream};
use std::thread;

use tungstenite::{accept, Message};
use ws_bench::server_args::{ServerArgs, MAX_ACCEPTS};

const NAME: &str = "peer-tungstenite";

fn main() {
    let args = ServerArgs::from_env(NAME);
    args.start_watchdog(NAME);
    let listener = match TcpListener::bind(&args.addr) {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("{NAME}: cannot listen on {}: {err}", args.addr);
            std::process::exit(1);
        }
    };
    match listener.local_addr() {
        Ok(local) => println!("listening on ws://{local}"),
        Err(err) => eprintln!("{NAME}: {err}"),
    }
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
