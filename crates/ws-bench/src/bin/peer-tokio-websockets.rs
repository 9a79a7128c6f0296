//! `peer-tokio-websockets ADDR`: echo server on `tokio-websockets`, written
//! the way the crate's echo_server example is: a current-thread tokio
//! runtime, `ServerBuilder::accept` with unlimited limits and frame size,
//! each connection's task `unconstrained`, text and binary messages sent
//! back as they come. TCP_NODELAY is set, as in our servers.

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_websockets::{Config, Limits, ServerBuilder};
use ws_bench::server_args::{ServerArgs, MAX_ACCEPTS};

const NAME: &str = "peer-tokio-websockets";

fn main() {
    let args = ServerArgs::from_env(NAME);
    args.start_watchdog(NAME);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("{NAME}: runtime: {err}");
            std::process::exit(1);
        }
    };
    if let Err(err) = runtime.block_on(run(&args.addr)) {
        eprintln!("{NAME}: {err}");
        std::process::exit(1);
    }
}

async fn run(addr: &str) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("listening on ws://{}", listener.local_addr()?);
    for _ in 0..MAX_ACCEPTS {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(tokio::task::unconstrained(serve(stream)));
    }
    Ok(())
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
