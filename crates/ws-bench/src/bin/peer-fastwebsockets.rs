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
use ws_bench::tokio_peer::run_current_thread;

const NAME: &str = "peer-fastwebsockets";

fn main() {
    run_current_thread(NAME, |stream| async move {
        let _ = stream.set_nodelay(true);
        let io = hyper_util::rt::TokioIo::new(stream);
        let _ = http1::Builder::new()
            .serve_connection(io, service_fn(server_upgrade))
            .with_upgrades()
            .await;
    });
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
