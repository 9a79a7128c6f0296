//! Our echo servers on 127.0.0.1, port 0, each in a thread of the test
//! process, for tests that drive them with foreign clients.

use std::io;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long [`EchoServer::stop`] waits for the server to return.
const STOP_LIMIT: Duration = Duration::from_secs(5);

/// An echo server in a thread: the ws-std `run_echo` server or the ws-mio
/// `Echo` server with one loop. Dropping it stops it; [`stop`](Self::stop)
/// also checks that it ended cleanly.
pub struct EchoServer {
    /// `ws://127.0.0.1:PORT/` (`wss://localhost:PORT/` over TLS).
    pub url: String,
    stop: Option<Box<dyn FnOnce() + Send>>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl EchoServer {
    /// `ws_std::WsServer::run_echo` with `config`.
    pub fn ws_std(config: ws_std::Config) -> EchoServer {
        EchoServer::run_ws_std(
            ws_std::WsServer::bind_with_config("127.0.0.1:0", config).expect("bind ws-std"),
        )
    }

    /// `ws_std::WsServer::run_echo` with `config`, serving `wss://` with
    /// `tls`; its URL names the host `localhost`.
    pub fn ws_std_tls(
        config: ws_std::Config,
        tls: std::sync::Arc<ws_std::tls::rustls::ServerConfig>,
    ) -> EchoServer {
        EchoServer::run_ws_std(
            ws_std::WsServer::bind_with_config("127.0.0.1:0", config)
                .expect("bind ws-std")
                .with_tls(tls),
        )
    }

    fn run_ws_std(server: ws_std::WsServer) -> EchoServer {
        let addr = server.local_addr().expect("local_addr");
        let url = match server.is_tls() {
            true => format!("wss://localhost:{}/", addr.port()),
            false => format!("ws://{addr}/"),
        };
        let stop = server.stop_handle();
        EchoServer {
            url,
            stop: Some(Box::new(move || stop.stop())),
            thread: Some(thread::spawn(move || server.run_echo())),
        }
    }

    /// `ws_mio::Server` with one loop, `config` and the `Echo` handler.
    pub fn ws_mio(config: ws_mio::Config) -> EchoServer {
        EchoServer::run_ws_mio(config, None)
    }

    /// [`ws_mio`](Self::ws_mio) serving `wss://` with `tls`; its URL
    /// names the host `localhost`.
    pub fn ws_mio_tls(
        config: ws_mio::Config,
        tls: std::sync::Arc<ws_mio::tls::rustls::ServerConfig>,
    ) -> EchoServer {
        EchoServer::run_ws_mio(config, Some(tls))
    }

    fn run_ws_mio(
        config: ws_mio::Config,
        tls: Option<std::sync::Arc<ws_mio::tls::rustls::ServerConfig>>,
    ) -> EchoServer {
        let server = ws_mio::Server::bind("127.0.0.1:0")
            .expect("bind ws-mio")
            .threads(1)
            .config(config);
        let (server, url) = match tls {
            Some(tls) => {
                let url = format!("wss://localhost:{}/", server.local_addr().port());
                (server.tls(tls), url)
            }
            None => {
                let url = format!("ws://{}/", server.local_addr());
                (server, url)
            }
        };
        let shutdown = server.shutdown_handle();
        EchoServer {
            url,
            stop: Some(Box::new(move || shutdown.shutdown())),
            thread: Some(thread::spawn(move || server.run(|| ws_mio::Echo))),
        }
    }

    /// A ws-tokio echo server ([`tokio_echo`]) with `config`, on a
    /// current-thread runtime.
    pub fn ws_tokio(config: ws_tokio::Config) -> EchoServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind ws-tokio");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let url = format!("ws://{}/", listener.local_addr().expect("local_addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let serve = move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(tokio_echo(listener, config, stopped))
        };
        EchoServer {
            url,
            stop: Some(Box::new(move || {
                let _ = stop.send(());
            })),
            thread: Some(thread::spawn(serve)),
        }
    }

    /// Stop the server; panics unless it returns `Ok` within 5 s.
    pub fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
        let thread = self.thread.take().expect("stopped once");
        let deadline = Instant::now() + STOP_LIMIT;
        while !thread.is_finished() {
            assert!(
                Instant::now() < deadline,
                "the server did not stop within {STOP_LIMIT:?}"
            );
            thread::sleep(Duration::from_millis(10));
        }
        let result = thread.join().expect("the server thread panicked");
        result.expect("the server returned an error");
    }
}

impl Drop for EchoServer {
    /// A test that failed half-way still stops its server.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}

/// A ws-tokio echo server: accept connections on `listener` (set
/// non-blocking) until `stopped`, each echoed by a task of its own
/// (`recv`, then `send`). Dropping the runtime then drops every
/// connection.
pub async fn tokio_echo(
    listener: std::net::TcpListener,
    config: ws_tokio::Config,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) -> io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = &mut stopped => return Ok(()),
        };
        let config = config.clone();
        tokio::spawn(async move {
            let accepted =
                ws_tokio::accept_with_config(stream, &config, |_| Ok(ws_tokio::Accept::new()));
            let Ok(mut ws) = accepted.await else {
                return;
            };
            while let Some(Ok(message)) = ws.recv().await {
                if ws.send(message).await.is_err() {
                    return;
                }
            }
        });
    }
}
