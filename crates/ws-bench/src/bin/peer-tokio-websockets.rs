//! `peer-tokio-websockets ADDR`: echo server on `tokio-websockets`, written
//! the way the crate's echo_server example is: a current-thread tokio
//! runtime, `ServerBuilder::accept` with unlimited limits and frame size,
//! each connection's task `unconstrained`, text and binary messages sent
//! back as they come. TCP_NODELAY is set, as in our servers.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_websockets::{Config, Limits, ServerBuilder};
use ws_bench::tokio_peer::run_current_thread;

const NAME: &str = "peer-tokio-websockets";

fn main() {
    run_current_thread(NAME, |stream| tokio::task::unconstrained(serve(stream)));
}

async fn serve(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let accepted = ServerBuilder::new()
        .config(Config::default().frame_size(usize::MAX))
        .limits(Limits::unlimited())
        .accept(stream)
        .await;
    let Ok((_request, mut ws)) = accepted else {
        return;
    };
    // Ends when the peer closes or the connection fails.
    while let Some(Ok(message)) = ws.next().await {
        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
            return;
        }
    }
}
