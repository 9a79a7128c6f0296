//! `ws-conns`: server memory per WebSocket connection. See `ws-conns --help`.

use std::process::ExitCode;

use clap::Parser;
use ws_bench::args::ConnsArgs;
use ws_bench::conns;
use ws_bench::load::EXIT_FAILURE;

fn main() -> ExitCode {
    // Bad arguments exit with status 2 (EXIT_USAGE), --help with 0.
    let args = ConnsArgs::parse();
    match conns::run(&args) {
        Ok(code) => exit(code),
        Err(err) => {
            eprintln!("ws-conns: {err}");
            exit(EXIT_FAILURE)
        }
    }
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
