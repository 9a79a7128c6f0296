//! An async echo server: every text and binary message comes back as it
//! came, compressed when the client negotiated permessage-deflate.
//!
//! ```text
//! cargo run --release -p ws-tokio --example async_echo_server -- [ADDR]
//! ```
//! ADDR defaults to 127.0.0.1:9004. A task per connection on tokio's
//! multi-thread runtime; Ctrl-C stops it. (The example names differ from
//! ws-std's `blocking_echo_server` and ws-mio's `echo_server` because cargo
//! puts every example of the workspace in one directory.)

use tokio::net::{TcpListener, TcpStream};
use ws_tokio::{accept_with_config, Accept, Config};

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9004".to_owned());
    let listener = match TcpListener::bind(addr.as_str()).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("async_echo_server: cannot listen on {addr}: {err}");
            std::process::exit(1);
        }
    };
    let local = listener.local_addr().map_or(addr, |a| a.to_string());
    println!("listening on ws://{local}");
    // One configuration for every connection: its memory budget is shared.
    let config = Config::default();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let config = config.clone();
                tokio::spawn(async move {
                    if let Err(err) = echo(stream, &config).await {
                        eprintln!("async_echo_server: {err}");
                    }
                });
            }
            // Out of descriptors, say: wait a little rather than spin.
            Err(err) => {
                eprintln!("async_echo_server: accept: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn echo(stream: TcpStream, config: &Config) -> ws_tokio::Result<()> {
    stream.set_nodelay(true)?;
    let mut ws = accept_with_config(stream, config, |_| Ok(Accept::new())).await?;
    while let Some(message) = ws.recv().await {
        ws.send(message?).await?;
    }
    Ok(())
}
