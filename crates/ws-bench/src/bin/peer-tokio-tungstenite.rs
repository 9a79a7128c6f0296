//! `peer-tokio-tungstenite ADDR`: echo server on `tokio-tungstenite`, a
//! current-thread tokio runtime, written the way the crate's echo-server
//! example is: `accept_async`, split, filter text and binary messages and
//! `forward` them to the sink. TCP_NODELAY is set, as in our servers.

use futures_util::{future, StreamExt, TryStreamExt};
use tokio::net::TcpStream;
use ws_bench::tokio_peer::run_current_thread;

const NAME: &str = "peer-tokio-tungstenite";

fn main() {
    run_current_thread(NAME, serve);
}

async fn serve(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (write, read) = ws.split();
    let _ = read
        .try_filter(|message| future::ready(message.is_text() || message.is_binary()))
        .forward(write)
        .await;
}
