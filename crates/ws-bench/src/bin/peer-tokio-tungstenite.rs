//! `peer-tokio-tungstenite ADDR`: echo server on `tokio-tungstenite`, a
//! current-thread tokio runtime, written the way the crate's echo-server
//! example is: `accept_async`, split, filter text and binary messages and
//! `forward` them to the sink. TCP_NODELAY is set, as in our servers.

use futures_util::{future, StreamExt, TryStreamExt};
use tokio::net::{TcpListener, TcpStream};
use ws_bench::server_args::{ServerArgs, MAX_ACCEPTS};

const NAME: &str = "peer-tokio-tungstenite";

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
        tokio::spawn(serve(stream));
    }
    Ok(())
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
