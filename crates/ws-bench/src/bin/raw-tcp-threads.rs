//! `raw-tcp-threads ADDR`: plain TCP echo on blocking std sockets, one
//! thread per connection, no WebSocket at all; the physical limit of the
//! thread-per-connection model (ws-std's), as `raw-tcp-echo` is that of
//! one event-loop thread. Drive it with `ws-load --raw`.
//!
//! Each thread reads into a 64 KiB buffer and writes back all it read
//! before reading again, so memory stays bounded by that buffer per
//! connection whatever the client does; the thread ends on end of stream
//! or an error. TCP_NODELAY is set, as in every server of the comparison.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::thread;

use ws_bench::server_args::{ServerArgs, MAX_ACCEPTS};

const NAME: &str = "raw-tcp-threads";
/// Size of each connection's read buffer.
const READ_BUFFER: usize = 64 * 1024;

fn main() {
    let args = ServerArgs::from_env(NAME);
    args.start_watchdog(NAME);
    let listener = args.bind_blocking(NAME);
    for stream in listener.incoming().take(MAX_ACCEPTS) {
        let Ok(stream) = stream else { continue };
        if let Err(err) = thread::Builder::new().spawn(move || serve(stream)) {
            // Out of threads or memory: drop this connection (the closure,
            // and the stream with it, is gone), keep serving the others.
            eprintln!("{NAME}: cannot start a thread: {err}");
        }
    }
}

/// Echo until end of stream or an error.
fn serve(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; READ_BUFFER];
    // Ends when the peer closes (read returns 0) or a read or write fails;
    // the watchdog ends the process in any case.
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        if stream.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}
