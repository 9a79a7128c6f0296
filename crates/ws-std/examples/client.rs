//! Send one text message and print the echo.
//!
//! ```text
//! cargo run --release -p ws-std --example client -- [URL] [TEXT]
//! ```
//! URL defaults to ws://127.0.0.1:9002, where the README's main server
//! (ws-mio's `echo_server` example) listens; TEXT defaults to `hello`. For
//! ws-std's `blocking_echo_server` (on 127.0.0.1:9001), pass
//! `ws://127.0.0.1:9001`.

use ws_std::{connect, Message};

fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:9002".to_owned());
    let text = args.next().unwrap_or_else(|| "hello".to_owned());
    if let Err(err) = run(&url, &text) {
        eprintln!("client: {err}");
        std::process::exit(1);
    }
}

fn run(url: &str, text: &str) -> ws_std::Result<()> {
    let mut ws = connect(url)?;
    ws.send_text(text)?;
    match ws.recv()? {
        Message::Text(echo) => println!("{echo}"),
        Message::Binary(data) => println!("{} bytes of binary", data.len()),
    }
    ws.close()
}
