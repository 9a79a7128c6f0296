//! Memory per idle connection, `wss://` next to `ws://`: a ws-mio echo
//! server (one loop) in a child process, N ws-std clients that connect,
//! echo one message and then sit idle; the server's resident memory
//! (VmRSS of `/proc/PID/status`, Linux) before and after, per connection.
//!
//! ```text
//! cargo run --release -p ws-mio --example tls_idle_memory -- [N]
//! ```
//! N defaults to 1,000. The certificates are a test CA's, made at run
//! time.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ws_mio::{Config, Echo, Server};
use ws_test_support::TestPki;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        return serve(&args[1..]);
    }
    let n = args.first().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let pki = TestPki::new(&["localhost"]);
    let files = pki.write();
    let plain = measure(n, None);
    let tls = measure(n, Some((&pki, &files)));
    println!("{n} idle connections, server RSS growth per connection:");
    println!("  ws://   {:>8.0} B", plain);
    println!("  wss://  {:>8.0} B", tls);
    println!("  TLS adds {:>6.0} B per idle connection", tls - plain);
}

/// The child: serve echo on 127.0.0.1:0 (with TLS if given a certificate
/// and key), print the port, run until killed.
fn serve(args: &[String]) {
    let server = Server::bind("127.0.0.1:0")
        .expect("bind")
        .threads(1)
        .config(Config::default().idle_ping(None));
    let server = match args {
        [cert, key] => {
            let cert = std::fs::read(cert).expect("certificate");
            let key = std::fs::read(key).expect("key");
            server.tls(ws_mio::tls::server_config(&cert, &key).expect("server config"))
        }
        _ => server,
    };
    println!("{}", server.local_addr().port());
    server.run(|| Echo).expect("serve");
}

/// The server's RSS growth per connection for `n` idle clients.
fn measure(n: usize, tls: Option<(&TestPki, &ws_test_support::PkiFiles)>) -> f64 {
    let mut command = Command::new(std::env::current_exe().expect("this program"));
    command.arg("serve").stdout(Stdio::piped());
    if let Some((_, files)) = tls {
        command.arg(files.cert()).arg(files.key());
    }
    let mut child = command.spawn().expect("start the server");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("its stdout");
    BufReader::new(stdout).read_line(&mut line).expect("port");
    let port: u16 = line.trim().parse().expect("a port");
    let (scheme, config) = match tls {
        Some((pki, _)) => {
            let trust = ws_mio::tls::client_config_trusting(pki.ca_pem.as_bytes()).unwrap();
            ("wss", ws_std::Config::default().tls(trust))
        }
        None => ("ws", ws_std::Config::default()),
    };
    let url = format!("{scheme}://localhost:{port}/");
    // One connection first: what every connection shares (the loop's
    // buffers, the certificate, the code paged in) is not counted.
    let mut warm = ws_std::connect_with_config(&url, &config).expect("connect");
    warm.send_text("warm").unwrap();
    warm.recv().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let before = rss(&child);
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        let mut ws = ws_std::connect_with_config(&url, &config).expect("connect");
        ws.send_text("hello").unwrap();
        ws.recv().unwrap();
        clients.push(ws);
    }
    std::thread::sleep(Duration::from_millis(500));
    let after = rss(&child);
    stop(child);
    (after as f64 - before as f64) / n as f64
}

/// VmRSS of the child, in bytes.
fn rss(child: &Child) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS")
        * 1024
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}
