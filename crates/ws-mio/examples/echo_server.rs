//! The event-loop echo server: every text and binary message comes back.
//!
//! ```text
//! cargo run --release -p ws-mio --example echo_server -- [ADDR] [--threads N]
//! ```
//! ADDR defaults to 127.0.0.1:9002, N to the number of cores. TCP_NODELAY
//! is on. SIGINT (Ctrl-C) or SIGTERM closes every connection with 1001 and
//! exits.

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use ws_mio::{Config, Echo, Server};

fn main() {
    let (addr, threads) = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(usage) => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let server = match Server::bind(addr.as_str()) {
        Ok(server) => server.config(Config::default()),
        Err(err) => {
            eprintln!("echo_server: cannot listen on {addr}: {err}");
            std::process::exit(1);
        }
    };
    let server = match threads {
        Some(n) => server.threads(n),
        None => server,
    };
    let shutdown = server.shutdown_handle();
    match Signals::new([SIGINT, SIGTERM]) {
        Ok(mut signals) => {
            std::thread::spawn(move || {
                if signals.forever().next().is_some() {
                    shutdown.shutdown();
                }
            });
        }
        Err(err) => eprintln!("echo_server: no signal handling ({err}); stop it with SIGKILL"),
    }
    println!("listening on ws://{}", server.local_addr());
    if let Err(err) = server.run(|| Echo) {
        eprintln!("echo_server: {err}");
        std::process::exit(1);
    }
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<(String, Option<usize>), String> {
    const USAGE: &str = "usage: echo_server [ADDR] [--threads N]";
    let mut addr = "127.0.0.1:9002".to_owned();
    let mut threads = None;
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => {
                let n = args.next().and_then(|n| n.parse().ok()).ok_or(USAGE)?;
                threads = Some(n);
            }
            "-h" | "--help" => return Err(USAGE.into()),
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}\n{USAGE}")),
            _ => addr = arg,
        }
    }
    Ok((addr, threads))
}
