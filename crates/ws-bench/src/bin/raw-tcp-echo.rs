//! `raw-tcp-echo ADDR`: plain TCP echo on one mio thread, no WebSocket at
//! all; the physical limit of the comparison. Drive it with `ws-load --raw`.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use ws_bench::raw_echo::RawEchoServer;
use ws_bench::server_args::{ServerArgs, MAX_ACCEPTS};

const NAME: &str = "raw-tcp-echo";

fn main() {
    let args = ServerArgs::from_env(NAME);
    let addr = match args.addr.parse() {
        Ok(addr) => addr,
        Err(err) => {
            eprintln!("{NAME}: {}: {err}", args.addr);
            std::process::exit(2);
        }
    };
    let mut server = match RawEchoServer::bind(addr, MAX_ACCEPTS) {
        Ok(server) => server,
        Err(err) => {
            eprintln!("{NAME}: cannot listen on {addr}: {err}");
            std::process::exit(1);
        }
    };
    match server.local_addr() {
        Ok(local) => println!("listening on ws://{local}"),
        Err(err) => eprintln!("{NAME}: {err}"),
    }
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    if let Err(err) = server.run(&AtomicBool::new(false), deadline) {
        eprintln!("{NAME}: {err}");
        std::process::exit(1);
    }
}
