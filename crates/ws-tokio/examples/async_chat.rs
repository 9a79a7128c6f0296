//! A chat server: every text message a client sends goes to every other
//! client, through a bounded queue per client, so a client that does not
//! read loses messages instead of growing the server's memory.
//!
//! ```text
//! cargo run --release -p ws-tokio --example async_chat -- [ADDR]
//! ```
//! ADDR defaults to 127.0.0.1:9006. Each connection is split: its reader
//! broadcasts, its writer drains the connection's queue.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use ws_tokio::{accept, Message};

/// Messages queued for one client before the ones after them are dropped.
const QUEUE: usize = 64;

/// The queue of every connected client, by number.
type Clients = Arc<Mutex<HashMap<u64, mpsc::Sender<Message>>>>;

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9006".to_owned());
    let listener = match TcpListener::bind(addr.as_str()).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("async_chat: cannot listen on {addr}: {err}");
            std::process::exit(1);
        }
    };
    let local = listener.local_addr().map_or(addr, |a| a.to_string());
    println!("listening on ws://{local}");
    let clients = Clients::default();
    for id in 0.. {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let clients = clients.clone();
        tokio::spawn(async move {
            if let Err(err) = chat(id, stream, &clients).await {
                eprintln!("async_chat: client {id}: {err}");
            }
            clients.lock().unwrap().remove(&id);
        });
    }
}

async fn chat(id: u64, stream: TcpStream, clients: &Clients) -> ws_tokio::Result<()> {
    let (mut reader, mut writer) = accept(stream).await?.split();
    let (queue, mut queued) = mpsc::channel(QUEUE);
    clients.lock().unwrap().insert(id, queue);
    let writing = tokio::spawn(async move {
        while let Some(message) = queued.recv().await {
            writer.send(message).await?;
        }
        Ok::<_, ws_tokio::Error>(())
    });
    while let Some(message) = reader.recv().await {
        let Message::Text(text) = message? else {
            continue;
        };
        let line = Message::Text(format!("{id}: {text}"));
        for (&other, queue) in clients.lock().unwrap().iter() {
            // A full queue: that client reads too slowly; it misses this.
            if other != id {
                let _ = queue.try_send(line.clone());
            }
        }
    }
    // The reader ended: dropping the queue ends the writer.
    clients.lock().unwrap().remove(&id);
    writing.await.expect("the writer task panicked")
}
