//! What the tokio-based peer echo servers share (feature `peers`): a
//! current-thread runtime, as their examples use, a listener that prints
//! the `listening on` line compare.sh waits for, and a task per accepted
//! connection.

use std::future::Future;

use tokio::net::{TcpListener, TcpStream};

use crate::server_args::{ServerArgs, MAX_ACCEPTS};

/// Parse the arguments, start the watchdog, and run `serve` as a task for
/// every accepted connection on a current-thread tokio runtime. Exits the
/// process with status 1 if the runtime or the listener cannot be made.
pub fn run_current_thread<F, Fut>(name: &'static str, serve: F)
where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let args = ServerArgs::from_env(name);
    args.start_watchdog(name);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("{name}: runtime: {err}");
            std::process::exit(1);
        }
    };
    if let Err(err) = runtime.block_on(accept_loop(&args.addr, serve)) {
        eprintln!("{name}: {err}");
        std::process::exit(1);
    }
}

async fn accept_loop<F, Fut>(addr: &str, serve: F) -> std::io::Result<()>
where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind(addr).await?;
    println!("listening on ws://{}", listener.local_addr()?);
    for _ in 0..MAX_ACCEPTS {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(serve(stream));
    }
    Ok(())
}
