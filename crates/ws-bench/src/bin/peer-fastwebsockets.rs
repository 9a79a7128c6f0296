//! `peer-fastwebsockets ADDR`: echo server on `fastwebsockets`, written the
//! way the crate's echo_server example is: hyper 1 HTTP/1 connection with
//! upgrades, `fastwebsockets::upgrade::upgrade`, a `FragmentCollector`
//! echoing text and binary frames, each connection's task `unconstrained`
//! on a current-thread tokio runtime. Auto-close, auto-pong and vectored
//! writes are on (set explicitly; they are the crate's defaults).
//! TCP_NODELAY is set, as in our servers.

use bytes::Bytes;
use fastwebsockets::{upgrade, FragmentCollector, OpCode, WebSocketError};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use tokio::net::TcpListener;
use ws_bench::server_args::{ServerArgs, MAX_ACCEPTS};

const NAME: &str = "peer-fastwebsockets";

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
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = http1::Builder::new()
                .serve_connection(io, service_fn(server_upgrade))
                .with_upgrades()
                .await;
        });
    }
    Ok(())
}

async fn server_upgrade(
    mut request: Request<Incoming>,
) -> Result<Response<Empty<Bytes>>, WebSocketError> {
    let (response, upgrade) = upgrade::upgrade(&mut request)?;
    tokio::spawn(async move {
        let _ = tokio::task::unconstrained(handle_client(upgrade)).await;
    });
    Ok(response)
}

async fn handle_client(upgrade: upgrade::UpgradeFut) -> Result<(), WebSocketError> {
    let mut ws = upgrade.await?;
    ws.set_auto_close(true);
    ws.set_auto_pong(true);
    ws.set_writev(true);
    let mut ws = FragmentCollector::new(ws);
    // Ends when the peer closes or the connection fails.
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => return Ok(()),
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
}
