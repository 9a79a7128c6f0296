//! A blocking echo server: every text and binary message comes back as it
//! came.
//!
//! ```text
//! cargo run --release -p ws-std --example blocking_echo_server -- [ADDR] [--tls-cert FILE --tls-key FILE]
//! ```
//! ADDR defaults to 127.0.0.1:9001. One thread per connection; Ctrl-C stops it.
//! With `--tls-cert` (a PEM certificate chain) and `--tls-key` (its PEM
//! private key) it serves `wss://`; the `tls_certs` example makes a pair
//! for 127.0.0.1 and localhost. (The event-loop echo server, on
//! 127.0.0.1:9002, is ws-mio's `echo_server` example; the two names
//! differ because cargo puts every example of the workspace in one
//! directory.)

use ws_std::{Config, WsServer};

/// The command line: an address, and a certificate and key for TLS.
struct Args {
    addr: String,
    tls: Option<(String, String)>,
}

fn parse_args() -> Result<Args, String> {
    let mut addr = None;
    let (mut cert, mut key) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tls-cert" => cert = Some(args.next().ok_or("--tls-cert needs a FILE")?),
            "--tls-key" => key = Some(args.next().ok_or("--tls-key needs a FILE")?),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            _ if addr.is_none() => addr = Some(arg),
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    Ok(Args {
        addr: addr.unwrap_or_else(|| "127.0.0.1:9001".to_owned()),
        tls,
    })
}

fn main() {
    let args = parse_args().unwrap_or_else(|why| {
        eprintln!("blocking_echo_server: {why}");
        eprintln!("usage: blocking_echo_server [ADDR] [--tls-cert FILE --tls-key FILE]");
        std::process::exit(2);
    });
    let server = match WsServer::bind_with_config(args.addr.as_str(), Config::default()) {
        Ok(server) => server,
        Err(err) => {
            eprintln!(
                "blocking_echo_server: cannot listen on {}: {err}",
                args.addr
            );
            std::process::exit(1);
        }
    };
    let server = match &args.tls {
        Some((cert, key)) => with_tls(server, cert, key),
        None => server,
    };
    let scheme = if server.is_tls() { "wss" } else { "ws" };
    let local = server.local_addr().map_or(args.addr, |a| a.to_string());
    println!("listening on {scheme}://{local}");
    if let Err(err) = server.run_echo() {
        eprintln!("blocking_echo_server: {err}");
        std::process::exit(1);
    }
}

#[cfg(feature = "tls")]
fn with_tls(server: WsServer, cert: &str, key: &str) -> WsServer {
    let read = |path: &str| {
        std::fs::read(path).unwrap_or_else(|err| {
            eprintln!("blocking_echo_server: cannot read {path}: {err}");
            std::process::exit(1);
        })
    };
    match ws_std::tls::server_config(&read(cert), &read(key)) {
        Ok(tls) => server.with_tls(tls),
        Err(err) => {
            eprintln!("blocking_echo_server: {cert}, {key}: {err}");
            std::process::exit(1);
        }
    }
}

#[cfg(not(feature = "tls"))]
fn with_tls(_: WsServer, _: &str, _: &str) -> WsServer {
    eprintln!("blocking_echo_server: built without ws-std's feature tls");
    std::process::exit(1);
}
