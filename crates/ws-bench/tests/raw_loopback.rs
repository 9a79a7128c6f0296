//! `ws-load --raw` against the plain TCP echo servers (`raw-tcp-echo`'s
//! library side, and the `raw-tcp-threads` binary): messages are counted
//! per frame length of echoed bytes, sizes large and small, and a server
//! that alters bytes is caught.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ws_bench::args::LoadArgs;
use ws_bench::load::{self, EXIT_MISMATCH};
use ws_bench::raw_echo::RawEchoServer;

fn args(port: u16, connections: usize, size: usize, in_flight: usize) -> LoadArgs {
    LoadArgs {
        url: format!("ws://127.0.0.1:{port}/"),
        connections,
        size,
        in_flight,
        duration: Duration::from_millis(300),
        warmup: Duration::from_millis(100),
        text: false,
        raw: true,
        server_pid: Some(std::process::id()),
        json: true,
        connect_timeout: Duration::from_secs(5),
    }
}

#[test]
fn raw_mode_counts_frame_lengths_of_echoed_bytes() {
    let mut server = RawEchoServer::bind("127.0.0.1:0".parse().unwrap(), 100).unwrap();
    let port = server.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let handle = thread::spawn(move || {
        server
            .run(&flag, Instant::now() + Duration::from_secs(30))
            .unwrap()
    });
    for (connections, size, in_flight) in [(4, 20, 1), (2, 16 * 1024, 8), (1, 300_000, 2)] {
        let report = load::run(&args(port, connections, size, in_flight)).unwrap();
        assert_eq!(report.exit_code(), 0, "{report:?}");
        assert_eq!(report.established, connections);
        assert!(report.messages > 0, "{report:?}");
        assert_eq!(report.payload_bytes, report.messages * size as u64);
        assert_eq!(report.latency_samples, report.messages);
        assert!(report.to_json().contains("\"raw\":true"));
    }
    stop.store(true, Ordering::Relaxed);
    handle.join().unwrap();
}

/// A server process, killed when dropped (also when a test fails).
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn raw_tcp_threads_echoes() {
    let child = Command::new(env!("CARGO_BIN_EXE_raw-tcp-threads"))
        .args(["127.0.0.1:0", "--max-seconds", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut server = ServerProcess(child);
    let stdout = server.0.stdout.take().unwrap();
    // Blocks until the server prints its line, or exits (end of stream).
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ws://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let port = addr.parse::<std::net::SocketAddr>().unwrap().port();
    for (connections, size, in_flight) in [(4, 20, 1), (2, 16 * 1024, 8), (1, 300_000, 2)] {
        let mut load_args = args(port, connections, size, in_flight);
        load_args.server_pid = Some(server.0.id());
        let report = load::run(&load_args).unwrap();
        assert_eq!(report.exit_code(), 0, "{report:?}");
        assert_eq!(report.established, connections);
        assert!(report.messages > 0, "{report:?}");
        assert_eq!(report.payload_bytes, report.messages * size as u64);
    }
}

#[test]
fn raw_mode_catches_altered_bytes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 4096];
        // Bounded: the client closes after its run, or the timeout hits.
        for _ in 0..100_000 {
            let Ok(n) = stream.read(&mut buf) else { return };
            if n == 0 {
                return;
            }
            buf[n - 1] ^= 1;
            if stream.write_all(&buf[..n]).is_err() {
                return;
            }
        }
    });
    let report = load::run(&args(port, 1, 100, 1)).unwrap();
    assert_eq!(report.stats.mismatches, 1, "{report:?}");
    assert_eq!(report.exit_code(), EXIT_MISMATCH);
}
