//! An existing HTTP server that upgrades one route to WebSocket
//! ("Integration with HTTP Server" in the Vais `std/websocket` API): `GET /`
//! serves a small page, `GET /ws` is upgraded with `ws_upgrade` and echoes,
//! anything else is 404.
//!
//! ```text
//! cargo run --release -p ws-std --example http_upgrade -- [ADDR]
//! ```
//! ADDR defaults to 127.0.0.1:8080; open http://ADDR/ in a browser.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use ws_std::{ws_upgrade, Error};

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8"><title>ws-std echo</title>
<input id="msg" value="hello"><button id="send">send</button><pre id="log"></pre>
<script>
const ws = new WebSocket(`ws://${location.host}/ws`);
const log = (line) => document.getElementById("log").textContent += line + "\n";
ws.onopen = () => log("open");
ws.onmessage = (e) => log("echo: " + e.data);
ws.onclose = (e) => log("closed " + e.code);
document.getElementById("send").onclick = () => ws.send(document.getElementById("msg").value);
</script>
"#;

/// The most an HTTP request head may take before we give up on it.
const MAX_HEAD: usize = 8192;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let listener = TcpListener::bind(&addr)?;
    println!("listening on http://{}", listener.local_addr()?);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        std::thread::spawn(move || {
            if let Err(err) = serve(stream) {
                eprintln!("connection: {err}");
            }
        });
    }
    Ok(())
}

/// Read the request head as any HTTP server would, then route it.
fn serve(mut stream: TcpStream) -> Result<(), Error> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk)?;
        if n == 0 || head.len() > MAX_HEAD {
            return Ok(());
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let request_line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    match request_line {
        line if line.starts_with(b"GET /ws ") => {
            // Everything read so far, request and any early frames, goes in.
            let mut ws = ws_upgrade(stream, &head)?;
            loop {
                match ws.recv() {
                    Ok(message) => ws.send(&message)?,
                    Err(Error::Closed { .. }) => return Ok(()),
                    Err(err) => return Err(err),
                };
            }
        }
        line if line.starts_with(b"GET / ") => {
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{PAGE}",
                PAGE.len()
            );
            stream.write_all(response.as_bytes())?;
        }
        _ => stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?,
    }
    Ok(())
}
